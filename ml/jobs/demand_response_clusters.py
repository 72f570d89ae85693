"""Fit the demand-response clusters on some LV grids' loads and score them on the loads of grids they never saw."""

from __future__ import annotations

import hashlib

import numpy as np

from ml.energy_flow import demand_response_clusters as drc
from ml.evaluation import Row, percentile_ms
from ml.plan import Plan
from ml.registry import Artefact, Registry

NAME = "energy_flow.demand_response_clusters"
MODEL_FILE = "clusters.npz"


def train(registry: Registry, plan: Plan) -> Artefact:
    samples = [drc.load_shapes(code, seed) for code in plan.cluster_training_codes for seed in plan.training_seeds]
    shapes = np.vstack([s.shapes for s in samples])
    profiles = sorted({str(p) for s in samples for p in s.profiles})
    clusters = drc.ShapeClusters.fit(shapes, len(profiles), seed=plan.training_seeds[0])
    return registry.save(NAME, {MODEL_FILE: clusters.to_bytes()},
                         {"plan": plan.name, "grids": list(plan.cluster_training_codes), "loads": int(len(shapes)),
                          "clusters": len(profiles), "profiles_seen": profiles, "features": [f"week_slot_{k}" for k in
                                                                                           range(drc.WEEK)],
                          "data_sha256": hashlib.sha256(shapes.tobytes()).hexdigest()})


def evaluate(registry: Registry, plan: Plan) -> list[Row]:
    from sklearn.metrics import adjusted_rand_score

    artefact = registry.load(NAME)
    clusters = drc.ShapeClusters.from_bytes(artefact.read(MODEL_FILE))
    k = int(artefact.metadata["clusters"])
    rows = []
    for code in plan.cluster_test_codes:
        model, naive, unseen = [], [], set()
        for seed in plan.test_seeds:
            test = drc.load_shapes(code, seed)
            model.append(adjusted_rand_score(test.profiles, clusters.assign(test.shapes)))
            naive.append(adjusted_rand_score(test.profiles, drc.naive_clusters(test.naive, k, seed)))
            unseen |= {str(p) for p in test.profiles} - set(artefact.metadata["profiles_seen"])
        one = drc.load_shapes(code, plan.test_seeds[0]).shapes[:1]
        latency = percentile_ms(lambda: clusters.assign(one), 50)
        rows.append(Row(NAME, f"{code} (unseen grid), 8 metered weeks, seeds {','.join(map(str, plan.test_seeds))}",
                        "adjusted Rand index vs profile", float(np.mean(model)),
                        "k-means on mean level and peak/mean (one cluster: 0)", float(np.mean(naive)),
                        lower_is_better=False, latency=f"{latency:.2f} ms p95 per load",
                        note=f"{k} clusters; profiles never seen in fitting: {', '.join(sorted(unseen)) or 'none'}"))
    return rows
