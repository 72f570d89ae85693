"""1-minute aggregates written by the ingest path, checked value by value against the real InfluxDB.

Every test uses its own twins and a minute range at a random place some days back (explicit
timestamps: nothing waits for the clock), computes the expected count/sum/mean/min/max/last
of every numeric field per twin and minute in plain Python, and compares with what the
downsampled bucket holds.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from influxdb_client import InfluxDBClient

from gridtwin.config import Settings
from timeseries.aggregates import AGGREGATES, MERGED_MINUTES_FLUX, MINUTE_NS, final_aggregates, minute_of
from timeseries.directory import InMemoryTwinDirectory, TwinInfo
from timeseries.downsampler import STATE_FILE, Downsampler
from timeseries.ingest import TelemetryIngest
from timeseries.samples import MEASUREMENT_POINT, measurement_point_interface, snapshot
from timeseries.setup import BACKFILL_INGESTER, backfill_downsampled, downsampled_bucket
from timeseries.spool import Spool
from timeseries.writer import InfluxHttpWriter, TelemetryWriter

IFACE = measurement_point_interface()
MEASUREMENT = MEASUREMENT_POINT.split(";")[0]
Key = tuple[str, str, int]  # twin, field, minute end (ns)


def past_minute() -> int:
    """A minute start some days back, different per test run (no other test writes there)."""
    return minute_of(time.time_ns()) - random.randint(2 * 1440, 20 * 1440) * MINUTE_NS


def new_twins(count: int) -> list[str]:
    tag = uuid.uuid4().hex[:8]
    return [f"ds-{tag}-{i}" for i in range(count)]


def directory_for(twins: Iterable[str]) -> InMemoryTwinDirectory:
    return InMemoryTwinDirectory({t: TwinInfo(t, MEASUREMENT_POINT, IFACE) for t in twins})


def make_ingest(settings: Settings, spool_dir: Path, twins: Iterable[str], **options: Any) -> TelemetryIngest:
    """Pipeline + downsampler; ``tick_s`` defaults to an hour so a test decides when minutes are written."""
    writer = TelemetryWriter(InfluxHttpWriter.from_settings(settings), Spool(spool_dir), batch_lines=1000)
    downsampler = Downsampler.from_settings(settings, spool_dir, **{"tick_s": 3600.0, **options})
    return TelemetryIngest(directory_for(twins), writer, downsampler=downsampler)


def message(twin: str, time_ns: int, i: int, **extra: Any) -> dict[str, Any]:
    return {"twin": twin, "time": time_ns, "values": {**snapshot(i), "sampleCount": i, "status": "ok",
                                                       "breakerClosed": True, "note": "n", **extra}}


def numeric_values(values: dict[str, Any]) -> Iterator[tuple[str, float]]:
    """The stored numeric fields of a message (booleans, enums of strings and strings are not aggregated)."""
    for name, value in values.items():
        if isinstance(value, dict):
            for sub, item in value.items():
                yield f"{name}.{sub}", item
        elif type(value) in (int, float):
            yield name, value


def expected(messages: Iterable[dict[str, Any]]) -> dict[Key, dict[str, float]]:
    """The minute statistics of ``messages`` in the order given (a later equal time wins ``last``)."""
    folded: dict[Key, list[Any]] = {}
    for m in messages:
        end = minute_of(m["time"]) + MINUTE_NS
        for name, value in numeric_values(m["values"]):
            stats = folded.setdefault((m["twin"], name, end), [0, 0, value, value, -1, None])
            stats[0] += 1
            stats[1] += value
            stats[2], stats[3] = min(stats[2], value), max(stats[3], value)
            if m["time"] >= stats[4]:
                stats[4], stats[5] = m["time"], value
    return {key: {"count": float(c), "sum": float(s), "mean": s / c, "min": float(lo), "max": float(hi),
                  "last": float(last), "last_time": t / 1e9}
            for key, (c, s, lo, hi, t, last) in folded.items()}


def stored(client: InfluxDBClient, settings: Settings, twins: list[str], start_ns: int, stop_ns: int
           ) -> dict[str, dict[Key, dict[str, float]]]:
    """ingester -> (twin, field, minute end) -> agg -> value, from the downsampled bucket."""
    flux = ('from(bucket: b) |> range(start: start, stop: stop) '
            '|> filter(fn: (r) => contains(value: r.twin, set: twins))')
    tables = client.query_api().query(flux, params={
        "b": downsampled_bucket(settings), "twins": twins, "start": _time(start_ns), "stop": _time(stop_ns)})
    found: dict[str, dict[Key, dict[str, float]]] = {}
    for record in (r for t in tables for r in t.records):
        key = (record.values["twin"], record.get_field(), int(record.get_time().timestamp()) * 1_000_000_000)
        found.setdefault(record.values["ingester"], {}).setdefault(key, {})[record.values["agg"]] = record.get_value()
    return found


def assert_minutes_equal(actual: dict[Key, dict[str, float]], wanted: dict[Key, dict[str, float]]) -> None:
    assert set(actual) == set(wanted), (sorted(set(actual) ^ set(wanted))[:5])
    for key, values in wanted.items():
        got = actual[key]
        assert set(got) == set(AGGREGATES), (key, got)
        assert got["count"] == values["count"], key
        assert (got["min"], got["max"], got["last"]) == (values["min"], values["max"], values["last"]), key
        for agg in ("sum", "mean", "last_time"):
            assert got[agg] == pytest.approx(values[agg], rel=1e-12), (key, agg)


def _time(time_ns: int) -> datetime:
    return datetime.fromtimestamp(time_ns / 1e9, tz=timezone.utc)


# --------------------------------------------------------------------------------------------- tests


async def test_closed_minutes_hold_exact_statistics(settings: Settings, influx_client: InfluxDBClient,
                                                    tmp_path: Path) -> None:
    twins, base = new_twins(3), past_minute()
    messages = [message(twins[i % 3], base + i * 2_300_000_000 + 123, i) for i in range(100)]  # 4 minutes
    messages.append({"twin": twins[0], "time": base + 5_000_000_000, "values": {"voltage": {"phaseA": 999.5}}})
    messages.append({"twin": twins[1], "time": base + 1_000, "values": {"frequency": 12.25}})  # an earlier time
    random.Random(7).shuffle(messages)
    ingest = make_ingest(settings, tmp_path, twins, tick_s=0.2, idle_s=0.3)
    await ingest.start()
    try:
        for chunk in (messages[:40], messages[40:], messages[10:20]):  # the last call re-sends ten messages
            result = await ingest.ingest(chunk, "ns")
            assert result.accepted == len(chunk)
        deadline = time.monotonic() + 30
        while ingest.downsampler.aggregator.open and time.monotonic() < deadline:
            await asyncio.sleep(0.2)  # written by the once-a-tick flush: the minutes are past and idle
        assert not ingest.downsampler.aggregator.open
        assert ingest.downsampler.stats.minutes_written >= 4
        assert ingest.downsampler.aggregator.resent == 10
    finally:
        await ingest.close()
    found = stored(influx_client, settings, twins, base, base + 6 * MINUTE_NS)
    assert set(found) == {ingest.downsampler.ingester}
    assert_minutes_equal(found[ingest.downsampler.ingester], expected(messages))

    raw = influx_client.query_api().query(
        'from(bucket: b) |> range(start: start, stop: stop) |> filter(fn: (r) => contains(value: r.twin, set: t) '
        'and r._field == "frequency") |> aggregateWindow(every: 1m, fn: count, createEmpty: false)',
        params={"b": settings.influxdb_bucket, "t": twins, "start": _time(base), "stop": _time(base + 6 * MINUTE_NS)})
    raw_counts = {(r.values["twin"], int(r.get_time().timestamp()) * 1_000_000_000): r.get_value()
                  for t in raw for r in t.records}
    down_counts = {(twin, end): v["count"] for (twin, name, end), v in found[ingest.downsampler.ingester].items()
                   if name == "frequency"}
    assert down_counts == raw_counts  # complete: every stored sample is in its minute once


async def test_a_late_sample_merges_into_its_written_minute(settings: Settings, influx_client: InfluxDBClient,
                                                            tmp_path: Path) -> None:
    twins, base = new_twins(1), past_minute()
    first = [message(twins[0], base + i * 10_000_000_000, i) for i in range(5)]
    late = message(twins[0], base + 55_000_000_000, 5, frequency=61.5)
    after_eviction = message(twins[0], base + 56_000_000_000, 6, frequency=40.25)
    ingest = make_ingest(settings, tmp_path, twins)
    await ingest.start()
    downsampler = ingest.downsampler
    try:
        await ingest.ingest(first, "ns")
        assert await downsampler.flush(everything=True) == 1
        await ingest.ingest([late], "ns")  # the minute is written and still in memory
        assert await downsampler.flush(everything=True) == 1
        mine = stored(influx_client, settings, twins, base, base + MINUTE_NS * 2)[downsampler.ingester]
        assert_minutes_equal(mine, expected([*first, late]))
        assert downsampler.stats.readbacks == 0

        downsampler.retain_s = 0.0
        await downsampler.flush(everything=True)  # evicts the minute: only InfluxDB holds it now
        assert not downsampler.aggregator.retained
        await ingest.ingest([after_eviction], "ns")
        assert await downsampler.flush(everything=True) == 1
        assert downsampler.stats.readbacks == 1  # the stored partial was read back and merged
    finally:
        await ingest.close()
    mine = stored(influx_client, settings, twins, base, base + MINUTE_NS * 2)[downsampler.ingester]
    assert_minutes_equal(mine, expected([*first, late, after_eviction]))
    assert mine[(twins[0], "frequency", base + MINUTE_NS)]["max"] == 61.5


async def test_restart_writes_the_open_minute_and_the_next_process_continues_it(
        settings: Settings, influx_client: InfluxDBClient, tmp_path: Path) -> None:
    twins, base = new_twins(2), past_minute()
    messages = [message(twins[i % 2], base + i * 1_500_000_000, i) for i in range(40)]
    before = make_ingest(settings, tmp_path, twins)
    await before.start()
    await before.ingest(messages[:25], "ns")
    assert before.downsampler.aggregator.open  # still open when the process stops
    await before.close()
    found = stored(influx_client, settings, twins, base, base + MINUTE_NS * 2)
    assert_minutes_equal(found[before.downsampler.ingester], expected(messages[:25]))  # flushed at shutdown

    after = make_ingest(settings, tmp_path, twins)
    assert after.downsampler.ingester == before.downsampler.ingester  # same series, not new ones
    await after.start()
    try:
        await after.ingest(messages[25:], "ns")
    finally:
        await after.close()
    found = stored(influx_client, settings, twins, base, base + MINUTE_NS * 2)
    assert set(found) == {before.downsampler.ingester}
    assert_minutes_equal(found[before.downsampler.ingester], expected(messages))
    assert after.downsampler.stats.readbacks == 0  # the written minute came back from the state file


async def test_after_a_crash_a_written_minute_is_read_back_before_it_is_rewritten(
        settings: Settings, influx_client: InfluxDBClient, tmp_path: Path) -> None:
    twins, base = new_twins(2), past_minute()
    messages = [message(twins[i % 2], base + i * 1_500_000_000, i) for i in range(40)]
    first = make_ingest(settings, tmp_path, twins)
    await first.start()
    await first.ingest(messages[:30], "ns")
    await first.downsampler.flush(everything=True)
    await first.close()
    state_path = tmp_path / "downsampled" / STATE_FILE
    state = json.loads(state_path.read_text())
    state.pop("minutes")  # what a crash leaves: the written minutes, nothing held in memory
    state_path.write_text(json.dumps(state))

    second = make_ingest(settings, tmp_path, twins)
    await second.start()
    try:
        await second.ingest(messages[30:], "ns")
    finally:
        await second.close()
    assert second.downsampler.stats.readbacks == 1
    found = stored(influx_client, settings, twins, base, base + MINUTE_NS * 2)
    assert_minutes_equal(found[first.downsampler.ingester], expected(messages))


async def test_partials_of_two_processes_merge_into_the_whole_minute(settings: Settings,
                                                                      influx_client: InfluxDBClient,
                                                                      tmp_path: Path) -> None:
    twins, base = new_twins(1), past_minute()
    messages = [message(twins[0], base + i * 1_000_000_000 + 17, i) for i in range(90)]  # two minutes
    replicas = [make_ingest(settings, tmp_path / name, twins) for name in ("a", "b")]
    for replica in replicas:
        await replica.start()
    try:
        for i in range(0, 90, 10):  # a load balancer alternating requests between the two processes
            await replicas[(i // 10) % 2].ingest(messages[i:i + 10], "ns")
    finally:
        for replica in replicas:
            await replica.close()
    found = stored(influx_client, settings, twins, base, base + MINUTE_NS * 3)
    assert set(found) == {r.downsampler.ingester for r in replicas}
    wanted = expected(messages)

    merged = {key: final_aggregates([found[i][key] for i in found if key in found[i]]) for key in wanted}
    assert_minutes_equal(merged, wanted)

    tables = influx_client.query_api().query(MERGED_MINUTES_FLUX, params={
        "gt_bucket": downsampled_bucket(settings), "gt_start": _time(base), "gt_stop": _time(base + 3 * MINUTE_NS),
        "gt_measurement": MEASUREMENT, "gt_twin": twins[0]})
    flux_merged = {(twins[0], r.get_field(), int(r.get_time().timestamp()) * 1_000_000_000):
                   {agg: r.values[agg] for agg in AGGREGATES} for t in tables for r in t.records}
    assert_minutes_equal(flux_merged, wanted)


async def test_backfill_recomputes_minutes_a_crash_left_open(settings: Settings, influx_client: InfluxDBClient,
                                                             tmp_path: Path) -> None:
    twins, base = new_twins(2), past_minute()
    messages = [message(twins[i % 2], base + i * 2_000_000_000, i) for i in range(60)]  # two minutes
    ingest = make_ingest(settings, tmp_path, twins)
    await ingest.writer.start()  # the downsampler's own loop is not needed: minutes are written by hand here
    await ingest.ingest(messages[:10], "ns")
    await ingest.downsampler.flush(everything=True)  # a partial of the first minute is written ...
    await ingest.ingest(messages[10:], "ns")
    await ingest.writer.close()  # ... then the process dies: raw data is safe, the open minutes are not
    await ingest.downsampler.writer.close()
    ingest.downsampler.reader.close()
    assert stored(influx_client, settings, twins, base, base + 3 * MINUTE_NS)[ingest.downsampler.ingester]

    backfill_downsampled(settings, _time(base), _time(base + 2 * MINUTE_NS))
    found = stored(influx_client, settings, twins, base, base + 3 * MINUTE_NS)
    assert set(found) == {BACKFILL_INGESTER}  # the stale partial is gone, the minutes are whole again
    assert_minutes_equal(found[BACKFILL_INGESTER], expected(messages))
