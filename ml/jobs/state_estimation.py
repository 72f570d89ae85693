"""Train the GNN state estimator on some grids and evaluate it on others against power-grid-model's WLS.

Training cases mix sensor densities (5-30 % of buses) so one model serves every density;
evaluation cases use their own seeds (new sensor placements, profile steps, load deviations
and noise) on grids the model never saw.  Speed is the same batch of samples through each
estimator, best of three, in one run: WLS with power-grid-model's own threads, the GNN with
torch's; the per-grid set-up (WLS model, the prior's probe) is outside both timings.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict

import numpy as np

from ml.evaluation import Row
from ml.gnn import estimators
from ml.gnn.cases import CaseSettings, SeCase, build_case
from ml.gnn.graph import EDGE_FEATURES, NODE_FEATURES, batch, topology
from ml.plan import Plan
from ml.registry import Artefact, Registry, data_sha256

NAME = "gnn.state_estimation"
MODEL_FILE = "model.pt"
TRAINING_FRACTIONS = (0.05, 0.1, 0.2, 0.3)


def _cases(codes: tuple[str, ...], seeds: tuple[int, ...], fractions: tuple[float, ...], samples: int) -> list[SeCase]:
    return [build_case(code, CaseSettings(measured_fraction=fraction, samples=samples, seed=seed))
            for code in codes for seed in seeds for fraction in fractions]


def train(registry: Registry, plan: Plan) -> Artefact:
    import torch

    from ml.gnn import state_estimator

    torch.set_num_threads(plan.threads)
    cases = _cases(plan.se_training_codes, plan.training_seeds, TRAINING_FRACTIONS, plan.se_training_samples)
    graphs = [batch(case, estimators.LinearPrior(case), topology(case.network)) for case in cases]
    settings = state_estimator.TrainingSettings(epochs=plan.gnn_epochs, seed=plan.training_seeds[0])
    model = state_estimator.train(graphs, [case.true_u_pu for case in cases], settings)
    metadata = {"plan": plan.name, "training_grids": list(plan.se_training_codes), "seeds": list(plan.training_seeds),
                "fractions": list(TRAINING_FRACTIONS), "samples": sum(case.samples for case in cases),
                "settings": asdict(settings), "case_settings": asdict(CaseSettings()),
                "node_features": list(NODE_FEATURES), "edge_features": list(EDGE_FEATURES),
                "data_sha256": data_sha256(part for case in cases
                                            for part in (case.code, case.measured, case.true_u_pu, case.u_measured_pu))}
    return registry.save(NAME, {MODEL_FILE: state_estimator.to_bytes(model)}, metadata)


def load(registry: Registry, version: int | None = None):  # -> state_estimator.StateEstimatorNet (imports torch)
    from ml.gnn import state_estimator

    artefact = registry.load(NAME, version)
    settings = state_estimator.TrainingSettings(**artefact.metadata["settings"])
    return state_estimator.from_bytes(artefact.read(MODEL_FILE), settings)


def _best_of(call: Callable[[], np.ndarray], repeats: int = 3) -> tuple[np.ndarray, float]:
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = call()
        best = min(best, time.perf_counter() - start)
    return result, best * 1000.0


def scores(model: object, case: SeCase) -> dict[str, float]:
    from power_grid_model.errors import PowerGridBatchError

    from ml.gnn import state_estimator

    prior, grid = estimators.LinearPrior(case), topology(case.network)
    gnn_u, gnn_ms = _best_of(lambda: state_estimator.estimate_case(model, case, prior, grid))
    scores = {"gnn": estimators.mean_absolute_error_percent(gnn_u, case), "gnn_ms": gnn_ms,
              "start": estimators.mean_absolute_error_percent(batch(case, prior, grid).base_pu, case),
              "naive": estimators.mean_absolute_error_percent(estimators.substation_everywhere(case), case),
              "nominal": estimators.mean_absolute_error_percent(estimators.nominal_everywhere(case), case)}
    try:
        wls_u, wls_ms = _best_of(lambda: estimators.wls_estimate(case, threading=0))
        scores |= {"wls": estimators.mean_absolute_error_percent(wls_u, case), "wls_ms": wls_ms}
    except PowerGridBatchError as error:
        scores |= {"wls": float("nan"), "wls_ms": float("nan"), "wls_failed": len(error.failed_scenarios)}
    return scores


def evaluate(registry: Registry, plan: Plan) -> list[Row]:
    import torch

    torch.set_num_threads(plan.threads)
    model = load(registry)
    rows = []
    for code in plan.se_test_codes:
        for fraction in plan.se_fractions:
            cases = _cases((code,), plan.test_seeds, (fraction,), plan.se_test_samples)
            runs = [scores(model, case) for case in cases]
            mean = {key: float(np.nanmean([run.get(key, np.nan) for run in runs])) for key in runs[0]}
            failed = sum(run.get("wls_failed", 0) for run in runs)
            rows.append(Row(NAME, f"{code} (unseen), {fraction:.0%} of buses measured, seeds "
                                  f"{','.join(map(str, plan.test_seeds))}", "MAE % of nominal", mean["gnn"],
                            "power-grid-model WLS", mean["wls"],
                            latency=f"{plan.se_test_samples} samples: GNN {mean['gnn_ms']:.1f} ms, WLS "
                                    f"{mean['wls_ms']:.1f} ms ({mean['wls_ms'] / mean['gnn_ms']:.1f}x)",
                            note=f"{mean['gnn'] / mean['wls']:.2f}x WLS error; "
                                 f"{mean['naive'] / mean['gnn']:.1f}x better than substation voltage everywhere "
                                 f"({mean['naive']:.3f} %), {mean['nominal'] / mean['gnn']:.1f}x better than 1 pu everywhere; physics start alone {mean['start']:.4f} %"
                                 + (f"; WLS failed on {failed} samples" if failed else "")))
    return rows
