"""What resolvers reach: process-wide services and the per-request context."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import neo4j
from strawberry.types import Info

from api.accounts import AccountService
from api.auth import Principal
from api.event_service import EventRouteService
from api.events import TwinEvents
from api.loaders import Loaders
from api.registry import ActiveModels, ModelRegistry
from api.replicas import ReplicaBus
from api.simulations import SimulationRunner
from api.predictions import PredictionService
from api.read_batches import TwinReadBatches
from api.telemetry_runtime import TelemetryServices
from gridtwin.config import Settings
from ml.serving import ModelCache


@dataclass
class Services:
    """Connections opened once at start-up and shared by all requests."""

    settings: Settings
    neo4j: neo4j.Driver
    neo4j_async: neo4j.AsyncDriver
    influxdb_http: httpx.AsyncClient
    registry: ModelRegistry
    jwt_secret: str
    #: What a scraper must send to read /metrics (api.metrics).
    metrics_token: str
    accounts: AccountService
    telemetry: TelemetryServices
    events: TwinEvents
    simulations: SimulationRunner
    #: The ML models of the profile's registry, each loaded on its first use.
    ml_models: ModelCache
    #: Inference for measurement points: on demand, continuous, alerts.
    predictions: PredictionService
    #: Live events to and from the other API replicas (None: one process, no broker configured).
    replicas: ReplicaBus | None = None
    #: Event routes (None: no broker configured).
    event_routes: EventRouteService | None = None
    #: Concurrent one-twin reads batched into one query (api.read_batches); built from neo4j_async.
    twin_reads: TwinReadBatches = field(init=False)

    def __post_init__(self) -> None:
        self.twin_reads = TwinReadBatches(lambda: self.neo4j_async)

    async def close(self) -> None:
        if self.event_routes is not None:
            await self.event_routes.close()
        if self.replicas is not None:
            await self.replicas.close()
        await self.predictions.close()
        await self.simulations.close()  # its last telemetry goes through the pipeline before that closes
        await self.telemetry.close()
        self.neo4j.close()
        await self.neo4j_async.close()
        await self.influxdb_http.aclose()


@dataclass
class ServiceSlot:
    """The one place the lifespan puts the services it opened, for the app's long-lived parts (the GraphQL
    view chooses its schema before any request exists). Request handlers read the same object from
    Starlette's lifespan state (``request.state.services``)."""

    services: Services | None = None

    def get(self) -> Services:
        if self.services is None:
            raise RuntimeError("the API is not started: its services open in the app's lifespan")
        return self.services


@dataclass
class RequestContext:
    """One request's view: the model snapshot it started with, its caller, its loaders."""

    services: Services
    active: ActiveModels
    principal: Principal | None
    loaders: Loaders
    request: Any = None
    response: Any = None
    connection_params: dict[str, Any] | None = None
    #: The bearer token the caller authenticated with: a WebSocket re-checks it while the connection lives.
    session_token: str | None = None
    #: A prepared operation's plan could not answer this request (api.compiled_reads): run it field by field.
    plan_refused: bool = False


#: What every resolver receives: our request context, no root value.
GraphQLInfo = Info[RequestContext, None]
