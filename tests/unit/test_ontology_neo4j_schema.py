"""Compiling the model set to the Neo4j schema: deterministic labels, types, DDL and Model nodes."""
from __future__ import annotations

import copy
import json
import re

import pytest

import dtdl
from ontology import MODELS_DIR
from ontology import neo4j_schema as ns

GT = "dtmi:gridtwin:"


def _documents() -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(MODELS_DIR.glob("*.json"))]


def _models(documents: list[dict]) -> dtdl.ModelSet:
    result = dtdl.validate(documents)
    assert result.ok, [f"{p.rule} {p.pointer}: {p.message}" for p in result.problems]
    return result.models


@pytest.fixture(scope="module")
def schema() -> ns.Neo4jSchema:
    return ns.compile_schema(_models(_documents()))


def test_compile_is_deterministic_whatever_the_document_order() -> None:
    first = ns.compile_schema(_models(_documents()))
    second = ns.compile_schema(_models(list(reversed(_documents()))))
    assert first.statements == second.statements
    assert ns.render_script(first) == ns.render_script(second)


def test_labels_and_twin_labels(schema: ns.Neo4jSchema) -> None:
    assert schema.labels[f"{GT}PowerTransformer;1"] == "PowerTransformer"
    assert schema.twin_labels[f"{GT}PowerTransformer;1"] == ("Twin", "PowerTransformer", "GridComponent", "GridNode")
    assert schema.twin_labels[f"{GT}WindTurbine;1"] == ("Twin", "WindTurbine", "RenewableSource", "GridComponent", "GridNode")
    assert set(schema.twin_labels[f"{GT}Meter;1"]) == {"Twin", "Meter", "GridComponent", "MeasurementDevice", "GridNode"}


def test_relationship_types(schema: ns.Neo4jSchema) -> None:
    assert dict(schema.relationship_types) == {
        "connectedTo": "CONNECTED_TO", "contains": "CONTAINS", "feedsTo": "FEEDS_TO",
        "managedBy": "MANAGED_BY", "manages": "MANAGES", "monitoredBy": "MONITORED_BY",
        "terminal": "TERMINAL", "fromBus": "FROM_BUS", "toBus": "TO_BUS", "hvBus": "HV_BUS", "mvBus": "MV_BUS",
        "lvBus": "LV_BUS", "branch": "BRANCH", "measuredElement": "MEASURED_ELEMENT",
    }


@pytest.mark.parametrize("name, expected", [
    ("feedsTo", "FEEDS_TO"), ("monitoredBy", "MONITORED_BY"), ("contains", "CONTAINS"),
    ("feedsPVArray", "FEEDS_PV_ARRAY"), ("phase2Feeds", "PHASE2_FEEDS"), ("fed_by", "FED_BY"),
])
def test_relationship_type_naming(name: str, expected: str) -> None:
    assert ns.relationship_type(name) == expected


def test_ddl_is_idempotent_and_covers_filters(schema: ns.Neo4jSchema) -> None:
    texts = [s.text for s in schema.statements]
    assert "CREATE CONSTRAINT twin_id IF NOT EXISTS FOR (t:Twin) REQUIRE t.id IS UNIQUE" in texts
    assert "CREATE CONSTRAINT model_dtmi IF NOT EXISTS FOR (m:Model) REQUIRE m.dtmi IS UNIQUE" in texts
    assert "CREATE INDEX twin_model IF NOT EXISTS FOR (t:Twin) ON (t.model)" in texts
    assert "CREATE INDEX `gridcomponent_status` IF NOT EXISTS FOR (n:`GridComponent`) ON (n.`status`)" in texts
    assert "CREATE INDEX `gridcomponent_name` IF NOT EXISTS FOR (n:`GridComponent`) ON (n.`name`)" in texts
    for text in texts:
        if text.startswith("CREATE"):
            assert "IF NOT EXISTS" in text
        else:
            assert text.startswith(("MERGE", "MATCH")), text
    assert not any("Substation" in t for t in texts if t.startswith("CREATE"))  # inherited: indexed once
    assert "CREATE INDEX `rel_feeds_to_id` IF NOT EXISTS FOR ()-[r:`FEEDS_TO`]-() ON (r.id)" in texts


_KIND_PREFIXES = {"constraint": "CREATE CONSTRAINT", "index": "CREATE INDEX",
                  "model-node": "MERGE (m:Model", "extends": "MATCH (child:Model"}


def test_every_statement_says_its_kind(schema: ns.Neo4jSchema) -> None:
    assert {s.kind for s in schema.statements} == set(_KIND_PREFIXES)
    for statement in schema.statements:
        assert statement.text.startswith(_KIND_PREFIXES[statement.kind]), statement
        assert statement.is_schema_command == (statement.kind in ("constraint", "index"))
    assert schema.schema_commands == tuple(s for s in schema.statements if s.text.startswith("CREATE"))
    relationship_indexes = [s.text for s in schema.schema_commands if s.text.endswith("]-() ON (r.id)")]
    assert len(relationship_indexes) == len(set(schema.relationship_types.values()))


