"""Telemetry through the API process: POST /ingest, the ingestTelemetry mutation, live subscriptions.

Run with the test profile's servers up:

    GRIDTWIN_PROFILE=test .venv/bin/gridtwin services up
    GRIDTWIN_PROFILE=test .venv/bin/python bench/telemetry_api_bench.py            # all parts
    GRIDTWIN_PROFILE=test .venv/bin/python bench/telemetry_api_bench.py --parts c  # one part

It seeds ``--twins`` GridMeasurementPoint twins (unique ids ``bench-tel-<tag>-mp-<i>``), starts
one ``gridtwin serve`` process (uvicorn; ``--workers N``: N of them on the port, sharing live
events over the profile's Redis) on a free port and measures:

(a) ``POST /ingest``: NDJSON bodies of ``--body`` full 3-phase snapshots (22 values, from
    timeseries.samples) precomputed before the clock starts, ``--concurrency``
    requests in flight, for ``--ingest-seconds``; accepted msgs/s, CPU seconds of the API
    process and of influxd, and a Flux count that every accepted message is in InfluxDB;
(b) the GraphQL mutation ``ingestTelemetry(messages: $m)`` with JSON variables;
(c) ``--subscribers`` graphql-transport-ws connections, each on ``telemetry(twinIds: [10 twins])``
    over the first 1,000 twins, which a feeder process updates at 1 Hz through /ingest with
    ``time`` = send time (ms); delivery latency = receive time - sample time;
(d) the floor of (a): the same messages as the line protocol our validator makes of them (encoded
    before the clock starts), written by influxdb-client's synchronous WriteApi from ``--concurrency``
    threads, one body per write.  With parts a and d in one run the ratio of (a) to (d) is printed
    (issue 13: at least 0.8);
(e) the floor of (c): part (c)'s subscribers and feeder against bench/ws_floor_app.py, a bare
    Starlette WebSocket broadcast of the same messages (no validation, storage or acknowledgement);
    with parts c and e in one run the ratio of their delivery p99 is printed.

``GRIDTWIN_TELEMETRY_WRITE_MODE=spool_first`` in the environment runs the API acknowledging after the
spool's fsync instead of after InfluxDB (docs/timeseries.md).

The load average is printed with every part: the box has 2 cores shared by Neo4j, InfluxDB,
the API, this client and other people's work.  Seeded twins are deleted at the end, and the
bench twins' points are deleted from the raw and downsampled buckets (InfluxDB delete API).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing
import os
import random
import resource
import signal
import statistics
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
import websockets  # noqa: E402
from influxdb_client import InfluxDBClient  # noqa: E402

from apiserver import login, start_api, wait_until_ready  # noqa: E402
from gridtwin.config import Settings  # noqa: E402
from servers.processes import free_port, stop  # noqa: E402
from graph import db as graph_db  # noqa: E402
from graph.bulk import TwinRow, bulk_create_twins, bulk_delete_twins  # noqa: E402
from graph.models_store import ensure_builtin_models  # noqa: E402
from influxdb_client import WritePrecision  # noqa: E402
from influxdb_client.client.write_api import SYNCHRONOUS  # noqa: E402

from api.app import _shipped_models  # noqa: E402
from api.ingest_http import parse_ndjson  # noqa: E402
from timeseries.directory import TwinInfo  # noqa: E402
from timeseries.samples import grid_measurement_point_snapshot  # noqa: E402
from timeseries.validation import validate_batch  # noqa: E402

MODEL = "dtmi:gridtwin:GridMeasurementPoint;1"
MEASUREMENT = "dtmi:gridtwin:GridMeasurementPoint"
COUNT_FIELD = "frequency.value"
SUBSCRIPTION = "subscription($ids: [ID!]!) { telemetry(twinIds: $ids) { coalesced samples } }"
MUTATION = ("mutation($m: [TelemetryMessage!]!) { ingestTelemetry(messages: $m) "
            "{ accepted rejected errors { index reason } } }")

#: ``gridtwin serve`` under cProfile; SIGUSR1 writes the stats (uvicorn re-raises SIGTERM, so no atexit).
PROFILED_SERVE = """
import cProfile, runpy, signal, sys
profile, path = cProfile.Profile(), sys.argv[1]
def dump(*_):
    profile.disable(); profile.dump_stats(path)
