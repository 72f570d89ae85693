"""Event routes in GraphQL, for admins: register, list and delete routes, read their delivery state.

Admin only, reads included: an endpoint URL often carries the receiver's secret.  Routes need the
broker (``GRIDTWIN_BROKER=redis``); without it every operation says so.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import orjson
import strawberry
from strawberry.scalars import JSON

from api.auth import Permission
from api.context import GraphQLInfo
from api.errors import ClientError, guarded
from api.event_routes import MAX_ROUTES, REDIS_STREAM, WEBHOOK, EventType, RouteSpec
from api.event_service import EventRouteService
from api.permissions import requires

MAX_DEAD_LETTERS_PAGE = 100

GraphQLEventType = strawberry.enum(EventType, name="EventType",
                                   description="What happened; the CloudEvent type is 'gridtwin.' + the value "
                                               "(twinUpdated: gridtwin.twin.updated).")


@strawberry.input(description="Where a route delivers: exactly one of a webhook URL (HTTP POST of a CloudEvent) "
                              "and a Redis stream on the broker (XADD, field 'event').")
class EventEndpointInput:
    webhook: str | None = None
    redis_stream: str | None = None


@strawberry.input(description="A new event route. Filters left out match everything.")
class EventRouteInput:
    id: str
    endpoint: EventEndpointInput
    event_types: list[GraphQLEventType] | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Event types the route takes (all when left out).")
    model: str | None = strawberry.field(default=None, description="Only twins of this model or one extending it.")
    subtree: str | None = strawberry.field(default=None, description="Only the twin with this id and the twins "
                                                                      "downstream of it along feedsTo.")
    max_attempts: int = strawberry.field(default=8, description="Failed attempts before an event is dead-lettered.")
    retry_seconds: float = strawberry.field(default=0.5, description="Delay before the first retry; it doubles "
                                                                      "after each failure, at most 60 s.")


@strawberry.enum(description="The kind of a route's endpoint.")
class EventEndpointKind(enum.Enum):
    webhook = WEBHOOK
    redisStream = REDIS_STREAM


@strawberry.type(description="How a route's deliveries stand, across all replicas.")
class EventRouteState:
    pending: int = strawberry.field(description="Events routed and not yet delivered nor dead-lettered.")
    routed: int
    delivered: int
    failed_attempts: int
    dead_lettered: int
    last_error: str | None
    last_error_at: datetime | None
    last_delivered_at: datetime | None
    delivering_replica: str | None = strawberry.field(description="The replica holding the route's lease now.")


@strawberry.type(description="An event that was not delivered, with the last error.")
class DeadLetter:
    error: str
    attempts: int
    dead_lettered_at: datetime
    event: JSON = strawberry.field(description="The CloudEvent as it would have been delivered.")


@strawberry.type(description="A registered event route.")
class EventRoute:
    id: str
    endpoint_kind: EventEndpointKind
    endpoint: str
    event_types: list[GraphQLEventType]  # type: ignore[valid-type]
    model: str | None
    subtree: str | None
    max_attempts: int
    retry_seconds: float
    created_at: datetime
    created_by: str | None

    @strawberry.field(description="Delivery counters, the backlog and the last error.")
    async def state(self, info: GraphQLInfo) -> EventRouteState:
        found = await guarded(_service(info).store.state(self.id))
        number = lambda name: int(found.get(name, 0))  # noqa: E731
        moment = lambda name: datetime.fromisoformat(found[name]) if name in found else None  # noqa: E731
        return EventRouteState(pending=found["pending"], routed=number("routed"), delivered=number("delivered"),
                               failed_attempts=number("failedAttempts"), dead_lettered=number("deadLettered"),
                               last_error=found.get("lastError"), last_error_at=moment("lastErrorAt"),
                               last_delivered_at=moment("lastDeliveredAt"), delivering_replica=found["holder"])

    @strawberry.field(description=f"The most recent dead letters first (at most {MAX_DEAD_LETTERS_PAGE}).")
    async def dead_letters(self, info: GraphQLInfo, first: int = 20) -> list[DeadLetter]:
        if not 1 <= first <= MAX_DEAD_LETTERS_PAGE:
            raise ClientError(f"first must be 1 to {MAX_DEAD_LETTERS_PAGE}", "BAD_USER_INPUT",
                              [{"pointer": "/first", "message": f"1 to {MAX_DEAD_LETTERS_PAGE}"}])
        letters = await guarded(_service(info).store.dead_letters(self.id, first))
        return [DeadLetter(error=letter["error"], attempts=int(letter["attempts"]),
                           dead_lettered_at=datetime.fromisoformat(letter["at"]), event=orjson.loads(letter["event"]))
                for letter in letters]


def _route(spec: RouteSpec) -> EventRoute:
    return EventRoute(id=spec.id, endpoint_kind=EventEndpointKind(spec.endpoint_kind), endpoint=spec.endpoint,
                      event_types=[EventType[name] for name in spec.event_types] or list(EventType),
                      model=spec.model, subtree=spec.subtree, max_attempts=spec.max_attempts,
                      retry_seconds=spec.retry_seconds, created_at=datetime.fromisoformat(spec.created_at),
                      created_by=spec.created_by)


def _service(info: GraphQLInfo) -> EventRouteService:
    service = info.context.services.event_routes
    if service is None:
        raise ClientError("event routes need the broker: start the API with GRIDTWIN_BROKER=redis (the profile's "
                          "Redis is started by `gridtwin services up`)", "FAILED_PRECONDITION")
    return service


def _spec(route: EventRouteInput, created_by: str | None) -> RouteSpec:
    given = [(kind, value) for kind, value in ((WEBHOOK, route.endpoint.webhook),
                                               (REDIS_STREAM, route.endpoint.redis_stream)) if value is not None]
    if len(given) != 1:
        raise ClientError("give exactly one endpoint", "BAD_USER_INPUT",
                          [{"pointer": "/route/endpoint", "message": "exactly one of webhook and redisStream"}])
    kind, endpoint = given[0]
    types: Any = tuple(dict.fromkeys(t.name for t in route.event_types)) if route.event_types else ()
    return RouteSpec(id=route.id, endpoint_kind=kind, endpoint=endpoint, event_types=types, model=route.model,
                     subtree=route.subtree, max_attempts=route.max_attempts, retry_seconds=route.retry_seconds,
                     created_by=created_by)


_ADMIN = [requires(Permission.manage_event_routes)]


@strawberry.type
class EventRouteQuery:
    @strawberry.field(description=f"The registered event routes (at most {MAX_ROUTES}), by id.",
                      permission_classes=_ADMIN)
    async def event_routes(self, info: GraphQLInfo) -> list[EventRoute]:
        routes = await guarded(_service(info).routes())
        return [_route(routes[route_id]) for route_id in sorted(routes)]

    @strawberry.field(description="One event route, null when there is none with this id.", permission_classes=_ADMIN)
    async def event_route(self, info: GraphQLInfo, id: str) -> EventRoute | None:
        spec = (await guarded(_service(info).routes())).get(id)
        return _route(spec) if spec else None


@strawberry.type
class EventRouteMutation:
    @strawberry.mutation(description="Register an event route: from the next event on, the events it matches are "
                                     "delivered at least once, in order, as CloudEvents.", permission_classes=_ADMIN)
    async def create_event_route(self, info: GraphQLInfo, route: EventRouteInput) -> EventRoute:
        principal = info.context.principal
        spec = _spec(route, principal.username if principal else None)
        return _route(await guarded(_service(info).create(spec, info.context.services.registry.active.models)))

    @strawberry.mutation(description="Delete a route with its undelivered events and dead letters; false when there "
                                     "was none.", permission_classes=_ADMIN)
    async def delete_event_route(self, info: GraphQLInfo, id: str) -> bool:
        return await guarded(_service(info).delete(id))
