"""Relationship validation, multiplicity and inverse views against the real Neo4j."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import neo4j
import pytest

from dtdl.model import ModelSet
from graph import relationships as rel
from graph import twins
from graph.bulk import bulk_delete_twins
from graph import accounts
from graph.errors import ConflictError, ModelError, PreconditionFailedError, ValidationError

G = "dtmi:gridtwin:"


@pytest.fixture
def grid(neo4j_driver: neo4j.Driver, models: ModelSet) -> Iterator[dict[str, str]]:
    p = f"r-{uuid.uuid4().hex[:10]}-"
    spec = {
        "sub": "Substation",
        "line": "Line",
        "load": "Load",
        "meter": "GridMeasurementPoint",
        "user": "User",
        "user2": "User",
    }
    made = {}
    for key, kind in spec.items():
        if kind == "User":  # accounts are made as accounts, never as plain twins (docs/security.md)
            made[key] = accounts.create_account(neo4j_driver, models, p + key, "viewer", "v1:not-a-real-seal").user_id
        else:
            made[key] = twins.create_twin(neo4j_driver, models, p + key, f"{G}{kind};1", {}).id
    yield made
    bulk_delete_twins(neo4j_driver, list(made.values()))
    for key, kind in spec.items():
        if kind == "User":
            accounts.delete_account(neo4j_driver, p + key)


def test_create_list_and_fed_by_inverse(neo4j_driver: neo4j.Driver, models: ModelSet, grid: dict[str, str]) -> None:
    r1 = rel.create_relationship(neo4j_driver, models, grid["sub"], "feedsTo", grid["line"], relationship_id="f1")
    rel.create_relationship(neo4j_driver, models, grid["line"], "feedsTo", grid["load"])
    assert (r1.id, r1.name, r1.source_id, r1.target_id) == ("f1", "feedsTo", grid["sub"], grid["line"])
    fed_by = rel.list_relationships(neo4j_driver, models, grid["line"], name="fedBy")
    assert [(r.source_id, r.name) for r in fed_by] == [(grid["sub"], "feedsTo")]
    assert [r.target_id for r in rel.list_relationships(neo4j_driver, models, grid["line"], name="feedsTo")] == [grid["load"]]
    assert len(rel.list_relationships(neo4j_driver, models, grid["line"], direction="both")) == 2
    many = rel.list_relationships_many(neo4j_driver, models, [grid["sub"], grid["load"]], name="fedBy")
    assert [len(many[grid["sub"]]), len(many[grid["load"]])] == [0, 1]
    # fedBy is a view: only one FEEDS_TO edge is stored per fact, no FED_BY type
    records, _, _ = neo4j_driver.execute_query(
        "MATCH (:Twin {id: $id})-[r]-() RETURN collect(type(r)) AS types", id=grid["line"]
    )
    assert sorted(records[0]["types"]) == ["FEEDS_TO", "FEEDS_TO"]
    # writing through the view stores the canonical edge
    via_view = rel.create_relationship(neo4j_driver, models, grid["load"], "fedBy", grid["sub"])
    assert (via_view.name, via_view.source_id, via_view.target_id) == ("feedsTo", grid["sub"], grid["load"])
    with pytest.raises(ConflictError):
        rel.create_relationship(neo4j_driver, models, grid["sub"], "feedsTo", grid["load"], relationship_id="f1")


def test_validation_unknown_name_wrong_target(neo4j_driver: neo4j.Driver, models: ModelSet, grid: dict[str, str]) -> None:
    with pytest.raises(ValidationError) as error:
        rel.create_relationship(neo4j_driver, models, grid["line"], "contains", grid["load"])
    assert error.value.problems[0].pointer == "/$relationshipName"
    with pytest.raises(ModelError):
        rel.create_relationship(neo4j_driver, models, grid["line"], "powers", grid["load"])
    with pytest.raises(ValidationError) as error:
        rel.create_relationship(neo4j_driver, models, grid["line"], "managedBy", grid["load"])
    assert error.value.problems[0].pointer == "/$targetId"
    with pytest.raises(ValidationError):
        rel.create_relationship(neo4j_driver, models, grid["line"], "feedsTo", grid["user"])
    with pytest.raises(ValidationError):
        rel.create_relationship(neo4j_driver, models, grid["line"], "feedsTo", grid["line"])
    # inheritance: a GridMeasurementPoint is-a MeasurementDevice
    ok = rel.create_relationship(neo4j_driver, models, grid["line"], "monitoredBy", grid["meter"])
    assert ok.name == "monitoredBy"
    assert rel.list_relationships(neo4j_driver, models, grid["line"], direction="both") == [ok]


def test_max_multiplicity_and_manages_inverse(neo4j_driver: neo4j.Driver, models: ModelSet, grid: dict[str, str]) -> None:
    managed = rel.create_relationship(neo4j_driver, models, grid["user"], "manages", grid["line"])
    assert (managed.name, managed.source_id, managed.target_id) == ("managedBy", grid["line"], grid["user"])
    with pytest.raises(ConflictError) as error:
        rel.create_relationship(neo4j_driver, models, grid["line"], "managedBy", grid["user2"])
    assert "max 1" in error.value.problems[0].message
    with pytest.raises(ConflictError):
        rel.create_relationship(neo4j_driver, models, grid["user2"], "manages", grid["line"])
    assert [r.id for r in rel.list_relationships(neo4j_driver, models, grid["user"], name="manages")] == [managed.id]
    rel.delete_relationship(neo4j_driver, grid["line"], managed.id, if_match=managed.etag)
    again = rel.create_relationship(neo4j_driver, models, grid["line"], "managedBy", grid["user2"])
    assert again.target_id == grid["user2"]


def test_update_and_delete_with_etag(neo4j_driver: neo4j.Driver, models: ModelSet, grid: dict[str, str]) -> None:
    r = rel.create_relationship(neo4j_driver, models, grid["sub"], "feedsTo", grid["line"])
    with pytest.raises(ValidationError):  # feedsTo declares no properties
        rel.update_relationship(neo4j_driver, models, grid["sub"], r.id, [{"op": "add", "path": "/phase", "value": "A"}])
    same = rel.update_relationship(neo4j_driver, models, grid["sub"], r.id, [], if_match=r.etag)
    assert same.etag != r.etag
    with pytest.raises(PreconditionFailedError):
        rel.delete_relationship(neo4j_driver, grid["sub"], r.id, if_match=r.etag)
    rel.delete_relationship(neo4j_driver, grid["sub"], r.id, if_match=same.etag)
    assert rel.list_relationships(neo4j_driver, models, grid["sub"]) == []
