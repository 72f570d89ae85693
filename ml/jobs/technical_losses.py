"""Train one loss estimator per grid (as a loss factor is per feeder) and score it on held-out time blocks.

Training uses the sensor seeds of the plan's training seeds; evaluation its test seeds (other
instrument errors) on the held-out 28-day blocks, against the loss factor fitted on the same
training steps.
"""

from __future__ import annotations

import hashlib

import numpy as np

from ml.boosted import Boosted
from ml.data.splits import held_out_steps
from ml.energy_flow import technical_losses as tl
from ml.evaluation import Row, percentile_ms
from ml.plan import Plan
from ml.registry import Artefact, Registry, grid_file

NAME = "energy_flow.technical_losses"


def _training_set(code: str, seeds: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    year = tl.loss_year(code)
    train = ~held_out_steps(len(year.losses_w))
    x = np.vstack([tl.features(tl.measured_inputs(year, seed))[train] for seed in seeds])
    return x, np.tile(year.losses_w[train], len(seeds))


def train(registry: Registry, plan: Plan) -> Artefact:
    files, factors, digest = {}, {}, hashlib.sha256()
    for code in plan.load_codes:
        x, losses = _training_set(code, plan.training_seeds)
        files[grid_file(code)] = Boosted.fit(x, losses / 1e3, tl.FEATURES, tl.PARAMETERS, seed=plan.training_seeds[0],
                                         threads=plan.threads).to_bytes()
        factors[code] = tl.fit_loss_factor(x, losses)
        digest.update(x.tobytes() + losses.tobytes())
    return registry.save(NAME, files, {"plan": plan.name, "grids": list(plan.load_codes), "loss_factors": factors,
                                       "features": list(tl.FEATURES), "data_sha256": digest.hexdigest()})


def evaluate(registry: Registry, plan: Plan) -> list[Row]:
    artefact = registry.load(NAME)
    rows = []
    for code in plan.load_codes:
        estimator = Boosted.from_bytes(artefact.read_grid(code), tl.FEATURES)
        factor = artefact.metadata["loss_factors"][code]
        year = tl.loss_year(code)
        test = held_out_steps(len(year.losses_w))
        model_mae, baseline_mae = [], []
        for seed in plan.test_seeds:
            x = tl.features(tl.measured_inputs(year, seed))[test]
            truth = year.losses_w[test]
            model_mae.append(np.mean(np.abs(estimator.predict(x) * 1e3 - truth)))
            baseline_mae.append(np.mean(np.abs(tl.loss_factor_estimate(factor, x) - truth)))
        mean_losses = float(year.losses_w[test].mean())
        one = tl.features(tl.measured_inputs(year, plan.test_seeds[0])[:1])
        latency = percentile_ms(lambda: estimator.predict(one), 50)
        rows.append(Row(NAME, f"{code}, held-out blocks, sensor seeds {','.join(map(str, plan.test_seeds))}",
                        "MAE kW", float(np.mean(model_mae)) / 1e3, "no-load + load losses cU²+k(P²+Q²)/U²",
                        float(np.mean(baseline_mae)) / 1e3, latency=f"{latency:.2f} ms p95 per step",
                        note=f"mean losses {mean_losses / 1e3:.1f} kW: model {np.mean(model_mae) / mean_losses:.1%}, "
                             f"loss factor {np.mean(baseline_mae) / mean_losses:.1%} of them"))
    return rows
