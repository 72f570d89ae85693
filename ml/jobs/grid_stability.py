"""Train one loading-margin estimator per stressed grid and score it on held-out time blocks.

Training uses the plan's training sensor seeds on the sampled quarter-hours outside the held-out
28-day blocks; evaluation its test seeds on those inside, against the constant-headroom rule
fitted on the same training steps.
"""

from __future__ import annotations

import hashlib

import numpy as np

from ml.boosted import Boosted
from ml.data.splits import held_out_steps
from ml.decision import grid_stability as gs
from ml.energy_flow.technical_losses import FEATURES
from ml.evaluation import Row, percentile_ms
from ml.plan import Plan
from ml.registry import Artefact, Registry, grid_file

NAME = "decision.grid_stability"


def _split(sample: gs.MarginSample) -> np.ndarray:
    """True for sampled steps inside the held-out blocks."""
    return held_out_steps(int(sample.steps.max()) + 1)[sample.steps]


def train(registry: Registry, plan: Plan) -> Artefact:
    files, headroom, digest = {}, {}, hashlib.sha256()
    for code in plan.stability_codes:
        sample = gs.margin_sample(code, plan.stability_samples)
        train_rows = ~_split(sample)
        x = np.vstack([gs.measured_features(sample, seed)[train_rows] for seed in plan.training_seeds])
        margin = np.tile(sample.margin[train_rows], len(plan.training_seeds))
        files[grid_file(code)] = Boosted.fit(x, margin, FEATURES, gs.PARAMETERS, seed=plan.training_seeds[0],
                                                  threads=plan.threads).to_bytes()
        headroom[code] = gs.fit_headroom(x, margin)
        digest.update(x.tobytes() + margin.tobytes())
    return registry.save(NAME, files, {"plan": plan.name, "grids": list(plan.stability_codes), "headroom_mva": headroom,
                                       "samples_per_grid": plan.stability_samples, "features": list(FEATURES),
                                       "lowest_pu": gs.LOWEST_PU, "data_sha256": digest.hexdigest()})


def evaluate(registry: Registry, plan: Plan) -> list[Row]:
    artefact = registry.load(NAME)
    rows = []
    for code in plan.stability_codes:
        estimator = Boosted.from_bytes(artefact.read_grid(code), FEATURES)
        headroom = artefact.metadata["headroom_mva"][code]
        sample = gs.margin_sample(code, plan.stability_samples)
        test = _split(sample)
        truth = sample.margin[test]
        model_mae, rule_mae = [], []
        for seed in plan.test_seeds:
            x = gs.measured_features(sample, seed)[test]
            model_mae.append(np.mean(np.abs(estimator.predict(x) - truth)))
            rule_mae.append(np.mean(np.abs(gs.headroom_estimate(headroom, x) - truth)))
        one = gs.measured_features(sample, plan.test_seeds[0])[:1]
        latency = percentile_ms(lambda: estimator.predict(one), 50)
        rows.append(Row(NAME, f"{code}, {int(test.sum())} held-out quarter-hours, sensor seeds "
                              f"{','.join(map(str, plan.test_seeds))}", "MAE of λ* (load factor)",
                        float(np.mean(model_mae)), "constant MVA headroom λ = 1 + M/|S|", float(np.mean(rule_mae)),
                        latency=f"{latency:.2f} ms p95 per step",
                        note=f"λ* to the first bus below {gs.LOWEST_PU} pu or collapse: median {np.median(truth):.1f}, "
                             f"5-95 % {np.percentile(truth, 5):.1f}-{np.percentile(truth, 95):.1f}; model "
                             f"{np.mean(model_mae) / np.mean(truth):.1%}, rule {np.mean(rule_mae) / np.mean(truth):.1%} "
                             f"of the mean"))
    return rows