signal.signal(signal.SIGUSR1, dump)
sys.argv = ["gridtwin", "serve"]
profile.enable()
runpy.run_module("cli", run_name="__main__")
"""

# ----------------------------------------------------------------------------- helpers


def cpu_seconds_of(pid: int | None) -> float:
    """utime + stime of a process and its live children (uvicorn's workers), from /proc (nan when unknown)."""
    if not pid:
        return float("nan")
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    children = Path(f"/proc/{pid}/task/{pid}/children")
    kids = [int(k) for k in children.read_text().split()] if children.exists() else []
    return own + sum(cpu_seconds_of(kid) for kid in kids if Path(f"/proc/{kid}/stat").exists())


class CpuMeter:
    """CPU seconds of the API, influxd and this process over a measured interval, and the load average."""

    def __init__(self, api_pid: int, influx_pid: int | None) -> None:
        self.pids = {"api": api_pid, "influxd": influx_pid}

    def __enter__(self) -> CpuMeter:
        self.load_before = os.getloadavg()
        self.before = {name: cpu_seconds_of(pid) for name, pid in self.pids.items()}
        times = os.times()
        self.bench_before = times.user + times.system
        self.wall0 = time.perf_counter()
        return self

    def __exit__(self, *_: Any) -> None:
        self.wall = time.perf_counter() - self.wall0
        times = os.times()
        self.bench = times.user + times.system - self.bench_before
        self.used = {name: cpu_seconds_of(pid) - self.before[name] for name, pid in self.pids.items()}
        self.load_after = os.getloadavg()

    def report(self, wall: float | None = None) -> dict[str, Any]:
        wall = wall or self.wall
        out: dict[str, Any] = {}
        for name, seconds in self.used.items():
            out[f"{name}_cpu_s"] = round(seconds, 2)
            out[f"{name}_cores"] = round(seconds / wall, 2)
        out["bench_client_cpu_s"] = round(self.bench, 2)
        out["loadavg_before"] = [round(x, 2) for x in self.load_before]
        out["loadavg_after"] = [round(x, 2) for x in self.load_after]
        return out


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, math.ceil(p / 100 * len(sorted_values)) - 1))
    return sorted_values[k]


def twin_id(tag: str, i: int) -> str:
    return f"bench-tel-{tag}-mp-{i}"


def values_pool(size: int = 2048, seed: int = 7) -> list[str]:
    """JSON texts of full snapshots (22 values), so building a message costs one format."""
    rng = random.Random(seed)
    return [json.dumps(grid_measurement_point_snapshot(rng), separators=(",", ":")) for i in range(size)]


def seed(settings: Settings, tag: str, count: int) -> list[str]:
    rows = [TwinRow(twin_id(tag, i), MODEL, {"name": f"bench MP {i}"}) for i in range(count)]
    with graph_db.open_driver(settings) as driver:
        bulk_create_twins(driver, ensure_builtin_models(driver), rows)
    return [row.id for row in rows]


def influx_client(settings: Settings) -> InfluxDBClient:
    url, token = settings.resolved_influxdb()
    return InfluxDBClient(url=url, token=token, org=settings.influxdb_org, timeout=300_000)


def count_points(settings: Settings, tag: str, start_ms: int, stop_ms: int) -> int:
    """Points of the bench twins in [start, stop): one per stored message (field frequency.value)."""
    flux = (f'from(bucket: bucket) |> range(start: time(v: {start_ms * 1_000_000}), '
            f'stop: time(v: {stop_ms * 1_000_000}))'
            f' |> filter(fn: (r) => r._measurement == "{MEASUREMENT}" and r._field == "{COUNT_FIELD}")'
            f' |> filter(fn: (r) => r.twin =~ /^bench-tel-{tag}-mp-/) |> group() |> count()')
    with influx_client(settings) as client:
        tables = client.query_api().query(flux, params={"bucket": settings.influxdb_bucket})
    return sum(int(r.get_value()) for t in tables for r in t.records)


def verify_count(settings: Settings, tag: str, start_ms: int, stop_ms: int, expected: int,
                 wait_s: float = 60.0) -> dict[str, Any]:
    """Count until the expected number shows up (spooled batches are replayed later) or ``wait_s``."""
    deadline = time.monotonic() + wait_s
    while True:
        found = count_points(settings, tag, start_ms, stop_ms)
        if found >= expected or time.monotonic() > deadline:
            return {"points_in_influx": found, "all_accepted_stored": found == expected}
        time.sleep(2)


