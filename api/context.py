"""What resolvers reach: process-wide services and the per-request context."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import neo4j

from api.auth import Principal
from api.registry import ActiveModels, ModelRegistry
from gridtwin.config import Settings


@dataclass
class Services:
    """Connections opened once at start-up and shared by all requests."""

    settings: Settings
    neo4j: neo4j.Driver
    influxdb_http: httpx.AsyncClient
    registry: ModelRegistry
    jwt_secret: str
    extras: dict[str, Any] = field(default_factory=dict)

    async def close(self) -> None:
        self.neo4j.close()
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
