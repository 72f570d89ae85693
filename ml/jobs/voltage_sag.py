"""The fault-position sag predictor as a job: its rates are the versioned artefact, evaluation is unseen grids' years."""

from __future__ import annotations

import json
import time

import numpy as np

from ml.evaluation import Row
from ml.maintenance import voltage_sag as vs
from ml.plan import Plan
from ml.registry import Artefact, Registry

NAME = "maintenance.voltage_sag_prediction"
SETTINGS_FILE = "settings.json"


def _rmse(actual: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.sqrt(np.mean((actual - predicted) ** 2)))


def train(registry: Registry, plan: Plan) -> Artefact:
    """Nothing is fitted but the constant baseline: the mean sag days per bus-year of the training grids."""
    actual = np.concatenate([vs.outlook(vs.simulate(code, seed, plan.sag_years)).actual
                             for code in plan.sag_training_codes for seed in plan.training_seeds])
    settings = {"faults_per_km_year": vs.FAULTS_PER_KM_YEAR, "kind_shares": vs.KIND_SHARES,
                "fault_resistances_ohm": list(vs.FAULT_RESISTANCES_OHM), "sag_pu": vs.SAG_PU,
                "horizon_days": vs.HORIZON_DAYS, "constant_sag_days": float(actual.mean())}
    return registry.save(NAME, {SETTINGS_FILE: json.dumps(settings, sort_keys=True).encode()},
                         {"plan": plan.name, "grids": list(plan.sag_training_codes), "samples": int(len(actual)),
                          "data_sha256": "none (physics; the constant baseline is in the settings)",
                          "settings": settings})


def evaluate(registry: Registry, plan: Plan) -> list[Row]:
    constant = json.loads(registry.load(NAME).read(SETTINGS_FILE))["constant_sag_days"]
    rows = []
    for code in plan.sag_test_codes:
        started = time.perf_counter()
        vs.grid_study.cache_clear()
        vs.grid_study(code)
        study_s = time.perf_counter() - started
        runs = [vs.outlook(vs.simulate(code, seed, plan.sag_years)) for seed in plan.test_seeds]
        actual, predicted, history, ceiling = (np.concatenate([getattr(r, name) for r in runs])
                                               for name in ("actual", "predicted", "history", "ceiling"))
        baselines = {"the same for every bus": _rmse(actual, np.full(len(actual), constant)),
                     "last year's sag days": _rmse(actual, history)}
        best = min(baselines, key=baselines.get)
        rows.append(Row(NAME, f"{code} (unseen), {plan.sag_years - 1} simulated years per seed "
                              f"{','.join(map(str, plan.test_seeds))}, every bus", "RMSE of next year's sag days",
                        _rmse(actual, predicted), best, baselines[best],
                        latency=f"fault study {study_s:.1f} s per grid",
                        note=f"mean {actual.mean():.2f} sag days per bus-year; {', '.join(f'{k} {v:.3f}' for k, v in baselines.items())}; "
                             f"ceiling (true line rates) {_rmse(actual, ceiling):.3f}"))
    return rows
