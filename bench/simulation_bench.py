"""A batch simulation run on a stored simbench grid, computed and written through the real ingest path.

Prints, for ``--steps`` 15-minute steps of the grid (imported into the current profile's graph
first if it is not there): the time to prepare the run from the twin graph, the compute time of
all chunks (power flow, telemetry mapping, sensor layer; no writing), the wall time of the whole
run through ``api.simulations.SimulationRunner`` (ingest: validation, spool/write, downsampling)
with the messages per second, the extrapolation of both to a year (35,040 steps), and a plain
pandapower ``runpp`` loop on a sample of the same steps for the ratio.  Targets (issue 9): a year
computed in < 10 s and written in < 60 s.

Usage: ``GRIDTWIN_PROFILE=test .venv/bin/python bench/simulation_bench.py [--code 1-MV-rural--0-sw]
[--steps 2880] [--sample 50]`` (servers of the profile up).
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import os
import sys
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gridtwin.config import get_settings  # noqa: E402
from graph import db as graph_db  # noqa: E402
from graph.models_store import ensure_builtin_models  # noqa: E402

YEAR = 35_040


def _ensure_grid(code: str, grid_id: str) -> None:
    from loaders.grids.sink import list_grids, store_grid
    from loaders.grids.sources import load_grid

    settings = get_settings()
    with graph_db.open_driver(settings) as driver:
        models = ensure_builtin_models(driver)
        if grid_id not in {g.grid_id for g in list_grids(driver)}:
            store_grid(driver, models, load_grid(f"simbench:{code}", grid_id), settings=settings)


def _compute_only(request: object) -> tuple[float, float, int]:
    from api.simulations import BATCH_CHUNK
    from loaders.simulation.run import prepare

    settings = get_settings()
    with graph_db.open_driver(settings) as driver:
        models = ensure_builtin_models(driver)
        began = time.perf_counter()
        run = prepare(driver, models, settings, request)
        prepared = time.perf_counter()
    values = 0
    for start in range(0, request.steps, BATCH_CHUNK):  # type: ignore[attr-defined]
        series, _, _ = run.chunk(start, min(request.steps, start + BATCH_CHUNK))  # type: ignore[attr-defined]
        values += sum(array.size for one in series.values() for array in one.values.values())
    return prepared - began, time.perf_counter() - prepared, values


async def _through_ingest(request: object) -> tuple[float, int, str]:
    from api.app import start_services
    from graph.simulations import get_run

    services = await start_services(get_settings())
    try:
        began = time.perf_counter()
        run_id = await services.simulations.start(request, speed=None, started_by="bench")
        task = services.simulations.runs[run_id].task
        assert task is not None
        await task
        elapsed = time.perf_counter() - began
        record = await asyncio.to_thread(get_run, services.neo4j, run_id)
        return elapsed, record.messages_sent, record.status
    finally:
        await services.close()


def _pandapower_loop(code: str, sample: int, steps: int) -> float:
    import numpy as np
    import pandapower as pp
    import simbench

    net = simbench.get_simbench_net(code)
    absolute = simbench.get_absolute_values(net, profiles_instead_of_study_cases=True)
    work = copy.deepcopy(net)
    chosen = np.linspace(0, steps - 1, sample).astype(int)
    began = time.perf_counter()
    for step in chosen:
        for (table, column), frame in absolute.items():
            if len(frame.columns):
                work[table].loc[frame.columns, column] = frame.iloc[int(step)].to_numpy()
        pp.runpp(work)
    return (time.perf_counter() - began) / sample


def main() -> None:
    from loaders.simulation.run import ScenarioRequest, SimulationRequest

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--code", default="1-MV-rural--0-sw")
    parser.add_argument("--steps", type=int, default=2_880, help="15-minute steps (2,880: a month)")
    parser.add_argument("--sample", type=int, default=50, help="pandapower steps to time")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    grid_id = f"bench-{args.code}"
    _ensure_grid(args.code, grid_id)
    request = SimulationRequest(grid_id, (ScenarioRequest("normal"),), datetime(2026, 1, 1, tzinfo=timezone.utc),
                                args.steps, 900.0, 1)
    print(f"grid {args.code} stored as {grid_id}; {args.steps} steps; load average {os.getloadavg()[0]:.1f}")
    prepare_s, compute_s, values = _compute_only(request)
    print(f"prepare from the twin graph: {prepare_s:.2f} s; compute {compute_s:.2f} s for {values:,} values "
          f"-> a year {compute_s * YEAR / args.steps:.1f} s (target < 10 s)")
    wall_s, messages, status = asyncio.run(_through_ingest(request))
    print(f"whole run through ingest: {wall_s:.1f} s, {messages:,} messages ({messages / wall_s:,.0f} msgs/s), "
          f"status {status} -> a year {wall_s * YEAR / args.steps:.0f} s (target < 60 s)")
    per_step = _pandapower_loop(args.code, args.sample, args.steps)
    ours = compute_s / args.steps
    print(f"pandapower runpp loop: {per_step * 1e3:.1f} ms/step; simulator compute {ours * 1e3:.2f} ms/step; "
          f"ratio {per_step / ours:.0f}x (compute), {per_step / (wall_s / args.steps):.1f}x (with writing)")


if __name__ == "__main__":
    main()
