"""Prometheus metrics of one API process, served at ``GET /metrics`` to a scraper holding the metrics token.

Two kinds of series, both in this module's own registry (never prometheus-client's global one):

- **events counted as they happen**: HTTP requests by route, method and status with a latency
  histogram (:class:`HttpMetrics`, an ASGI middleware); GraphQL operations by type, root field
  and outcome with a latency histogram (:class:`OperationMetrics`, a Strawberry extension);
  graph-layer calls by function with a latency histogram (:func:`observe_call`, used by
  ``api.errors.call``);
- **state read at scrape time** (:class:`ServiceCollector`; each app attaches its services while it runs):
  telemetry accepted and rejected, lines written directly, spooled and replayed, the spool's
  depth, InfluxDB write latency, open subscriptions per stream with their dropped and
  disconnected updates, published samples.

Every label comes from a finite set the server owns (route table, schema field names after
validation, error codes, function names), never from request text, so a client cannot grow the
series without bound.  The token (``GRIDTWIN_METRICS_TOKEN``, else generated into the profile's
state folder as ``metrics-token``) is compared in constant time; without it the answer is 401.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from graphql import OperationDefinitionNode
from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, disable_created_metrics,
                               generate_latest)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric, SummaryMetricFamily
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension

if TYPE_CHECKING:
    from api.context import Services

disable_created_metrics()  # no *_created series: they double the scrape and no dashboard reads them
#: The process's registry: what /metrics serves.
REGISTRY = CollectorRegistry(auto_describe=True)
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: Paths with a series of their own; every other path is counted as "other".
ROUTES = ("/graphql", "/ingest", "/healthz", "/readyz", "/metrics")

HTTP_REQUESTS = Counter("gridtwin_http_requests", "HTTP requests answered, by route, method and status.",
                        ["route", "method", "status"], registry=REGISTRY)
HTTP_SECONDS = Histogram("gridtwin_http_request_seconds", "Time to answer an HTTP request.", ["route", "method"],
                         buckets=_LATENCY_BUCKETS, registry=REGISTRY)
OPERATIONS = Counter("gridtwin_graphql_operations", "GraphQL operations by type, root field and outcome "
                     "(OK, the first error's code, INVALID or ERROR).", ["type", "field", "outcome"],
                     registry=REGISTRY)
OPERATION_SECONDS = Histogram("gridtwin_graphql_operation_seconds", "Time to run a GraphQL operation (a "
                              "subscription: until its first result).", ["type", "field"],
                              buckets=_LATENCY_BUCKETS, registry=REGISTRY)
CALL_SECONDS = Histogram("gridtwin_graph_call_seconds", "Graph-layer calls (Neo4j and what runs beside it) "
                         "made by the API, by function.", ["function"], buckets=_LATENCY_BUCKETS, registry=REGISTRY)


def route_of(path: str) -> str:
    """The route label of a request path (GraphiQL's assets share one)."""
    if path in ROUTES:
        return path
    return "/graphiql-assets" if path.startswith("/graphiql-assets/") else "other"


class HttpMetrics:
    """ASGI middleware counting every HTTP request with its status and time (WebSockets are not requests)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route = route_of(scope.get("path", ""))
            method = scope.get("method", "GET") if scope.get("method") in ("GET", "POST") else "other"
            HTTP_REQUESTS.labels(route, method, str(status)).inc()
            HTTP_SECONDS.labels(route, method).observe(time.perf_counter() - started)


def _root_field(execution: Any) -> str:
    """The operation's first root field, only once validation passed (so it is a schema field name)."""
    document = execution.graphql_document
    if document is None or execution.pre_execution_errors:
        return "-"
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = next((o for o in operations if o.name and o.name.value == execution.operation_name), None)
    operation = chosen or (operations[0] if operations else None)
    selections = operation.selection_set.selections if operation else ()
    first = selections[0] if selections else None
    return first.name.value if first is not None and hasattr(first, "name") else "-"


def _outcome(execution: Any) -> str:
    """``OK``, the first error's code, ``INVALID`` (refused before execution without a code) or ``ERROR``."""
    early = list(execution.pre_execution_errors or ())
    result = execution.result
    errors = early + list(getattr(result, "errors", None) or ())
    if not errors:
        return "OK"
    code = (getattr(errors[0], "extensions", None) or {}).get("code")
    if isinstance(code, str) and code.isupper() and len(code) <= 40:
        return code
    return "INVALID" if early else "ERROR"


class OperationMetrics(SchemaExtension):
    """Counts and times each GraphQL operation (the first extension, so it times all the others)."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        execution = self.execution_context
        kind = execution.operation_type.value if execution.operation_type else "-"
        record_operation(kind, _root_field(execution), _outcome(execution), time.perf_counter() - started)


def record_operation(kind: str, field: str, outcome: str, seconds: float) -> None:
    """One GraphQL operation (also those answered before Strawberry's execution: api.compiled_reads)."""
    OPERATIONS.labels(kind, field, outcome).inc()
    OPERATION_SECONDS.labels(kind, field).observe(seconds)


def observe_call(function: Callable[..., Any], seconds: float) -> None:
    """One graph-layer call's time, labelled ``module.function`` (code names: a finite set)."""
    CALL_SECONDS.labels(f"{function.__module__}.{getattr(function, '__qualname__', 'call')}").observe(seconds)


def awaited_label(awaitable: Any) -> str:
    """``module.function`` of a coroutine object, read before it runs (its frame is gone afterwards)."""
    frame = getattr(awaitable, "cr_frame", None)
    module = frame.f_globals.get("__name__", "async") if frame is not None else "async"
    return f"{module}.{getattr(awaitable, '__qualname__', 'awaitable')}"


def observe_awaited(label: str, seconds: float) -> None:
    """One awaited graph-layer coroutine's time under its :func:`awaited_label`."""
    CALL_SECONDS.labels(label).observe(seconds)


class ServiceCollector(Collector):
    """Series read at each scrape from the services of every app running in this process (one in
    production; tests run several), summed: the numbers are the process's."""

    def __init__(self) -> None:
        self._services: list[Services] = []

    def attach(self, services: Services) -> None:
        self._services.append(services)

    def detach(self, services: Services) -> None:
        self._services = [s for s in self._services if s is not services]

    def collect(self) -> Iterable[Metric]:
        services = list(self._services)
        yield from _telemetry(services)
        yield from _streams(services)
        yield from _broker(services)


def _telemetry(running: list[Services]) -> Iterator[Metric]:
    ingests = [s.telemetry.ingest for s in running]
    stats = [i.writer.stats for i in ingests]
    messages = CounterMetricFamily("gridtwin_ingest_messages", "Telemetry messages since start: accepted "
                                   "(durable, acknowledged) or rejected.", labels=["outcome"])
    messages.add_metric(["accepted"], sum(i.accepted_total for i in ingests))
    messages.add_metric(["rejected"], sum(i.rejected_total for i in ingests))
    yield messages
    lines = CounterMetricFamily("gridtwin_telemetry_lines", "Line-protocol lines by path: written to InfluxDB "
                                "directly, spooled to disk, replayed from the spool.", labels=["path"])
    for path, field in (("direct", "lines_direct"), ("spooled", "lines_spooled"), ("replayed", "lines_replayed")):
        lines.add_metric([path], sum(getattr(s, field) for s in stats))
    yield lines
    yield CounterMetricFamily("gridtwin_spool_dead_lettered_records", "Spool records InfluxDB refused for good, "
                              "kept in the spool's rejected folder.", value=sum(s.records_dead_lettered for s in stats))
    yield CounterMetricFamily("gridtwin_spool_full", "Batches answered 503 because the spool was full.",
                              value=sum(s.spool_full for s in stats))
    yield GaugeMetricFamily("gridtwin_spool_pending_bytes", "Acknowledged telemetry waiting in the spool for "
                            "InfluxDB.", value=sum(i.writer.spool.pending_bytes for i in ingests))
    yield SummaryMetricFamily("gridtwin_influxdb_write_seconds", "InfluxDB write calls and their time.",
                              count_value=sum(s.influx_writes for s in stats),
                              sum_value=sum(s.influx_write_seconds for s in stats))


def _streams(running: list[Services]) -> Iterator[Metric]:
    open_now = GaugeMetricFamily("gridtwin_subscriptions", "Open subscriptions per stream in this process.",
                                 labels=["stream"])
    dropped = CounterMetricFamily("gridtwin_subscription_dropped_updates", "Deliveries folded into a coalesced "
                                  "one because a subscriber was slow.", labels=["stream"])
    disconnects = CounterMetricFamily("gridtwin_subscription_slow_disconnects", "Subscriptions closed for being "
                                      "too slow.", labels=["stream"])
    published = CounterMetricFamily("gridtwin_stream_published", "Items published to each stream.", labels=["stream"])
    for stream, fan_outs in _fan_outs(running).items():
        open_now.add_metric([stream], sum(len(f.subscriptions) for f in fan_outs))
        dropped.add_metric([stream], sum(f.dropped_updates for f in fan_outs))
        disconnects.add_metric([stream], sum(f.slow_disconnects for f in fan_outs))
        published.add_metric([stream], sum(f.published for f in fan_outs))
    yield from (open_now, dropped, disconnects, published)


def _broker(running: list[Services]) -> Iterator[Metric]:
    """The replica bus (api.replicas): messages each way, their lag, failures. Zero without a broker."""
    stats = [s.replicas.stats for s in running if s.replicas is not None]
    messages = CounterMetricFamily("gridtwin_broker_messages", "Messages to and from the other replicas (each "
                                   "carries one loop turn's events of one channel).", labels=["direction"])
    messages.add_metric(["sent"], sum(b.sent for b in stats))
    messages.add_metric(["received"], sum(b.received for b in stats))
    yield messages
    yield SummaryMetricFamily("gridtwin_broker_lag_seconds", "From another replica's publish to its replay here.",
                              count_value=sum(b.received for b in stats), sum_value=sum(b.lag_seconds_total for b in stats))
    yield CounterMetricFamily("gridtwin_broker_errors", "Messages that could not be published or replayed.",
                              value=sum(b.errors for b in stats))


def _fan_outs(running: list[Services]) -> dict[str, list[Any]]:
    return {"telemetry": [s.telemetry.broker for s in running], "twinChanged": [s.events for s in running],
            "alerts": [s.predictions.alerts for s in running],
            "simulationProgress": [s.simulations.progress for s in running]}


#: Registered once; each app attaches its services for its lifetime.
SERVICES = ServiceCollector()
REGISTRY.register(SERVICES)


def authorised(request: Request, token: str) -> bool:
    """Whether the request carries the metrics token as a bearer token (constant-time comparison)."""
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


async def metrics_endpoint(request: Request) -> Response:
    """``GET /metrics``: the registry in Prometheus' text format, for the holder of the metrics token."""
    services: Services = request.state.services
    if not authorised(request, services.metrics_token):
        return PlainTextResponse("a bearer token is required: the metrics token (GRIDTWIN_METRICS_TOKEN, or the "
                                 "profile's state file metrics-token)", status_code=401,
                                 headers={"WWW-Authenticate": "Bearer"})
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