def test_model_writes_are_only_those_of_the_named_models(schema: ns.Neo4jSchema) -> None:
    writes = schema.model_writes({f"{GT}Meter;1"})
    assert {s.kind for s in writes} == {"model-node", "extends"}
    assert all(s.params.get("dtmi", s.params.get("child")) == f"{GT}Meter;1" for s in writes)
    assert {s.params["parent"] for s in writes if s.kind == "extends"} == {f"{GT}GridComponent;1", f"{GT}MeasurementDevice;1"}
    assert schema.model_writes(set()) == ()


@pytest.mark.parametrize("name, ok", [("FEEDS_TO", True), ("Gridtwin_Meter", True), ("_etag", False),
                                      ("FEEDS_TO\n", False), ("a`b", False), ("1abc", False), ("", False)])
def test_one_identifier_pattern(name: str, ok: bool) -> None:
    assert ns.is_identifier(name) is ok


def test_model_nodes_use_parameters_only(schema: ns.Neo4jSchema) -> None:
    merges = [s for s in schema.statements if s.text.startswith("MERGE (m:Model")]
    assert len(merges) == 36
    transformer = next(s for s in merges if s.params["dtmi"] == f"{GT}PowerTransformer;1")
    assert transformer.params["label"] == "PowerTransformer"
    assert transformer.params["version"] == 1
    assert transformer.params["versionless"] == f"{GT}PowerTransformer"
    assert transformer.params["decommissioned"] is False
    assert transformer.params["context"] == ["dtmi:dtdl:context;3", "dtmi:dtdl:extension:quantitativeTypes;1"]
    assert json.loads(transformer.params["json"])["@id"] == f"{GT}PowerTransformer;1"
    for statement in schema.statements:
        for value in statement.params.values():
            if isinstance(value, str):
                assert value not in statement.text  # values never pasted into the text
    extends = {(s.params["child"], s.params["parent"]) for s in schema.statements if "EXTENDS" in s.text}
    assert (f"{GT}Meter;1", f"{GT}MeasurementDevice;1") in extends
    assert (f"{GT}PVSystem;1", f"{GT}RenewableSource;1") in extends


def test_new_version_coexists_with_old() -> None:
    docs = _documents()
    line2 = copy.deepcopy(next(d for d in docs if d["@id"] == f"{GT}Line;1"))
    line2["@id"] = f"{GT}Line;2"
    schema = ns.compile_schema(_models(docs + [line2]))
    merged = {s.params["dtmi"]: s.params for s in schema.statements if s.text.startswith("MERGE (m:Model")}
    assert merged[f"{GT}Line;1"]["label"] == merged[f"{GT}Line;2"]["label"] == "Line"
    assert merged[f"{GT}Line;2"]["version"] == 2


def test_label_collisions_are_qualified_deterministically() -> None:
    labels = ns.assign_labels(["dtmi:gridtwin:Meter;1", "dtmi:acme:grid:Meter;1", "dtmi:gridtwin:Line;1",
                               "dtmi:gridtwin:Meter;2", "dtmi:acme:Model;1"])
    assert labels == {
        "dtmi:gridtwin:Meter;1": "Gridtwin_Meter", "dtmi:gridtwin:Meter;2": "Gridtwin_Meter",
        "dtmi:acme:grid:Meter;1": "Acme_Grid_Meter", "dtmi:gridtwin:Line;1": "Line",
        "dtmi:acme:Model;1": "Acme_Model",  # "Model" is reserved for model nodes
    }
    with pytest.raises(ns.SchemaCompileError, match="label"):
        ns.assign_labels(["dtmi:ab:c;1", "dtmi:Ab:c;1"])  # both qualify to "Ab_C"


def test_relationship_type_clash_is_an_error() -> None:
    base = {"@context": "dtmi:dtdl:context;3", "@type": "Interface"}
    docs = [
        {**base, "@id": "dtmi:t:A;1", "contents": [{"@type": "Relationship", "name": "feedsTo"}]},
        {**base, "@id": "dtmi:t:B;1", "contents": [{"@type": "Relationship", "name": "feeds_to"}]},
    ]
    with pytest.raises(ns.SchemaCompileError, match="FEEDS_TO"):
        ns.compile_schema(_models(docs))


def test_reserved_twin_property_names_are_rejected() -> None:
    doc = {"@context": "dtmi:dtdl:context;3", "@type": "Interface", "@id": "dtmi:t:A;1",
           "contents": [{"@type": "Property", "name": "model", "schema": "string"}]}
    with pytest.raises(ns.SchemaCompileError, match="reserved"):
        ns.compile_schema(_models([doc]))


def test_rendered_script_inlines_escaped_literals(schema: ns.Neo4jSchema) -> None:
    script = ns.render_script(schema)
    assert script.count(";\n") >= len(schema.statements)
    assert "$" not in re.sub(r"'(?:[^'\\]|\\.)*'", "", script)  # no parameter left outside strings
    statement = ns.CypherStatement("RETURN $a, $ab", {"a": "it's $ab \\ ok", "ab": [1, True, None]})
    assert ns._inline(statement) == "RETURN 'it\\'s $ab \\\\ ok', [1, true, null]"
