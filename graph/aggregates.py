"""Aggregates of twin properties over a filtered set (the ``twinsAggregate`` query).

Why here and not in the API: which properties may be aggregated, and how, is a fact of the
models and of the storage encoding (a number property is stored as a Neo4j number, a string as
a string), like the filters of :mod:`graph.search`, whose matching this reuses, so a filtered
count and a filtered page always agree. One query answers every asked aggregate in one pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import neo4j

from dtdl.model import ModelSet, Schema
from graph.errors import Problem, ValidationError
from graph.reads import Read, send_async
from graph.search import Condition, Filter, matching, quote_path, where

#: DTDL kinds stored as Neo4j numbers: min, max, average, sum and count apply.
NUMBER_KINDS = frozenset({"double", "float", "decimal", "integer", "short", "byte", "long", "unsignedByte",
                          "unsignedShort", "unsignedInteger", "unsignedLong"})
#: DTDL kinds stored as Neo4j strings: min and max (lexicographic) and count apply.
TEXT_KINDS = frozenset({"string"})

_NUMBER_AGGREGATES = ("min", "max", "average", "sum", "count")
_TEXT_AGGREGATES = ("min", "max", "count")
_CYPHER = {"min": "min", "max": "max", "average": "avg", "sum": "sum", "count": "count"}


@dataclass(frozen=True)
class Aggregation:
    """What one ``twinsAggregate`` asks: twins that are-a ``model`` matching ``filters`` and the typed
    ``typed_filter`` (accounts among ``hidden_models`` left out), and the properties to aggregate
    (top-level number or string properties)."""

    model: str
    filters: Sequence[Filter] = ()
    properties: Sequence[str] = ()
    hidden_models: Sequence[str] = ()
    typed_filter: Condition | None = None


def aggregatable(schema: Schema | None) -> tuple[str, ...]:
    """The aggregates a property of this (resolved) schema has: none for other kinds."""
    if schema is None:
        return ()
    if schema.kind in NUMBER_KINDS:
        return _NUMBER_AGGREGATES
    return _TEXT_AGGREGATES if schema.kind in TEXT_KINDS else ()


def aggregate_read(models: ModelSet, aggregation: Aggregation) -> Read[dict[str, Any]]:
    """``{"count": n, property: {"min": .., "max": .., ...}}`` for the matching twins, in one query."""
    params: dict[str, Any] = {}
    match, conditions, properties = matching(models, aggregation.model, aggregation.filters,
                                             aggregation.hidden_models, params, aggregation.typed_filter)
    columns = ["count(t) AS count"]
    asked: dict[str, tuple[str, ...]] = {}
    for index, name in enumerate(dict.fromkeys(aggregation.properties)):
        kinds = _checked(name, properties, f"/properties/{index}")
        asked[name] = kinds
        columns += [f"{_CYPHER[kind]}(t.{quote_path(name)}) AS p{index}_{kind}" for kind in kinds]
    query = f"{match} {where(conditions)} RETURN {', '.join(columns)}"
    return Read(query, params, lambda records: _answer(asked, records))


def _checked(name: str, properties: Mapping[str, Schema], pointer: str) -> tuple[str, ...]:
    kinds = aggregatable(properties.get(name)) if "." not in name else ()
    if not kinds:
        usable = sorted(path for path, schema in properties.items() if "." not in path and aggregatable(schema))
        raise ValidationError("bad aggregate", [Problem(pointer, f"{name!r} is not a number or string property of "
                                                                 f"the model; use one of {', '.join(usable)}")])
    return kinds


def _answer(asked: Mapping[str, tuple[str, ...]], records: Sequence[neo4j.Record]) -> dict[str, Any]:
    record = records[0]
    answer: dict[str, Any] = {"count": int(record["count"])}
    for index, (name, kinds) in enumerate(asked.items()):
        answer[name] = {kind: record[f"p{index}_{kind}"] for kind in kinds}
    return answer


async def aggregate_async(driver: neo4j.AsyncDriver, models: ModelSet, aggregation: Aggregation, *,
                          database: str | None = None) -> dict[str, Any]:
    """The aggregates on the async driver (the API's ``twinsAggregate`` field)."""
    return await send_async(driver, aggregate_read(models, aggregation), database=database)
