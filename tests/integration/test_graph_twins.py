"""Twin CRUD, ETags and cascade delete against the real Neo4j of the test profile."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import neo4j
import pytest

from dtdl.model import ModelSet
from graph import relationships, twins
from graph.bulk import bulk_delete_twins
from graph.cypher import labels_of
from graph.errors import ConflictError, NotFoundError, PreconditionFailedError, ValidationError

G = "dtmi:gridtwin:"


@pytest.fixture
def ids(neo4j_driver: neo4j.Driver) -> Iterator[list[str]]:
    """Twin ids made unique per test and deleted afterwards."""
    prefix = f"t-{uuid.uuid4().hex[:10]}-"
    made: list[str] = []

    class Ids(list):
        def __call__(self, name: str) -> str:
            made.append(prefix + name)
            return prefix + name

    yield Ids()  # type: ignore[misc]
    bulk_delete_twins(neo4j_driver, made)


def _stored(driver: neo4j.Driver, twin_id: str) -> dict:
    records, _, _ = driver.execute_query("MATCH (t:Twin {id: $id}) RETURN t, labels(t) AS labels", id=twin_id)
    return {"props": dict(records[0]["t"]), "labels": set(records[0]["labels"])} if records else {}


def test_create_get_and_storage_shape(neo4j_driver: neo4j.Driver, models: ModelSet, ids) -> None:
    twin = twins.create_twin(
        neo4j_driver,
        models,
        ids("cb1"),
        G + "Breaker;1",
        {"name": "CB 1", "status": "inService", "location": {"latitude": 47.1, "longitude": 7.5}, "switchState": "closed"},
    )
    assert twin.etag.startswith('W/"') and twin.created_at is not None
    stored = _stored(neo4j_driver, twin.id)
    assert stored["labels"] == set(labels_of(models, G + "Breaker;1"))
    assert {"Twin", "Breaker", "SwitchingDevice", "GridComponent"} <= stored["labels"]
    assert stored["props"]["location.latitude"] == 47.1 and stored["props"]["model"] == G + "Breaker;1"
    again = twins.get_twin(neo4j_driver, models, twin.id)
    assert again == twin
    assert twins.get_twins(neo4j_driver, models, [twin.id, ids("missing")]) == {twin.id: twin}
    assert twin.id in [t.id for t in twins.list_twins(neo4j_driver, models, model="SwitchingDevice", limit=10_000)]


def test_create_refuses_invalid_documents_and_duplicates(neo4j_driver: neo4j.Driver, models: ModelSet, ids) -> None:
    with pytest.raises(ValidationError) as error:
        twins.create_twin(neo4j_driver, models, ids("bad"), G + "Line;1", {"length": "long", "colour": "red"})
    assert {p.pointer for p in error.value.problems} == {"/length", "/colour"}
    assert _stored(neo4j_driver, ids("bad")) == {}
    twins.create_twin(neo4j_driver, models, ids("dup"), G + "Line;1", {})
    with pytest.raises(ConflictError):
        twins.create_twin(neo4j_driver, models, ids("dup"), G + "Line;1", {})


def test_patch_with_etag_stale_refused_fresh_accepted(neo4j_driver: neo4j.Driver, models: ModelSet, ids) -> None:
    first = twins.create_twin(neo4j_driver, models, ids("l1"), G + "Line;1", {"name": "L1", "length": 1.0})
    second = twins.update_twin(
        neo4j_driver, models, first.id, [{"op": "replace", "path": "/length", "value": 2.5}], if_match=first.etag
    )
    assert second.properties["length"] == 2.5 and second.etag != first.etag
    with pytest.raises(PreconditionFailedError):
        twins.update_twin(neo4j_driver, models, first.id, [{"op": "replace", "path": "/length", "value": 9.0}], if_match=first.etag)
    assert _stored(neo4j_driver, first.id)["props"]["length"] == 2.5  # nothing written
    with pytest.raises(ValidationError) as error:
        twins.update_twin(neo4j_driver, models, first.id, [{"op": "add", "path": "/lineType", "value": "underwater"}])
    assert error.value.problems[0].pointer == "/lineType"
    assert _stored(neo4j_driver, first.id)["props"]["_etag"] == second.etag


def test_replace_keeps_read_only_and_refuses_changing_it(neo4j_driver: neo4j.Driver, models: ModelSet, ids) -> None:
    cb = twins.create_twin(neo4j_driver, models, ids("cb"), G + "Breaker;1", {"name": "x", "switchState": "closed"})
    replaced = twins.replace_twin(neo4j_driver, models, cb.id, {"name": "y"}, if_match=cb.etag)
    assert replaced.properties == {"name": "y", "switchState": "closed"}
    with pytest.raises(ValidationError) as error:
        twins.update_twin(neo4j_driver, models, cb.id, [{"op": "replace", "path": "/switchState", "value": "open"}])
    assert error.value.problems[0].pointer == "/switchState"
    reported = twins.update_twin(
        neo4j_driver, models, cb.id, [{"op": "replace", "path": "/switchState", "value": "open"}], allow_read_only=True
    )
    assert reported.properties["switchState"] == "open"
    with pytest.raises(ValidationError):
        twins.replace_twin(neo4j_driver, models, cb.id, {}, model=G + "Switch;1")


def test_delete_refused_with_relationships_unless_cascade(neo4j_driver: neo4j.Driver, models: ModelSet, ids) -> None:
    a = twins.create_twin(neo4j_driver, models, ids("a"), G + "Substation;1", {})
    b = twins.create_twin(neo4j_driver, models, ids("b"), G + "Line;1", {})
    relationships.create_relationship(neo4j_driver, models, a.id, "feedsTo", b.id)
    with pytest.raises(ConflictError):
        twins.delete_twin(neo4j_driver, a.id)
    with pytest.raises(PreconditionFailedError):
        twins.delete_twin(neo4j_driver, a.id, cascade=True, if_match='W/"stale"')
    assert twins.delete_twin(neo4j_driver, a.id, cascade=True, if_match=a.etag) == 1
    with pytest.raises(NotFoundError):
        twins.get_twin(neo4j_driver, models, a.id)
    assert relationships.list_relationships(neo4j_driver, models, b.id, direction="both") == []
    assert twins.delete_twin(neo4j_driver, b.id) == 0
