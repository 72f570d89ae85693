"""Buckets and the downsampling task, created idempotently at start-up.

* raw bucket: ``settings.influxdb_bucket`` (created by onboarding; its retention
  is left as the operator set it unless ``raw_retention_s`` is given);
* downsampled bucket: ``<bucket>_1m`` holding 1-minute ``mean``/``min``/``max`` of
  every numeric field, told apart by the tag ``agg``;
* a task ``gridtwin-downsample-<bucket>-1m`` running every minute over the last
  :data:`LOOKBACK` of *whole* minutes.  Re-aggregating a few minutes each run
  picks up late data (spool replays, devices catching up); rewriting a window
  overwrites the same points, so it is idempotent.  After a longer outage call
  :func:`backfill_downsampled` for the replayed span.

Bucket names are not user input, but they still go into the task's Flux as
checked string literals (a task script cannot take ``params``).
"""

from __future__ import annotations

import re
from datetime import datetime

from influxdb_client import BucketRetentionRules, InfluxDBClient, TaskCreateRequest
from influxdb_client.domain.task_status_type import TaskStatusType

from gridtwin.config import Settings

DOWNSAMPLE_SUFFIX = "_1m"
LOOKBACK = "10m"
_SAFE_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,100}")


def downsampled_bucket(settings: Settings) -> str:
    return settings.influxdb_bucket + DOWNSAMPLE_SUFFIX


def task_name(settings: Settings) -> str:
    return f"gridtwin-downsample-{settings.influxdb_bucket}{DOWNSAMPLE_SUFFIX}"


def _literal(name: str) -> str:
    if not _SAFE_NAME.fullmatch(name):
        raise ValueError(f"bucket name {name!r} is not allowed in a task script")
    return f'"{name}"'


def downsample_flux(source: str, target: str) -> str:
    """The pipeline body: 1-minute mean/min/max of numeric fields from ``source`` into ``target``.

    Expects ``start`` and ``stop`` to be defined before it (by the task or by a backfill).
    """
    return f"""
data = from(bucket: {_literal(source)})
    |> range(start: start, stop: stop)
    |> filter(fn: (r) => types.isNumeric(v: r._value))
    |> toFloat()
union(tables: [
    data |> aggregateWindow(every: 1m, fn: mean, createEmpty: false) |> set(key: "agg", value: "mean"),
    data |> aggregateWindow(every: 1m, fn: min, createEmpty: false) |> set(key: "agg", value: "min"),
    data |> aggregateWindow(every: 1m, fn: max, createEmpty: false) |> set(key: "agg", value: "max"),
])
    |> to(bucket: {_literal(target)})
"""


def task_flux(settings: Settings) -> str:
    return f"""import "date"
import "types"

option task = {{name: "{task_name(settings)}", every: 1m, offset: 5s}}

stop = date.truncate(t: now(), unit: 1m)
start = date.sub(d: {LOOKBACK}, from: stop)
{downsample_flux(settings.influxdb_bucket, downsampled_bucket(settings))}"""


def ensure_buckets_and_tasks(settings: Settings, *, raw_retention_s: int | None = None,
                             downsampled_retention_s: int = 400 * 86_400) -> dict[str, str]:
    """Create (or fix) the raw and downsampled buckets and the downsampling task; idempotent.

    Returns the ids: ``{"raw_bucket": ..., "downsampled_bucket": ..., "task": ...}``.
    """
    url, token = settings.resolved_influxdb()
    with InfluxDBClient(url=url, token=token, org=settings.influxdb_org, timeout=30_000) as client:
        org_id = _org_id(client, settings.influxdb_org)
        raw = _ensure_bucket(client, settings.influxdb_bucket, org_id, raw_retention_s)
        down = _ensure_bucket(client, downsampled_bucket(settings), org_id, downsampled_retention_s)
        task = _ensure_task(client, settings, org_id)
        return {"raw_bucket": raw, "downsampled_bucket": down, "task": task}


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


def _ensure_task(client: InfluxDBClient, settings: Settings, org_id: str) -> str:
    api = client.tasks_api()
    flux = task_flux(settings)
    existing = [t for t in api.find_tasks(name=task_name(settings)) if t.org_id == org_id]
    if existing:
        task = existing[0]
        if task.flux != flux or task.status != TaskStatusType.ACTIVE:
            task.flux = flux
            task.status = TaskStatusType.ACTIVE
            api.update_task(task)
        for duplicate in existing[1:]:
            api.delete_task(duplicate.id)
        return str(task.id)
    request = TaskCreateRequest(flux=flux, org_id=org_id, status=TaskStatusType.ACTIVE,
                                description="GridTwin: 1-minute mean/min/max of raw telemetry")
    return str(api.create_task(task_create_request=request).id)


def backfill_downsampled(settings: Settings, start: datetime, stop: datetime) -> None:
    """Recompute the downsampled bucket for ``[start, stop)`` (whole minutes), e.g. after a long outage."""
    url, token = settings.resolved_influxdb()
    # influxdb-client turns each param into an ``option <name> = <literal>`` of the query.
    flux = ('import "types"\nstart = gt_start\nstop = gt_stop\n'
            + downsample_flux(settings.influxdb_bucket, downsampled_bucket(settings)))
    with InfluxDBClient(url=url, token=token, org=settings.influxdb_org, timeout=300_000) as client:
        client.query_api().query(flux, params={"gt_start": start, "gt_stop": stop})
