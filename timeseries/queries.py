"""Flux queries over the raw telemetry bucket, parameterised and checked against the models.

Safety: every value that comes from a caller (twin ids, names, times, durations)
travels as a query *parameter*: influxdb-client turns ``params={"gt_twin": x}``
into ``option gt_twin = "<literal>"`` of the query's ``extern`` AST, so it is
never parsed as Flux.  What *is* spliced into the text comes only from fixed
whitelists (aggregate functions) or from generated parameter names
(``gt_t0``, ``gt_t1`` ...).  Telemetry names are checked against the twin's DTDL
interface first so a typo is an error, not an empty chart.

Layout reminder (docs/timeseries.md): measurement = model DTMI without version,
tags twin/model/feeder/substation, field ``<telemetry>`` or ``<telemetry>.<field>``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from influxdb_client import InfluxDBClient

from gridtwin.config import Settings
from timeseries.directory import TAG_COMPONENT, TwinDirectory, TwinInfo, measurement_of
from timeseries.lineprotocol import FIELD_SEPARATOR

Aggregate = Literal["mean", "min", "max", "last", "sum", "count"]
AGGREGATES: dict[str, str] = {"mean": "mean", "min": "min", "max": "max", "last": "last", "sum": "sum",
                              "count": "count"}
_NUMERIC_ONLY = {"mean", "sum"}
_NUMERIC_KINDS = {"double", "float", "integer", "long"}
#: Twins per query: their ``r.twin == ... or ...`` chain is pushed down to the storage engine.  Flux
#: refuses a chain of more than 170 terms ("Program is nested too deep", InfluxDB 2.7.12, measured;
#: fewer inside other clauses), and ``contains(set:)`` is not pushed down (a day of the test bucket:
#: over 60 s), so more twins take one query per 100.
OR_CHAIN_LIMIT = 100
#: Points one ``telemetry`` answer holds by default and at most; the limit is in the Flux query itself.
DEFAULT_POINTS = 1_000
MAX_POINTS = 10_000
#: Columns of a pivoted row that are not fields (Flux's own and the series' tags).
_TAG_COLUMNS = frozenset({"result", "table", "twin", "model", "feeder", "substation", "agg", "ingester", TAG_COMPONENT})


class QueryError(ValueError):
    """A query names something the models do not have (unknown twin, telemetry or field)."""


@dataclass(frozen=True, slots=True)
class TelemetryPoint:
    """One point: ``values`` is a dict for Object telemetry (nested for nested objects), else the value."""

    time: datetime
    values: Any


@dataclass(frozen=True, slots=True)
class LatestValue:
    time: datetime
    value: Any


@dataclass(frozen=True, slots=True)
class AggregatePoint:
    time: datetime
    value: float | None
    twins: int


class TelemetryQueries:
    """Read side of the telemetry bucket; the sync client runs in a worker thread."""

    def __init__(self, client: InfluxDBClient, bucket: str, directory: TwinDirectory) -> None:
        self._client = client
        self._bucket = bucket
        self._directory = directory

    @classmethod
    def from_settings(cls, settings: Settings, directory: TwinDirectory) -> TelemetryQueries:
        url, token = settings.resolved_influxdb()
        client = InfluxDBClient(url=url, token=token, org=settings.influxdb_org, timeout=60_000)
        return cls(client, settings.influxdb_bucket, directory)

    def close(self) -> None:
        self._client.close()

    async def _query(self, flux: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        def run() -> list[dict[str, Any]]:
            tables = self._client.query_api().query(flux, params={"gt_bucket": self._bucket, **params})
            return [record.values for table in tables for record in table.records]
        return await asyncio.to_thread(run)

    async def _rows_per_chunk(self, ids: list[str], flux_of: Callable[[str], str],
                              params: dict[str, Any]) -> list[dict[str, Any]]:
        """Rows of ``flux_of(twin filter)`` over every chunk of at most :data:`OR_CHAIN_LIMIT` twins."""
        rows: list[dict[str, Any]] = []
        for first in range(0, len(ids), OR_CHAIN_LIMIT):
            twin_filter, twin_params = _twin_filter(ids[first:first + OR_CHAIN_LIMIT])
            rows += await self._query(flux_of(twin_filter), {**params, **twin_params})
        return rows

    async def _twin(self, twin_id: str) -> TwinInfo:
        info = (await self._directory.describe([twin_id])).get(twin_id)
        if info is None:
            raise QueryError(f"unknown twin {twin_id!r}")
        return info

    # ------------------------------------------------------------------ one twin, one telemetry

    async def telemetry(self, twin_id: str, name: str, start: datetime | timedelta,
                        stop: datetime | timedelta | None = None, every: timedelta | None = None,
                        aggregate: Aggregate = "mean", limit: int = DEFAULT_POINTS) -> list[TelemetryPoint]:
        """The first ``limit`` points of telemetry ``name`` of one twin in ``[start, stop)``, oldest first.

        With ``every`` the points are ``aggregate`` per window (``_time`` = window end);
        without it they are the raw samples.  A timedelta ``start`` is relative to now.
        Raw series are cut to ``limit`` right after the read, before pivot and sort: storage
        returns each series in time order, so the first ``limit`` rows of every series hold
        the first ``limit`` points, and no step of the query holds more than that per field.
        """
        if not 1 <= limit <= MAX_POINTS:
            raise QueryError(f"limit must be between 1 and {MAX_POINTS}")
        info = await self._twin(twin_id)
        kind = _telemetry_kind(info, name)
        fn = AGGREGATES.get(aggregate)
        if fn is None:
            raise QueryError(f"aggregate must be one of {', '.join(AGGREGATES)}")
        if every is not None and aggregate in _NUMERIC_ONLY | {"min", "max"} and kind not in _NUMERIC_KINDS | {"Object"}:
            raise QueryError(f"{aggregate} needs numeric telemetry; {name} is {kind}")
        window = (f"    |> aggregateWindow(every: gt_every, fn: {fn}, createEmpty: false)\n"
                  if every is not None else "")
        per_series_limit = "    |> limit(n: gt_limit)\n" if every is None else ""
        flux = f"""import "strings"
