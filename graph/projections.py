"""Twin reads shaped by a request: each twin's row and, nested in the same Cypher query, the twins
its selected relationship fields reach, to any depth.

Why: a list view asking for 100 twins and a related column used to cost one query for the page
and one per relationship level, then a Python object per twin and per field.  The API's compiled
read path (``api.compiled_reads``) describes what a GraphQL selection needs as a
:class:`TwinShape` and gets every level from one query: each hop is a ``COLLECT`` subquery in the
twin's projection, ordered as the relationship listing orders them (by relationship id), so the
answer is the one the field-by-field path gives.

A *row* is a list, by position (the driver builds a Python object per value it decodes, and a map
per twin was that many key strings more): :data:`ID`, :data:`MODEL`, :data:`DATA` (the twin's stored
map, or None when the selection needs nothing else), then from :data:`HOPS` on one list of rows per
hop of the shape, in order.  Relationship types and labels come from the models' whitelist; ids
travel as parameters.

A hop has no predicate on the relationship's own properties (every writer gives a relationship an
id, docs/graph-schema.md): with one, such as ``r.id IS NOT NULL``, Neo4j 5.26's planner answers the
hop of each twin by scanning the type's whole ``rel_<type>_id`` index instead of expanding from the
twin (1,020,100 index rows for 100 lines with their ``feedsTo`` on the bench feeder, against 505
database hits expanding; ``bench/peer_read_bench.py``).  ``tests/integration/test_read_plans_cypher.py``
plans the shapes (EXPLAIN) and fails on a relationship index scan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import neo4j

from dtdl.model import ModelSet
from graph.reads import Read
from graph.records import read_projection
from graph.relationships import Direction, relationship_pattern
from graph.search import Page, Search, hidden, search_read
from graph.topology import trace_query

#: Positions in a row (see the module docstring).
ID, MODEL, DATA, HOPS = 0, 1, 2, 3

Row = Sequence[Any]


@dataclass(frozen=True)
class Hop:
    """The twins at the other end of a twin's ``name`` relationships (a view name such as ``fedBy``
    reads its stored edge reversed), each read in ``twin``'s shape."""

    name: str
    direction: Direction
    twin: TwinShape


@dataclass(frozen=True)
class TwinShape:
    """What a request needs of each twin: its stored map (``data``; else only id and model) and hops."""

    data: bool
    hops: tuple[Hop, ...] = ()


def row_projection(models: ModelSet, shape: TwinShape, variable: str, depth: int = 0) -> str:
    """The Cypher list expression of ``variable``'s row in ``shape``."""
    entries = [f"{variable}.id", f"{variable}.model", read_projection(variable) if shape.data else "null"]
    relationship, other = f"r{depth}", f"o{depth}"
    for hop in shape.hops:
        pattern = relationship_pattern(models, hop.name, hop.direction, variable, relationship, other)
        nested = row_projection(models, hop.twin, other, depth + 1)
        entries.append(f"COLLECT {{ MATCH {pattern} WITH {relationship}, {other} ORDER BY {relationship}.id "
                       f"RETURN {nested} }}")
    return "[" + ", ".join(entries) + "]"


def twins_rows_read(models: ModelSet, twin_ids: Sequence[str], shape: TwinShape,
                    hidden_models: Sequence[str]) -> Read[dict[str, Row]]:
    """The rows of twins by id, in one query (several requests' reads share it: api.read_batches);
    absent twins and twins of hidden models are left out."""
    conditions = hidden(models, hidden_models, "t")
    where = f"WHERE {' AND '.join(conditions)} " if conditions else ""
    text = (f"UNWIND $ids AS id MATCH (t:Twin {{id: id}}) {where}"
            f"RETURN id, {row_projection(models, shape, 't')} AS row")
    return Read(text, {"ids": list(dict.fromkeys(twin_ids))}, _rows_by_id)


def _rows_by_id(records: Sequence[neo4j.Record]) -> dict[str, Row]:
    return {record["id"]: record["row"] for record in records}


def search_rows_read(models: ModelSet, search: Search, shape: TwinShape, count: bool = True) -> Read[Page]:
    """A ``twins`` page (graph.search) whose twins are rows in ``shape``; the total only if ``count``."""
    return search_read(models, search, partial(row_projection, models, shape), make=_same, count=count)


def _same(row: Row) -> Row:
    return row


@dataclass(frozen=True)
class TracedRows:
    """The rows a traversal reached, nearest first, and each one's depth."""

    rows: list[Row]
    depths: list[int]


def trace_rows_read(models: ModelSet, twin_id: str, shape: TwinShape, *, downstream: bool, max_depth: int,
                    label: str | None) -> Read[TracedRows | None]:
    """An up- or downstream trace (graph.topology) whose twins are rows in ``shape``; None when the
    start twin is absent."""
    text, _ = trace_query(models, downstream=downstream, max_depth=max_depth, label=label,
                          collected=f"collect({row_projection(models, shape, 'n')}) AS rows")
    return Read(text, {"id": twin_id}, _traced)


def _traced(records: Sequence[neo4j.Record]) -> TracedRows | None:
    if not records:
        return None
    return TracedRows(list(records[0]["rows"]), list(records[0]["depths"]))


__all__ = ["DATA", "HOPS", "Hop", "ID", "MODEL", "Row", "TracedRows", "TwinShape", "row_projection", "search_rows_read",
           "trace_rows_read", "twins_rows_read"]
