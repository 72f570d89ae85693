"""Train the power-quality disturbance classifier on some grids' simulated hours and score it on a grid it never saw."""

from __future__ import annotations

import hashlib

import numpy as np

from ml.boosted import Boosted
from ml.evaluation import Row, percentile_ms
from ml.monitoring import power_quality_disturbance as pqd
from ml.plan import Plan
from ml.registry import Artefact, Registry

NAME = "monitoring.power_quality_disturbance"
MODEL_FILE = "model.ubj"


def train(registry: Registry, plan: Plan) -> Artefact:
    parts = [pqd.features(pqd.simulate(code, seed)) for code in plan.se_training_codes for seed in plan.training_seeds]
    x, y = np.vstack([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    model = Boosted.fit(x, y, pqd.FEATURES, pqd.PARAMETERS, seed=plan.training_seeds[0], threads=plan.threads)
    return registry.save(NAME, {MODEL_FILE: model.to_bytes()},
                         {"plan": plan.name, "grids": list(plan.se_training_codes), "seeds": list(plan.training_seeds),
                          "samples": int(len(y)), "classes": list(pqd.CLASSES), "features": list(pqd.FEATURES),
                          "data_sha256": hashlib.sha256(x.tobytes() + y.tobytes()).hexdigest()})


def scores(model: Boosted, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import f1_score, matthews_corrcoef

    predicted, ruled = model.predict(x).argmax(axis=1), pqd.rule(x)
    found = {"model": f1_score(y, predicted, average="macro"), "model_mcc": matthews_corrcoef(y, predicted),
             "rule": f1_score(y, ruled, average="macro"), "rule_mcc": matthews_corrcoef(y, ruled)}
    for index, name in enumerate(pqd.CLASSES):
        found[f"recall_{name}"] = float((predicted[y == index] == index).mean()) if (y == index).any() else float("nan")
    return found


def evaluate(registry: Registry, plan: Plan) -> list[Row]:
    model = Boosted.from_bytes(registry.load(NAME).read(MODEL_FILE), pqd.FEATURES)
    rows = []
    for code in plan.se_test_codes:
        runs = [scores(model, *pqd.features(pqd.simulate(code, seed))) for seed in plan.test_seeds]
        mean = {key: float(np.nanmean([run[key] for run in runs])) for key in runs[0]}
        one = pqd.features(pqd.simulate(code, plan.test_seeds[0]))[0][:1]
        latency = percentile_ms(lambda: model.predict(one), 50)
        recalls = ", ".join(f"{name} {mean[f'recall_{name}']:.2f}" for name in pqd.CLASSES)
        rows.append(Row(NAME, f"{code} (unseen), 2 simulated hours at 1 s, asymmetric, seeds "
                              f"{','.join(map(str, plan.test_seeds))}", "macro-F1 (4 classes)", mean["model"],
                        "EN 50160 limits as rules (±10 %, THD 8 %, unbalance 2 %)", mean["rule"], lower_is_better=False,
                        latency=f"{latency:.2f} ms p95 per sample",
                        note=f"MCC {mean['model_mcc']:.3f} vs the rules' {mean['rule_mcc']:.3f}; recall per class: "
                             f"{recalls}"))
    return rows
