"""What resolvers reach: process-wide services and the per-request context."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import neo4j

from api.auth import AuthError, Forbidden, Permission, Principal, require
from api.errors import client_error
from api.events import TwinEvents
from api.registry import ActiveModels, ModelRegistry
from gridtwin.config import Settings


@dataclass
class Services:
    """Connections opened once at start-up and shared by all requests."""

    settings: Settings
    neo4j: neo4j.Driver
    neo4j_async: neo4j.AsyncDriver
    influxdb_http: httpx.AsyncClient
    registry: ModelRegistry
    jwt_secret: str
    telemetry: Any = None
    events: TwinEvents = field(default_factory=TwinEvents)

    async def close(self) -> None:
        if self.telemetry is not None:
            await self.telemetry.close()
        self.neo4j.close()
        await self.neo4j_async.close()
        await self.influxdb_http.aclose()


@dataclass
class RequestContext:
    """One request's view: the model snapshot it started with, its caller, its loaders."""

    services: Services
    active: ActiveModels
    principal: Principal | None
    loaders: Any
    request: Any = None
    response: Any = None
    connection_params: dict[str, Any] | None = None


def allowed(info: Any, permission: Permission) -> Principal:
    """The caller if it holds ``permission``; otherwise an UNAUTHENTICATED or FORBIDDEN client error."""
    try:
        return require(info.context.principal, permission)
    except (AuthError, Forbidden) as error:
        raise client_error(error) from error
