"""ML speed, side by side in one run: the GNN state estimator against power-grid-model's WLS batch,
and the day-ahead load forecast's latency.

    .venv/bin/python bench/ml_bench.py [--samples 400 1000] [--repeats 15] [--grid 1-MV-rural--0-sw]

Uses the newest trained models of the profile (``gridtwin ml train``); without them it trains
the small plan into a temporary folder (the timings do not depend on the weights' values).
Both estimators get the same batch of measurements; their calls alternate so that a noisy
neighbour on the machine slows both.  The per-grid set-up (the WLS model, the prior's probe)
is timed apart.  Prints medians and the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from gridtwin.config import get_settings
from ml.gnn import estimators, state_estimator
from ml.gnn.cases import CaseSettings, build_case
from ml.gnn.graph import topology
from ml.jobs import load_forecast as load_job
from ml.jobs import state_estimation as se_job
from ml.plan import FULL, SMALL
from ml.registry import Registry, RegistryError


def _registry() -> Registry:
    registry = Registry.of_profile(get_settings().state_path)
    try:
        registry.load(se_job.NAME)
        registry.load(load_job.NAME)
        return registry
    except RegistryError:
        temporary = Registry(Path(tempfile.mkdtemp(prefix="gridtwin-ml-bench-")))
        print("no trained models in the profile: training the small plan into", temporary.root)
        se_job.train(temporary, SMALL)
        load_job.train(temporary, SMALL, get_settings().cache_dir / "ml")
        return temporary


def _timed(call) -> float:
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000.0


def state_estimation(registry: Registry, grid: str, samples: int, repeats: int) -> None:
    model = se_job.load(registry)
    case = build_case(grid, CaseSettings(samples=samples, seed=21))
    setup_prior = _timed(lambda: estimators.LinearPrior(case))
    prior, edges = estimators.LinearPrior(case), topology(case.network)
    gnn, wls = [], []
    for _ in range(repeats):
        gnn.append(_timed(lambda: state_estimator.estimate_case(model, case, prior, edges)))
        wls.append(_timed(lambda: estimators.wls_estimate(case, threading=0)))
    gnn_ms, wls_ms = statistics.median(gnn), statistics.median(wls)
    print(f"state estimation, {grid}, {case.nodes} buses, {samples} samples, {repeats} alternating calls: "
          f"GNN median {gnn_ms:.1f} ms (min {min(gnn):.1f}), WLS median {wls_ms:.1f} ms (min {min(wls):.1f}); "
          f"WLS/GNN {wls_ms / gnn_ms:.1f}x; prior probe once per grid {setup_prior:.1f} ms")


def load_forecast(registry: Registry, repeats: int) -> None:
    forecaster = load_job.load(registry)
    name, scale = next(iter(forecaster.scales.items()))
    from ml.data.load_series import grid_series

    code = name.split("/")[0]
    days = grid_series(code, cache_dir=get_settings().cache_dir / "ml").days[code]
    one = sorted(_timed(lambda: forecaster.predict(days, [len(days) - 1], scale)) for _ in range(repeats))
    many = _timed(lambda: forecaster.predict(days, list(range(20, len(days))), scale))
    print(f"load forecast, one 96-step day of {code}: p50 {one[len(one) // 2]:.2f} ms, "
          f"p95 {one[int(0.95 * (len(one) - 1))]:.2f} ms; {len(days) - 20} days in one call {many:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, nargs="+", default=[400, 1000])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--grid", default=FULL.se_test_codes[0])
    parser.add_argument("--threads", type=int, default=2)
    arguments = parser.parse_args()
    torch.set_num_threads(arguments.threads)
    registry = _registry()
    for samples in arguments.samples:
        state_estimation(registry, arguments.grid, samples, arguments.repeats)
    load_forecast(registry, 50)


if __name__ == "__main__":
    main()
