"""The active model set and the GraphQL schema generated from it, swappable at run time.

Uploading models builds a complete new ``ActiveModels`` (model set, compiled Neo4j
schema, generated types, Strawberry schema) *before* anything is stored: a set that
cannot be served is refused (``build`` raises ``ModelError``), so a stored set always
builds. ``install`` swaps a built one in with one assignment: requests already running
finish on the snapshot they started with.

Start-up survives a stored set that still cannot build (stored by an older version, say):
it logs the error with the models to remove and serves the shipped models alone.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

import strawberry

from api.typegen import GeneratedTypes, generate
from dtdl import ModelSet
from graph.errors import GraphError, ModelError, Problem
from ontology.neo4j_schema import Neo4jSchema, SchemaCompileError, compile_schema

log = logging.getLogger(__name__)

SchemaBuilder = Callable[[GeneratedTypes], strawberry.Schema]


@dataclass(frozen=True)
class ActiveModels:
    models: ModelSet
    compiled: Neo4jSchema
    types: GeneratedTypes
    schema: strawberry.Schema


def static_type_names(build_schema: SchemaBuilder) -> frozenset[str]:
    """Every type name of the hand-written schema, read from the schema itself (with no generated types),
    so a generated name can never shadow one (a DTDL interface named ``TelemetryPoint``, say)."""
    schema = build_schema(GeneratedTypes())
    return frozenset(schema._schema.type_map)  # noqa: SLF001 - graphql-core's public type map


class ModelRegistry:
    """Holds the current ``ActiveModels``; ``build`` checks a model set, ``install`` swaps it in."""

    def __init__(self, build_schema: SchemaBuilder, models: ModelSet | None = None) -> None:
        self._build_schema = build_schema
        self.reserved_names = static_type_names(build_schema)
        self._lock = threading.Lock()
        #: Called after an announced install (api.replicas tells the other replicas to reload).
        self.listeners: list[Callable[[], None]] = []
        self._active = self.build(models or ModelSet())

    @property
    def active(self) -> ActiveModels:
        return self._active

    def build(self, models: ModelSet) -> ActiveModels:
        """The servable form of ``models``; ModelError when they cannot become a GraphQL schema."""
        try:
            compiled = compile_schema(models)
            types = generate(models, compiled.labels, self.reserved_names)
            return ActiveModels(models=models, compiled=compiled, types=types, schema=self._build_schema(types))
        except GraphError:
            raise
        except (SchemaCompileError, TypeError, ValueError, NameError) as error:
            raise ModelError("the models cannot be served as a GraphQL schema",
                             [Problem("", f"{type(error).__name__}: {error}")]) from error

    def install(self, active: ActiveModels, *, announce: bool = True) -> ActiveModels:
        """Serve ``active`` from now on; ``announce=False`` for a reload another replica asked for."""
        with self._lock:
            self._active = active
        log.info("GraphQL schema rebuilt for %d interfaces", len(active.models.interfaces))
        if announce:
            for listener in list(self.listeners):
                listener()
        return active

    def start(self, stored: ModelSet, fallback: Callable[[], ModelSet]) -> ActiveModels:
        """Install the stored set, or (logged loudly) the ``fallback`` set when the stored one cannot build."""
        try:
            return self.install(self.build(stored))
        except ModelError as error:
            log.error("the stored models cannot be served (%s); serving the shipped models only. Remove the "
                      "offending models (deleteModel, or MATCH (m:Model {dtmi: ...}) DETACH DELETE m) to serve "
                      "them all again. Stored models: %s", error, ", ".join(sorted(stored.interfaces)))
            return self.install(self.build(fallback()))
