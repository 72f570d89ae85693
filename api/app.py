"""The Starlette application: GraphQL on /graphql (GraphiQL for browsers), probes on /healthz and /readyz.

Start-up opens the connections, makes sure the built-in grid models are stored,
builds the GraphQL schema from the stored models and creates the first admin
from ``GRIDTWIN_ADMIN_USERNAME`` / ``GRIDTWIN_ADMIN_PASSWORD``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
import orjson
from graphql import ExecutionResult, GraphQLError, get_operation_ast, parse
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET
from cross_web.exceptions import HTTPException

from api.accounts import AccountService
from api.auth import AuthError, PasswordVault, Permission, Principal, bearer_token, new_credential_key, new_secret
from api import graphiql, metrics
from api.compiled_reads import PREPARED, answer_prepared
from api.explorer import explorer_route
from api.body_limits import BodyLimitMiddleware
from api.context import RequestContext, Services, ServiceSlot
from api.events import TwinEvents
from api.loaders import Loaders
from api.predictions import PredictionService
from api.registry import ModelRegistry
from api.event_service import EventRouteService
from api.replicas import ReplicaBus
from api.request_ids import RequestIds
from api.ingest_http import ingest_endpoint
from api.protection import is_anonymous
from api.reports import report_endpoint
from api.schema import build_schema
from api.simulations import SimulationRunner
from api.telemetry_runtime import TelemetryServices
from api.websocket import GridTwinTransportWSHandler, GridTwinWebSocketAdapter, UserConnections, reject_handshake
from gridtwin.config import Settings, get_settings
from graph import db as graph_db
from graph import models_store
from graph.errors import GraphError
from ml.registry import Registry
from ml.serving import ModelCache
from timeseries import client as timeseries_client
from timeseries.setup import ensure_buckets_and_tasks

log = logging.getLogger(__name__)

REQUEST_TIMEOUT_S = 30.0


class GridTwinGraphQL(GraphQL):
    """Strawberry's ASGI view bound to the registry's current schema and our request context.

    WebSockets speak graphql-transport-ws only, through ``api.websocket``'s handler (checked messages,
    subscription limits per connection and per user, a send timeout for consumers that stop reading).
    """

    graphql_transport_ws_handler_class = GridTwinTransportWSHandler
    websocket_adapter_class = GridTwinWebSocketAdapter  # type: ignore[assignment]

    def __init__(self, slot: ServiceSlot, settings: Settings) -> None:
        self._slot = slot
        self._settings = settings
        self.user_connections = UserConnections()
        super().__init__(build_schema(ModelRegistry(build_schema).active.types), graphql_ide="graphiql",
                         keep_alive=True, subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
                         max_subscriptions_per_connection=None)  # api.websocket enforces ours, with a code

    async def render_graphql_ide(self, request: Any) -> Any:
        """Our GraphiQL page: every asset from this server, a login first, subscriptions over the WebSocket."""
        return graphiql.page(self._settings)

    @property  # type: ignore[override]
    def schema(self) -> Any:
        services = self._slot.services
        return services.registry.active.schema if services else self._bootstrap_schema

    @schema.setter
    def schema(self, value: Any) -> None:
        self._bootstrap_schema = value

    async def get_context(self, request: Any, response: Any) -> RequestContext:
        services = self._slot.get()
        active = services.registry.active
        principal = await self._caller(request, services)
        hide_accounts = principal is None or not principal.can(Permission.manage_users)
        return RequestContext(services=services, active=active, principal=principal,
                              loaders=Loaders(services.neo4j, services.neo4j_async, active, hide_accounts),
                              request=request, response=response,
                              session_token=bearer_token(request.headers.get("authorization")) if principal else None)

    async def _caller(self, request: Any, services: Services) -> Principal | None:
        """``principal_of``; on a WebSocket (already accepted, so no HTTP status can answer) a bad header is
        remembered and the handler closes with the protocol's 4403 instead."""
        try:
            return await principal_of(request.headers.get("authorization"), services.accounts)
        except HTTPException as error:
            if not self.is_websocket_request(request):
                raise
            reject_handshake(request, f"{error.reason} (Authorization header)")
            return None

    async def on_ws_connect(self, context: RequestContext) -> Any:
        """Subscriptions authenticate in connection_init: {"Authorization": "Bearer <token>"} or {"token": ...}."""
        params = context.connection_params or {}
        token = bearer_token(str(params.get("Authorization") or params.get("authorization") or "")) \
            or params.get("token")
        if context.principal is None and not token:
            raise ConnectionRejectionError({"reason": "a bearer token is required in connection_init"})
        if token:
            try:
                context.principal = await context.services.accounts.principal(str(token))
            except AuthError as error:
                raise ConnectionRejectionError({"reason": str(error)}) from error
            context.session_token = str(token)
        return UNSET

    def encode_json(self, data: object) -> str:
        """orjson for every response and WebSocket message: several times faster than json.dumps.
        A str, not bytes: WebSocket messages of the GraphQL protocols must be text frames."""
        return orjson.dumps(data).decode()

    async def execute_operation(self, request: Any, request_adapter: Any, request_data: Any, *args: Any,
                                **kwargs: Any) -> Any:
        if not isinstance(request_data, list) and self._get_stream_transport(request_data.protocol) is None \
                and operation_type(request_data.query, request_data.operation_name) == "subscription":
            # Strawberry would run it as a query and fail with "Unexpected error."
            return ExecutionResult(data=None, errors=[GraphQLError(
                "subscriptions run over the WebSocket at /graphql (graphql-transport-ws), not over HTTP",
                extensions={"code": "SUBSCRIPTION_NEEDS_WEBSOCKET"})])
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_S):  # no task per request, unlike wait_for
                return await super().execute_operation(request, request_adapter, request_data, *args, **kwargs)
        except TimeoutError as error:
            raise HTTPException(504, f"request took longer than {REQUEST_TIMEOUT_S:.0f} s") from error

    async def execute_single(self, request: Any, request_adapter: Any, sub_response: Any, context: Any,
                             root_value: Any, request_data: Any) -> Any:
        """A prepared operation (``api.compiled_reads``: this text reached execution before and was answered
        from its plan) is answered from the plan here; every other request runs through Strawberry."""
        if isinstance(context, RequestContext) and context.services.settings.compiled_reads:
            prepared = PREPARED.get(context.active, request_data.query, request_data.operation_name,
                                    is_anonymous(context))
            if prepared is not None:
                data = await answer_prepared(prepared, context, request_data.variables or {})
                if data is not None:
                    return ExecutionResult(data=data, errors=None)
        return await super().execute_single(request, request_adapter, sub_response, context, root_value,
                                            request_data)