def delete_points(settings: Settings, ids: list[str]) -> None:
    """Delete the bench twins' points from the raw and downsampled buckets (one predicate per twin)."""
    start, stop_ = "1970-01-01T00:00:00Z", "2100-01-01T00:00:00Z"
    with influx_client(settings) as client:
        api = client.delete_api()
        buckets = [settings.influxdb_bucket, settings.influxdb_bucket + "_1m"]

        def one(twin: str) -> None:
            for bucket in buckets:
                api.delete(start, stop_, f'_measurement="{MEASUREMENT}" AND twin="{twin}"', bucket=bucket,
                           org=settings.influxdb_org)

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(one, ids))


# ----------------------------------------------------------------------------- (a) POST /ingest


def ndjson_bodies(args: argparse.Namespace, tag: str, base_ms: int, total: int) -> list[bytes]:
    """``total`` messages (rounded down to whole bodies) as NDJSON bodies of ``--body`` messages, one ms apart."""
    pool = values_pool()
    nbodies = max(1, total // args.body)
    print(f"precomputing {nbodies} bodies of {args.body} messages ...", file=sys.stderr)
    return ["\n".join(
        f'{{"twin":"{twin_id(tag, i % args.twins)}","time":{base_ms + i},"values":{pool[i % len(pool)]}}}'
        for i in range(b * args.body, (b + 1) * args.body)).encode() for b in range(nbodies)]


async def part_a(args: argparse.Namespace, url: str, token: str, tag: str, meter_pids: tuple[int, int | None],
                 settings: Settings) -> dict[str, Any]:
    base_ms = int(time.time() * 1000) - 3 * 3600 * 1000  # a time range of its own (verified by count)
    total = int(args.ingest_seconds * args.max_rate)
    bodies = ndjson_bodies(args, tag, base_ms, total)
    nbodies = len(bodies)
    body_bytes = sum(map(len, bodies))
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}
    counters = {"accepted": 0, "rejected": 0, "requests": 0, "retry_503": 0, "errors": 0}
    latencies: list[float] = []
    next_body = 0

    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120,
                                 limits=httpx.Limits(max_connections=args.concurrency * 2)) as client:
        await client.post("/ingest", content=bodies[-1])  # warm-up (twin cache), also counted below
        counters["accepted"] += args.body
        deadline = 0.0

        async def worker() -> None:
            nonlocal next_body
            while next_body < nbodies - 1 and time.perf_counter() < deadline:
                body = bodies[next_body]
                next_body += 1
                while True:
                    t0 = time.perf_counter()
                    response = await client.post("/ingest", content=body)
                    counters["requests"] += 1
                    if response.status_code == 503:
                        counters["retry_503"] += 1
                        await asyncio.sleep(float(response.headers.get("retry-after", "1")))
                        continue
                    break
                latencies.append(time.perf_counter() - t0)
                if response.status_code != 200:
                    counters["errors"] += 1
                    print(f"(a) HTTP {response.status_code}: {response.text[:200]}", file=sys.stderr)
                    continue
                report = response.json()
                counters["accepted"] += report["accepted"]
                counters["rejected"] += report["rejected"]

        accepted0 = counters["accepted"]
        with CpuMeter(*meter_pids) as meter:
            deadline = time.perf_counter() + args.ingest_seconds
            await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    accepted_timed = counters["accepted"] - accepted0
    latencies.sort()
    result = {
        "messages_per_body": args.body, "concurrency": args.concurrency,
        "body_kib": round(body_bytes / nbodies / 1024, 1),
        "seconds": round(meter.wall, 2), "accepted": accepted_timed,
        "accepted_msgs_per_s": round(accepted_timed / meter.wall),
        "values_per_s": round(accepted_timed * 22 / meter.wall),
        "bodies_exhausted": next_body >= nbodies - 1,
        **{k: v for k, v in counters.items() if k != "accepted"},
        "request_p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "request_p99_ms": round(percentile(latencies, 99) * 1000, 1),
        **meter.report(),
        "api_us_cpu_per_msg": round(meter.used["api"] / max(1, accepted_timed) * 1e6, 1),
    }
    bodies.clear()  # free the memory before counting
    result.update(await asyncio.to_thread(verify_count, settings, tag, base_ms, base_ms + total + args.body,
                                          counters["accepted"]))
    result["expected_points"] = counters["accepted"]
    return result


# ----------------------------------------------------------------------------- (d) direct writer baseline


