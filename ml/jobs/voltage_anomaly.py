"""Train the voltage anomaly detector on some grids' simulated runs and score it on runs of grids it never saw."""

from __future__ import annotations

import hashlib

import numpy as np

from ml.boosted import Boosted
from ml.evaluation import Row, percentile_ms
from ml.monitoring import voltage_anomaly as va
from ml.plan import Plan
from ml.registry import Artefact, Registry

NAME = "monitoring.voltage_anomaly"
MODEL_FILE = "model.ubj"


def train(registry: Registry, plan: Plan) -> Artefact:
    parts = [va.features(va.simulate(code, seed)) for code in plan.se_training_codes for seed in plan.training_seeds]
    x, y = np.vstack([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    model = Boosted.fit(x, y, va.FEATURES, va.PARAMETERS, seed=plan.training_seeds[0], threads=plan.threads)
    digest = hashlib.sha256(x.tobytes() + y.tobytes()).hexdigest()
    return registry.save(NAME, {MODEL_FILE: model.to_bytes()},
                         {"plan": plan.name, "grids": list(plan.se_training_codes), "seeds": list(plan.training_seeds),
                          "samples": int(len(y)), "positives": int(y.sum()), "features": list(va.FEATURES),
                          "data_sha256": digest})


def scores(model: Boosted, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import average_precision_score, f1_score

    risk, rule = model.predict(x), va.threshold_score(x)
    return {"model": average_precision_score(y, risk), "model_f1": f1_score(y, risk > 0.5),
            "rule": average_precision_score(y, rule), "rule_f1": f1_score(y, rule > va.THRESHOLD),
            "positives": float(y.mean())}


def evaluate(registry: Registry, plan: Plan) -> list[Row]:
    model = Boosted.from_bytes(registry.load(NAME).read(MODEL_FILE), va.FEATURES)
    rows = []
    for code in plan.se_test_codes:
        runs = [scores(model, *va.features(va.simulate(code, seed))) for seed in plan.test_seeds]
        mean = {key: float(np.mean([run[key] for run in runs])) for key in runs[0]}
        one = va.features(va.simulate(code, plan.test_seeds[0]))[0][:1]
        latency = percentile_ms(lambda: model.predict(one), 50)
        rows.append(Row(NAME, f"{code} (unseen), 2 simulated hours at 1 s, seeds {','.join(map(str, plan.test_seeds))}",
                        "PR-AUC", mean["model"], "threshold rule (deviation > 10 %) as a score", mean["rule"],
                        lower_is_better=False, latency=f"{latency:.2f} ms p95 per sample",
                        note=f"F1 {mean['model_f1']:.3f} vs the rule's {mean['rule_f1']:.3f}; anomalous "
                             f"{mean['positives']:.1%} of point-seconds (sags 5-30 % of 1-20 s, outages of 10-120 s)"))
    return rows
