"""Downsampling under sustained full-rate ingest: completeness of the 1-minute data and influxd's memory.

Usage (servers of the profile running)::

    GRIDTWIN_PROFILE=test .venv/bin/python bench/downsampling_bench.py --minutes 5
    GRIDTWIN_PROFILE=test .venv/bin/python bench/downsampling_bench.py --minutes 5 --mode legacy

Producers call ``TelemetryIngest.ingest`` with chunks of full 3-phase snapshots of
``--twins`` twins, time-stamped *now*, as fast as the pipeline acknowledges them (or at
``--rate`` msgs/s), for ``--minutes`` minutes. ``--mode ingest-path`` (default): the ingest
path's downsampler writes the 1-minute partials as minutes close. ``--mode legacy``: no
downsampler, and the former InfluxDB task (every minute, 10-minute look-back,
``types.isNumeric`` row filter, mean/min/max) runs on the scratch buckets instead, as the
baseline. ``--mode off``: no downsampling at all (the ingest rate without it).

Printed every ``--sample-s`` seconds: acknowledged msgs/s, influxd VmRSS (``/proc/<pid>/status``
of the pid in the profile's runtime.json) and influxd CPU. At the end: completeness, i.e. the
(twin, minute) pairs of the raw bucket whose downsampled count equals the raw count of
``frequency`` (legacy: pairs that have a ``mean``), over the minutes that ended during the
run. Data goes to scratch buckets ``<bucket>_dsbench`` and ``<bucket>_dsbench_1m`` (1 day
retention), deleted afterwards unless ``--keep``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from influxdb_client import BucketRetentionRules, InfluxDBClient, TaskCreateRequest  # noqa: E402
from influxdb_client.domain.task_status_type import TaskStatusType  # noqa: E402

from gridtwin.config import Settings  # noqa: E402
from timeseries.aggregates import MINUTE_NS, minute_of  # noqa: E402
from timeseries.directory import InMemoryTwinDirectory, TwinInfo  # noqa: E402
from timeseries.downsampler import Downsampler  # noqa: E402
from timeseries.ingest import TelemetryIngest  # noqa: E402
from timeseries.samples import MEASUREMENT_POINT, measurement_point_interface, snapshot  # noqa: E402
from timeseries.spool import Spool  # noqa: E402
from timeseries.writer import InfluxHttpWriter, TelemetryWriter  # noqa: E402

SECOND_NS = 1_000_000_000
#: The former task's pipeline (timeseries/setup.py before the ingest path downsampled), kept as the baseline.
LEGACY_TASK = """import "date"
import "types"

option task = {{name: "{name}", every: 1m, offset: 5s}}

stop = date.truncate(t: now(), unit: 1m)
start = date.sub(d: 10m, from: stop)
data = from(bucket: "{source}")
    |> range(start: start, stop: stop)
    |> filter(fn: (r) => types.isNumeric(v: r._value))
    |> toFloat()
union(tables: [
    data |> aggregateWindow(every: 1m, fn: mean, createEmpty: false) |> set(key: "agg", value: "mean"),
    data |> aggregateWindow(every: 1m, fn: min, createEmpty: false) |> set(key: "agg", value: "min"),
    data |> aggregateWindow(every: 1m, fn: max, createEmpty: false) |> set(key: "agg", value: "max"),
])
    |> to(bucket: "{target}")
