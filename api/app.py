"""The Starlette application: GraphQL on /graphql (GraphiQL for browsers), probes on /healthz and /readyz.

Start-up opens the connections, makes sure the built-in grid models are stored,
builds the GraphQL schema from the stored models and creates the first admin
from ``GRIDTWIN_ADMIN_USERNAME`` / ``GRIDTWIN_ADMIN_PASSWORD``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.types.unset import UNSET
from cross_web.exceptions import HTTPException

from api import users
from api.auth import AuthError, Principal, bearer_token, read_token
from api.context import RequestContext, Services
from api.loaders import Loaders
from api.registry import ModelRegistry
from api.ingest_http import ingest_endpoint
from api.schema import build_schema
from api.telemetry import TelemetryServices
from gridtwin.config import Settings, get_settings
from graph import db as graph_db
from graph import models_store
from timeseries import client as timeseries_client
from timeseries.setup import ensure_buckets_and_tasks

log = logging.getLogger(__name__)

REQUEST_TIMEOUT_S = 30.0


class GridTwinGraphQL(GraphQL):
    """Strawberry's ASGI view bound to the registry's current schema and our request context."""

    def __init__(self, holder: dict[str, Services]) -> None:
        self._holder = holder
        super().__init__(build_schema(ModelRegistry(build_schema).active.types), graphql_ide="graphiql",
                         keep_alive=True)

    @property  # type: ignore[override]
    def schema(self) -> Any:
        services = self._holder.get("services")
        return services.registry.active.schema if services else self._bootstrap_schema

    @schema.setter
    def schema(self, value: Any) -> None:
        self._bootstrap_schema = value

    async def get_context(self, request: Any, response: Any) -> RequestContext:
        services = self._holder["services"]
        active = services.registry.active
        principal = principal_of(request, services.jwt_secret)
        return RequestContext(services=services, active=active, principal=principal,
                              loaders=Loaders(services.neo4j, services.neo4j_async, active), request=request,
                              response=response)

    async def on_ws_connect(self, context: RequestContext) -> Any:
        """Subscriptions authenticate in connection_init: {"Authorization": "Bearer <token>"} or {"token": ...}."""
        params = context.connection_params or {}
        token = bearer_token(str(params.get("Authorization") or params.get("authorization") or "")) \
            or params.get("token")
        if context.principal is None and not token:
            raise ConnectionRejectionError({"reason": "a bearer token is required in connection_init"})
        if token:
            try:
                context.principal = read_token(str(token), context.services.jwt_secret)
            except AuthError as error:
                raise ConnectionRejectionError({"reason": str(error)}) from error
        return UNSET

    def encode_json(self, data: object) -> str:
        """orjson for every response and WebSocket message: several times faster than json.dumps.
        A str, not bytes: WebSocket messages of the GraphQL protocols must be text frames."""
        return orjson.dumps(data).decode()

    async def execute_operation(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await asyncio.wait_for(super().execute_operation(*args, **kwargs), REQUEST_TIMEOUT_S)
        except asyncio.TimeoutError as error:
            raise HTTPException(504, f"request took longer than {REQUEST_TIMEOUT_S:.0f} s") from error


def principal_of(request: Any, secret: str) -> Principal | None:
    """The caller named by the Authorization header; a bad token is a 401, no token is anonymous."""
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        return None
    try:
        return read_token(token, secret)
    except AuthError as error:
        raise HTTPException(401, str(error)) from error


def _state_secret(settings: Settings, name: str, configured: str | None) -> str:
    """A configured secret, or one generated once and kept (0600) in the profile's state folder."""
    if configured:
        return configured
    path: Path = settings.state_path / name
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as handle:
        handle.write(value)
    return value


async def start_services(settings: Settings) -> Services:
    influx_url, influx_token = settings.resolved_influxdb()
    driver = graph_db.open_driver(settings)
    if not await run_in_threadpool(graph_db.ping, driver):
        driver.close()
        raise RuntimeError(f"Neo4j at {settings.resolved_neo4j()[0]} is not reachable; start the profile's servers "
                           f"with `GRIDTWIN_PROFILE={settings.profile} gridtwin services up`")
    models = await run_in_threadpool(models_store.ensure_builtin_models, driver)
    registry = ModelRegistry(build_schema, models)
    admin_password = _state_secret(settings, "admin-password", settings.admin_password)
    created = await run_in_threadpool(lambda: users.ensure_admin(driver, models, settings.admin_username,
                                                                 admin_password,
                                                                 reset_password=bool(settings.admin_password)))
    if created and not settings.admin_password:
        log.warning("first admin %r created; its password is in %s", settings.admin_username,
                    settings.state_path / "admin-password")
    await run_in_threadpool(ensure_buckets_and_tasks, settings)
    telemetry = TelemetryServices(settings, driver, registry)
    await telemetry.start()
    return Services(
        settings=settings, neo4j=driver, neo4j_async=graph_db.open_async_driver(settings), registry=registry,
        telemetry=telemetry,
        influxdb_http=httpx.AsyncClient(base_url=influx_url, headers={"Authorization": f"Token {influx_token}"}),
        jwt_secret=_state_secret(settings, "jwt-secret", settings.jwt_secret),
    )


BackgroundJob = Callable[[Services], Awaitable[None]]


def create_app(settings: Settings | None = None, background: Sequence[BackgroundJob] = ()) -> Starlette:
    """The app; ``background`` jobs run beside it (e.g. the demo's telemetry simulator)."""
    settings = settings or get_settings()
    holder: dict[str, Services] = {}

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        services = holder["services"] = await start_services(settings)
        jobs = [asyncio.create_task(job(services)) for job in background]
        try:
            yield
        finally:
            for job in jobs:
                job.cancel()
            await asyncio.gather(*jobs, return_exceptions=True)
            await services.close()

    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "version": settings.version})

    async def readyz(_: Request) -> JSONResponse:
        services = holder["services"]
        checks = {
            "neo4j": await run_in_threadpool(graph_db.ping, services.neo4j),
            "influxdb": await timeseries_client.is_reachable(services.influxdb_http),
        }
        ready = all(checks.values())
        return JSONResponse({"ready": ready, **checks}, status_code=200 if ready else 503)

    graphql = GridTwinGraphQL(holder)
    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/ingest", ingest_endpoint, methods=["POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
        ],
        middleware=[Middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
                               allow_headers=["Authorization", "Content-Type"])],
        lifespan=lifespan,
    )
    app.state.services_holder = holder  # for operational tooling and tests (e.g. counting queries)
    return app