def operation_type(query: str | None, operation_name: str | None) -> str | None:
    """``query``, ``mutation`` or ``subscription`` of the operation a request runs, from its parsed
    document (None when it does not parse or names no operation: execution reports that).  Not
    cached: request bodies reach 16 MiB, and a cache of their texts would be a memory lever."""
    if not query or "subscription" not in query:  # the keyword is required: no parse for the rest
        return None
    try:
        operation = get_operation_ast(parse(query), operation_name)
    except GraphQLError:
        return None
    return operation.operation.value if operation else None


async def principal_of(authorization: str | None, accounts: AccountService) -> Principal | None:
    """The caller named by the Authorization header, checked against its account now; a bad, revoked or
    disabled account's token is a 401, no token is anonymous."""
    token = bearer_token(authorization)
    if token is None:
        return None
    try:
        return await accounts.principal(token)
    except AuthError as error:
        raise HTTPException(401, str(error)) from error


def _state_secret(settings: Settings, name: str, configured: str | None,
                  generate: Callable[[], str] = new_secret) -> str:
    """A configured secret, or one generated once and kept (0600) in the profile's state folder."""
    if configured:
        return configured
    path: Path = settings.state_path / name
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = generate()
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as handle:
        handle.write(value)
    return value


def _stored_models(driver: Any) -> Any:
    """The stored model set (the shipped models added first); the shipped set alone when the stored
    one no longer parses, logged with what to remove, so the API still starts and can be repaired."""
    try:
        return models_store.ensure_builtin_models(driver)
    except GraphError as error:
        log.error("the stored models do not resolve (%s); serving the shipped models only", error)
        return _shipped_models()


