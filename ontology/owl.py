"""An OWL/RDFS view of a DTDL model set, for SPARQL and ontology tools.

The JSON-LD graph of :mod:`ontology.jsonld` describes DTDL *syntax* (an Interface has
contents, a content has a schema, ...).  Analysts and ontology tools want the *meaning*:
classes, a class hierarchy and typed properties.  This module states that meaning:

* Interface -> ``owl:Class`` (IRI = the DTMI); ``extends`` -> ``rdfs:subClassOf``.
* Property / Telemetry -> ``owl:DatatypeProperty`` with ``rdfs:domain`` the declaring
  Interface and ``rdfs:range`` an XSD datatype for primitives, an ``owl:oneOf`` datatype for
  Enums and ``rdf:JSON`` for Objects, Maps, Arrays and geospatial values (their value is a
  JSON document).
* Relationship -> ``owl:ObjectProperty`` with ``rdfs:range`` its target (``owl:Thing`` when
  the Relationship has no target).  Component -> ``owl:ObjectProperty`` to its Interface.
* A unit that has a QUDT counterpart -> ``qudt:unit`` on the property.  For an Object whose
  numeric fields all share one unit (e.g. three-phase voltages) that unit is stated too.
* displayName -> ``rdfs:label``, description -> ``rdfs:comment`` (language-tagged).

Only an Interface's *own* contents are stated; inheritance follows from ``rdfs:subClassOf``.
Commands are not data and are left out.  Property IRIs follow the DTDL parser's convention
for generated identifiers: ``<interface without version>:_contents:__<name>;<version>``.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import rdflib
from rdflib import BNode, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, XSD

from dtdl.model import Content, Interface, ModelSet, Schema

QUDT = rdflib.Namespace("http://qudt.org/schema/qudt/")
UNIT = rdflib.Namespace("http://qudt.org/vocab/unit/")
GT = rdflib.Namespace("https://gridtwin.dev/ontology#")
"""GridTwin annotation properties (DTDL kind, writability, Relationship multiplicity)."""

XSD_BY_PRIMITIVE: Mapping[str, URIRef] = {
    "boolean": XSD.boolean,
    "byte": XSD.byte,
    "bytes": XSD.base64Binary,
    "date": XSD.date,
    "dateTime": XSD.dateTime,
    "decimal": XSD.decimal,
    "double": XSD.double,
    "duration": XSD.duration,
    "float": XSD.float,
    "integer": XSD.int,  # DTDL integer is a signed 32-bit integer
    "long": XSD.long,
    "short": XSD.short,
    "string": XSD.string,
    "time": XSD.time,
    "unsignedByte": XSD.unsignedByte,
    "unsignedInteger": XSD.unsignedInt,
    "unsignedLong": XSD.unsignedLong,
    "unsignedShort": XSD.unsignedShort,
    "uuid": XSD.string,
}

QUDT_UNIT_BY_DTDL_UNIT: Mapping[str, str] = {
    # QUDT 3.1+ local names (3.1 renamed V-A -> VA and V-A_Reactive -> VAR).
    "ampere": "A", "kiloampere": "KiloA", "milliampere": "MilliA", "microampere": "MicroA",
    "volt": "V", "kilovolt": "KiloV", "megavolt": "MegaV", "millivolt": "MilliV", "microvolt": "MicroV",
    "watt": "W", "kilowatt": "KiloW", "megawatt": "MegaW", "gigawatt": "GigaW", "milliwatt": "MilliW",
    "voltAmpere": "VA", "kilovoltAmpere": "KiloVA", "megavoltAmpere": "MegaVA",
    "voltAmpereReactive": "VAR", "kilovoltAmpereReactive": "KiloVAR", "megavoltAmpereReactive": "MegaVAR",
    "wattHour": "W-HR", "kilowattHour": "KiloW-HR", "megawattHour": "MegaW-HR", "gigawattHour": "GigaW-HR",
    "joule": "J", "kilojoule": "KiloJ", "megajoule": "MegaJ",
    "hertz": "HZ", "kilohertz": "KiloHZ", "megahertz": "MegaHZ", "millihertz": "MilliHZ",
    "ohm": "OHM", "kiloohm": "KiloOHM", "megaohm": "MegaOHM", "milliohm": "MilliOHM",
    "degreeCelsius": "DEG_C", "degreeFahrenheit": "DEG_F", "kelvin": "K",
    "metre": "M", "kilometre": "KiloM", "centimetre": "CentiM", "millimetre": "MilliM",
    "second": "SEC", "millisecond": "MilliSEC", "minute": "MIN", "hour": "HR", "day": "DAY",
    "metrePerSecond": "M-PER-SEC", "kilometrePerHour": "KiloM-PER-HR",
    "revolutionPerMinute": "REV-PER-MIN", "radianPerSecond": "RAD-PER-SEC",
    "degreeOfArc": "DEG", "radian": "RAD",
    "wattPerSquareMetre": "W-PER-M2",
    "percent": "PERCENT", "unity": "UNITLESS",
    "pascal": "PA", "kilopascal": "KiloPA", "bar": "BAR",
}


def unit_term(unit: str | None) -> str | None:
    """The bare DTDL unit name, whether the parser reports a term or a full unit DTMI."""
    if not unit:
        return None
    return unit.rsplit(":", 1)[-1].split(";", 1)[0]


def qudt_unit(unit: str | None) -> URIRef | None:
    """The QUDT unit IRI for a DTDL unit, or None when QUDT has no mapped counterpart."""
    local = QUDT_UNIT_BY_DTDL_UNIT.get(unit_term(unit) or "")
    return UNIT[local] if local else None


def content_iri(interface: Interface, content: Content) -> URIRef:
    """The content's own @id, else the DTDL parser's generated identifier for it."""
    if content.id:
        return URIRef(content.id)
    versionless, _, version = interface.dtmi.partition(";")
    return URIRef(f"{versionless}:_contents:__{content.name};{version}")


def _lang_literals(text: Mapping[str, str]) -> Iterator[Literal]:
    for lang, value in sorted(text.items()):
        yield Literal(value, lang=lang or None)


def _annotate(graph: rdflib.Graph, subject: URIRef, display: Mapping[str, str], desc: Mapping[str, str]) -> None:
    for label in _lang_literals(display):
        graph.add((subject, RDFS.label, label))
    for comment in _lang_literals(desc):
        graph.add((subject, RDFS.comment, comment))


def _enum_datatype(graph: rdflib.Graph, schema: Schema) -> BNode:
    """An anonymous datatype listing the Enum's values (``owl:oneOf``)."""
    value_kind = schema.value_schema.kind if schema.value_schema else "string"
    datatype = XSD_BY_PRIMITIVE.get(value_kind, XSD.string)
    node = BNode()
    graph.add((node, RDF.type, RDFS.Datatype))
    members = [Literal(value, datatype=datatype) for _, value in sorted(schema.enum_values.items(), key=lambda kv: str(kv[1]))]
    values_list = BNode()
    Collection(graph, values_list, members)
    graph.add((node, OWL.oneOf, values_list))
    return node


