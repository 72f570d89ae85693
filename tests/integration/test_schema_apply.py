"""The compiled Neo4j schema applied to the real server: idempotent, and model versions coexist."""

from __future__ import annotations

import uuid

import neo4j

from graph import models_store
from graph.cypher import apply_schema
from graph.twins import create_twin, delete_twin


def _schema_objects(driver: neo4j.Driver) -> set[str]:
    constraints, _, _ = driver.execute_query("SHOW CONSTRAINTS YIELD name RETURN name")
    indexes, _, _ = driver.execute_query("SHOW INDEXES YIELD name RETURN name")
    return {r["name"] for r in constraints} | {r["name"] for r in indexes}


def test_applying_the_schema_twice_changes_nothing(neo4j_driver: neo4j.Driver) -> None:
    models = models_store.ensure_builtin_models(neo4j_driver)
    apply_schema(neo4j_driver, models)
    before = _schema_objects(neo4j_driver)
    apply_schema(neo4j_driver, models)
    assert _schema_objects(neo4j_driver) == before
    assert {"twin_id", "model_dtmi", "twin_model", "gridcomponent_status"} <= before
    records, _, _ = neo4j_driver.execute_query(
        "MATCH (m:Model {dtmi: 'dtmi:gridtwin:Substation;1'})-[:EXTENDS]->(p:Model) RETURN p.dtmi AS parent")
    assert [r["parent"] for r in records] == ["dtmi:gridtwin:GridComponent;1"]


def test_a_new_model_version_coexists_with_the_old(neo4j_driver: neo4j.Driver) -> None:
    namespace = f"dtmi:gridtwintest:V{uuid.uuid4().hex[:8]}"
    version1 = {"@context": "dtmi:dtdl:context;3", "@id": f"{namespace}:Feeder;1", "@type": "Interface",
                "contents": [{"@type": "Property", "name": "rating", "schema": "double"}]}
    version2 = {**version1, "@id": f"{namespace}:Feeder;2",
                "contents": [*version1["contents"], {"@type": "Property", "name": "phases", "schema": "integer"}]}
    models_store.upload_models(neo4j_driver, [version1])
    models_store.upload_models(neo4j_driver, [version2])
    models = models_store.load_model_set(neo4j_driver)
    old = create_twin(neo4j_driver, models, f"{namespace}-old", f"{namespace}:Feeder;1", {"rating": 1.0})
    new = create_twin(neo4j_driver, models, f"{namespace}-new", f"{namespace}:Feeder;2", {"rating": 2.0, "phases": 3})
    try:
        records, _, _ = neo4j_driver.execute_query(
            "MATCH (m:Model) WHERE m.dtmi STARTS WITH $ns RETURN m.dtmi AS dtmi, m.version AS version, "
            "m.label AS label ORDER BY version", ns=namespace)
        assert [(r["version"], r["label"]) for r in records] == [(1, "Feeder"), (2, "Feeder")]
        twins, _, _ = neo4j_driver.execute_query(
            "MATCH (t:Feeder) WHERE t.id STARTS WITH $ns RETURN t.model AS model ORDER BY model", ns=namespace)
        assert [r["model"] for r in twins] == [old.model, new.model]
    finally:
        for twin in (old, new):
            delete_twin(neo4j_driver, twin.id)
        for dtmi in (version2["@id"], version1["@id"]):
            models_store.delete_model(neo4j_driver, dtmi)
