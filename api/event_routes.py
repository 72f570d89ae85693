"""Event routes: what an admin registers (a filter and an endpoint) and how an event becomes a CloudEvent.

A route, as Azure Digital Twins has them, says which events leave GridTwin and where to:

- a **filter**: event types (twin created/updated/deleted, relationship created/deleted, telemetry,
  predictions), a model (the twin's model or one extending it) and a subtree (the twins downstream
  of a root along ``feedsTo``, the root included); a filter left out matches everything;
- an **endpoint**: a webhook URL (HTTP POST of a structured CloudEvent) or a Redis stream on the
  broker (XADD of the same JSON);
- delivery settings: attempts before an event goes to the route's dead letters, and the first
  retry's delay (doubling after each failure, at most :data:`MAX_RETRY_DELAY_S`).

This module is pure (no server): validation with the field named, the filter match, the CloudEvent.
The definitions live on the broker, not in Neo4j, because a webhook URL often carries a secret and
analysts read Neo4j with Cypher (:mod:`api.event_router` stores and delivers them).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

import orjson

from dtdl.model import ModelSet
from graph.errors import ConflictError, Problem, ValidationError


class EventType(enum.Enum):
    """What happened; the CloudEvent ``type`` is ``gridtwin.`` + the value."""

    twinCreated = "twin.created"
    twinUpdated = "twin.updated"
    twinDeleted = "twin.deleted"
    relationshipCreated = "relationship.created"
    relationshipDeleted = "relationship.deleted"
    telemetry = "telemetry"
    prediction = "prediction"


#: The twin event kinds of ``api.events.TwinEvent`` by their event type.
EVENT_TYPE_OF_KIND = {kind.name: kind for kind in EventType if kind.name.startswith(("twin", "relationship"))}
CLOUD_EVENT_PREFIX = "gridtwin."
ROUTE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
#: Redis stream names an endpoint may name: none of GridTwin's own keys (``gridtwin:...``).
STREAM_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9:._-]{0,199}")
RESERVED_STREAM_PREFIX = "gridtwin:"
MAX_URL_LENGTH = 2_048
MAX_ROUTES = 100
MAX_ATTEMPTS = 100
MIN_RETRY_DELAY_S, MAX_RETRY_DELAY_S = 0.05, 60.0
WEBHOOK, REDIS_STREAM = "webhook", "redisStream"


@dataclass(frozen=True)
class RouteSpec:
    """One registered route, as stored (JSON on the broker) and shown to admins."""

    id: str
    endpoint_kind: str  # WEBHOOK or REDIS_STREAM
    endpoint: str
    event_types: tuple[str, ...] = ()  # EventType names; empty: every type
    model: str | None = None
    subtree: str | None = None
    max_attempts: int = 8
    retry_seconds: float = 0.5
    created_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat())
    created_by: str | None = None

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def from_json(cls, data: bytes | str) -> RouteSpec:
        stored = orjson.loads(data)
        stored["event_types"] = tuple(stored.get("event_types") or ())
        return cls(**stored)

    def wants(self, event_type: EventType) -> bool:
        return not self.event_types or event_type.name in self.event_types

    def retry_delay(self, failures: int) -> float:
        """Seconds to wait after the ``failures``-th failed attempt: doubling, capped."""
        return min(self.retry_seconds * 2 ** max(0, failures - 1), MAX_RETRY_DELAY_S)


def check_route(spec: RouteSpec, models: ModelSet) -> list[Problem]:
    """What is wrong with a route to be created, each problem at its field's JSON pointer (empty: nothing)."""
    problems: list[Problem] = []
    if not ROUTE_ID.fullmatch(spec.id):
        problems.append(Problem("/route/id", "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"))
    problems.extend(_endpoint_problems(spec))
    unknown = [name for name in spec.event_types if name not in EventType.__members__]
    if unknown:
        problems.append(Problem("/route/eventTypes", f"unknown event types {unknown}"))
    if spec.model is not None and spec.model not in models.interfaces:
        problems.append(Problem("/route/model", f"no model {spec.model!r} is loaded"))
    if not 1 <= spec.max_attempts <= MAX_ATTEMPTS:
        problems.append(Problem("/route/maxAttempts", f"must be 1 to {MAX_ATTEMPTS}"))
    if not MIN_RETRY_DELAY_S <= spec.retry_seconds <= MAX_RETRY_DELAY_S:
        problems.append(Problem("/route/retrySeconds", f"must be {MIN_RETRY_DELAY_S} to {MAX_RETRY_DELAY_S} seconds"))
    return problems


def _endpoint_problems(spec: RouteSpec) -> list[Problem]:
    if spec.endpoint_kind == REDIS_STREAM:
        if not STREAM_NAME.fullmatch(spec.endpoint) or spec.endpoint.startswith(RESERVED_STREAM_PREFIX):
            return [Problem("/route/endpoint/redisStream", "1-200 letters, digits, ':', '.', '_' or '-', not "
                                                           f"starting with {RESERVED_STREAM_PREFIX!r}")]
        return []
    import httpx

    pointer = "/route/endpoint/webhook"
    if len(spec.endpoint) > MAX_URL_LENGTH:
        return [Problem(pointer, f"longer than {MAX_URL_LENGTH} characters")]
    try:
        url = httpx.URL(spec.endpoint)
    except httpx.InvalidURL as error:
        return [Problem(pointer, f"not a URL: {error}")]
    if url.scheme not in ("http", "https") or not url.host:
        return [Problem(pointer, "an http:// or https:// URL with a host")]
    return []


def refuse_if_wrong(spec: RouteSpec, models: ModelSet, existing: Collection[str]) -> None:
    """Raise what :func:`check_route` finds: a taken id is a conflict, anything else bad input."""
    if spec.id in existing:
        raise ConflictError(f"route {spec.id!r} exists already", [Problem("/route/id", "delete the route first")])
    problems = check_route(spec, models)
    if len(existing) >= MAX_ROUTES:
        problems.append(Problem("/route/id", f"at most {MAX_ROUTES} routes; delete one first"))
    if problems:
        raise ValidationError(f"route {spec.id!r} is not valid", problems)


@dataclass(frozen=True)
class RoutedEvent:
    """An event before routing: its type, the twin it concerns and what a CloudEvent carries."""

    type: EventType
    twin_id: str
    model: str | None
    data: Mapping[str, Any]
    time: datetime
    subject: str


def matches(route: RouteSpec, event: RoutedEvent, models: ModelSet, subtree: Collection[str] | None) -> bool:
    """Whether the route takes the event; ``subtree`` is the ids below the route's root (None: no subtree filter)."""
    if not route.wants(event.type):
        return False
    if route.model is not None and (event.model is None or not models.is_a(event.model, route.model)):
        return False
    return subtree is None or event.twin_id in subtree


def cloud_event(event: RoutedEvent, event_id: str, source: str) -> bytes:
    """The event as a structured-mode CloudEvent 1.0 (JSON), built by the CloudEvents SDK."""
    from cloudevents.core.bindings.http import to_structured
    from cloudevents.core.formats.json import JSONFormat
    from cloudevents.core.v1.event import CloudEvent

    attributes = {"type": CLOUD_EVENT_PREFIX + event.type.value, "source": source, "id": event_id,
                  "subject": event.subject, "time": event.time, "datacontenttype": "application/json"}
    return to_structured(CloudEvent(attributes, dict(event.data)), JSONFormat()).body


CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"
