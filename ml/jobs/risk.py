"""Train and score a rare-event risk classifier (overload, equipment failure) the same way for every task.

A task names its features, how its samples are made from a grid and a sensor seed, and which
grids of the plan it uses; training takes the training seeds' samples outside the held-out
blocks, evaluation the test seeds' samples inside them, scored by PR-AUC beside each naive score.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ml.boosted import Boosted
from ml.evaluation import Row, percentile_ms
from ml.maintenance.overload_risk import Samples
from ml.plan import Plan
from ml.registry import Artefact, Registry

MODEL_FILE = "model.ubj"


@dataclass(frozen=True)
class RiskTask:
    name: str
    features: tuple[str, ...]
    parameters: dict[str, Any]
    samples: Callable[[str, int], Samples]
    label: str
    unit: str
    codes: Callable[[Plan], tuple[str, ...]]


def train(task: RiskTask, registry: Registry, plan: Plan) -> Artefact:
    xs, ys, digest = [], [], hashlib.sha256()
    for code in task.codes(plan):
        for seed in plan.training_seeds:
            data = task.samples(code, seed)
            xs.append(data.x[~data.held_out])
            ys.append(data.y[~data.held_out])
            digest.update(xs[-1].tobytes() + ys[-1].tobytes())
    x, y = np.vstack(xs), np.concatenate(ys)
    model = Boosted.fit(x, y, task.features, task.parameters, seed=plan.training_seeds[0], threads=plan.threads)
    return registry.save(task.name, {MODEL_FILE: model.to_bytes()},
                         {"plan": plan.name, "grids": list(task.codes(plan)), "samples": int(len(y)),
                          "positives": int(y.sum()), "features": list(task.features), "label": task.label,
                          "data_sha256": digest.hexdigest()})


def load(task: RiskTask, registry: Registry) -> Boosted:
    return Boosted.from_bytes(registry.load(task.name).read(MODEL_FILE), task.features)


def scores(model: Boosted, data: Samples) -> dict[str, float]:
    """PR-AUC of the model and of each naive score, F1 at 0.5 and the positive rate, on the held-out samples."""
    from sklearn.metrics import average_precision_score, f1_score

    test = data.held_out
    y, risk = data.y[test], model.predict(data.x[test])
    found = {"model": average_precision_score(y, risk), "f1": f1_score(y, risk > 0.5), "positives": float(y.mean())}
    return found | {name: average_precision_score(y, score[test]) for name, score in data.baselines.items()}


def evaluate(task: RiskTask, registry: Registry, plan: Plan) -> list[Row]:
    model = load(task, registry)
    rows = []
    for code in task.codes(plan):
        runs = [scores(model, task.samples(code, seed)) for seed in plan.test_seeds]
        mean = {key: float(np.mean([run[key] for run in runs])) for key in runs[0]}
        baselines = {name: mean[name] for name in runs[0] if name not in ("model", "f1", "positives")}
        best = max(baselines, key=baselines.get)
        one = task.samples(code, plan.test_seeds[0]).x[:1]
        latency = percentile_ms(lambda: model.predict(one), 50)
        rows.append(Row(task.name, f"{code}, held-out blocks, sensor seeds {','.join(map(str, plan.test_seeds))}",
                        "PR-AUC", mean["model"], f"{best} as the score", baselines[best], lower_is_better=False,
                        latency=f"{latency:.2f} ms p95 per {task.unit}",
                        note=f"{task.label} in {mean['positives']:.2%} of samples; F1 at 0.5 {mean['f1']:.3f}; "
                             + "; ".join(f"{name} {value:.3f}" for name, value in baselines.items())))
    return rows