def line_bodies(args: argparse.Namespace, tag: str, base_ms: int, total: int) -> list[str]:
    """The line protocol the API writes for the NDJSON bodies of (a), encoded by our own validator."""
    interface = _shipped_models().interfaces[MODEL]
    directory = {twin_id(tag, i): TwinInfo(twin_id(tag, i), MODEL, interface) for i in range(args.twins)}
    bodies = []
    for body in ndjson_bodies(args, tag, base_ms, total):
        checked = validate_batch(parse_ndjson(body)[0], directory)
        if checked.rejections:
            raise SystemExit(f"(d) the bench's own messages were refused: {checked.rejections[:3]}")
        bodies.append("\n".join(checked.lines))
    return bodies


async def part_d(args: argparse.Namespace, url: str, token: str, tag: str, meter_pids: tuple[int, int | None],
                 settings: Settings) -> dict[str, Any]:
    """influxdb-client's synchronous WriteApi, ``--concurrency`` threads, the same bodies as (a): the floor."""
    base_ms = int(time.time() * 1000) - 5 * 3600 * 1000  # apart from (a)'s range
    bodies = line_bodies(args, tag, base_ms, int(args.ingest_seconds * args.max_rate))
    written = [0] * args.concurrency
    next_body = iter(range(len(bodies)))
    with influx_client(settings) as client:
        write_api = client.write_api(write_options=SYNCHRONOUS)
        write_api.write(settings.influxdb_bucket, record=bodies[-1], write_precision=WritePrecision.NS)  # warm-up

        def worker(k: int, deadline: float) -> None:
            for b in next_body:
                if b == len(bodies) - 1 or time.perf_counter() >= deadline:
                    return
                write_api.write(settings.influxdb_bucket, record=bodies[b], write_precision=WritePrecision.NS)
                written[k] += args.body

        with CpuMeter(*meter_pids) as meter:
            deadline = time.perf_counter() + args.ingest_seconds
            with ThreadPoolExecutor(args.concurrency) as threads:
                list(threads.map(worker, range(args.concurrency), [deadline] * args.concurrency))
    accepted = sum(written)
    result = {"messages_per_body": args.body, "concurrency": args.concurrency, "seconds": round(meter.wall, 2),
              "written": accepted, "written_msgs_per_s": round(accepted / meter.wall),
              "bodies_exhausted": sum(written) + args.body >= len(bodies) * args.body, **meter.report()}
    bodies.clear()
    result.update(await asyncio.to_thread(verify_count, settings, tag, base_ms,
                                          base_ms + int(args.ingest_seconds * args.max_rate) + args.body,
                                          accepted + args.body))
    return result


# ----------------------------------------------------------------------------- (b) ingestTelemetry


async def part_b(args: argparse.Namespace, url: str, token: str, tag: str, meter_pids: tuple[int, int | None],
                 settings: Settings) -> dict[str, Any]:
    pool = values_pool(seed=11)
    base_ms = int(time.time() * 1000) - 5 * 3600 * 1000
    total = int(args.mutation_seconds * args.mutation_max_rate)
    nbodies = max(2, total // args.mutation_batch)
    bodies = []
    for b in range(nbodies):
        first = b * args.mutation_batch
        messages = ",".join(
            f'{{"twinId":"{twin_id(tag, i % args.twins)}","timestamp":{base_ms + i},"values":{pool[i % len(pool)]}}}'
            for i in range(first, first + args.mutation_batch))
        bodies.append(f'{{"query":{json.dumps(MUTATION)},"variables":{{"m":[{messages}]}}}}'.encode())
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    counters = {"accepted": 0, "rejected": 0, "errors": 0}
    latencies: list[float] = []
    next_body = 1
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120) as client:
        first = (await client.post("/graphql", content=bodies[0])).json()  # warm-up, counted for the check
        if "errors" in first:
            raise SystemExit(f"(b) mutation failed: {first['errors']}")
        warm = first["data"]["ingestTelemetry"]["accepted"]
        deadline = 0.0

        async def worker() -> None:
            nonlocal next_body
            while next_body < nbodies and time.perf_counter() < deadline:
                body = bodies[next_body]
                next_body += 1
                t0 = time.perf_counter()
                response = await client.post("/graphql", content=body)
                latencies.append(time.perf_counter() - t0)
                data = response.json() if response.status_code == 200 else {}
                if "errors" in data or response.status_code != 200:
                    counters["errors"] += 1
                    print(f"(b) {response.status_code}: {response.text[:300]}", file=sys.stderr)
                    continue
                counters["accepted"] += data["data"]["ingestTelemetry"]["accepted"]
                counters["rejected"] += data["data"]["ingestTelemetry"]["rejected"]

        with CpuMeter(*meter_pids) as meter:
            deadline = time.perf_counter() + args.mutation_seconds
            await asyncio.gather(*(worker() for _ in range(args.mutation_concurrency)))
    latencies.sort()
    result = {
        "messages_per_call": args.mutation_batch, "concurrency": args.mutation_concurrency,
        "body_kib": round(len(bodies[1]) / 1024, 1), "seconds": round(meter.wall, 2),
        "accepted": counters["accepted"], "accepted_msgs_per_s": round(counters["accepted"] / meter.wall),
        "bodies_exhausted": next_body >= nbodies, "rejected": counters["rejected"], "errors": counters["errors"],
        "request_p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "request_p99_ms": round(percentile(latencies, 99) * 1000, 1),
        **meter.report(),
        "api_us_cpu_per_msg": round(meter.used["api"] / max(1, counters["accepted"]) * 1e6, 1),
    }
    result.update(await asyncio.to_thread(verify_count, settings, tag, base_ms, base_ms + total + args.mutation_batch,
                                          counters["accepted"] + warm))
    return result


