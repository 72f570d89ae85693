"""The telemetry pipeline of one API process, and the twin directory it asks the twin graph through.

The ingest only needs to know which model each twin has (``timeseries.directory.TwinDirectory``);
here that question is answered from Neo4j with the graph layer's one-record look-up
(``graph.twins.get_models_async``, on the event loop), behind the ingest's short cache.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import neo4j

from api.registry import ModelRegistry
from dtdl.model import Interface, ModelSet
from graph import twins as graph_twins
from graph.validation import component_interface
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
        models = self._registry.active.models
        interfaces = models.interfaces
        return {twin_id: TwinInfo(twin_id=twin_id, model=model, interface=interfaces[model],
                                  components=_components(models, model))
                for twin_id, model in found.items() if model in interfaces}


def _components(models: ModelSet, model: str) -> dict[str, Interface]:
    """A model's Components by name, with the interfaces they are (one dict per model, cached by identity)."""
    cached = _COMPONENTS.get(model)
    if cached is not None and cached[0] is models:
        return cached[1]
    found = {}
    for name, content in models.interfaces[model].contents.items():
        if content.kind == "Component" and (interface := component_interface(models, content)) is not None:
            found[name] = interface
    _COMPONENTS[model] = (models, found)
    return found


_COMPONENTS: dict[str, tuple[ModelSet, dict[str, Interface]]] = {}


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