from(bucket: gt_bucket)
    |> range(start: gt_start, stop: gt_stop)
    |> filter(fn: (r) => r._measurement == gt_measurement and r.twin == gt_twin)
    |> filter(fn: (r) => r._field == gt_name or strings.hasPrefix(v: r._field, prefix: gt_prefix))
{per_series_limit}    |> group(columns: ["_field"])
{window}    |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
    |> group()
    |> sort(columns: ["_time"])
    |> limit(n: gt_limit)
"""
        params: dict[str, Any] = {
            "gt_start": _time_param(start), "gt_stop": _time_param(stop or timedelta(0)),
            "gt_measurement": measurement_of(info.model), "gt_twin": twin_id, "gt_name": name,
            "gt_prefix": name + FIELD_SEPARATOR, "gt_limit": limit}
        if every is not None:
            params["gt_every"] = _positive(every)
        rows = await self._query(flux, params)
        return [TelemetryPoint(row["_time"], _values_of(row, name)) for row in rows]

    # ------------------------------------------------------------------ latest values

    async def latest(self, twin_ids: Collection[str], lookback: timedelta = timedelta(days=1),
                     component: str | None = None) -> dict[str, dict[str, LatestValue]]:
        """Latest value per twin and telemetry name within ``lookback`` (objects as dicts).

        The twins' own telemetry, or with ``component`` that of their component of this name
        (``mlEngine``: the predictions), never both mixed.
        """
        ids = sorted(set(twin_ids))
        if not ids:
            return {}
        params: dict[str, Any] = {"gt_start": -_positive(lookback)}
        if component is None:
            component_filter = f"not exists r.{TAG_COMPONENT}"
        else:
            component_filter, params["gt_component"] = f"r.{TAG_COMPONENT} == gt_component", component
        rows = await self._rows_per_chunk(ids, lambda twin_filter: f"""from(bucket: gt_bucket)
    |> range(start: gt_start)
    |> filter(fn: (r) => {twin_filter})
    |> filter(fn: (r) => {component_filter})
    |> group(columns: ["twin", "_field"])
    |> last()
