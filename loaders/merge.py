"""The shared core of every import that re-runs idempotently: validate all, then upsert through ``graph.bulk``.

An importer (an ADT file, a grid) validates everything against the stored graph first
(:func:`check_rows`: twins against their models with the merge rules, relationships against
their endpoints, the load's twins counted as written), so a bad input stores nothing, and gets
the validated, encoded plans back; :func:`write_merged` then writes them without validating,
encoding or planning a second time.  Rows are matched by id (twins by ``$dtId``,
relationships by source and id), so a re-run updates in place and never duplicates:

* rows with no stored counterpart are created (a plain ``CREATE``, faster than ``MERGE``);
* rows whose stored twin or relationship differs are merged (the stored one becomes the row);
* rows equal to what is stored are not written at all: re-importing an unchanged source costs
  reads only, and the ETag of an unchanged twin stays (nothing about it changed).

Each batch is its own transaction, so a server failure in the middle leaves the batches before
it, and running the import again completes it.  Like ``graph.bulk``, this assumes one loader at
a time (what was checked is not locked until written).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import neo4j
from neo4j.exceptions import ConstraintError

from dtdl.model import ModelSet
from graph.bulk import (DEFAULT_BATCH, RelationshipPlan, RelationshipRow, TwinPlan, TwinRow, check_twin_rows,
                        plan_relationship_rows, write_relationship_plan, write_twin_plan)
from graph.encoding import decode_contents
from graph.errors import ConflictError, GraphError, Problem
from graph.keys import CREATED_KEY, ETAG_KEY, UPDATED_KEY

#: ``progress(phase, done, total)``: called as rows are written (phases "twins", "relationships").
Progress = Callable[[str, int, int], None]
#: Node maps with the system keys blanked: their temporal values are the slowest part of decoding a read.
NODE_MAP = "t {.*, _etag: null, _createdAt: null, _updatedAt: null}"
_STORED_TWINS = f"UNWIND $ids AS id MATCH (t:Twin {{id: id}}) RETURN collect({NODE_MAP}) AS twins"
_READ_SLICE = 50_000
_BLANKED = frozenset({ETAG_KEY, CREATED_KEY, UPDATED_KEY})


@dataclass(frozen=True)
class CheckedRows:
    """A validated load: the plans :func:`write_merged` writes, and which of its rows are stored already."""

    twins: TwinPlan
    relationships: RelationshipPlan
    twin_count: int
    relationship_count: int

    @property
    def stored_twins(self) -> int:
        return len(self.twins.stored)

    @property
    def stored_relationships(self) -> int:
        return len(self.relationships.stored)


@dataclass(frozen=True)
class MergeCounts:
    """Rows created (no stored row had the id), updated (one had) and, of those, ``unchanged`` (not rewritten)."""

    twins_created: int
    twins_updated: int
    relationships_created: int
    relationships_updated: int
    twins_unchanged: int = 0
    relationships_unchanged: int = 0


class RowsRefused(GraphError):
    """The twin check, the relationship check or both refused the load; ``twins`` / ``relationships`` hold
    each one's error (pointers are row indices of that list), so an importer can say where in its input."""

    def __init__(self, twins: GraphError | None, relationships: GraphError | None) -> None:
        self.twins, self.relationships = twins, relationships
        problems = [*(twins.problems if twins else ()), *(relationships.problems if relationships else ())]
        super().__init__("the load is refused; nothing was written", problems)


def check_rows(
    driver: neo4j.Driver,
    models: ModelSet,
    twins: Sequence[TwinRow],
    relationships: Sequence[RelationshipRow],
    *,
    database: str | None = None,
) -> CheckedRows:
    """Validate twins and relationships (all problems of both, in :class:`RowsRefused`) without writing."""
    twin_error = relationship_error = None
    twin_plan = TwinPlan({})
    relationship_plan = RelationshipPlan({})
    try:
        twin_plan = check_twin_rows(driver, models, twins, merge=True, database=database)
    except GraphError as error:
        twin_error = error
    if relationships:
        # edges between twins that are all new cannot be stored yet: no need to look for them
        new_ids = frozenset({t.id for t in twins} - set(twin_plan.stored))
        merge = not all(r.source_id in new_ids and r.target_id in new_ids for r in relationships)
        try:
            relationship_plan = plan_relationship_rows(driver, models, relationships, merge=merge, database=database,
                                                       pending={t.id: t.model for t in twins}, new_ids=new_ids)
        except GraphError as error:
            relationship_error = error
    if twin_error or relationship_error:
        raise RowsRefused(twin_error, relationship_error)
    return CheckedRows(twin_plan, relationship_plan, len(twins), len(relationships))


