"""Unit tests of dtdl.validate: located, actionable problems and the parsed model contract."""
from __future__ import annotations

import dtdl

CTX3 = ["dtmi:dtdl:context;3", "dtmi:dtdl:extension:quantitativeTypes;1"]


def iface(dtmi: str, contents: list | None = None, **extra: object) -> dict:
    doc: dict = {"@context": CTX3, "@id": dtmi, "@type": "Interface"}
    if contents is not None:
        doc["contents"] = contents
    doc.update(extra)
    return doc


def test_valid_model_set_resolves_inheritance_and_units() -> None:
    base = iface("dtmi:gridtwin:Equipment;1", [{"@type": "Property", "name": "serial", "schema": "string"}],
                 displayName="Equipment")
    sub = iface("dtmi:gridtwin:Transformer;1", [
        {"@type": ["Telemetry", "Voltage"], "name": "primaryVoltage", "schema": "double", "unit": "kilovolt"},
        {"@type": ["Property", "Power"], "name": "rating", "schema": "double", "unit": "megawatt",
         "writable": True},
        {"@type": "Relationship", "name": "feeds", "target": "dtmi:gridtwin:Equipment;1", "maxMultiplicity": 4},
    ], extends="dtmi:gridtwin:Equipment;1")
    result = dtdl.validate([base, sub])
    assert result.ok, result.problems
    t = result.models.interfaces["dtmi:gridtwin:Transformer;1"]
    assert t.extends == ("dtmi:gridtwin:Equipment;1",)
    assert t.ancestors == ("dtmi:gridtwin:Equipment;1",)
    assert set(t.contents) == {"serial", "primaryVoltage", "rating", "feeds"}
    assert set(t.own_contents) == {"primaryVoltage", "rating", "feeds"}
    assert t.contents["primaryVoltage"].semantic_types == ("Voltage",)
    assert t.contents["primaryVoltage"].unit == "kilovolt"
    assert t.contents["rating"].writable is True
    assert t.contents["feeds"].target == "dtmi:gridtwin:Equipment;1"
    assert t.contents["feeds"].max_multiplicity == 4
    assert result.models.interfaces["dtmi:gridtwin:Equipment;1"].display_name == {"en": "Equipment"}
    assert result.models.is_a("dtmi:gridtwin:Transformer;1", "dtmi:gridtwin:Equipment;1")
    assert not result.models.is_a("dtmi:gridtwin:Equipment;1", "dtmi:gridtwin:Transformer;1")
    assert t.context_version == 3
    assert "dtmi:dtdl:extension:quantitativeTypes;1" in t.extensions


def test_wrong_unit_names_element_and_pointer() -> None:
    doc = iface("dtmi:gridtwin:Meter;1", [
        {"@type": ["Telemetry", "Voltage"], "name": "v", "schema": "double", "unit": "ampere"}])
    result = dtdl.validate([doc])
    assert not result.ok
    p = result.problems[0]
    assert p.pointer == "/contents/0/unit"
    assert p.document == 0
    assert "dtmi:gridtwin:Meter;1" in (p.element or "")
    assert p.value == "ampere"
    assert "volt" in p.action


def test_unknown_relationship_target_is_reported_when_asked() -> None:
    doc = iface("dtmi:gridtwin:Bay;1", [
        {"@type": "Relationship", "name": "feeds", "target": "dtmi:gridtwin:Nowhere;1"}])
    assert dtdl.validate([doc]).ok  # the language allows it...
    result = dtdl.validate([doc], resolve_relationship_targets=True)  # ...our platform check does not
    assert not result.ok
    p = result.problems[0]
    assert p.pointer == "/contents/0/target"
    assert p.value == "dtmi:gridtwin:Nowhere;1"
    assert "feeds" in p.message


def test_extends_cycle() -> None:
    a = iface("dtmi:gridtwin:A;1", extends="dtmi:gridtwin:B;1")
    b = iface("dtmi:gridtwin:B;1", extends="dtmi:gridtwin:A;1")
    result = dtdl.validate([a, b])
    assert not result.ok
    pointers = {(p.document, p.pointer) for p in result.problems}
    assert (0, "/extends") in pointers
    assert any(p.element == "dtmi:gridtwin:A;1" for p in result.problems)


def test_malformed_dtmi() -> None:
    result = dtdl.validate([iface("dtmi:gridtwin:Bad_;1")])
    assert not result.ok
    p = result.problems[0]
    assert p.rule == "dtmi:dtdl:parsingError:invalidId"
    assert p.pointer == "/@id"
    assert p.value == "dtmi:gridtwin:Bad_;1"


def test_missing_dependency_reported_by_dtmi() -> None:
    result = dtdl.validate([iface("dtmi:gridtwin:X;1", extends="dtmi:gridtwin:Missing;1")])
    assert not result.ok
    assert any(p.value == "dtmi:gridtwin:Missing;1" and p.pointer == "/extends" for p in result.problems)


def test_duplicate_name_across_extends() -> None:
    base = iface("dtmi:gridtwin:Base;1", [{"@type": "Property", "name": "x", "schema": "double"}])
    sub = iface("dtmi:gridtwin:Sub;1", [{"@type": "Property", "name": "x", "schema": "double"}],
                extends="dtmi:gridtwin:Base;1")
    result = dtdl.validate([base, sub])
    assert not result.ok


def test_language_map_and_complex_schemas() -> None:
    doc = iface("dtmi:gridtwin:Switch;1", [
        {"@type": "Property", "name": "state", "displayName": {"en": "State", "de": "Zustand"},
         "schema": {"@type": "Enum", "valueSchema": "integer",
                    "enumValues": [{"name": "open", "enumValue": 0}, {"name": "closed", "enumValue": 1}]}},
        {"@type": "Telemetry", "name": "samples", "schema": {"@type": "Array", "elementSchema": "double"}},
        {"@type": "Command", "name": "operate", "request": {"name": "target", "schema": "boolean"},
         "response": {"name": "ok", "schema": "boolean"}},
        {"@type": "Property", "name": "tags", "schema": {"@type": "Map",
                                                         "mapKey": {"name": "k", "schema": "string"},
                                                         "mapValue": {"name": "v", "schema": "string"}}},
    ])
    result = dtdl.validate([doc])
    assert result.ok, result.problems
    c = result.models.interfaces["dtmi:gridtwin:Switch;1"].contents
    assert c["state"].display_name == {"en": "State", "de": "Zustand"}
    assert c["state"].schema.kind == "Enum"
    assert dict(c["state"].schema.enum_values) == {"open": 0, "closed": 1}
    assert c["samples"].schema.element_schema.kind == "double"
    assert c["operate"].request.name == "target"
    assert c["tags"].schema.map_value.schema.kind == "string"


def test_undefined_extension_option() -> None:
    doc = iface("dtmi:gridtwin:E;1")
    doc["@context"] = ["dtmi:dtdl:context;3", "dtmi:acme:context;1"]
    assert not dtdl.validate([doc]).ok
    assert dtdl.validate([doc], allow_undefined_extensions=True).ok


def test_dtmi_parse() -> None:
    d = dtdl.parse_dtmi("dtmi:foo:bar;3.14#frag")
    assert d is not None and d.major_version == 3 and d.minor_version == 14
    assert d.versionless == "dtmi:foo:bar#frag" and d.labels == ("foo", "bar") and d.fragment == "#frag"
    assert dtdl.parse_dtmi("dtmi:foo:bar;01") is None
