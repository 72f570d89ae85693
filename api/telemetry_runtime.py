"""The telemetry pipeline of one API process, and the twin directory it asks the twin graph through.

The ingest only needs to know which model each twin has (``timeseries.directory.TwinDirectory``);
here that question is answered from Neo4j with the graph layer's one-record look-up
(``graph.twins.get_models_async``, on the event loop), behind the ingest's short cache.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import neo4j

from api.registry import ModelRegistry
from graph import twins as graph_twins
from gridtwin.config import Settings
from timeseries.broker import InProcessBroker
from timeseries.directory import CachingTwinDirectory, TwinInfo
from timeseries.ingest import TelemetryIngest
from timeseries.queries import TelemetryQueries


class GraphTwinDirectory:
    """Twin id -> model and interface, from the twin graph (the ingest caches it in front)."""

    def __init__(self, driver: neo4j.AsyncDriver, registry: ModelRegistry) -> None:
        self._driver = driver
        self._registry = registry

    async def describe(self, twin_ids: Collection[str]) -> Mapping[str, TwinInfo]:
        ids = [twin_id for twin_id in twin_ids if isinstance(twin_id, str)]
        found = await graph_twins.get_models_async(self._driver, ids)
        interfaces = self._registry.active.models.interfaces
        return {twin_id: TwinInfo(twin_id=twin_id, model=model, interface=interfaces[model])
                for twin_id, model in found.items() if model in interfaces}


class TelemetryServices:
    """The telemetry pipeline of one API process: broker, ingest (writer + spool) and queries."""

    def __init__(self, settings: Settings, driver: neo4j.AsyncDriver, registry: ModelRegistry) -> None:
        directory = CachingTwinDirectory(GraphTwinDirectory(driver, registry))
        self.broker = InProcessBroker()
        self.ingest = TelemetryIngest.from_settings(settings, directory, self.broker)
        self.queries = TelemetryQueries.from_settings(settings, directory)

    async def start(self) -> None:
        await self.ingest.start()

    async def close(self) -> None:
        self.broker.close()
        await self.ingest.close()
        self.queries.close()