def _shipped_models() -> Any:
    return models_store.parse_models(models_store.builtin_documents())


async def start_services(settings: Settings) -> Services:
    influx_url, influx_token = settings.resolved_influxdb()
    driver = graph_db.open_driver(settings)
    if not await run_in_threadpool(graph_db.ping, driver):
        driver.close()
        raise RuntimeError(f"Neo4j at {settings.resolved_neo4j()[0]} is not reachable; start the profile's servers "
                           f"with `GRIDTWIN_PROFILE={settings.profile} gridtwin services up`")
    registry = ModelRegistry(build_schema)
    registry.start(await run_in_threadpool(_stored_models, driver), fallback=_shipped_models)
    async_driver = graph_db.open_async_driver(settings)
    jwt_secret = _state_secret(settings, "jwt-secret", settings.jwt_secret)
    vault = PasswordVault(_state_secret(settings, "credential-key", settings.credential_key, new_credential_key))
    accounts = AccountService(driver, async_driver, vault, jwt_secret, settings.jwt_ttl_seconds)
    if sealed := await run_in_threadpool(accounts.seal_legacy_credentials):
        log.warning("sealed %d password hash(es) that an older version stored in the clear", sealed)
    admin_password = _state_secret(settings, "admin-password", settings.admin_password)
    created = await run_in_threadpool(lambda: accounts.ensure_admin(registry.active.models, settings.admin_username,
                                                                    admin_password,
                                                                    reset_password=bool(settings.admin_password)))
    if created and not settings.admin_password:
        log.warning("first admin %r created; its password is in %s", settings.admin_username,
                    settings.state_path / "admin-password")
    await run_in_threadpool(ensure_buckets_and_tasks, settings)
    telemetry = TelemetryServices(settings, async_driver, registry)
    await telemetry.start()
    events = TwinEvents()
    simulations = SimulationRunner(driver, settings, lambda: registry.active.models, telemetry.ingest.ingest, events)
    ml_models = ModelCache(Registry.of_profile(settings.state_path))
    predictions = PredictionService(ml_models, driver, lambda: registry.active.models, settings, telemetry.broker,
                                    telemetry.ingest.ingest)
    replicas = await _replica_bus(settings, driver, registry, telemetry, events)
    return Services(
        settings=settings, neo4j=driver, neo4j_async=async_driver, registry=registry, telemetry=telemetry,
        events=events, simulations=simulations, ml_models=ml_models, predictions=predictions,
        influxdb_http=httpx.AsyncClient(base_url=influx_url, headers={"Authorization": f"Token {influx_token}"}),
        jwt_secret=jwt_secret, accounts=accounts,
        metrics_token=_state_secret(settings, "metrics-token", settings.metrics_token),
        replicas=replicas, event_routes=await _event_routes(settings, driver, registry, telemetry, events, replicas),
    )


async def _event_routes(settings: Settings, driver: Any, registry: ModelRegistry, telemetry: TelemetryServices,
                        events: TwinEvents, replicas: ReplicaBus | None) -> EventRouteService | None:
    """This replica's event routing and delivery, on the broker (None without one)."""
    if replicas is None:
        return None
    return await EventRouteService.start(settings.resolved_redis(), settings.profile, driver,
                                         lambda: registry.active.models, events, telemetry.broker,
                                         lambda: replicas.relaying)


