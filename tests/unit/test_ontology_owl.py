"""OWL/RDFS view of the model set: classes, hierarchy, typed properties, QUDT units."""
from __future__ import annotations

import json

import pytest
import rdflib
from rdflib import URIRef
from rdflib import namespace as rns
from rdflib.namespace import OWL, RDF, RDFS

import dtdl
from ontology import MODELS_DIR, owl

GT = "dtmi:gridtwin:"


@pytest.fixture(scope="module")
def graph() -> rdflib.Graph:
    docs = [json.loads(p.read_text()) for p in sorted(MODELS_DIR.glob("*.json"))]
    result = dtdl.validate(docs)
    assert result.ok
    return owl.owl_graph(result.models)


def _prop(interface: str, name: str) -> URIRef:
    return URIRef(f"{GT}{interface}:_contents:__{name};1")


def test_sparql_finds_every_interface_extending_grid_component(graph: rdflib.Graph) -> None:
    rows = graph.query(
        "SELECT ?c WHERE { ?c rdfs:subClassOf* <dtmi:gridtwin:GridComponent;1> }",
        initNs={"rdfs": RDFS},
    )
    found = {str(row[0]).removeprefix(GT) for row in rows}
    version_one = {"GridComponent", "Substation", "PowerTransformer", "Line", "Busbar", "SwitchingDevice",
                   "Breaker", "Switch", "CapacitorBank", "Meter", "Load", "RenewableSource", "PVSystem", "WindTurbine",
                   "Bus", "ACLineSegment", "ThreeWindingTransformer", "EnergyConsumer", "StaticGenerator",
                   "SynchronousMachine", "BatteryUnit", "ExternalNetworkInjection", "LinearShuntCompensator", "DCLine"}
    version_two = {"PowerTransformer", "SwitchingDevice", "Breaker", "Switch"}
    assert found == {f"{name};1" for name in version_one} | {f"{name};2" for name in version_two}
    assert owl.subclasses_of(graph, f"{GT}RenewableSource;1") == [f"{GT}PVSystem;1", f"{GT}WindTurbine;1"]


def test_interfaces_are_classes_with_labels(graph: rdflib.Graph) -> None:
    cls = URIRef(f"{GT}PowerTransformer;1")
    assert (cls, RDF.type, OWL.Class) in graph
    assert (cls, RDFS.subClassOf, URIRef(f"{GT}GridComponent;1")) in graph
    assert rdflib.Literal("Power transformer", lang="en") in set(graph.objects(cls, RDFS.label))


def test_properties_are_datatype_properties_with_xsd_range_and_qudt_unit(graph: rdflib.Graph) -> None:
    rated = _prop("GridComponent", "ratedVoltage")
    assert (rated, RDF.type, OWL.DatatypeProperty) in graph
    assert (rated, RDFS.domain, URIRef(f"{GT}GridComponent;1")) in graph
    assert (rated, RDFS.range, rns.XSD.double) in graph
    assert (rated, owl.QUDT.unit, owl.UNIT.KiloV) in graph
    assert (_prop("GridComponent", "installationDate"), RDFS.range, rns.XSD.date) in graph
    assert (_prop("Line", "current"), owl.QUDT.unit, owl.UNIT.A) in graph


def test_three_phase_objects_get_their_shared_unit(graph: rdflib.Graph) -> None:
    mp = "GridMeasurementPoint"
    assert (_prop(mp, "voltage"), owl.QUDT.unit, owl.UNIT.V) in graph
    assert (_prop(mp, "current"), owl.QUDT.unit, owl.UNIT.A) in graph
    assert (_prop(mp, "activePower"), owl.QUDT.unit, owl.UNIT.W) in graph
    assert (_prop(mp, "reactivePower"), owl.QUDT.unit, owl.UNIT.VAR) in graph
    assert (_prop(mp, "frequency"), owl.QUDT.unit, owl.UNIT.HZ) in graph
    assert (_prop(mp, "voltage"), RDFS.range, RDF.JSON) in graph
    assert not list(graph.objects(_prop(mp, "powerQuality"), owl.QUDT.unit))  # mixed/unitless fields


def test_enum_range_lists_its_values(graph: rdflib.Graph) -> None:
    (datatype,) = graph.objects(_prop("GridComponent", "status"), RDFS.range)
    values = rdflib.collection.Collection(graph, graph.value(datatype, OWL.oneOf))
    assert {str(v) for v in values} == {"inService", "outOfService", "maintenance", "faulted"}


def test_relationships_are_object_properties_ranging_over_their_target(graph: rdflib.Graph) -> None:
    feeds = _prop("GridNode", "feedsTo")
    assert (feeds, RDF.type, OWL.ObjectProperty) in graph
    assert (feeds, RDFS.range, URIRef(f"{GT}GridNode;1")) in graph
    assert (_prop("User", "manages"), RDFS.range, URIRef(f"{GT}GridComponent;1")) in graph
    assert (_prop("GridMeasurementPoint", "mlEngine"), RDFS.range, URIRef(f"{GT}MLEngine;1")) in graph


def test_inherited_contents_are_not_restated(graph: rdflib.Graph) -> None:
    assert not list(graph.triples((_prop("PowerTransformer", "ratedVoltage"), None, None)))


def test_unit_mapping() -> None:
    assert owl.qudt_unit("dtmi:dtdl:extension:quantitativeTypes:v1:unit:hertz") == owl.UNIT.HZ
    assert owl.qudt_unit("kilovoltAmpere") == owl.UNIT.KiloVA
    assert owl.qudt_unit("gForce") is None
    assert owl.qudt_unit(None) is None