# ----------------------------------------------------------------------------- (c) subscriptions


def feeder(url: str, token: str, tag: str, twins: int, seconds: float, results: Any) -> None:
    """One /ingest batch per second for ``twins`` twins, ``time`` = send time in ms (own process)."""
    pool = values_pool(seed=13)
    ids = [twin_id(tag, i) for i in range(twins)]
    sent = accepted = errors = 0
    post_ms: list[float] = []
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        next_tick = math.ceil(time.time())
        stop_at = next_tick + seconds
        tick = 0
        while next_tick < stop_at:
            time.sleep(max(0.0, next_tick - time.time()))
            now_ms = int(time.time() * 1000)
            body = "\n".join(f'{{"twin":"{twin}","time":{now_ms},"values":{pool[(tick * twins + i) % len(pool)]}}}'
                             for i, twin in enumerate(ids)).encode()
            t0 = time.perf_counter()
            try:
                response = client.post("/ingest", content=body)
                post_ms.append((time.perf_counter() - t0) * 1000)
                if response.status_code == 200:
                    accepted += response.json()["accepted"]
                else:
                    errors += 1
            except httpx.HTTPError:
                errors += 1
            sent += twins
            tick += 1
            next_tick += 1
    post_ms.sort()
    results.put({"batches": tick, "messages_sent": sent, "accepted": accepted, "errors": errors,
                 "post_p50_ms": round(percentile(post_ms, 50), 1), "post_max_ms": round(post_ms[-1], 1)
                 if post_ms else None})


