"""Bundled DTDL contexts and offline JSON-LD expansion."""
from __future__ import annotations

import json

import pytest
import rdflib
from rdflib import URIRef

from ontology import MODELS_DIR, jsonld

QT = "dtmi:dtdl:extension:quantitativeTypes:v1:"

# Size in characters of each upstream document (Azure/opendigitaltwins-dtdl, see manifest.json).
# Re-rendered in the upstream layout, the bundled copy must have exactly this size: a dropped,
# added or mistyped term changes it.
UPSTREAM_SIZE = {
    "dtmi:dtdl:context;2": (25977, 9),
    "dtmi:dtdl:context;3": (8879, 5),
    "dtmi:dtdl:context;4": (10108, 6),
    "dtmi:dtdl:extension:quantitativeTypes;1": (34080, 6),
    "dtmi:dtdl:extension:historization;1": (81, 0),
    "dtmi:dtdl:extension:annotation;1": (177, 0),
    "dtmi:dtdl:extension:overriding;1": (156, 0),
}  # (size, number of blank separator lines upstream)


def _upstream_layout(context: dict) -> str:
    lines = []
    for key, value in context.items():
        if isinstance(value, str):
            lines.append(f'  "{key}": "{value}"')
        elif len(value) == 1:
            ((inner_key, inner_value),) = value.items()
            lines.append(f'  "{key}": {{ "{inner_key}": "{inner_value}" }}')
        else:
            inner = ",\n".join(f'    "{k}": "{v}"' for k, v in value.items())
            lines.append(f'  "{key}": {{\n{inner}\n  }}')
    return "{\n" + ",\n".join(lines) + "\n}\n"


@pytest.mark.parametrize("specifier", sorted(UPSTREAM_SIZE))
def test_bundled_context_matches_upstream_size(specifier: str) -> None:
    size, blank_lines = UPSTREAM_SIZE[specifier]
    context = jsonld.bundled_contexts()[specifier]["@context"]
    assert len(_upstream_layout(context)) + blank_lines == size


def test_every_manifest_entry_is_a_json_ld_context() -> None:
    contexts = jsonld.bundled_contexts()
    assert {"dtmi:dtdl:context;2", "dtmi:dtdl:context;3", "dtmi:dtdl:context;4"} <= set(contexts)
    for document in contexts.values():
        assert isinstance(document["@context"], dict)


def test_reactive_power_units_are_the_extension_names() -> None:
    context = jsonld.bundled_contexts()["dtmi:dtdl:extension:quantitativeTypes;1"]["@context"]
    assert context["kilovoltAmpereReactive"] == {"@id": QT + "unit:kilovoltAmpereReactive"}
    assert context["EnergyRateUnit"] == {"@id": QT + "enum:PowerUnit"}  # upstream alias, kept as is
    assert context["unit"] == {"@id": QT + "property:unit", "@type": "@vocab"}


def test_expansion_resolves_terms_to_dtdl_iris() -> None:
    doc = json.loads((MODELS_DIR / "GridComponent.json").read_text())
    (expanded,) = jsonld.expand(doc)
    assert expanded["@id"] == "dtmi:gridtwin:GridComponent;1"
    assert expanded["@type"] == ["dtmi:dtdl:class:Interface;3"]
    rated = next(c for c in expanded["dtmi:dtdl:property:contents;3"]
                 if c["dtmi:dtdl:property:name;3"][0]["@value"] == "ratedVoltage")
    assert set(rated["@type"]) == {"dtmi:dtdl:class:Property;3", QT + "class:Voltage"}
    assert rated[QT + "property:unit"] == [{"@id": QT + "unit:kilovolt"}]


def test_unknown_context_is_a_clear_error_not_a_download() -> None:
    doc = {"@context": "https://example.com/not-bundled.jsonld", "@id": "dtmi:x:y;1", "@type": "Interface"}
    with pytest.raises(jsonld.UnknownContextError, match="not-bundled"):
        jsonld.expand(doc)
    with pytest.raises(jsonld.UnknownContextError, match=r"dtmi:dtdl:context;9"):
        jsonld.to_graph([{"@context": "dtmi:dtdl:context;9", "@id": "dtmi:x:y;1", "@type": "Interface"}])


def test_model_graph_round_trips_through_every_format() -> None:
    graph = jsonld.to_graph(jsonld.load_model_files(MODELS_DIR))
    interfaces = set(graph.subjects(rdflib.RDF.type, URIRef("dtmi:dtdl:class:Interface;3")))
    assert URIRef("dtmi:gridtwin:PowerTransformer;1") in interfaces and len(interfaces) == 36
    extends = URIRef("dtmi:dtdl:property:extends;3")
    assert (URIRef("dtmi:gridtwin:WindTurbine;1"), extends, URIRef("dtmi:gridtwin:RenewableSource;1")) in graph
    for fmt, rdflib_format in (("turtle", "turtle"), ("nt", "nt"), ("json-ld", "json-ld")):
        reloaded = rdflib.Graph().parse(data=jsonld.serialize(graph, fmt), format=rdflib_format)
        assert len(reloaded) == len(graph), fmt


def test_serialize_rejects_unknown_format() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        jsonld.serialize(rdflib.Graph(), "xml")  # type: ignore[arg-type]
