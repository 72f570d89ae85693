"""Bulk relationship merges and the dry-run checks loaders use before their first write (real Neo4j)."""

from __future__ import annotations

import uuid

import neo4j
import pytest

from graph.bulk import (
    RelationshipRow,
    TwinRow,
    bulk_create_relationships,
    bulk_create_twins,
    bulk_delete_twins,
    check_relationship_rows,
    check_twin_rows,
)
from graph.errors import ValidationError

LINE = "dtmi:gridtwin:Line;1"


def _edges(driver: neo4j.Driver, prefix: str) -> list[tuple[str, str, str, str]]:
    records, _, _ = driver.execute_query(
        "MATCH (s:Twin)-[r]->(t:Twin) WHERE s.id STARTS WITH $p RETURN s.id AS s, type(r) AS type, r.id AS id, t.id AS t "
        "ORDER BY s, id", p=prefix)
    return [(r["s"], r["type"], r["id"], r["t"]) for r in records]


def test_checks_see_pending_twins_and_merges_match_by_source_and_id(neo4j_driver: neo4j.Driver, models) -> None:
    p = f"merge-{uuid.uuid4().hex[:10]}-"
    twins = [TwinRow(f"{p}{i}", LINE, {"length": float(i)}) for i in range(3)]
    rows = [RelationshipRow(f"{p}0", "feedsTo", f"{p}1", {}, "a"), RelationshipRow(f"{p}1", "feedsTo", f"{p}2", {}, "b")]
    try:
        with pytest.raises(ValidationError) as error:
            check_relationship_rows(neo4j_driver, models, rows, merge=True)
        assert [pr.pointer for pr in error.value.problems] == ["/0/$sourceId", "/1/$sourceId"]
        pending = {t.id: t.model for t in twins}
        assert check_relationship_rows(neo4j_driver, models, rows, pending=pending, merge=True) == set()
        check_twin_rows(neo4j_driver, models, twins, merge=True)
        assert _edges(neo4j_driver, p) == []  # the checks wrote nothing

        bulk_create_twins(neo4j_driver, models, twins, merge=True)
        assert bulk_create_relationships(neo4j_driver, models, rows, merge=True).written == 2
        assert check_relationship_rows(neo4j_driver, models, rows, merge=True) == {(f"{p}0", "a"), (f"{p}1", "b")}
        moved = [rows[0], RelationshipRow(f"{p}1", "connectedTo", f"{p}0", {}, "b")]
        bulk_create_relationships(neo4j_driver, models, moved, merge=True)
        assert _edges(neo4j_driver, p) == [(f"{p}0", "FEEDS_TO", "a", f"{p}1"), (f"{p}1", "CONNECTED_TO", "b", f"{p}0")]

        with pytest.raises(ValidationError) as error:
            bulk_create_relationships(neo4j_driver, models, [RelationshipRow(f"{p}0", "feedsTo", f"{p}2")], merge=True)
        assert error.value.problems[0].pointer == "/0/$relationshipId"
        with pytest.raises(ValidationError) as error:
            bulk_create_relationships(neo4j_driver, models, [rows[0], rows[0]])
        assert error.value.problems[0].pointer == "/1/$relationshipId"
        assert len(_edges(neo4j_driver, p)) == 2
    finally:
        bulk_delete_twins(neo4j_driver, [t.id for t in twins])


def test_multiplicity_counts_the_load_and_the_stored_edges_of_a_mixed_load(neo4j_driver: neo4j.Driver, models) -> None:
    """A load of new and stored twins: new ones have no stored edges (not looked up), stored ones do."""
    from loaders.merge import RowsRefused, check_rows

    p = f"mult-{uuid.uuid4().hex[:10]}-"
    line, bus_a, bus_b = f"{p}line", f"{p}busA", f"{p}busB"
    stored = [TwinRow(line, "dtmi:gridtwin:ACLineSegment;1", {}), TwinRow(bus_a, "dtmi:gridtwin:Bus;1", {})]
    try:
        bulk_create_twins(neo4j_driver, models, stored)
        bulk_create_relationships(neo4j_driver, models, [RelationshipRow(line, "fromBus", bus_a, {}, "f")])
        load = [*stored, TwinRow(bus_b, "dtmi:gridtwin:Bus;1", {})]
        second_from_bus = RelationshipRow(line, "fromBus", bus_b, {}, "f2")  # the stored line already has one
        with pytest.raises(RowsRefused) as error:
            check_rows(neo4j_driver, models, load, [second_from_bus])
        assert "would have 2" in error.value.problems[0].message
        new_line = TwinRow(f"{p}new", "dtmi:gridtwin:ACLineSegment;1", {})
        twice = [RelationshipRow(new_line.id, "fromBus", bus_a, {}, "x"), RelationshipRow(new_line.id, "fromBus", bus_b, {}, "y")]
        with pytest.raises(RowsRefused) as error:
            check_rows(neo4j_driver, models, [*load, new_line], twice)  # all in the load, none stored
        assert "would have 2" in error.value.problems[0].message
        check_rows(neo4j_driver, models, [*load, new_line], twice[:1])
    finally:
        bulk_delete_twins(neo4j_driver, [line, bus_a, bus_b, f"{p}new"])