"""


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def make_ingest(args: argparse.Namespace, settings: Settings, raw: str, target: str, work: Path) -> TelemetryIngest:
    interface = measurement_point_interface()
    directory = InMemoryTwinDirectory({f"dsb-{i}": TwinInfo(f"dsb-{i}", MEASUREMENT_POINT, interface)
                                       for i in range(args.twins)})
    url, token = settings.resolved_influxdb()
    writer = TelemetryWriter(InfluxHttpWriter(url, token, settings.influxdb_org, raw), Spool(work / "spool", 4 << 30),
                             batch_lines=args.batch, max_in_flight=args.in_flight)
    downsampler = None
    if args.mode == "ingest-path":
        downsampler = Downsampler.for_bucket(url, token, settings.influxdb_org, target, work)
    return TelemetryIngest(directory, writer, downsampler=downsampler)


async def ingest_for(args: argparse.Namespace, ingest: TelemetryIngest, pid: int) -> dict[str, Any]:
    """Run the producers for ``--minutes``, sampling rate, RSS and CPU; the timeline and totals."""
    pool = [snapshot(i) for i in range(4096)]
    deadline = time.monotonic() + args.minutes * 60
    accepted = 0
    per_producer = args.rate / args.producers if args.rate else None

    async def producer() -> None:
        nonlocal accepted
        sent = 0
        started = time.monotonic()
        while time.monotonic() < deadline:
            now_ns = time.time_ns()
            messages = [{"twin": f"dsb-{(sent + j) % args.twins}", "time": now_ns + j,
                         "values": pool[(sent + j) & 4095]} for j in range(args.chunk)]
            result = await ingest.ingest(messages, "ns")
            accepted += result.accepted  # after the await: ``accepted += await ...`` would read it before
            sent += args.chunk
            if per_producer:
                await asyncio.sleep(max(0.0, started + sent / per_producer - time.monotonic()))

    timeline: list[dict[str, float]] = []

    async def sampler() -> None:
        last_t, last_n, last_cpu = time.monotonic(), 0, cpu_seconds(pid)
        while True:
            await asyncio.sleep(args.sample_s)
            t, n, cpu = time.monotonic(), accepted, cpu_seconds(pid)
            point = {"t_s": round(t - start, 1), "msgs_per_s": round((n - last_n) / (t - last_t)),
                     "influxd_rss_mb": round(rss_mb(pid)), "influxd_cores": round((cpu - last_cpu) / (t - last_t), 2),
                     "raw_spool_mb": round(ingest.writer.spool.pending_bytes / 2**20, 1)}
            timeline.append(point)
            print(json.dumps(point), flush=True)
            last_t, last_n, last_cpu = t, n, cpu

    await ingest.start()
    start = time.monotonic()
    first_ns = time.time_ns()
    watcher = asyncio.create_task(sampler())
    await asyncio.gather(*(producer() for _ in range(args.producers)))
    wall = time.monotonic() - start
    last_ns = time.time_ns()
    drained = await ingest.writer.wait_drained(args.drain_s)  # raw data that went to the spool reaches InfluxDB
    downsampler = ingest.downsampler
    if downsampler is not None:  # what close() would leave in the 1m spool for the next start, measured now
        await downsampler.flush(everything=True)
        drained = await downsampler.writer.wait_drained(args.drain_s) and drained
    await ingest.close()
    watcher.cancel()
    stats = None if downsampler is None else {**vars(downsampler.stats), "folded": downsampler.aggregator.folded,
                                              "resent": downsampler.aggregator.resent}
    return {"accepted": accepted, "wall_s": wall, "msgs_per_s": accepted / wall, "first_ns": first_ns,
            "last_ns": last_ns, "timeline": timeline, "downsampler": stats, "drained": drained,
            "raw_writer": vars(ingest.writer.stats),
            "pipeline_cpu_s": sum(os.times()[:2])}


def completeness(client: InfluxDBClient, raw: str, target: str, start_ns: int, stop_ns: int, legacy: bool
                 ) -> dict[str, Any]:
    """Compare per (twin, minute) the raw count of ``frequency`` with the downsampled minute.

    Downsampled points sit at their minute's end, so their range is shifted by a second.
    """
    window = {"start": _time(start_ns), "stop": _time(stop_ns)}
    raw_rows = client.query_api().query(
        'from(bucket: b) |> range(start: start, stop: stop) |> filter(fn: (r) => r._field == "frequency") '
        '|> aggregateWindow(every: 1m, fn: count, createEmpty: false)', params={"b": raw, **window})
    raw_counts = {(r.values["twin"], r.get_time()): r.get_value() for t in raw_rows for r in t.records}
    agg = "mean" if legacy else "count"
    down_rows = client.query_api().query(
        'from(bucket: b) |> range(start: start, stop: stop) |> filter(fn: (r) => r._field == "frequency" '
        'and r.agg == a) |> group(columns: ["twin", "_time"]) |> sum()',
        params={"b": target, "a": agg, "start": _time(start_ns + SECOND_NS), "stop": _time(stop_ns + SECOND_NS)})
    down = {(r.values["twin"], r.get_time()): r.get_value() for t in down_rows for r in t.records}
    matched = sum(1 for key, count in raw_counts.items() if key in down and (legacy or down[key] == count))
    return {"minutes": (stop_ns - start_ns) // MINUTE_NS, "raw_pairs": len(raw_counts), "complete_pairs": matched,
            "completeness_pct": round(100 * matched / max(1, len(raw_counts)), 2),
            "raw_values": sum(raw_counts.values()),
            "downsampled_count": None if legacy else sum(down.get(k, 0) for k in raw_counts)}


def legacy_task(client: InfluxDBClient, org_id: str, raw: str, target: str) -> str:
    flux = LEGACY_TASK.format(name=f"dsbench-legacy-{raw}", source=raw, target=target)
    request = TaskCreateRequest(flux=flux, org_id=org_id, status=TaskStatusType.ACTIVE, description="dsbench baseline")
    return str(client.tasks_api().create_task(task_create_request=request).id)


def stop_task(client: InfluxDBClient, url: str, task_id: str, timeout_s: float = 600.0) -> bool:
    """Stop the task, cancel its running run, and wait until influxd runs no query at all; False on timeout.

    Why: influxd 2.7.12 crashes (SIGSEGV in the storage reader) when a bucket is deleted under a
    running query, and a deleted task's run keeps running.
    """
    api = client.tasks_api()
    task = api.find_task_by_id(task_id)
    task.status = TaskStatusType.INACTIVE
    api.update_task(task)
    for run in api.get_runs(task_id):
        if run.finished_at is None:
            with contextlib.suppress(Exception):
                api.cancel_run(task_id, run.id)
    api.delete_task(task_id)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if running_queries(url) == 0:
            return True
        time.sleep(2)
    return False


def running_queries(url: str) -> int:
    """Executing plus queued Flux queries, from influxd's /metrics (query controller gauges)."""
    total = 0
    for line in httpx.get(f"{url}/metrics", timeout=10).text.splitlines():
        if line.startswith(("qc_executing_active", "qc_queueing_active")):
            total += int(float(line.rsplit(" ", 1)[1]))
    return total