def _range(graph: rdflib.Graph, schema: Schema | None) -> rdflib.term.Node:
    if schema is None:
        return RDFS.Literal
    if schema.kind == "Enum":
        return _enum_datatype(graph, schema)
    return XSD_BY_PRIMITIVE.get(schema.kind, RDF.JSON)


def _field_units(interface: Interface, content: Content) -> set[str]:
    """Units of the numeric fields of an Object-valued content.

    Field units come from the parsed schema when the parser exposes them (``field.unit``),
    otherwise from the Interface's source JSON (inline Object schemas).
    """
    schema = content.schema
    if schema is None or schema.kind != "Object":
        return set()
    units = {unit_term(getattr(f, "unit", None)) for f in schema.fields.values()}
    if not units - {None}:
        for entry in interface.source.get("contents", []):
            if isinstance(entry, Mapping) and entry.get("name") == content.name:
                fields = entry.get("schema", {}).get("fields", []) if isinstance(entry.get("schema"), Mapping) else []
                units = {unit_term(f.get("unit")) for f in fields if isinstance(f, Mapping)}
    return {u for u in units if u}


def _content_unit(interface: Interface, content: Content) -> str | None:
    """The content's unit; for an Object, the unit all its measured fields share (if one)."""
    if content.unit:
        return content.unit
    units = _field_units(interface, content)
    return units.pop() if len(units) == 1 else None


