"""Train the one-minute frequency forecast on some areas' simulated hours and score it on other areas."""

from __future__ import annotations

import hashlib

import numpy as np

from ml.boosted import Boosted
from ml.evaluation import Row, percentile_ms
from ml.monitoring import frequency_forecast as ff
from ml.plan import Plan
from ml.registry import Artefact, Registry

NAME = "monitoring.frequency_forecast"
MODEL_FILE = "model.ubj"


def _samples(mix: dict[str, float], seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return ff.samples(ff.simulate_run(ff.area(mix), seed))


def train(registry: Registry, plan: Plan) -> Artefact:
    parts = [_samples(mix, seed) for mix in ff.TRAINING_MIXES for seed in plan.training_seeds]
    x, y = np.vstack([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    model = Boosted.fit(x, y, ff.FEATURES, ff.PARAMETERS, seed=plan.training_seeds[0], threads=plan.threads)
    return registry.save(NAME, {MODEL_FILE: model.to_bytes()},
                         {"plan": plan.name, "mixes": list(ff.TRAINING_MIXES), "seeds": list(plan.training_seeds),
                          "horizon_s": ff.HORIZON_S, "features": list(ff.FEATURES),
                          "data_sha256": hashlib.sha256(x.tobytes() + y.tobytes()).hexdigest()})


def evaluate(registry: Registry, plan: Plan) -> list[Row]:
    model = Boosted.from_bytes(registry.load(NAME).read(MODEL_FILE), ff.FEATURES)
    rows = []
    for mix in ff.TEST_MIXES:
        model_mae, persistence_mae = [], []
        for seed in plan.test_seeds:
            x, y, persistence = _samples(mix, seed)
            model_mae.append(np.mean(np.abs(model.predict(x) - y)))
            persistence_mae.append(np.mean(np.abs(persistence - y)))
        parameters = ff.area(mix)
        latency = percentile_ms(lambda: model.predict(x[:1]), 50)
        name = " + ".join(f"{gw:g} GW {kind}" for kind, gw in mix.items())
        rows.append(Row(NAME, f"unseen area {name} (H {parameters.h_s:.1f} s), 2 h, seeds "
                              f"{','.join(map(str, plan.test_seeds))}", "MAE mHz, 60 s ahead", float(np.mean(model_mae)),
                        "persistence", float(np.mean(persistence_mae)), latency=f"{latency:.2f} ms p95 per forecast",
                        note=f"{1 - np.mean(model_mae) / np.mean(persistence_mae):.1%} below persistence"))
    return rows
