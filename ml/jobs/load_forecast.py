"""Train and evaluate the day-ahead load forecast of a plan, storing it in the registry."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from ml.data.load_series import grid_series
from ml.data.splits import BLOCK_DAYS
from ml.energy_flow import load_forecast
from ml.evaluation import Row, percentile_ms
from ml.plan import Plan
from ml.registry import Artefact, Registry

NAME = "energy_flow.load_forecast"
MODEL_FILE = "model.ubj"


def _series(codes: tuple[str, ...], cache_dir: Path | None) -> dict[str, np.ndarray]:
    series: dict[str, np.ndarray] = {}
    for code in codes:
        series |= grid_series(code, cache_dir=cache_dir).days
    return series


def data_hash(series: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for name in sorted(series):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(series[name]).tobytes())
    return digest.hexdigest()


def train(registry: Registry, plan: Plan, cache_dir: Path | None) -> Artefact:
    series = _series(plan.load_codes + plan.load_training_codes, cache_dir)
    forecaster = load_forecast.LoadForecaster.train(series, seed=plan.training_seeds[0], threads=plan.threads,
                                                    estimators=plan.load_estimators)
    metadata = {"plan": plan.name, "series": sorted(series), "scales": forecaster.scales,
                "features": list(load_forecast.FEATURES), "data_sha256": data_hash(series),
                "split": f"held out: the 4th of every 4 blocks of {BLOCK_DAYS} days",
                "estimators": plan.load_estimators}
    return registry.save(NAME, {MODEL_FILE: forecaster.to_bytes()}, metadata)


def load(registry: Registry, version: int | None = None) -> load_forecast.LoadForecaster:
    artefact = registry.load(NAME, version)
    return load_forecast.LoadForecaster.from_bytes(artefact.read(MODEL_FILE), dict(artefact.metadata["scales"]))


def evaluate(registry: Registry, plan: Plan, cache_dir: Path | None) -> list[Row]:
    forecaster = load(registry)
    series = _series(plan.load_codes, cache_dir)
    rows = []
    for name, scores in load_forecast.evaluate(forecaster, series).items():
        days = series[name]
        scale = forecaster.scales.get(name, float(days.mean()))
        one_day = percentile_ms(lambda: forecaster.predict(days, [len(days) - 1], scale), 30)
        gain = 1 - scores["model"] / scores["mean_7d_same_slot"]
        rows.append(Row(NAME, f"{name}, day-ahead", "NMAE %", scores["model"] * 100, "7-day same-slot mean",
                        scores["mean_7d_same_slot"] * 100, latency=f"{one_day:.1f} ms p95 per 96-step forecast",
                        note=f"{gain:.1%} below the 7-day mean; persistence {scores['persistence']:.2%}, "
                             f"same day last week {scores['seasonal_naive_7d']:.2%}"))
    return rows