async def part_c(args: argparse.Namespace, url: str, token: str, tag: str, meter_pids: tuple[int, int | None],
                 settings: Settings) -> dict[str, Any]:
    twins = min(args.sub_twins, args.twins)
    ws_url = url.replace("http://", "ws://") + "/graphql"
    received: list[tuple[float, str]] = []  # (receive time, raw text) parsed after the run
    errors: list[str] = []
    closed = {"count": 0}
    connected = asyncio.Event()
    stop_event = asyncio.Event()
    ready = {"count": 0}

    async def subscriber(k: int, gate: asyncio.Semaphore) -> None:
        ids = [twin_id(tag, (k * args.per_subscriber + j) % twins) for j in range(args.per_subscriber)]
        try:
            async with gate:
                ws = await websockets.connect(ws_url, subprotocols=["graphql-transport-ws"], max_size=None,
                                              compression="deflate" if args.ws_deflate else None,
                                              ping_interval=None, open_timeout=60)
                await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
                ack = json.loads(await asyncio.wait_for(ws.recv(), 60))
                if ack.get("type") != "connection_ack":
                    raise RuntimeError(f"no connection_ack: {ack}")
                await ws.send(json.dumps({"id": "1", "type": "subscribe",
                                          "payload": {"query": SUBSCRIPTION, "variables": {"ids": ids}}}))
            ready["count"] += 1
            if ready["count"] == args.subscribers:
                connected.set()
        except Exception as error:  # noqa: BLE001
            errors.append(f"connect: {type(error).__name__}: {error}")
            return
        try:
            while not stop_event.is_set():
                try:
                    text = await asyncio.wait_for(ws.recv(), 1.0)
                except asyncio.TimeoutError:
                    continue
                now = time.time()
                if text.startswith('{"type":"next"') or text.startswith('{"id":"1","type":"next"'):
                    received.append((now, text))
                    continue
                message = json.loads(text)
                kind = message.get("type")
                if kind == "next":
                    received.append((now, text))
                elif kind == "ping":
                    await ws.send('{"type":"pong"}')
                elif kind != "pong":
                    errors.append(f"{kind}: {text[:300]}")
                    if kind in ("error", "complete"):
                        return
        except websockets.ConnectionClosed as error:
            closed["count"] += 1
            errors.append(f"closed: {error}")
        finally:
            await ws.close()

    gate = asyncio.Semaphore(50)
    connect0 = time.perf_counter()
    tasks = [asyncio.create_task(subscriber(k, gate)) for k in range(args.subscribers)]
    try:
        await asyncio.wait_for(connected.wait(), 180)
    except asyncio.TimeoutError:
        pass
    connect_s = time.perf_counter() - connect0
    await asyncio.sleep(2)  # let every subscribe reach the broker
    results: Any = multiprocessing.get_context("spawn").Queue()
    process = multiprocessing.get_context("spawn").Process(
        target=feeder, args=(url, token, tag, twins, args.sub_seconds, results))
    with CpuMeter(*meter_pids) as meter:
        process.start()
        fed = await asyncio.to_thread(results.get)
        await asyncio.to_thread(process.join)
        await asyncio.sleep(1.5)  # the last second's deliveries
    stop_event.set()
    await asyncio.gather(*tasks, return_exceptions=True)

    coalesced = samples = 0
    per_sub_lat: list[float] = []  # one latency per delivered message: receive time - its newest sample's time
    for received_at, text in received:
        payload = json.loads(text)["payload"]
        if payload.get("errors"):
            errors.append(f"next with errors: {payload['errors']}")
            continue
        batch = payload["data"]["telemetry"]
        coalesced += batch["coalesced"]
        samples += len(batch["samples"])
        newest = max(datetime.fromisoformat(s["time"]).timestamp() for s in batch["samples"])
        per_sub_lat.append((received_at - newest) * 1000)
    per_sub_lat.sort()
    expected = fed["batches"] * args.subscribers
    return {
        "subscribers": args.subscribers, "twins": twins, "twins_per_subscriber": args.per_subscriber,
        "ws_deflate": args.ws_deflate, "connect_all_s": round(connect_s, 1), "connected": ready["count"],
        "feeder": fed, "messages_received": len(received), "messages_expected": expected,
        "samples_received": samples, "coalesced_messages": coalesced,
        "latency_ms": {"p50": round(percentile(per_sub_lat, 50), 1), "p95": round(percentile(per_sub_lat, 95), 1),
                       "p99": round(percentile(per_sub_lat, 99), 1), "max": round(per_sub_lat[-1], 1)
                       if per_sub_lat else None,
                       "mean": round(statistics.fmean(per_sub_lat), 1) if per_sub_lat else None},
        "errors": len(errors), "disconnects": closed["count"], "error_examples": errors[:5],
        **meter.report(),
    }


# ----------------------------------------------------------------------------- (e) the floor of (c)


async def part_e(args: argparse.Namespace, url: str, token: str, tag: str, meter_pids: tuple[int, int | None],
                 settings: Settings) -> dict[str, Any]:
    """Part (c)'s subscribers and feeder against a bare Starlette WebSocket broadcast (bench/ws_floor_app.py)."""
    port = free_port()
    floor = subprocess.Popen([sys.executable, "-m", "uvicorn", "--app-dir", str(Path(__file__).parent),
                              "ws_floor_app:app", "--port", str(port), "--log-level", "warning",
                              "--ws-max-size", "1048576"], start_new_session=True)
    floor_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(floor, lambda: httpx.get(floor_url + "/readyz", timeout=1), "the floor server", "its stderr")
        return await part_c(args, floor_url, token, tag, (floor.pid, None), settings)
    finally:
        stop(floor.pid, grace=5)


# ----------------------------------------------------------------------------- main


