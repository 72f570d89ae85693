"""The power-factor optimiser as a job: settings are the versioned artefact, evaluation is days of stressed grids."""

from __future__ import annotations

import json
import time
from dataclasses import asdict

from ml.decision.reactive_power import POWER_FACTORS, optimise_power_factor
from ml.evaluation import Row
from ml.jobs.power_flow_optimisation import day_inputs
from ml.optimisation import VoltageBand
from ml.plan import Plan
from ml.registry import Artefact, Registry

NAME = "decision.reactive_power"
SETTINGS_FILE = "settings.json"
DAYS = (30, 120, 200, 300)


def train(registry: Registry, plan: Plan) -> Artefact:
    settings = {"band": asdict(VoltageBand()), "power_factors": POWER_FACTORS.tolist()}
    return registry.save(NAME, {SETTINGS_FILE: json.dumps(settings, sort_keys=True).encode()},
                         {"plan": plan.name, "data_sha256": "none (a solver)", "settings": settings})


def evaluate(registry: Registry, plan: Plan) -> list[Row]:
    band = VoltageBand(**json.loads(registry.load(NAME).read(SETTINGS_FILE))["band"])
    days = DAYS[1:2] if plan.name == "small" else DAYS
    rows = []
    for code in plan.voltage_band_codes:
        outside_before = outside_after = 0
        losses_before = losses_after = 0.0
        started = time.perf_counter()
        for day in days:
            proposal = optimise_power_factor(day_inputs(code, day), band)
            before, after = proposal.steps_outside()
            outside_before += before
            outside_after += after
            losses_before += float(proposal.losses_before_w.sum())
            losses_after += float(proposal.losses_after_w.sum())
        per_day = (time.perf_counter() - started) / len(days)
        rows.append(Row(NAME, f"{code}, days {','.join(map(str, days))}",
                        f"quarter-hours outside {band.low}-{band.high} pu", outside_after, "unity power factor",
                        outside_before, latency=f"{per_day:.2f} s per 96-step day",
                        note=f"losses {losses_after / losses_before - 1:+.1%} against unity power factor; "
                             "every proposal solved again by Newton-Raphson"))
    return rows
