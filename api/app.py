"""The Starlette application: GraphQL on /graphql, probes on /healthz and /readyz."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from strawberry.asgi import GraphQL

from api.context import Services
from api.schema import schema
from gridtwin.config import Settings, get_settings
from graph import db as graph_db
from timeseries import client as timeseries_client


class GridTwinGraphQL(GraphQL):
    """Strawberry's ASGI view with our per-request context."""

    def __init__(self, services_holder: dict[str, Services]) -> None:
        super().__init__(schema, graphql_ide="graphiql")
        self._services_holder = services_holder

    async def get_context(self, request: Any, response: Any) -> dict[str, Any]:
        return {"request": request, "response": response, "services": self._services_holder["services"]}


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()
    holder: dict[str, Services] = {}

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        influx_url, influx_token = settings.resolved_influxdb()
        holder["services"] = Services(
            settings=settings,
            neo4j=graph_db.open_async_driver(settings),
            influxdb_http=httpx.AsyncClient(base_url=influx_url, headers={"Authorization": f"Token {influx_token}"}),
        )
        try:
            yield
        finally:
            await holder["services"].close()

    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "version": settings.version})

    async def readyz(_: Request) -> JSONResponse:
        services = holder["services"]
        checks = {
            "neo4j": await graph_db.is_reachable(services.neo4j),
            "influxdb": await timeseries_client.is_reachable(services.influxdb_http),
        }
        return JSONResponse({"ready": all(checks.values()), **checks}, status_code=200 if all(checks.values()) else 503)

    graphql = GridTwinGraphQL(holder)
    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
        ],
        middleware=[Middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
                               allow_headers=["Authorization", "Content-Type"])],
        lifespan=lifespan,
    )