def decode_twin_maps(models: ModelSet, nodes: Iterable[Mapping[str, Any]]) -> list[TwinRow]:
    """Stored node maps (``NODE_MAP``) as rows: properties decoded by the graph layer's decoders."""
    rows = []
    for node in nodes:
        interface = models.interfaces.get(node.get("model", ""))
        properties = decode_contents(models, interface.contents, node) if interface else {}
        rows.append(TwinRow(node["id"], node["model"], properties))
    return rows


def _slices(rows: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [rows[start : start + size] for start in range(0, len(rows), size)]


def _read(driver: neo4j.Driver, query: str, name: str, database: str | None, **params: Any) -> Any:
    records, _, _ = driver.execute_query(query, params, database_=database, routing_=neo4j.RoutingControl.READ)
    return records[0][name]


def _unchanged_twins(driver: neo4j.Driver, plan: TwinPlan, database: str | None) -> set[str]:
    """Ids of the stored twins whose node already holds exactly the row (same encoding, so ``==`` holds)."""
    rows = {row["id"]: row for group in plan.groups.values() for row in group if row["id"] in plan.stored}
    same: set[str] = set()
    for part in _slices(list(rows), _READ_SLICE):
        for node in _read(driver, _STORED_TWINS, "twins", database, ids=list(part)):
            stored = {key: value for key, value in node.items() if key not in _BLANKED}
            if rows[stored["id"]] == stored:
                same.add(stored["id"])
    return same


def _unchanged_relationships(plan: RelationshipPlan) -> set[tuple[str, str]]:
    """(source, id) of the stored edges that already are the row: same type and target, and no properties
    on either side (the plan knows which stored edges are bare; rows with properties are always written)."""
    return {(row["s"], row["p"]["id"]) for rel_type, group in plan.groups.items() for row in group
            if set(row["p"]) <= {"id", "name"} and (key := (row["s"], row["p"].get("id"))) in plan.bare
            and plan.stored.get(key) == (rel_type, row["t"])}


def _without(plan: Any, key: Callable[[dict[str, Any]], Any], drop: set[Any]) -> dict[str, list[dict[str, Any]]]:
    groups = {name: [row for row in group if key(row) not in drop] for name, group in plan.groups.items()}
    return {name: group for name, group in groups.items() if group}


def _reporter(progress: Progress | None, phase: str, total: int) -> Callable[[int], None] | None:
    if progress is None:
        return None
    done = [0]

    def step(rows: int) -> None:
        done[0] += rows
        progress(phase, done[0], total)

    return step


def write_merged(
    driver: neo4j.Driver,
    models: ModelSet,
    checked: CheckedRows,
    *,
    batch_size: int = DEFAULT_BATCH,
    database: str | None = None,
    progress: Progress | None = None,
) -> MergeCounts:
    """Write a load :func:`check_rows` accepted: new rows created, changed ones merged, equal ones skipped."""
    same_twins = _unchanged_twins(driver, checked.twins, database) if checked.twins.stored else set()
    same_edges = _unchanged_relationships(checked.relationships)
    twins = TwinPlan(_without(checked.twins, lambda row: row["id"], same_twins), checked.twins.stored)
    edges = RelationshipPlan(_without(checked.relationships, lambda row: (row["s"], row["p"].get("id")), same_edges),
                             checked.relationships.stored)
    try:
        write_twin_plan(driver, models, twins, batch_size=batch_size, database=database,
                        progress=_reporter(progress, "twins", twins.size))
    except ConstraintError as error:  # a twin of the load was created by someone else since the check
        raise ConflictError("a twin of the load was created meanwhile; run the import again",
                            [Problem("", str(error.message))]) from error
    write_relationship_plan(driver, edges, batch_size=batch_size, database=database,
                            progress=_reporter(progress, "relationships", edges.size))
    return MergeCounts(
        twins_created=checked.twin_count - checked.stored_twins,
        twins_updated=checked.stored_twins,
        relationships_created=checked.relationship_count - checked.stored_relationships,
        relationships_updated=checked.stored_relationships,
        twins_unchanged=len(same_twins),
        relationships_unchanged=len(same_edges),
    )


__all__ = ["CheckedRows", "MergeCounts", "NODE_MAP", "Progress", "RowsRefused", "check_rows", "decode_twin_maps",
           "write_merged"]
