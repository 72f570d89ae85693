"""Real time at 1 Hz on a ~10,000-bus grid: what one step costs, without the graph and the ingest.

Loads simbench ``--code`` (default 1-MVLV-semiurb-all-0-sw, 9,099 buses) in memory, prepares a
run of ``--steps`` one-second steps as the API does (``loaders.simulation.run.prepare_from``:
pandapower and PGM networks, profiles, scenarios), then computes it one step per chunk as a
real-time run does (power flow, telemetry mapping, thermal, sensor layer) and prints the median
and worst step, the messages one step makes, and whether the compute alone keeps up with 1 Hz.
The write side is ingest's rate (docs/benchmarks.md): messages per step / that rate says whether
the whole step fits in a second.

Usage: ``.venv/bin/python bench/simulation_realtime_bench.py [--code ...] [--steps 30]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    import dtdl
    from graph.models_store import builtin_documents
    from loaders.grids.profiles import GridProfiles
    from loaders.grids.sources import load_grid
    from loaders.simulation.run import ScenarioRequest, SimulationRequest, prepare_from
    from loaders.simulation.telemetry import messages

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--code", default="1-MVLV-semiurb-all-0-sw")
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    models = dtdl.validate(builtin_documents()).models
    began = time.perf_counter()
    document = load_grid(f"simbench:{args.code}", "rt")
    loaded = time.perf_counter()
    request = SimulationRequest("rt", (ScenarioRequest("normal"),), datetime(2026, 6, 1, 12, tzinfo=timezone.utc),
                                args.steps, 1.0, 1)
    run = prepare_from(document, GridProfiles(dict(document.profiles)), models, request)
    prepared = time.perf_counter()
    buses = sum(1 for t in document.twins if t.model.endswith(":Bus;1"))
    print(f"grid {args.code}: {buses} buses, {len(document.twins)} twins; load {loaded - began:.1f} s, "
          f"prepare {prepared - loaded:.1f} s")
    step_s, counts = [], []
    for step in range(args.steps):
        start = time.perf_counter()
        series, clocks, _ = run.chunk(step, step + 1)
        batch = list(messages(series, range(1), request.times_ns(range(step, step + 1)), clocks))
        step_s.append(time.perf_counter() - start)
        counts.append(len(batch))
    print(f"per step (compute + messages): median {statistics.median(step_s) * 1e3:.0f} ms, worst "
          f"{max(step_s) * 1e3:.0f} ms; {counts[0]:,} messages per step; compute keeps up with 1 Hz: "
          f"{'yes' if max(step_s) < 1.0 else 'no'}")
    print(json.dumps({"median_ms": round(statistics.median(step_s) * 1e3), "messages_per_step": counts[0]}))


if __name__ == "__main__":
    main()