def _add_data_property(graph: rdflib.Graph, interface: Interface, content: Content) -> None:
    prop = content_iri(interface, content)
    graph.add((prop, RDF.type, OWL.DatatypeProperty))
    graph.add((prop, RDFS.domain, URIRef(interface.dtmi)))
    graph.add((prop, RDFS.range, _range(graph, content.schema)))
    graph.add((prop, GT.dtdlKind, Literal(content.kind)))
    graph.add((prop, GT.name, Literal(content.name)))
    if content.kind == "Property":
        graph.add((prop, GT.writable, Literal(bool(content.writable))))
    unit = qudt_unit(_content_unit(interface, content))
    if unit is not None:
        graph.add((prop, QUDT.unit, unit))
    _annotate(graph, prop, content.display_name, content.description)


def _add_object_property(graph: rdflib.Graph, interface: Interface, content: Content) -> None:
    prop = content_iri(interface, content)
    target = content.schema_dtmi if content.kind == "Component" else content.target
    graph.add((prop, RDF.type, OWL.ObjectProperty))
    graph.add((prop, RDFS.domain, URIRef(interface.dtmi)))
    graph.add((prop, RDFS.range, URIRef(target) if target else OWL.Thing))
    graph.add((prop, GT.dtdlKind, Literal(content.kind)))
    graph.add((prop, GT.name, Literal(content.name)))
    if content.max_multiplicity is not None:
        graph.add((prop, GT.maxMultiplicity, Literal(content.max_multiplicity)))
    _annotate(graph, prop, content.display_name, content.description)


def _add_interface(graph: rdflib.Graph, interface: Interface) -> None:
    cls = URIRef(interface.dtmi)
    graph.add((cls, RDF.type, OWL.Class))
    for parent in interface.extends:
        graph.add((cls, RDFS.subClassOf, URIRef(parent)))
    _annotate(graph, cls, interface.display_name, interface.description)
    for _, content in sorted(interface.own_contents.items()):
        if content.kind in ("Property", "Telemetry"):
            _add_data_property(graph, interface, content)
        elif content.kind in ("Relationship", "Component"):
            _add_object_property(graph, interface, content)


def owl_graph(model_set: ModelSet) -> rdflib.Graph:
    """Build the OWL/RDFS graph of every Interface in ``model_set``."""
    graph = rdflib.Graph()
    for prefix, namespace in (("owl", OWL), ("rdfs", RDFS), ("xsd", XSD), ("qudt", QUDT), ("unit", UNIT), ("gt", GT)):
        graph.bind(prefix, namespace)
    for _, interface in sorted(model_set.interfaces.items()):
        _add_interface(graph, interface)
    return graph


def subclasses_of(graph: rdflib.Graph, dtmi: str, *, include_self: bool = False) -> list[str]:
    """DTMIs of every class that extends ``dtmi`` directly or transitively (SPARQL property path)."""
    path = "*" if include_self else "+"
    query = f"SELECT DISTINCT ?c WHERE {{ ?c rdfs:subClassOf{path} ?base . ?c a owl:Class }}"
    rows: Any = graph.query(query, initNs={"rdfs": RDFS, "owl": OWL}, initBindings={"base": URIRef(dtmi)})
    return sorted(str(row[0]) for row in rows)
