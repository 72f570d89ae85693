"""Model upload (all or nothing), listing, decommission and delete against the real Neo4j."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import neo4j
import pytest

from graph import models_store as store
from graph import twins
from graph.errors import ConflictError, ModelError, NotFoundError


def interface(dtmi: str, extends: str | None = None, contents: list | None = None) -> dict:
    doc = {"@context": "dtmi:dtdl:context;3", "@id": dtmi, "@type": "Interface", "contents": contents or []}
    if extends:
        doc["extends"] = extends
    return doc


@pytest.fixture
def names(neo4j_driver: neo4j.Driver) -> Iterator[dict[str, str]]:
    tag = uuid.uuid4().hex[:10]
    made = {k: f"dtmi:gridtwintest:X{tag}{k};1" for k in ("Base", "Child", "Broken", "Other")}
    yield made
    neo4j_driver.execute_query("MATCH (t:Twin) WHERE t.model IN $d DETACH DELETE t", d=list(made.values()))
    neo4j_driver.execute_query("MATCH (m:Model) WHERE m.dtmi IN $d DETACH DELETE m", d=list(made.values()))


def test_upload_is_all_or_nothing(neo4j_driver: neo4j.Driver, names: dict[str, str]) -> None:
    good = interface(names["Base"], contents=[{"@type": "Property", "name": "rating", "schema": "double"}])
    broken = interface(names["Broken"], extends="dtmi:gridtwintest:DoesNotExist;1")
    with pytest.raises(ModelError) as error:
        store.upload_models(neo4j_driver, [good, broken])
    assert error.value.problems and error.value.problems[0].pointer.startswith("/1")
    with pytest.raises(NotFoundError):
        store.get_model(neo4j_driver, names["Base"])  # nothing written

    assert store.upload_models(neo4j_driver, [good]).new_ids == [names["Base"]]
    assert store.upload_models(neo4j_driver, [good]).new_ids == []  # the same document again: nothing new
    changed = {**good, "displayName": "changed"}
    with pytest.raises(ConflictError):
        store.upload_models(neo4j_driver, [changed])  # a stored model is immutable: a change is a new version
    # a later upload resolves against the stored models
    child = interface(names["Child"], extends=names["Base"], contents=[{"@type": "Property", "name": "tag", "schema": "string"}])
    assert store.upload_models(neo4j_driver, [child]).new_ids == [names["Child"]]
    stored = store.get_model(neo4j_driver, names["Child"])
    assert stored.extends == [names["Base"]] and stored.document["@id"] == names["Child"]
    assert {names["Base"], names["Child"]} <= {m.dtmi for m in store.list_models(neo4j_driver)}

    models = store.load_model_set(neo4j_driver)
    assert models.is_a(names["Child"], names["Base"])
    assert set(models.interfaces[names["Child"]].contents) >= {"rating", "tag"}


def test_delete_refused_while_used_or_extended(neo4j_driver: neo4j.Driver, names: dict[str, str]) -> None:
    base = interface(names["Base"], contents=[{"@type": "Property", "name": "rating", "schema": "double"}])
    child = interface(names["Child"], extends=names["Base"])
    store.upload_models(neo4j_driver, [base, child])
    models = store.load_model_set(neo4j_driver)
    twin = twins.create_twin(neo4j_driver, models, f"m-{uuid.uuid4().hex}", names["Child"], {"rating": 1.5})

    with pytest.raises(ConflictError) as error:
        store.delete_model(neo4j_driver, names["Base"])
    assert "extends it" in error.value.problems[0].message
    with pytest.raises(ConflictError) as error:
        store.delete_model(neo4j_driver, names["Child"])
    assert "twin(s) use it" in error.value.problems[0].message

    store.decommission_model(neo4j_driver, names["Child"])
    assert store.get_model(neo4j_driver, names["Child"]).decommissioned
    with pytest.raises(ModelError):
        twins.create_twin(neo4j_driver, models, f"m-{uuid.uuid4().hex}", names["Child"], {})

    twins.delete_twin(neo4j_driver, twin.id)
    store.delete_model(neo4j_driver, names["Child"])
    store.delete_model(neo4j_driver, names["Base"])
    with pytest.raises(NotFoundError):
        store.get_model(neo4j_driver, names["Base"])


def test_upload_may_not_relabel_stored_models(neo4j_driver: neo4j.Driver, names: dict[str, str]) -> None:
    store.upload_models(neo4j_driver, [interface(names["Base"])])
    clash = names["Base"].replace("gridtwintest:", "gridtwintest:other:")
    try:
        with pytest.raises(ConflictError):
            store.upload_models(neo4j_driver, [interface(clash)])
    finally:
        neo4j_driver.execute_query("MATCH (m:Model {dtmi: $d}) DETACH DELETE m", d=clash)


def _stored_json(driver: neo4j.Driver, dtmi: str) -> dict:
    import json

    records, _, _ = driver.execute_query("MATCH (m:Model {dtmi: $d}) RETURN m.json AS json", d=dtmi)
    return json.loads(records[0]["json"])


def test_a_shipped_model_stored_in_an_older_form_is_refreshed_when_it_only_adds(neo4j_driver: neo4j.Driver) -> None:
    import json

    bus = "dtmi:gridtwin:Bus;1"
    shipped = next(d for d in store.builtin_documents() if d["@id"] == bus)
    older = {**shipped, "contents": [c for c in shipped["contents"] if c["name"] != "energized"]}
    neo4j_driver.execute_query("MATCH (m:Model {dtmi: $d}) SET m.json = $json", d=bus, json=json.dumps(older))
    assert store.additions_only(older, shipped) == []
    models = store.ensure_builtin_models(neo4j_driver)
    assert _stored_json(neo4j_driver, bus) == shipped
    assert models.interfaces[bus].source["contents"][-1]["name"] == "energized"


def test_a_shipped_model_that_changes_a_stored_content_is_refused_by_name() -> None:
    shipped = next(d for d in store.builtin_documents() if d["@id"] == "dtmi:gridtwin:Bus;1")
    changed = {**shipped, "contents": [{**c, "schema": "double"} if c["name"] == "zone" else c
                                       for c in shipped["contents"]]}
    assert store.additions_only(shipped, changed) == ["content 'zone' removed or changed"]
    assert store.additions_only({**shipped, "extends": []}, shipped) == ["extends changed"]