def task_runs(client: InfluxDBClient, task_id: str) -> list[float]:
    runs = client.tasks_api().get_runs(task_id, limit=100)
    return sorted(round((r.finished_at - r.started_at).total_seconds(), 1) for r in runs
                  if r.finished_at and r.started_at)


def _time(time_ns: int) -> datetime:
    """Whole seconds only (what the windows need): a float of ns since 1970 cannot hold +1 ns."""
    return datetime.fromtimestamp(time_ns // SECOND_NS, tz=timezone.utc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0, help="how long to ingest")
    parser.add_argument("--twins", type=int, default=2_000)
    parser.add_argument("--chunk", type=int, default=1_000, help="messages per ingest call (a request)")
    parser.add_argument("--producers", type=int, default=32, help="concurrent ingest calls")
    parser.add_argument("--rate", type=float, default=0.0, help="msgs/s to offer (0: as fast as acknowledged)")
    parser.add_argument("--batch", type=int, default=5_000, help="lines per InfluxDB write")
    parser.add_argument("--in-flight", type=int, default=3, help="concurrent InfluxDB writes")
    parser.add_argument("--sample-s", type=float, default=10.0, help="seconds between timeline points")
    parser.add_argument("--mode", choices=["ingest-path", "legacy", "off"], default="ingest-path",
                        help="who downsamples: the ingest path, the former Flux task (baseline), nobody")
    parser.add_argument("--settle-s", type=float, default=75.0, help="legacy: wait for the task's last runs")
    parser.add_argument("--drain-s", type=float, default=600.0, help="wait for the raw spool to reach InfluxDB")
    parser.add_argument("--keep", action="store_true", help="keep the scratch buckets")
    args = parser.parse_args()
    settings = Settings()
    raw, target = settings.influxdb_bucket + "_dsbench", settings.influxdb_bucket + "_dsbench_1m"
    url, token = settings.resolved_influxdb()
    pid = settings.runtime()["influxdb"]["pid"]
    with InfluxDBClient(url=url, token=token, org=settings.influxdb_org, timeout=600_000) as client:
        buckets = client.buckets_api()
        org_id = client.organizations_api().find_organizations(org=settings.influxdb_org)[0].id
        created = []
        for name in (raw, target):
            if (existing := buckets.find_bucket_by_name(name)) is not None:
                buckets.delete_bucket(existing)
            created.append(buckets.create_bucket(bucket_name=name, org_id=org_id, retention_rules=BucketRetentionRules(
                type="expire", every_seconds=86_400)))
        task_id = legacy_task(client, org_id, raw, target) if args.mode == "legacy" else None
        rss_before = rss_mb(pid)
        try:
            work = Path(tempfile.mkdtemp(prefix="gridtwin-dsbench-"))
            result = asyncio.run(ingest_for(args, make_ingest(args, settings, raw, target, work), pid))
            if task_id:
                time.sleep(args.settle_s)
                result["task_run_seconds"] = task_runs(client, task_id)
            first, last = minute_of(result["first_ns"]) + MINUTE_NS, minute_of(result["last_ns"])
            result["completeness"] = completeness(client, raw, target, first, last, args.mode == "legacy") if (
                args.mode != "off" and last > first) else None
            print(json.dumps(summary_of(args, result, rss_before), indent=2), flush=True)
        finally:
            idle = stop_task(client, url, task_id) if task_id else running_queries(url) == 0
            if not idle:
                print(f"influxd still runs queries: buckets {raw} and {target} kept", flush=True)
            elif not args.keep:
                for bucket in created:
                    buckets.delete_bucket(bucket)


def summary_of(args: argparse.Namespace, result: dict[str, Any], rss_before: float) -> dict[str, Any]:
    rss = [p["influxd_rss_mb"] for p in result["timeline"]]
    return {"mode": args.mode, "minutes": args.minutes, "twins": args.twins, "accepted": result["accepted"],
            "msgs_per_s": round(result["msgs_per_s"]),
            "influxd_rss_mb": {"before": round(rss_before), "min": min(rss, default=0), "max": max(rss, default=0),
                               "last": rss[-1] if rss else 0},
            "completeness": result["completeness"], "task_run_seconds": result.get("task_run_seconds"),
            "downsampler": result["downsampler"], "drained": result["drained"], "raw_writer": result["raw_writer"],
            "pipeline_us_cpu_per_msg": round(result["pipeline_cpu_s"] / max(1, result["accepted"]) * 1e6, 1),
            "load_average": os.getloadavg()}


if __name__ == "__main__":
    main()
