"""The phase-balancing optimiser as a job: settings are the versioned artefact, evaluation is evening cases of LV grids."""

from __future__ import annotations

import json
import time

import numpy as np

from ml.decision import phase_balancing as pb
from ml.evaluation import Row
from ml.plan import Plan
from ml.registry import Artefact, Registry
from physics.unbalance import UNEVEN_CONNECTIONS

NAME = "decision.phase_balancing"
SETTINGS_FILE = "settings.json"
#: Evening quarter-hours (19:00) of four days of the profile year: the households' peak.
SLOTS = tuple(day * 96 + 76 for day in (30, 120, 200, 300))


def train(registry: Registry, plan: Plan) -> Artefact:
    settings = {"passes": pb.PASSES, "exhaustive_loads": pb.EXHAUSTIVE_LOADS, "unbalanced_share": pb.UNBALANCED_SHARE,
                "connections": [list(c) for c in UNEVEN_CONNECTIONS]}
    return registry.save(NAME, {SETTINGS_FILE: json.dumps(settings, sort_keys=True).encode()},
                         {"plan": plan.name, "data_sha256": "none (a solver)", "settings": settings})


def evaluate(registry: Registry, plan: Plan) -> list[Row]:
    registry.load(NAME).read(SETTINGS_FILE)  # the version evaluated exists and is intact
    slots = SLOTS[:2] if plan.name == "small" else SLOTS
    rows = []
    for code in plan.balancing_codes:
        before, after, moves, flows, seconds = [], [], [], [], []
        for seed in plan.test_seeds:
            for slot in slots:
                case = pb.build_case(code, seed, slot)
                started = time.perf_counter()
                result = pb.balance(case)
                seconds.append(time.perf_counter() - started)
                before.append(result.vuf_before_pct)
                after.append(result.vuf_after_pct)
                moves.append(result.moves)
                flows.append(result.power_flows)
        reduction = 1 - np.mean(after) / np.mean(before)
        rows.append(Row(NAME, f"{code}, {len(before)} evening cases (seeds {','.join(map(str, plan.test_seeds))})",
                        "worst-bus VUF %", float(np.mean(after)), "no move", float(np.mean(before)),
                        latency=f"{np.median(seconds):.2f} s per case ({int(np.median(flows))} power flows)",
                        note=f"{reduction:.1%} lower; {np.mean(moves):.1f} reconnections per case; every proposal "
                             "solved by power-grid-model's asymmetric power flow"))
    return rows
