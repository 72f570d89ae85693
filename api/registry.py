"""The active model set and the GraphQL schema generated from it, swappable at run time.

Uploading models builds a complete new ``ActiveModels`` (model set, compiled
Neo4j schema, generated types, Strawberry schema) and swaps it in with one
assignment: requests already running finish on the snapshot they started with.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

import strawberry

from api.typegen import GeneratedTypes, generate
from dtdl import ModelSet
from ontology.neo4j_schema import Neo4jSchema, compile_schema

log = logging.getLogger(__name__)

SchemaBuilder = Callable[[GeneratedTypes], strawberry.Schema]


@dataclass(frozen=True)
class ActiveModels:
    models: ModelSet
    compiled: Neo4jSchema
    types: GeneratedTypes
    schema: strawberry.Schema


class ModelRegistry:
    """Holds the current ``ActiveModels``; ``install`` replaces it atomically."""

    def __init__(self, build_schema: SchemaBuilder, models: ModelSet | None = None) -> None:
        self._build_schema = build_schema
        self._lock = threading.Lock()
        self._active = self._build(models or ModelSet())

    @property
    def active(self) -> ActiveModels:
        return self._active

    def install(self, models: ModelSet) -> ActiveModels:
        active = self._build(models)
        with self._lock:
            self._active = active
        log.info("GraphQL schema rebuilt for %d interfaces", len(models.interfaces))
        return active

    def _build(self, models: ModelSet) -> ActiveModels:
        compiled = compile_schema(models)
        types = generate(models, compiled.labels)
        return ActiveModels(models=models, compiled=compiled, types=types, schema=self._build_schema(types))
