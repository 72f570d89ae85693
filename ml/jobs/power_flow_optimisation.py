"""The tap optimiser as a job: its settings are the versioned artefact, evaluation is held-out days.

Nothing is learned: ``train`` records the band and passes the optimiser runs with (so a change of
settings is a new version like any model's), ``evaluate`` runs it on one day per season of each
grid's profile year and reports the energy saved against leaving the taps as they are.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict

from ml.energy_flow.tap_optimisation import optimise_taps
from ml.optimisation import Proposal, VoltageBand
from ml.evaluation import Row
from ml.data.grids import grid_network, profile_tables
from ml.plan import Plan
from ml.registry import Artefact, Registry
from physics.timeseries import StepInputs, apply_profiles

NAME = "energy_flow.power_flow_optimisation"
SETTINGS_FILE = "settings.json"
#: One day per season of the profile year (days 30, 120, 200, 300).
DAYS = (30, 120, 200, 300)
PASSES = 2


def train(registry: Registry, plan: Plan) -> Artefact:
    settings = {"band": asdict(VoltageBand()), "passes": PASSES}
    data = json.dumps(settings, sort_keys=True).encode()
    return registry.save(NAME, {SETTINGS_FILE: data}, {"plan": plan.name, "data_sha256": "none (a solver)",
                                                       "settings": settings})


def day_inputs(code: str, day: int) -> StepInputs:
    """A day of the grid's profiles as step inputs (96 quarter-hours)."""
    network, profiles = grid_network(code)
    inputs = StepInputs(network, 96)
    apply_profiles(inputs, profile_tables(profiles), start=day * 96)
    return inputs


def propose(registry: Registry, code: str, day: int) -> Proposal:
    settings = json.loads(registry.load(NAME).read(SETTINGS_FILE))
    return optimise_taps(day_inputs(code, day), VoltageBand(**settings["band"]), settings["passes"])


def evaluate(registry: Registry, plan: Plan) -> list[Row]:
    rows = []
    days = DAYS[:len(plan.test_seeds) + 1] if plan.name == "small" else DAYS
    for code in plan.load_codes:
        saved = before = outside_before = outside_after = 0.0
        started = time.perf_counter()
        for day in days:
            proposal = propose(registry, code, day)
            saved += float(proposal.losses_before_w.sum() - proposal.losses_after_w.sum())
            before += float(proposal.losses_before_w.sum())
            steps_before, steps_after = proposal.steps_outside()
            outside_before += steps_before
            outside_after += steps_after
        per_day = (time.perf_counter() - started) / len(days)
        rows.append(Row(NAME, f"{code}, days {','.join(map(str, days))}", "loss reduction %", saved / before * 100,
                        "taps unchanged", 0.0, lower_is_better=False, latency=f"{per_day:.2f} s per 96-step day",
                        note=f"steps outside {VoltageBand().low}-{VoltageBand().high} pu: {outside_before:.0f} -> "
                             f"{outside_after:.0f}; every proposal solved again by Newton-Raphson"))
    return rows