async def run(args: argparse.Namespace, settings: Settings, url: str, token: str, tag: str,
              api_pid: int) -> dict[str, Any]:
    influx_pid = settings.runtime().get("influxdb", {}).get("pid")
    pids = (api_pid, influx_pid)
    results: dict[str, Any] = {"cores": os.cpu_count(), "twins": args.twins}
    parts = {"a": ("a_post_ingest", part_a), "b": ("b_mutation_ingestTelemetry", part_b),
             "c": ("c_subscriptions", part_c), "d": ("d_direct_influxdb_client_writer", part_d),
             "e": ("e_bare_starlette_broadcast", part_e)}
    for key in args.parts:
        name, part = parts[key]
        print(f"part {key} ... (loadavg {os.getloadavg()})", file=sys.stderr)
        results[name] = await part(args, url, token, tag, pids, settings)
        print(json.dumps({name: results[name]}, indent=2), file=sys.stderr)
        await asyncio.sleep(args.pause)
    if "a" in args.parts and "d" in args.parts:  # side by side in one run: the acceptance ratio
        results["ingest_api_to_direct_ratio"] = round(
            results["a_post_ingest"]["accepted_msgs_per_s"]
            / results["d_direct_influxdb_client_writer"]["written_msgs_per_s"], 3)
    if "c" in args.parts and "e" in args.parts:  # live delivery against its floor
        results["delivery_p99_api_to_floor_ratio"] = round(
            results["c_subscriptions"]["latency_ms"]["p99"] / results["e_bare_starlette_broadcast"]["latency_ms"]["p99"], 2)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parts", default="abcd", help="which parts to run, e.g. ad (d: the direct writer floor)")
    parser.add_argument("--twins", type=int, default=2000)
    parser.add_argument("--ingest-seconds", type=float, default=20)
    parser.add_argument("--body", type=int, default=5000, help="(a) messages per NDJSON body")
    parser.add_argument("--concurrency", type=int, default=4, help="(a) requests in flight")
    parser.add_argument("--max-rate", type=float, default=40_000, help="(a) msgs/s worth of bodies precomputed")
    parser.add_argument("--mutation-seconds", type=float, default=15)
    parser.add_argument("--mutation-batch", type=int, default=1000)
    parser.add_argument("--mutation-concurrency", type=int, default=4)
    parser.add_argument("--mutation-max-rate", type=float, default=10_000)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--sub-twins", type=int, default=1000, help="(c) twins updated at 1 Hz")
    parser.add_argument("--per-subscriber", type=int, default=10)
    parser.add_argument("--sub-seconds", type=float, default=30)
    parser.add_argument("--ws-deflate", action="store_true", help="(c) offer permessage-deflate like browsers")
    parser.add_argument("--pause", type=float, default=3, help="seconds between parts")
    parser.add_argument("--profile-api", metavar="FILE", help="run the API under cProfile, stats to FILE")
    parser.add_argument("--keep-points", action="store_true", help="do not delete the bench twins' points")
    parser.add_argument("--workers", type=int, default=1,
                        help="API processes on the one port (gridtwin serve --workers N, live events over Redis)")
    args = parser.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = args.subscribers * 2 + 256
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard) if hard != resource.RLIM_INFINITY
                                                    else wanted, hard))
    # every subscriber is the bench's one admin: the API must let one user hold them all
    os.environ.setdefault("GRIDTWIN_WS_MAX_SUBSCRIPTIONS_PER_USER", str(max(args.subscribers, 50)))
    settings = Settings()
    tag = uuid.uuid4().hex[:6]
    print(f"seeding {args.twins} twins (tag {tag}) ...", file=sys.stderr)
    ids = seed(settings, tag, args.twins)
    process = None
    results: dict[str, Any] = {}
    try:
        serve = ["-m", "cli", "serve", "--workers", str(args.workers)]
        process, url = start_api(settings, ["-c", PROFILED_SERVE, args.profile_api] if args.profile_api else serve)  # inherits our raised RLIMIT_NOFILE
        token = login(url)
        results = asyncio.run(run(args, settings, url, token, tag, process.pid))
    finally:
        if process is not None:
            if args.profile_api:
                os.kill(process.pid, signal.SIGUSR1)
                time.sleep(3)
            stop(process.pid, grace=15)
        with graph_db.open_driver(settings) as driver:
            bulk_delete_twins(driver, ids)
        if not args.keep_points:
            print("deleting the bench twins' points ...", file=sys.stderr)
            delete_points(settings, ids)
    print(json.dumps({"tag": tag, **results}, indent=2))


if __name__ == "__main__":
    main()