""", params)
        result: dict[str, dict[str, LatestValue]] = {}
        for row in rows:
            field = row["_field"]
            name, _, rest = field.partition(FIELD_SEPARATOR)
            per_twin = result.setdefault(row["twin"], {})
            current = per_twin.get(name)
            if not rest:
                per_twin[name] = LatestValue(row["_time"], row["_value"])
                continue
            value = dict(current.value) if current is not None and isinstance(current.value, dict) else {}
            _assign(value, rest.split(FIELD_SEPARATOR), row["_value"])
            moment = max(row["_time"], current.time) if current is not None else row["_time"]
            per_twin[name] = LatestValue(moment, value)
        return result

    async def recent_samples(self, twin_ids: Collection[str], lookback: timedelta
                             ) -> dict[str, list[tuple[int, dict[str, Any]]]]:
        """:meth:`samples_in` the last ``lookback`` (the ML engine's window of a point)."""
        return await self.samples_in(twin_ids, -_positive(lookback), None)

    async def samples_in(self, twin_ids: Collection[str], start: datetime | timedelta,
                         stop: datetime | timedelta | None) -> dict[str, list[tuple[int, dict[str, Any]]]]:
        """The raw samples of the twins' own telemetry in ``[start, stop)``: twin -> [(time ns, fields)].

        Fields are the stored keys (``voltage.phaseA``), one dict per instant, oldest first: what the
        windows of the point feature path are cut from (live inference and datasets of stored runs).
        """
        ids = sorted(set(twin_ids))
        if not ids:
            return {}
        params = {"gt_start": _time_param(start), "gt_stop": _time_param(stop or timedelta(0))}
        rows = await self._rows_per_chunk(ids, lambda twin_filter: f"""from(bucket: gt_bucket)
    |> range(start: gt_start, stop: gt_stop)
    |> filter(fn: (r) => {twin_filter})
    |> filter(fn: (r) => not exists r.{TAG_COMPONENT})
    |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
""", params)
        found: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        for row in rows:
            moment = row["_time"]
            time_ns = int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1_000
            fields = {k: v for k, v in row.items() if not k.startswith("_") and k not in _TAG_COLUMNS}
            found.setdefault(row["twin"], []).append((time_ns, fields))
        for samples in found.values():
            samples.sort(key=lambda sample: sample[0])
        return found

    # ------------------------------------------------------------------ many twins

    async def aggregate_over_twins(self, twin_ids: Collection[str], name: str, field: str | None,
                                   start: datetime | timedelta, stop: datetime | timedelta | None,
                                   every: timedelta, per_twin: Aggregate = "mean",
                                   combine: Literal["sum", "mean", "min", "max"] = "sum") -> list[AggregatePoint]:
        """Per window: ``combine`` over twins of each twin's ``per_twin`` of one numeric field.

        E.g. total active power of a feeder's measurement points: ``name="activePower",
        field="total", per_twin="mean", combine="sum"``.
        """
        ids = sorted(set(twin_ids))
        if not ids:
            return []
        key = await self._field_key(ids, name, field)
        if per_twin not in AGGREGATES or combine not in ("sum", "mean", "min", "max"):
            raise QueryError("unsupported aggregate")
        reducer = {"sum": "accumulator.value + r._value", "mean": "accumulator.value + r._value",
                   "min": "if accumulator.twins == 0 or r._value < accumulator.value then r._value else accumulator.value",
                   "max": "if accumulator.twins == 0 or r._value > accumulator.value then r._value else accumulator.value"}[combine]

        def flux(twin_filter: str) -> str:
            return f"""from(bucket: gt_bucket)
    |> range(start: gt_start, stop: gt_stop)
    |> filter(fn: (r) => r._field == gt_field)
    |> filter(fn: (r) => {twin_filter})
    |> group(columns: ["twin"])
    |> aggregateWindow(every: gt_every, fn: {AGGREGATES[per_twin]}, createEmpty: false)
    |> toFloat()
    |> group(columns: ["_time"])
    |> reduce(identity: {{value: 0.0, twins: 0}},
              fn: (r, accumulator) => ({{value: {reducer}, twins: accumulator.twins + 1}}))
    |> group()
    |> sort(columns: ["_time"])
"""

        params = {"gt_start": _time_param(start), "gt_stop": _time_param(stop or timedelta(0)),
                  "gt_field": key, "gt_every": _positive(every)}
        windows = _combined_windows(await self._rows_per_chunk(ids, flux, params), combine)
        points = []
        for moment, (value, twins) in sorted(windows.items()):
            if combine == "mean" and twins:
                value = value / twins
            points.append(AggregatePoint(moment, value, twins))
        return points

    async def _field_key(self, twin_ids: list[str], name: str, field: str | None) -> str:
        """The stored field key of ``name[.field]``, checked against every twin's interface."""
        infos = await self._directory.describe(twin_ids)
        unknown = [t for t in twin_ids if t not in infos]
        if unknown:
            raise QueryError(f"unknown twins: {', '.join(unknown[:10])}")
        checked: set[int] = set()
        for info in infos.values():
            if id(info.interface) in checked:
                continue
            checked.add(id(info.interface))
            content = info.interface.contents.get(name)
            if content is None or content.kind != "Telemetry" or content.schema is None:
                raise QueryError(f"{info.model} has no telemetry {name!r}")
            schema = content.schema
            for part in (field.split(FIELD_SEPARATOR) if field else []):
                if schema.kind != "Object" or part not in schema.fields:
                    raise QueryError(f"{name} of {info.model} has no field {field!r}")
                schema = schema.fields[part]
            if schema.kind not in _NUMERIC_KINDS:
                raise QueryError(f"{name}{'.' + field if field else ''} is not a numeric value")
        return name + (FIELD_SEPARATOR + field if field else "")


def _telemetry_kind(info: TwinInfo, name: str) -> str:
    content = info.interface.contents.get(name)
    if content is None or content.kind != "Telemetry" or content.schema is None:
        raise QueryError(f"{info.model} has no telemetry {name!r}")
    return content.schema.kind


def _combined_windows(rows: list[dict[str, Any]], combine: str) -> dict[Any, tuple[float, int]]:
    """Window -> (value, twins) over the chunks' rows: sums (and mean's sums) add, min and max compare."""
    windows: dict[Any, tuple[float, int]] = {}
    for row in rows:
        value, twins = row.get("value"), int(row.get("twins") or 0)
        if row["_time"] in windows:
            seen, counted = windows[row["_time"]]
            value = {"min": min, "max": max}.get(combine, lambda a, b: a + b)(seen, value)
            twins += counted
        windows[row["_time"]] = (value, twins)
    return windows


def _twin_filter(ids: list[str]) -> tuple[str, dict[str, Any]]:
    """A Flux predicate over ``r.twin`` (at most :data:`OR_CHAIN_LIMIT` ids, all parameters ``gt_t0`` ...)."""
    if len(ids) > OR_CHAIN_LIMIT:
        raise ValueError(f"{len(ids)} twins in one filter: at most {OR_CHAIN_LIMIT} (see _rows_per_chunk)")
    params = {f"gt_t{i}": twin for i, twin in enumerate(ids)}
    return " or ".join(f"r.twin == {name}" for name in params), params


def _time_param(value: datetime | timedelta) -> datetime | timedelta:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, timedelta):
        return -abs(value) if value else timedelta(0)
    raise QueryError(f"a time must be a datetime or a timedelta, not {type(value).__name__}")


def _positive(value: timedelta) -> timedelta:
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise QueryError("a window or look-back must be a positive duration")
    return value


def _values_of(row: Mapping[str, Any], name: str) -> Any:
    if name in row:
        return row[name]
    values: dict[str, Any] = {}
    prefix = name + FIELD_SEPARATOR
    for column, value in row.items():
        if column.startswith(prefix) and value is not None:
            _assign(values, column[len(prefix):].split(FIELD_SEPARATOR), value)
    return values


def _assign(target: dict[str, Any], path: list[str], value: Any) -> None:
    for part in path[:-1]:
        target = target.setdefault(part, {})
    target[path[-1]] = value
