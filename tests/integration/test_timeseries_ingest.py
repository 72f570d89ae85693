"""Ingest, read-back, queries and bucket set-up against the test profile's real InfluxDB."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from influxdb_client import InfluxDBClient

from gridtwin.config import Settings
from timeseries.broker import InProcessBroker
from timeseries.directory import InMemoryTwinDirectory, TwinInfo
from timeseries.ingest import TelemetryIngest
from timeseries.queries import QueryError, TelemetryQueries
from timeseries.samples import MEASUREMENT_POINT, measurement_point_interface, snapshot
from timeseries.setup import downsampled_bucket, ensure_buckets_and_tasks, task_name
from timeseries.spool import Spool
from timeseries.writer import InfluxHttpWriter, TelemetryWriter

IFACE = measurement_point_interface()


def directory_for(*twin_ids: str, feeder: str = "F-int") -> InMemoryTwinDirectory:
    return InMemoryTwinDirectory({t: TwinInfo(t, MEASUREMENT_POINT, IFACE, {"feeder": feeder, "substation": "S, 1"})
                                  for t in twin_ids})


def make_ingest(settings: Settings, spool_dir: Path, directory: InMemoryTwinDirectory,
                broker: InProcessBroker | None = None) -> TelemetryIngest:
    writer = TelemetryWriter(InfluxHttpWriter.from_settings(settings), Spool(spool_dir), batch_lines=1000)
    return TelemetryIngest(directory, writer, broker)


async def test_write_then_read_back_and_query(settings: Settings, influx_client: InfluxDBClient,
                                              tmp_path: Path) -> None:
    twins = [f"it-read-{uuid.uuid4().hex[:8]}-{i}" for i in range(3)]
    broker = InProcessBroker()
    subscription = broker.subscribe({twins[0]})
    ingest = make_ingest(settings, tmp_path, directory_for(*twins), broker)
    await ingest.start()
    start = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(minutes=10)
    base_ms = int(start.timestamp() * 1000)
    messages = [{"twin": twins[i % 3], "time": base_ms + i * 1000, "values": {**snapshot(i), "note": 'a "q", b'}}
                for i in range(300)]
    messages.append({"twin": twins[0], "time": base_ms, "values": {"voltage": {"phaseA": "high"}}})
    try:
        result = await ingest.ingest(messages, "ms")
    finally:
        await ingest.close()
    assert result.accepted == 300
    assert [r.index for r in result.rejected] == [300]
    assert len((await subscription.get()).items) == 100

    flux = ('from(bucket: b) |> range(start: -1h) |> filter(fn: (r) => r.twin == t and r._field == "voltage.phaseA")'
            ' |> group() |> count()')
    tables = influx_client.query_api().query(flux, params={"b": settings.influxdb_bucket, "t": twins[0]})
    assert tables[0].records[0].get_value() == 100
    row = influx_client.query_api().query(
        'from(bucket: b) |> range(start: -1h) |> filter(fn: (r) => r.twin == t and r._field == "note") |> first()',
        params={"b": settings.influxdb_bucket, "t": twins[0]})[0].records[0]
    assert row.get_value() == 'a "q", b' and row.values["substation"] == "S, 1"
    assert row.get_measurement() == "dtmi:gridtwin:GridMeasurementPoint"

    queries = TelemetryQueries.from_settings(settings, directory_for(*twins))
    try:
        raw = await queries.telemetry(twins[0], "voltage", start - timedelta(seconds=1), start + timedelta(minutes=6))
        assert len(raw) == 100
        assert set(raw[0].values) == {"phaseA", "phaseB", "phaseC", "average"}
        assert raw[0].values["phaseA"] == pytest.approx(snapshot(0)["voltage"]["phaseA"])
        windows = await queries.telemetry(twins[0], "frequency", start, start + timedelta(minutes=5),
                                          every=timedelta(minutes=1), aggregate="count")
        assert sum(p.values for p in windows) == 100
        latest = await queries.latest(twins, lookback=timedelta(hours=1))
        assert set(latest) == set(twins)
        assert set(latest[twins[1]]["activePower"].value) == {"phaseA", "phaseB", "phaseC", "total"}
        assert latest[twins[0]]["note"].value == 'a "q", b'
        total = await queries.aggregate_over_twins(twins, "activePower", "total", start, start + timedelta(minutes=5),
                                                   every=timedelta(minutes=1))
        assert total and all(p.twins == 3 for p in total)
        assert total[0].value == pytest.approx(
            sum(sum(snapshot(i)["activePower"]["total"] for i in range(t, 60, 3)) / 20 for t in range(3)))
        with pytest.raises(QueryError):
            await queries.telemetry(twins[0], 'voltage") |> drop', start)
        with pytest.raises(QueryError):
            await queries.aggregate_over_twins(twins, "note", None, start, None, timedelta(minutes=1))
    finally:
        queries.close()


async def test_injection_attempt_in_twin_id_is_just_a_value(settings: Settings, tmp_path: Path) -> None:
    evil = 'x" or r._measurement != "'
    queries = TelemetryQueries.from_settings(settings, directory_for(evil))
    try:
        assert await queries.latest([evil], lookback=timedelta(minutes=5)) == {}
    finally:
        queries.close()


def test_buckets_exist_idempotently_and_the_former_task_is_removed(settings: Settings,
                                                                    influx_client: InfluxDBClient) -> None:
    from influxdb_client import TaskCreateRequest
    from influxdb_client.domain.task_status_type import TaskStatusType

    org_id = influx_client.organizations_api().find_organizations(org=settings.influxdb_org)[0].id
    former = (f'option task = {{name: "{task_name(settings)}", every: 1h}}\n'
              'from(bucket: "none") |> range(start: -1m) |> yield()')
    influx_client.tasks_api().create_task(task_create_request=TaskCreateRequest(
        flux=former, org_id=org_id, status=TaskStatusType.INACTIVE, description="the former downsampling task"))
    first = ensure_buckets_and_tasks(settings)
    second = ensure_buckets_and_tasks(settings)
    assert first == second
    assert influx_client.buckets_api().find_bucket_by_name(downsampled_bucket(settings)) is not None
    assert influx_client.tasks_api().find_tasks(name=task_name(settings)) == []
