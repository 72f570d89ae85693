"""Ingest pipeline core benchmark: validation + line protocol + batched writes into the real InfluxDB.

Usage (test profile servers running)::

    GRIDTWIN_PROFILE=test .venv/bin/python bench/ingest_bench.py --messages 600000 --mode direct

Each message is a full 3-phase GridMeasurementPoint snapshot (20 values) of one of
``--twins`` twins.  Producers call ``TelemetryIngest.ingest`` with chunks of
``--chunk`` messages (like NDJSON requests) concurrently; the numbers cover the
whole acknowledged path (in InfluxDB or fsync'ed spool).  Data goes to a scratch
bucket ``<bucket>_bench`` (1 h retention) that is deleted afterwards.  The HTTP
endpoint part (JSON parsing, Starlette) is measured separately by the API's bench.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from influxdb_client import BucketRetentionRules, InfluxDBClient  # noqa: E402

from gridtwin.config import Settings  # noqa: E402
from timeseries.directory import InMemoryTwinDirectory, TwinInfo  # noqa: E402
from timeseries.ingest import TelemetryIngest  # noqa: E402
from timeseries.samples import MEASUREMENT_POINT, measurement_point_interface, snapshot  # noqa: E402
from timeseries.spool import Spool  # noqa: E402
from timeseries.writer import InfluxHttpWriter, TelemetryWriter  # noqa: E402


def cpu_seconds_of(pid: int) -> float:
    """utime + stime of a process (InfluxDB's), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def make_directory(twins: int) -> InMemoryTwinDirectory:
    interface = measurement_point_interface()
    return InMemoryTwinDirectory({
        f"bench-mp-{i}": TwinInfo(f"bench-mp-{i}", MEASUREMENT_POINT, interface,
                                  {"feeder": f"F{i // 50}", "substation": f"S{i // 500}"})
        for i in range(twins)})


async def run(args: argparse.Namespace, settings: Settings, bucket: str) -> dict[str, float]:
    directory = make_directory(args.twins)
    url, token = settings.resolved_influxdb()
    influx = InfluxHttpWriter(url, token, settings.influxdb_org, bucket, gzip_level=args.gzip)
    spool_dir = Path(tempfile.mkdtemp(prefix="gridtwin-bench-spool-"))
    writer = TelemetryWriter(influx, Spool(spool_dir, max_bytes=4 << 30), mode=args.mode,
                             batch_lines=args.batch, max_in_flight=args.in_flight)
    ingest = TelemetryIngest(directory, writer)
    await ingest.start()
    pool = [snapshot(i) for i in range(4096)]
    base_ns = time.time_ns() - 1_800 * 1_000_000_000
    chunks = args.messages // args.chunk
    next_chunk = 0
    accepted = 0

    async def producer() -> None:
        nonlocal next_chunk, accepted
        while next_chunk < chunks:
            c = next_chunk
            next_chunk += 1
            first = c * args.chunk
            messages = [{"twin": f"bench-mp-{i % args.twins}", "time": base_ns + i * 1000,
                         "values": pool[i & 4095]} for i in range(first, first + args.chunk)]
            result = await ingest.ingest(messages, "ns")
            accepted += result.accepted

    influx_pid = settings.runtime().get("influxdb", {}).get("pid")
    influx_cpu0 = cpu_seconds_of(influx_pid) if influx_pid else 0.0
    times0 = os.times()
    wall0 = time.perf_counter()
    await asyncio.gather(*(producer() for _ in range(args.producers)))
    acked = time.perf_counter() - wall0
    drained = await writer.wait_drained(300)
    wall = time.perf_counter() - wall0
    times1 = os.times()
    influx_cpu = (cpu_seconds_of(influx_pid) - influx_cpu0) if influx_pid else float("nan")
    stats = writer.stats
    await ingest.close()
    ours = (times1.user - times0.user) + (times1.system - times0.system)
    return {"messages": accepted, "acked_s": acked, "wall_s": wall, "drained": drained,
            "msgs_per_s_acked": accepted / acked, "msgs_per_s_in_influx": accepted / wall,
            "values_per_s": accepted * 20 / wall, "pipeline_cpu_s": ours, "pipeline_cores": ours / wall,
            "influxdb_cpu_s": influx_cpu, "influxdb_cores": influx_cpu / wall,
            "us_cpu_per_msg": ours / accepted * 1e6,
            "lines_direct": stats.lines_direct, "lines_spooled": stats.lines_spooled}


def count_in_influx(client: InfluxDBClient, bucket: str) -> int:
    flux = ('from(bucket: b) |> range(start: -1d) |> filter(fn: (r) => r._field == "frequency") '
            '|> group() |> count()')
    tables = client.query_api().query(flux, params={"b": bucket})
    return sum(int(r.get_value()) for t in tables for r in t.records)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=400_000)
    parser.add_argument("--twins", type=int, default=2_000)
    parser.add_argument("--chunk", type=int, default=1_000, help="messages per ingest call (a request)")
    parser.add_argument("--producers", type=int, default=32, help="concurrent ingest calls")
    parser.add_argument("--batch", type=int, default=5_000, help="lines per InfluxDB write")
    parser.add_argument("--in-flight", type=int, default=3, help="concurrent InfluxDB writes")
    parser.add_argument("--mode", choices=["direct", "spool_first"], default="direct")
    parser.add_argument("--gzip", type=int, default=None, help="gzip level for writes (default off)")
    parser.add_argument("--verify", action="store_true", help="count the written points with Flux")
    parser.add_argument("--keep", action="store_true", help="keep the scratch bucket")
    args = parser.parse_args()
    settings = Settings()
    bucket = settings.influxdb_bucket + "_bench"
    url, token = settings.resolved_influxdb()
    with InfluxDBClient(url=url, token=token, org=settings.influxdb_org, timeout=120_000) as client:
        buckets = client.buckets_api()
        existing = buckets.find_bucket_by_name(bucket)
        if existing is not None:
            buckets.delete_bucket(existing)
        created = buckets.create_bucket(bucket_name=bucket, org=settings.influxdb_org,
                                        retention_rules=BucketRetentionRules(type="expire", every_seconds=3600))
        try:
            result = asyncio.run(run(args, settings, bucket))
            if args.verify:
                result["points_in_influx"] = count_in_influx(client, bucket)
        finally:
            if not args.keep:
                buckets.delete_bucket(created)
    print(json.dumps({"mode": args.mode, "batch": args.batch, "in_flight": args.in_flight,
                      "gzip": args.gzip, **{k: round(v, 3) if isinstance(v, float) else v
                                            for k, v in result.items()}}, indent=2))
    print(f"{args.mode}: {result['msgs_per_s_in_influx']:,.0f} msgs/s end-to-end "
          f"({result['values_per_s']:,.0f} values/s); pipeline {result['pipeline_cores']:.2f} cores "
          f"({result['us_cpu_per_msg']:.1f} us CPU/msg), InfluxDB {result['influxdb_cores']:.2f} cores")


if __name__ == "__main__":
    main()
