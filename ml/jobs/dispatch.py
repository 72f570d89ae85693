"""The dispatch LP as a job: its settings are the versioned artefact, evaluation is one day per season."""

from __future__ import annotations

import json
import time

import numpy as np

from ml.decision import dispatch as dp
from ml.evaluation import Row
from ml.plan import Plan
from ml.registry import Artefact, Registry

NAME = "decision.dispatch"
SETTINGS_FILE = "settings.json"
DAYS = (30, 120, 200, 300)


def train(registry: Registry, plan: Plan) -> Artefact:
    settings = {"efficiency": dp.EFFICIENCY, "curtailment_eur_mwh": dp.CURTAILMENT_EUR_MWH,
                "rating_margin": dp.RATING_MARGIN, "solver": "scipy.optimize.linprog(method='highs')"}
    return registry.save(NAME, {SETTINGS_FILE: json.dumps(settings, sort_keys=True).encode()},
                         {"plan": plan.name, "data_sha256": "none (a solver)", "settings": settings})


def evaluate(registry: Registry, plan: Plan) -> list[Row]:
    registry.load(NAME)  # the settings this evaluation stands for
    days = DAYS[1:3] if plan.name == "small" else DAYS
    rows = []
    for code in plan.dispatch_codes:
        totals = {"lp": 0.0, "merit": 0.0}
        over = {"lp": 0, "merit": 0}
        worst = {"lp": 0.0, "merit": 0.0}
        solve_s = 0.0
        for day_index in days:
            day = dp.day_data(code, day_index)
            started = time.perf_counter()
            schedules = {"lp": dp.optimise(day)}
            solve_s += time.perf_counter() - started
            schedules["merit"] = dp.merit_order(day)
            for name, schedule in schedules.items():
                loading = dp.transformer_loading(day, schedule)
                totals[name] += schedule.cost_eur(day)
                over[name] += int((loading > 1.0).sum())
                worst[name] = max(worst[name], float(np.max(loading)))
        rows.append(Row(NAME, f"{code}, days {','.join(map(str, days))}", "cost € (negative: revenue)", totals["lp"],
                        "merit order without network", totals["merit"],
                        latency=f"{solve_s / len(days) * 1000:.0f} ms per 96-step LP",
                        note=f"power flow check: quarter-hours above the transformer's rating {over['lp']} vs "
                             f"{over['merit']}, highest loading {worst['lp']:.2f} vs {worst['merit']:.2f}"))
    return rows
