"""Buckets, created idempotently at start-up, and the backfill of the downsampled bucket.

* raw bucket: ``settings.influxdb_bucket`` (created by onboarding; its retention
  is left as the operator set it unless ``raw_retention_s`` is given);
* downsampled bucket: ``<bucket>_1m`` holding 1-minute ``count``/``sum``/``mean``/``min``/
  ``max``/``last``/``last_time`` of every numeric field, told apart by the tag ``agg``, each
  API process's partial by the tag ``ingester``. The ingest path writes them as the minutes
  close (:mod:`timeseries.downsampler`); the InfluxDB task that did it before (re-reading a
  10-minute look-back of raw points every minute) is deleted here when found.
* :func:`backfill_downsampled` recomputes a span from raw data (after a crash lost the open
  minutes' statistics), with the old cost: use it for closed spans, not continuously.

Bucket names are not user input; they still travel as query parameters.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from influxdb_client import BucketRetentionRules, InfluxDBClient

from gridtwin.config import Settings

DOWNSAMPLE_SUFFIX = "_1m"
#: The ``ingester`` tag of what :func:`backfill_downsampled` writes.
BACKFILL_INGESTER = "backfill"


def downsampled_bucket(settings: Settings) -> str:
    return settings.influxdb_bucket + DOWNSAMPLE_SUFFIX


def task_name(settings: Settings) -> str:
    """The name of the former downsampling task (removed by :func:`ensure_buckets_and_tasks`)."""
    return f"gridtwin-downsample-{settings.influxdb_bucket}{DOWNSAMPLE_SUFFIX}"


def ensure_buckets_and_tasks(settings: Settings, *, raw_retention_s: int | None = None,
                             downsampled_retention_s: int = 400 * 86_400) -> dict[str, str]:
    """Create (or fix) the raw and downsampled buckets and delete the former task; idempotent.

    Returns the ids: ``{"raw_bucket": ..., "downsampled_bucket": ...}``.
    """
    url, token = settings.resolved_influxdb()
    with InfluxDBClient(url=url, token=token, org=settings.influxdb_org, timeout=30_000) as client:
        org_id = _org_id(client, settings.influxdb_org)
        raw = _ensure_bucket(client, settings.influxdb_bucket, org_id, raw_retention_s)
        down = _ensure_bucket(client, downsampled_bucket(settings), org_id, downsampled_retention_s)
        _delete_former_task(client, settings, org_id)
        return {"raw_bucket": raw, "downsampled_bucket": down}


def _org_id(client: InfluxDBClient, org: str) -> str:
    orgs = client.organizations_api().find_organizations(org=org)
    if not orgs:
        raise RuntimeError(f"InfluxDB organization {org!r} does not exist")
    return str(orgs[0].id)


def _ensure_bucket(client: InfluxDBClient, name: str, org_id: str, retention_s: int | None) -> str:
    api = client.buckets_api()
    bucket = api.find_bucket_by_name(name)
    rules = [BucketRetentionRules(type="expire", every_seconds=retention_s)] if retention_s is not None else []
    if bucket is None:
        return str(api.create_bucket(bucket_name=name, org_id=org_id, retention_rules=rules).id)
    current = bucket.retention_rules[0].every_seconds if bucket.retention_rules else None
    if retention_s is not None and current != retention_s:
        bucket.retention_rules = rules
        api.update_bucket(bucket)
    return str(bucket.id)


def _delete_former_task(client: InfluxDBClient, settings: Settings, org_id: str) -> None:
    """The Flux task would write a second, differently laid out copy of every minute: remove it."""
    api = client.tasks_api()
    for task in api.find_tasks(name=task_name(settings)):
        if task.org_id == org_id:
            api.delete_task(task.id)


_BACKFILL_FLUX = """import "types"
data = from(bucket: gt_source)
    |> range(start: gt_start, stop: gt_stop)
    |> filter(fn: (r) => types.isNumeric(v: r._value))
    |> toFloat()
union(tables: [
    data |> aggregateWindow(every: 1m, fn: count, createEmpty: false) |> toFloat() |> set(key: "agg", value: "count"),
    data |> aggregateWindow(every: 1m, fn: sum, createEmpty: false) |> set(key: "agg", value: "sum"),
    data |> aggregateWindow(every: 1m, fn: mean, createEmpty: false) |> set(key: "agg", value: "mean"),
    data |> aggregateWindow(every: 1m, fn: min, createEmpty: false) |> set(key: "agg", value: "min"),
    data |> aggregateWindow(every: 1m, fn: max, createEmpty: false) |> set(key: "agg", value: "max"),
    data |> aggregateWindow(every: 1m, fn: last, createEmpty: false) |> set(key: "agg", value: "last"),
    data |> window(every: 1m) |> last()
        |> map(fn: (r) => ({r with _value: float(v: int(v: r._time)) / 1000000000.0, _time: r._stop}))
        |> set(key: "agg", value: "last_time"),
])
    |> set(key: "ingester", value: gt_ingester)
    |> to(bucket: gt_target)
"""


def backfill_downsampled(settings: Settings, start: datetime, stop: datetime) -> None:
    """Recompute the downsampled minutes ``[start, stop)`` (whole minutes) from the raw bucket.

    Every partial of the span is deleted first and one, tagged ``ingester=backfill``, written
    in their place: after a crash, the minutes its process still held open are then whole
    again. Run it on closed minutes only; an ingester still writing into the span would add its
    partial on top of the recomputed totals.
    """
    if start.second or start.microsecond or stop.second or stop.microsecond or stop <= start:
        raise ValueError("backfill needs whole minutes with start < stop")
    url, token = settings.resolved_influxdb()
    target = downsampled_bucket(settings)
    with InfluxDBClient(url=url, token=token, org=settings.influxdb_org, timeout=300_000) as client:
        # Points sit at their window's end: the span's minutes end in (start, stop].
        client.delete_api().delete(start + timedelta(seconds=1), stop + timedelta(seconds=1), "", bucket=target,
                                   org=settings.influxdb_org)
        client.query_api().query(_BACKFILL_FLUX, params={
            "gt_source": settings.influxdb_bucket, "gt_target": target, "gt_ingester": BACKFILL_INGESTER,
            "gt_start": start, "gt_stop": stop})
