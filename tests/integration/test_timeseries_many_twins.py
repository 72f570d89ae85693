"""Flux filters over many twins stay within what InfluxDB parses (an ``or`` chain of 171+ terms is refused)
and stay pushed down (``contains`` is not: a day of the test bucket took over 60 s).

Before, ``latest`` of 150–200 twins and the downsampler's read-back of 200 twins failed with
"Program is nested too deep" (the read-back then retried for ever and the stored partials never
merged), and more than 200 twins scanned the whole range.  Now every 100 twins are one query.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from influxdb_client import InfluxDBClient

from gridtwin.config import Settings
from timeseries.directory import InMemoryTwinDirectory
from timeseries.downsampler import PartialsReader
from timeseries.setup import downsampled_bucket
from timeseries.queries import OR_CHAIN_LIMIT, TelemetryQueries

TWINS = [f"many-{uuid.uuid4().hex[:6]}-{i}" for i in range(200)]


def test_latest_of_up_to_hundreds_of_twins_is_answered(settings: Settings) -> None:
    queries = TelemetryQueries.from_settings(settings, InMemoryTwinDirectory({}))
    try:
        for count in (OR_CHAIN_LIMIT, 150, 171, 200):
            started = time.perf_counter()
            assert asyncio.run(queries.latest(TWINS[:count])) == {}
            assert time.perf_counter() - started < 20  # pushed down: no scan of the day's data
    finally:
        queries.close()


def test_the_downsampler_reads_back_partials_of_hundreds_of_twins(settings: Settings,
                                                                   influx_client: InfluxDBClient) -> None:
    reader = PartialsReader(influx_client, downsampled_bucket(settings))
    now = time.time_ns()
    assert reader.read("GridMeasurementPoint", "no-such-ingester", TWINS, now - 3_600 * 10**9, now) == []


async def test_aggregates_over_more_twins_than_one_query_holds_combine_across_queries(settings: Settings,
                                                                                       tmp_path: Path) -> None:
    """250 twins (3 queries of at most 100): sum, mean, min and max equal the values written."""
    from tests.integration.test_timeseries_ingest import directory_for, make_ingest

    twins = [f"many-agg-{uuid.uuid4().hex[:6]}-{i}" for i in range(250)]
    directory = directory_for(*twins)
    ingest = make_ingest(settings, tmp_path, directory)
    await ingest.start()
    start = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(minutes=5)
    powers = [float(100 + i) for i in range(len(twins))]
    try:
        result = await ingest.ingest([{"twin": twin, "time": int(start.timestamp() * 1000) + 1000,
                                       "values": {"activePower": {"total": power}}}
                                      for twin, power in zip(twins, powers)], "ms")
    finally:
        await ingest.close()
    assert result.accepted == len(twins)
    queries = TelemetryQueries.from_settings(settings, directory)
    try:
        found = {combine: await queries.aggregate_over_twins(twins, "activePower", "total", start,
                                                             start + timedelta(minutes=1), timedelta(minutes=1),
                                                             combine=combine)
                 for combine in ("sum", "mean", "min", "max")}
    finally:
        queries.close()
    assert [(p.value, p.twins) for p in found["sum"]] == [(sum(powers), 250)]
    assert found["mean"][0].value == pytest.approx(sum(powers) / 250)
    assert (found["min"][0].value, found["max"][0].value) == (min(powers), max(powers))