async def _replica_bus(settings: Settings, driver: Any, registry: ModelRegistry, telemetry: TelemetryServices,
                       events: TwinEvents) -> ReplicaBus | None:
    """The bus to the other replicas when a broker is configured (``GRIDTWIN_BROKER=redis``), else None."""
    if settings.broker != "redis":
        return None

    async def reload_models() -> None:
        """Another replica installed new models: serve the stored set here too (not announced again)."""
        active = await run_in_threadpool(lambda: registry.build(_stored_models(driver)))
        registry.install(active, announce=False)

    bus = ReplicaBus(settings.resolved_redis(), settings.profile, telemetry.broker, events, reload_models)
    await bus.start()
    registry.listeners.append(bus.models_installed)
    return bus


def tune_garbage_collector(young_threshold: int) -> None:
    """Collect less often, and never walk what start-up built.

    A GraphQL request allocates thousands of short-lived containers (graphql-core's execution
    state, driver records, response dicts); at Python's default threshold of 700 allocations the
    collector runs several times per request and its older generations keep walking the model set
    and schemas, which live as long as the process.  Freezing those after start-up and raising the
    young threshold a little pays; raising it far does not: each neo4j driver query leaves ~60
    objects in reference cycles (its session config, result and hydration scope) that only the
    collector frees, and one collection per 50,000 allocations freed ~41,000 of them at once, a
    20-50 ms pause once a second.  At 3,000 the pauses are a few milliseconds: ``twin(id)`` paced at
    500 requests/s over 100 twins, p99 6.1 ms against 45.6 ms at 50,000 and 8.3 ms with Python's
    default, and 1.32x the default's closed-loop throughput (bench/api_gc_bench.py, docs/benchmarks.md).
    """
    if young_threshold <= 0:
        return
    gc.collect()
    gc.freeze()
    gc.set_threshold(young_threshold, 50, 100)


BackgroundJob = Callable[[Services], Awaitable[None]]


def create_app(settings: Settings | None = None, background: Sequence[BackgroundJob] = ()) -> Starlette:
    """The app; ``background`` jobs run beside it (e.g. the demo's telemetry simulator)."""
    settings = settings or get_settings()
    slot = ServiceSlot()

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[dict[str, Services]]:
        services = slot.services = await start_services(settings)
        tune_garbage_collector(settings.api_gc_threshold)
        metrics.SERVICES.attach(services)
        jobs = [asyncio.create_task(job(services)) for job in background]
        try:
            yield {"services": services}  # Starlette's lifespan state: request.state.services
        finally:
            metrics.SERVICES.detach(services)
            for job in jobs:
                job.cancel()
            await asyncio.gather(*jobs, return_exceptions=True)
            await services.close()

    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "version": settings.version})

    async def readyz(request: Request) -> JSONResponse:
        services: Services = request.state.services
        checks = {
            "neo4j": await run_in_threadpool(graph_db.ping, services.neo4j),
            "influxdb": await timeseries_client.is_reachable(services.influxdb_http),
        }
        if services.replicas is not None:
            checks["broker"] = await services.replicas.is_reachable()
        ready = all(checks.values())
        return JSONResponse({"ready": ready, **checks}, status_code=200 if ready else 503)

    graphql = GridTwinGraphQL(slot, settings)
    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            graphiql.asset_route(settings),
            explorer_route(settings),
            WebSocketRoute("/graphql", graphql),
            Route("/ingest", ingest_endpoint, methods=["POST"]),
            Route("/reports/{name}", report_endpoint, methods=["GET"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics.metrics_endpoint),
        ],
        middleware=[Middleware(RequestIds), Middleware(metrics.HttpMetrics),
                    Middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
                               allow_headers=["Authorization", "Content-Type"]),
                    Middleware(BodyLimitMiddleware)],
        lifespan=lifespan,
    )
    app.state.services = slot  # for operational tooling and tests (e.g. counting queries): app.state.services.get()
    return app
