"""Inference speed of the measurement points' ML engine, and what continuous inference costs the ingest.

    .venv/bin/python bench/inference_bench.py latency [--points 10000] [--repeats 200]
    GRIDTWIN_PROFILE=test .venv/bin/python bench/inference_bench.py ingest [--messages 200000] [--watched 100]

``latency``: the engine (``ml.inference.engine``) on a simbench grid's history (``--grid``, default the
demo's MV grid ``1-MV-semiurb--0-sw``, whose technical-losses estimator the full plan trains) with points
on its buses: one point with every module (the grid models'
answers cached for the quarter-hour, as in service, and cold: the first point of a slot), and a
batch of ``--points`` points.  Uses the profile's trained models, else trains the small plan into
a temporary folder (timings do not depend on the weights).  Also times one GNN state estimate of
the grid (the GNN answers per grid, not per point).

``ingest``: the real ingest pipeline into the real InfluxDB (scratch bucket), alternately without
and with continuous inference of ``--watched`` of the twins every second (their broker
subscription, ring buffers and engine passes, whose predictions go back through the same ingest),
three rounds each; prints messages/s of each and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

GRID = "1-MV-semiurb--0-sw"
MODELS = ("monitoring.voltage_anomaly", "monitoring.frequency_forecast", "monitoring.power_quality_disturbance",
          "maintenance.overload_risk",
          "maintenance.equipment_failure_risk", "maintenance.power_quality_index", "energy_flow.technical_losses",
          "energy_flow.load_forecast")
ALL = ("monitoring", "maintenance", "energy", "decision")


def _registry():
    from dataclasses import replace

    from gridtwin.config import get_settings
    from ml import jobs
    from ml.plan import SMALL
    from ml.registry import Registry

    registry = Registry.of_profile(get_settings().state_path)
    missing = [name for name in MODELS if not registry.versions(name)]
    if not missing:
        return registry
    temporary = Registry(Path(tempfile.mkdtemp(prefix="gridtwin-inference-bench-")))
    print(f"the profile lacks {', '.join(missing)}: training the small plan into {temporary.root}")
    for name in MODELS:
        jobs.train(name, temporary, replace(SMALL, load_codes=(GRID,)), get_settings().cache_dir / "ml")
    return temporary


def _windows(points: int, end_s: int) -> np.ndarray:
    """Windows in which every signal of the point is reported every second (the worst case for the features)."""
    from ml.features.compute import WINDOW_SAMPLES
    from ml.features.signals import SIGNALS

    rng = np.random.default_rng(0)
    typical = {"voltage": 230.0, "current": 4.3, "activePower": 1000.0, "reactivePower": 300.0, "frequency": 50.0,
               "powerQuality": 1.0}
    samples = np.empty((points, WINDOW_SAMPLES, len(SIGNALS)))
    for column, name in enumerate(SIGNALS):
        level = typical[name.split(".")[0]] * (0.001 if name == "frequency.deviation" else 1.0)
        samples[:, :, column] = level * (1 + rng.normal(0, 0.002, (points, WINDOW_SAMPLES)))
    return samples


def _engine(points: int):
    from ml.data.grids import grid_network, profile_tables
    from ml.inference.engine import InferenceEngine, PointInput
    from ml.inference.history import history_of_run, period
    from ml.serving import ModelCache
    from physics.timeseries import StepInputs, apply_profiles

    network, profiles = grid_network(GRID)
    loaded = {int(n) for n in network.input_data["sym_load"]["node"]}
    buses = [key for pgm_id, key in network.keys.items() if key.startswith("bus/") and pgm_id in loaded]
    now = time.time()
    from datetime import datetime, timezone

    start, steps, first_position = period(datetime.fromtimestamp(now, tz=timezone.utc))
    inputs = StepInputs(network, steps)
    apply_profiles(inputs, profile_tables(profiles), start=first_position)
    point_ids = [f"bench-mp-{k}" for k in range(points)]
    attached = {point: buses[k % len(buses)] for k, point in enumerate(point_ids)}
    built = []

    def history_of(grid: str, moment: datetime):
        started = time.perf_counter()
        history = history_of_run(GRID, network, inputs, attached, first_position)
        built.append((time.perf_counter() - started) * 1000.0)
        return history

    engine = InferenceEngine(ModelCache(_registry()), history_of)
    return engine, [PointInput(p, GRID) for p in point_ids], int(now), built


def _percentiles(values: list[float]) -> str:
    return (f"p50 {statistics.median(values):.2f} ms, p95 {float(np.percentile(values, 95)):.2f} ms "
            f"({len(values)} runs)")


def latency(args: argparse.Namespace) -> None:
    engine, points, end_s, built = _engine(args.points)
    one, batch = _windows(1, end_s), _windows(args.points, end_s)
    engine.infer(points[:1], one, end_s, ALL)  # loads the models, solves the history once
    print(f"grid history ({GRID}, 14 days + today at 15 min, {len(points)} points placed): {built[-1]:.0f} ms")
    warm = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        found = engine.infer(points[:1], one, end_s, ALL)
        warm.append((time.perf_counter() - started) * 1000.0)
    answered = sum(len(m.values) for m in found.point(0).modules.values())
    print(f"one point, every module, grid answers cached: {_percentiles(warm)}; {answered} fields answered")
    cold = []
    for _ in range(max(3, args.repeats // 40)):
        engine.forget()
        started = time.perf_counter()
        engine.infer(points[:1], one, end_s, ALL)
        cold.append((time.perf_counter() - started) * 1000.0)
    print(f"one point, every module, first of its quarter-hour (grid models + history): {_percentiles(cold)}")
    monitoring = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        engine.infer(points[:1], one, end_s, ("monitoring",))
        monitoring.append((time.perf_counter() - started) * 1000.0)
    print(f"one point, monitoring only (the 1 Hz models): {_percentiles(monitoring)}")
    batches, messages = [], []
    engine.infer(points, batch, end_s, ALL)  # one warm-up pass: the first allocation of 10,000-row arrays
    for _ in range(10):
        started = time.perf_counter()
        result = engine.infer(points, batch, end_s, ALL)
        batches.append((time.perf_counter() - started) * 1000.0)
        started = time.perf_counter()
        result.messages()  # noqa: B018 - timed
        messages.append((time.perf_counter() - started) * 1000.0)
    print(f"{len(points)} points in one batch, every module, grid answers cached: {_percentiles(batches)}")
    print(f"  and their {len(result.messages())} MLEngine telemetry messages built for the ingest: "
          f"{_percentiles(messages)}")
    _gnn(args)


def _gnn(args: argparse.Namespace) -> None:
    from ml.jobs import state_estimation as se_job

    registry = _registry()
    if not registry.versions(se_job.NAME):
        print("gnn.state_estimation not trained in the profile: its per-grid time is in bench/ml_bench.py")
        return
    from ml.gnn import estimators, state_estimator
    from ml.gnn.cases import CaseSettings, build_case
    from ml.gnn.graph import topology

    model = se_job.load(registry)
    case = build_case(GRID, CaseSettings(samples=1, seed=21))
    prior, edges = estimators.LinearPrior(case), topology(case.network)
    times = []
    for _ in range(30):
        started = time.perf_counter()
        state_estimator.estimate_case(model, case, prior, edges)
        times.append((time.perf_counter() - started) * 1000.0)
    print(f"GNN state estimate of the whole grid ({GRID}, one instant): {_percentiles(times)}")


async def _ingest_round(args: argparse.Namespace, watched: int, bucket: str) -> float:
    from api.predictions import PredictionService, Watch, _fill
    from graph.models_store import builtin_documents, parse_models
    from gridtwin.config import get_settings
    from ml.features.windows import LiveWindows
    from ml.inference.engine import PointInput
    from timeseries.broker import InProcessBroker
    from timeseries.directory import InMemoryTwinDirectory, TwinInfo
    from timeseries.ingest import TelemetryIngest
    from timeseries.samples import MEASUREMENT_POINT, measurement_point_interface, snapshot
    from timeseries.spool import Spool
    from timeseries.writer import InfluxHttpWriter, TelemetryWriter

    settings = get_settings()
    engine_interface = parse_models(builtin_documents()).interfaces["dtmi:gridtwin:MLEngine;1"]
    interface = measurement_point_interface()
    directory = InMemoryTwinDirectory({f"bench-mp-{i}": TwinInfo(f"bench-mp-{i}", MEASUREMENT_POINT, interface,
                                                                 components={"mlEngine": engine_interface})
                                       for i in range(args.twins)})
    url, token = settings.resolved_influxdb()
    writer = TelemetryWriter(InfluxHttpWriter(url, token, settings.influxdb_org, bucket),
                             Spool(Path(tempfile.mkdtemp(prefix="gridtwin-bench-spool-")), max_bytes=4 << 30))
    broker = InProcessBroker()
    ingest = TelemetryIngest(directory, writer, broker)
    await ingest.start()
    tasks = []
    if watched:
        service = PredictionService(_ENGINE_CACHE[0], None, lambda: None, settings, broker, ingest.ingest)
        inputs = [PointInput(f"bench-mp-{i}", None) for i in range(watched)]
        live = LiveWindows()
        watch = Watch(tuple(i.twin_id for i in inputs), 1.0, ("monitoring",))
        service.watch = watch
        tasks = [asyncio.create_task(_fill(broker.subscribe([i.twin_id for i in inputs], max_queue=1024), live)),
                 asyncio.create_task(service._loop(watch, inputs, live))]
    pool = [snapshot(i) for i in range(1024)]
    base_ns = time.time_ns()
    started = time.perf_counter()
    for first in range(0, args.messages, args.chunk):
        await ingest.ingest([{"twin": f"bench-mp-{i % args.twins}", "time": base_ns + i * 1000,
                              "values": pool[i & 1023]} for i in range(first, first + args.chunk)], "ns")
    elapsed = time.perf_counter() - started
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await ingest.close()
    if watched:
        print(f"    continuous inference: {watch.passes} passes, last {watch.last_pass_ms:.1f} ms, "
              f"error {watch.last_error}")
    return args.messages / elapsed


_ENGINE_CACHE: list = []


def ingest(args: argparse.Namespace) -> None:
    from influxdb_client import BucketRetentionRules, InfluxDBClient

    from gridtwin.config import get_settings
    from ml.serving import ModelCache

    settings = get_settings()
    _ENGINE_CACHE.append(ModelCache(_registry()))
    url, token = settings.resolved_influxdb()
    bucket = f"{settings.influxdb_bucket}_inference_bench"
    with InfluxDBClient(url=url, token=token, org=settings.influxdb_org) as client:
        api = client.buckets_api()
        if (old := api.find_bucket_by_name(bucket)) is not None:
            api.delete_bucket(old)
        created = api.create_bucket(bucket_name=bucket, org=settings.influxdb_org,
                                    retention_rules=BucketRetentionRules(type="expire", every_seconds=3600))
        try:
            rates: dict[int, list[float]] = {0: [], args.watched: []}
            for _ in range(3):
                for watched in (0, args.watched):
                    rate = asyncio.run(_ingest_round(args, watched, bucket))
                    rates[watched].append(rate)
                    print(f"  {'with' if watched else 'without'} continuous inference of {watched} points: "
                          f"{rate:,.0f} messages/s")
        finally:
            api.delete_bucket(created)
    without, with_watch = statistics.median(rates[0]), statistics.median(rates[args.watched])
    print(f"ingest, median of 3: without {without:,.0f} msg/s, with {with_watch:,.0f} msg/s "
          f"(ratio {with_watch / without:.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("part", choices=("latency", "ingest"))
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--chunk", type=int, default=5_000)
    parser.add_argument("--twins", type=int, default=1_000)
    parser.add_argument("--watched", type=int, default=100)
    parser.add_argument("--grid", default=GRID)
    args = parser.parse_args()
    globals()["GRID"] = args.grid
    latency(args) if args.part == "latency" else ingest(args)


if __name__ == "__main__":
    main()
