"""Rule naming and version rules of the DTDL parser (reference-parser ValidationIDs)."""
from __future__ import annotations

import dtdl


def _rules(doc, **kw) -> set[str]:
    return {p.rule_name for p in dtdl.validate([doc], **kw).problems}


def _iface(ctx, *contents, **extra):
    d = {"@context": ctx, "@id": "dtmi:test:anInterface;1", "@type": "Interface", "contents": list(contents)}
    d.update(extra)
    return d


def test_abstract_type_in_schema_is_bad_type_and_leaves_schema_empty():
    doc = _iface("dtmi:dtdl:context;3", {"@type": "Telemetry", "name": "t", "schema": {"@type": "Boolean"}})
    assert {"badType", "objectCountBelowMin"} <= _rules(doc)


def test_undefined_property_on_closed_element_names_no_type_that_allows():
    doc = _iface("dtmi:dtdl:context;3", {"@type": "Command", "name": "c", "foo": 1})
    assert {"propertyUndefinedTerm", "noTypeThatAllows"} <= _rules(doc)


def test_value_object_keywords():
    doc = _iface("dtmi:dtdl:context;3", {"@type": "Telemetry", "name": {"@value": "t", "@id": "x"},
                                          "schema": "double"})
    assert "valueObjectId" in _rules(doc)
    v2 = _iface("dtmi:dtdl:context;2", {"@type": "Telemetry", "name": {"@value": "t", "@language": "en"},
                                         "schema": "double"})
    assert dtdl.validate([v2]).ok


def test_top_level_fragment_id_is_invalid():
    doc = {"@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:anInterface;1#foo", "@type": "Interface"}
    assert _rules(doc) == {"invalidId"}


def test_missing_name_rules():
    assert "missingDtmiSegPropertyValue" in _rules(_iface("dtmi:dtdl:context;3",
                                                          {"@type": "Telemetry", "schema": "double"}))
    assert "missingLiteralProperty" in _rules(_iface("dtmi:dtdl:context;3",
                                                     {"@id": "dtmi:test:t;1", "@type": "Telemetry",
                                                      "schema": "double"}))


def test_iotcentral_extension():
    ctx = ["dtmi:dtdl:context;2", "dtmi:iotcentral:context;2"]
    ok = _iface(ctx, {"@type": ["Telemetry", "Location"], "name": "where", "schema": "geopoint"})
    assert dtdl.validate([ok]).ok
    bad = _iface(ctx, {"@type": ["Telemetry", "Event"], "name": "e", "schema": "boolean"})
    assert "notRequiredType" in _rules(bad)
    reserved = _iface(ctx, {"@id": "dtmi:iotcentral:x;1", "@type": "Telemetry", "name": "x", "schema": "double"})
    assert "reservedId" in _rules(reserved)


def test_v2_dtdl_context_may_follow_affiliate():
    doc = _iface(["dtmi:iotcentral:context;2", "dtmi:dtdl:context;2"],
                 {"@type": "Telemetry", "name": "t", "schema": "double"})
    assert dtdl.validate([doc]).ok


def test_extension_cotype_of_other_dtdl_version():
    doc = _iface(["dtmi:dtdl:context;2", "dtmi:dtdl:extension:historization;2"],
                 {"@type": ["Telemetry", "Historized"], "name": "t", "schema": "double"})
    assert {"invalidCotype", "invalidCotypeVersion"} <= _rules(doc)


def test_v2_enum_value_limit():
    enum = {"@id": "dtmi:test:e;1", "@type": "Enum", "valueSchema": "integer",
            "enumValues": [{"name": f"v{i}", "enumValue": i} for i in range(101)]}
    assert "objectCountAboveMax" in _rules(_iface("dtmi:dtdl:context;2", schemas=[enum]))


def test_id_reference_object_and_solecism_quirk():
    base = {"@context": "dtmi:dtdl:context;2", "@id": "dtmi:test:base;1", "@type": "Interface"}
    child = {"@context": "dtmi:dtdl:context;2", "@id": "dtmi:test:child;1", "@type": "Interface",
             "extends": [{"@id": "dtmi:test:base;1"}]}
    assert "idReference" in {p.rule_name for p in dtdl.validate([base, child]).problems}
    assert dtdl.validate([base, child], quirks=["TolerateSolecismsInParse"]).ok


def test_schema_cycle_and_extends_cycle_names():
    arr = {"@id": "dtmi:test:a;1", "@type": "Array", "elementSchema": "dtmi:test:a;1"}
    assert "recursiveStructureWide" in _rules(_iface("dtmi:dtdl:context;3", schemas=[arr]))
    selfext = _iface("dtmi:dtdl:context;3", extends=["dtmi:test:anInterface;1"])
    assert "recursiveStructureNarrow" in _rules(selfext)
