"""Bulk loads: validated before writing, grouped by labels/types, against the real Neo4j."""

from __future__ import annotations

import uuid

import neo4j
import pytest

from graph import accounts
from graph import relationships as rel
from graph.bulk import RelationshipRow, TwinRow, bulk_create_relationships, bulk_create_twins, bulk_delete_twins
from graph.errors import ValidationError

G = "dtmi:gridtwin:"


def test_bulk_load_validates_everything_first(neo4j_driver: neo4j.Driver, models) -> None:
    p = f"bulk-{uuid.uuid4().hex[:10]}-"
    rows = [TwinRow(f"{p}L{i}", G + "Line;1", {"length": float(i)}) for i in range(30)]
    bad = rows + [TwinRow(f"{p}X", G + "Line;1", {"length": "far"})]
    users = [f"{p}u{i}" for i in range(2)]  # accounts are never bulk-loaded (docs/security.md): made as accounts
    for username in users:
        accounts.create_account(neo4j_driver, models, username, "viewer", "v1:not-a-real-seal")
    p_user = [accounts.account_twin_id(username) for username in users]
    try:
        with pytest.raises(ValidationError) as error:
            bulk_create_twins(neo4j_driver, models, bad, batch_size=7)
        assert error.value.problems[0].pointer == "/30/length"
        assert bulk_delete_twins(neo4j_driver, [r.id for r in bad]) == 0  # nothing written

        result = bulk_create_twins(neo4j_driver, models, rows, batch_size=7)
        assert (result.written, result.batches) == (30, 5)
        feeds = [RelationshipRow(f"{p}L{i}", "feedsTo", f"{p}L{i + 1}") for i in range(29)]
        with pytest.raises(ValidationError) as error:
            bulk_create_relationships(
                neo4j_driver,
                models,
                feeds + [RelationshipRow(f"{p}L0", "managedBy", p_user[0]), RelationshipRow(p_user[1], "manages", f"{p}L0")],
            )
        assert "max 1" in error.value.problems[0].message
        with pytest.raises(ValidationError):
            bulk_create_relationships(neo4j_driver, models, [RelationshipRow(f"{p}L0", "feedsTo", p_user[0])])
        assert bulk_create_relationships(neo4j_driver, models, feeds, batch_size=10).written == 29
        managed = bulk_create_relationships(neo4j_driver, models, [RelationshipRow(p_user[1], "manages", f"{p}L0")])
        assert managed.written == 1
        (stored,) = rel.list_relationships(neo4j_driver, models, f"{p}L0", name="managedBy")
        assert stored.target_id == p_user[1] and stored.etag.startswith('W/"') and stored.id
        assert len(rel.list_relationships(neo4j_driver, models, f"{p}L29", name="fedBy")) == 1
    finally:
        bulk_delete_twins(neo4j_driver, [r.id for r in bad])
        for username in users:
            accounts.delete_account(neo4j_driver, username)
