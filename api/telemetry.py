"""Telemetry in the GraphQL API: ingest, history queries, topology aggregates and live subscriptions.

The pipeline itself lives in ``timeseries``; this module connects it to the
twin graph (which twin has which model, what lies below a substation) and to
GraphQL; ``api.telemetry_runtime`` assembles the pipeline of one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator
from datetime import datetime, timezone
from enum import Enum
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from api.auth import Permission
from api.permissions import requires
from api.errors import ClientError, call
from api.events import TwinEvent
from api.telemetry_bounds import (
    DEFAULT_POINTS, MAX_POINTS, MAX_TWINS_PER_SUBSCRIPTION, TimeRange, checked_first, checked_twin_count, checked_twin_ids, window_length,
    windows_of,
)
from graph import topology
from gridtwin.fanout import Delivery, FanOutSubscription, Item, SubscriptionClosed
from timeseries.broker import SampleSubscription, Update
from timeseries.queries import QueryError
from timeseries.spool import SpoolFull
from timeseries.writer import WriteRejected

MEASUREMENT_POINT_LABEL = "GridMeasurementPoint"
FromArgument = Annotated[datetime | None, strawberry.argument(name="from",
                                                             description="Default: an hour before to.")]
FirstArgument = Annotated[int, strawberry.argument(description=f"Points per page, at most {MAX_POINTS}.")]
AfterArgument = Annotated[datetime | None, strawberry.argument(description=(
    "Keyset cursor: the time of the last point of the previous page; this page starts after it. "
    "A page shorter than first is the last one."))]
TOPOLOGY_REFRESH_S = 10.0
MAX_MESSAGES_PER_CALL = 10_000
log = logging.getLogger(__name__)


# --- GraphQL types ----------------------------------------------------------------------------


@strawberry.input(description="One telemetry message: a twin, when, and values keyed by telemetry name.")
class TelemetryMessage:
    twin_id: strawberry.ID
    timestamp: JSON = strawberry.field(description="RFC 3339 string, or epoch number (precision detected).")
    values: JSON


@strawberry.type
class IngestError:
    index: int
    twin_id: strawberry.ID | None
    reason: str


@strawberry.type(description="Accepted messages are durable (in InfluxDB or the local spool).")
class IngestReport:
    accepted: int
    rejected: int
    errors: list[IngestError]


@strawberry.enum
class TelemetryAggregate(Enum):
    mean = "mean"
    min = "min"
    max = "max"
    last = "last"
    sum = "sum"
    count = "count"


@strawberry.enum
class Combine(Enum):
    sum = "sum"
    mean = "mean"
    min = "min"
    max = "max"


@strawberry.type(description="A telemetry value at a time; values is an object for object-typed telemetry.")
class TelemetryPoint:
    time: datetime
    values: JSON


@strawberry.type
class LatestTelemetry:
    twin_id: strawberry.ID
    name: str
    time: datetime
    value: JSON


@strawberry.type(description="A window of an aggregate over several twins.")
class AggregatePoint:
    time: datetime
    value: float | None
    twins: int


@strawberry.type(description="Samples delivered together; coalesced means older samples were skipped "
                             "because the subscriber fell behind (only the latest per twin is kept).")
class TelemetryBatch:
    samples: JSON = strawberry.field(description=(
        "A list of {twinId, time (RFC 3339, UTC), values}. One JSON value rather than typed objects: a "
        "subscription fans each sample out to many clients, and executing three typed fields per sample "
        "cost ~0.6 ms per delivered message, 15 times the cost of the whole list as one value."))
    coalesced: bool


@strawberry.type
class TwinChange:
    kind: str
    twin_id: strawberry.ID
    model: str | None
    relationship: str | None
    other_twin_id: strawberry.ID | None
    time: datetime


def _batch(update: Update) -> TelemetryBatch:
    return TelemetryBatch(coalesced=update.coalesced, samples=[
        {"twinId": s.twin, "time": datetime.fromtimestamp(s.time_ns / 1e9, tz=timezone.utc).isoformat(),
         "values": s.values} for s in update.items])


async def queried(awaitable: Any) -> Any:
    try:
        return await awaitable
    except (QueryError, ValueError) as error:
        raise ClientError(str(error), "BAD_USER_INPUT") from error


async def points_below(info: Info, twin_id: str) -> list[str]:
    """Measurement points downstream of ``twin_id`` (itself included when it is one)."""
    context = info.context
    trace = await call(topology.downstream, context.services.neo4j, context.active.models, twin_id,
                       label=MEASUREMENT_POINT_LABEL)
    own = await context.loaders.twin(twin_id)
    ids = [node.id for node in trace.nodes]
    if own is not None and context.active.models.is_a(own.model, "dtmi:gridtwin:GridMeasurementPoint;1"):
        ids.append(twin_id)
    return ids


# --- resolvers --------------------------------------------------------------------------------


@strawberry.type
class TelemetryQuery:
    @strawberry.field(description="History of one telemetry of a twin; with every, aggregated per window.",
                     permission_classes=[requires(Permission.read_telemetry)])
    async def telemetry(self, info: Info, twin_id: strawberry.ID, name: str, from_: FromArgument = None,
                        to: datetime | None = None, every_seconds: int | None = None,
                        aggregate: TelemetryAggregate = TelemetryAggregate.mean, first: FirstArgument = DEFAULT_POINTS,
                        after: AfterArgument = None) -> list[TelemetryPoint]:
        limit = checked_first(first)
        every = window_length(every_seconds)
        span = TimeRange.of(from_, to).resumed_after(after, windowed=every is not None)
        if span is None:
            return []
        points = await queried(info.context.services.telemetry.queries.telemetry(
            str(twin_id), name, span.start, span.stop, every, aggregate.value, limit))
        return [TelemetryPoint(time=p.time, values=p.values) for p in points]

    @strawberry.field(description="Latest value of every telemetry of the given twins (last 24 h).",
                     permission_classes=[requires(Permission.read_telemetry)])
    async def latest_telemetry(self, info: Info, twin_ids: list[strawberry.ID]) -> list[LatestTelemetry]:
        checked_twin_count(len(twin_ids), "twinIds")
        found = await queried(info.context.services.telemetry.queries.latest([str(i) for i in twin_ids]))
        return [LatestTelemetry(twin_id=twin, name=name, time=value.time, value=value.value)
                for twin, values in sorted(found.items()) for name, value in sorted(values.items())]

    @strawberry.field(description="Per window, an aggregate over every measurement point below a twin, e.g. the "
                                  "total active power (name activePower, field total, combine sum).",
                     permission_classes=[requires(Permission.read_telemetry)])
    async def telemetry_below(self, info: Info, twin_id: strawberry.ID, name: str, field: str | None = None,
                              from_: FromArgument = None, to: datetime | None = None, every_seconds: int = 60,
                              per_twin: TelemetryAggregate = TelemetryAggregate.mean,
                              combine: Combine = Combine.sum) -> list[AggregatePoint]:
        span = TimeRange.of(from_, to)
        every = windows_of(span, every_seconds)
        points = await points_below(info, str(twin_id))
        if not points:
            return []
        found = await queried(info.context.services.telemetry.queries.aggregate_over_twins(
            points, name, field, span.start, span.stop, every, per_twin.value, combine.value))
        return [AggregatePoint(time=p.time, value=p.value, twins=p.twins) for p in found]


@strawberry.type
class TelemetryMutation:
    @strawberry.mutation(description="Ingest telemetry messages; bad ones are rejected with index and reason, "
                                     "the others are stored.",
                     permission_classes=[requires(Permission.write_telemetry)])
    async def ingest_telemetry(self, info: Info, messages: list[TelemetryMessage]) -> IngestReport:
        if len(messages) > MAX_MESSAGES_PER_CALL:
            raise ClientError(f"at most {MAX_MESSAGES_PER_CALL} messages per call", "BAD_USER_INPUT")
        batch = [{"twin": str(m.twin_id), "time": m.timestamp, "values": m.values} for m in messages]
        return await ingest(info.context.services.telemetry, batch)


async def ingest(telemetry: Any, messages: list[Any]) -> IngestReport:
    """Run the pipeline; a full spool is a RETRY_LATER error, nothing of the batch acknowledged."""
    try:
        result = await telemetry.ingest.ingest(messages)
    except SpoolFull as error:
        raise ClientError(str(error), "RETRY_LATER") from error
    except WriteRejected as error:
        raise ClientError(str(error), "BAD_USER_INPUT") from error
    return IngestReport(accepted=result.accepted, rejected=len(result.rejected), errors=[
        IngestError(index=r.index, twin_id=r.twin, reason=r.reason) for r in result.rejected])


@strawberry.type
class TelemetrySubscription:
    @strawberry.subscription(description="Live samples of the given twins.",
                     permission_classes=[requires(Permission.read_telemetry)])
    async def telemetry(self, info: Info, twin_ids: list[strawberry.ID]) -> AsyncGenerator[TelemetryBatch, None]:
        subscription = info.context.services.telemetry.broker.subscribe(checked_twin_ids(twin_ids, "twinIds"))
        async for batch in _stream(subscription):
            yield batch

    @strawberry.subscription(description="Live samples of every measurement point below a twin; follows topology "
                                         "changes (on relationship events, and every 10 s).",
                     permission_classes=[requires(Permission.read_telemetry)])
    async def telemetry_below(self, info: Info, twin_id: strawberry.ID) -> AsyncGenerator[TelemetryBatch, None]:
        points = await points_below(info, str(twin_id))
        checked_twin_count(len(points), "twinId")
        subscription = info.context.services.telemetry.broker.subscribe(points)
        refresher = asyncio.create_task(_follow_topology(info, str(twin_id), subscription))
        try:
            async for batch in _stream(subscription):
                yield batch
        finally:
            refresher.cancel()
            await asyncio.gather(refresher, return_exceptions=True)  # ended before the subscription is

    @strawberry.subscription(description="Twin lifecycle and relationship events, optionally only for twins that "
                                         "are-a model (DTMI).",
                     permission_classes=[requires(Permission.read_twins)])
    async def twin_changed(self, info: Info, model: str | None = None) -> AsyncGenerator[TwinChange, None]:
        registry = info.context.services.registry  # read per event: uploadModels may change the models
        async for delivery in _deliveries(info.context.services.events.subscribe_all()):
            for event in delivery.items:
                if model is None or (event.model and registry.active.models.is_a(event.model, model)):
                    yield _change(event)


async def _stream(subscription: SampleSubscription) -> AsyncGenerator[TelemetryBatch, None]:
    """The twins' own telemetry (the broker keys their components' apart: the ``predictions`` stream)."""
    async for update in _deliveries(subscription):
        yield _batch(update)


async def _deliveries(subscription: FanOutSubscription[Item]) -> AsyncGenerator[Delivery[Item], None]:
    """A fan-out subscription's deliveries; closed by the fan-out -> SUBSCRIPTION_CLOSED.
    (``get``, not ``async for``: iteration ends quietly on close, and the client must learn why.)"""
    try:
        while True:
            yield await subscription.get()
    except SubscriptionClosed as closed:
        raise ClientError(f"subscription closed: {closed.reason}", "SUBSCRIPTION_CLOSED") from closed
    finally:
        subscription.close()


def _change(event: TwinEvent) -> TwinChange:
    return TwinChange(kind=event.kind, twin_id=event.twin_id, model=event.model, relationship=event.relationship,
                      other_twin_id=event.other_twin_id, time=event.time)


async def _follow_topology(info: Info, twin_id: str, subscription: SampleSubscription) -> None:
    """Re-resolve the points below ``twin_id`` after topology events, and every TOPOLOGY_REFRESH_S.

    Events only set a flag (``TwinEvents.watching``): this task owns no event stream that another
    task would have to close, so cancelling it is the whole clean-up.
    """
    changed = asyncio.Event()

    def note(event: TwinEvent) -> None:
        if event.kind.startswith("relationship") or event.kind == "twinDeleted":
            changed.set()

    with info.context.services.events.watching(note):
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(TOPOLOGY_REFRESH_S):
                    await changed.wait()
            changed.clear()
            if not await _refresh_points(info, twin_id, subscription):
                return


async def _refresh_points(info: Info, twin_id: str, subscription: SampleSubscription) -> bool:
    """Give ``subscription`` the points below ``twin_id`` now; False once it had to be closed."""
    try:
        points = await points_below(info, twin_id)
    except ClientError as error:  # e.g. the twin was deleted
        subscription.close(f"the points below {twin_id} cannot be resolved: {error}")
        return False
    except Exception as error:  # noqa: BLE001 - Neo4j away for a moment: keep the old set, try again later
        log.warning("telemetryBelow(%s): topology refresh failed: %s", twin_id, error)
        return True
    if len(points) > MAX_TWINS_PER_SUBSCRIPTION:
        subscription.close(f"more than {MAX_TWINS_PER_SUBSCRIPTION} measurement points below {twin_id}")
        return False
    subscription.set_keys(points)
    return True
