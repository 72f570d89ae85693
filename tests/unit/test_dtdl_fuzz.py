"""Property-based robustness: random mutations of valid models only ever yield problems."""
from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dtdl

SEED_MODELS: list[Any] = [
    [{"@context": ["dtmi:dtdl:context;3", "dtmi:dtdl:extension:quantitativeTypes;1"],
      "@id": "dtmi:gridtwin:Breaker;1", "@type": "Interface", "displayName": {"en": "Breaker"},
      "extends": "dtmi:gridtwin:Base;1",
      "contents": [
          {"@type": ["Telemetry", "Current"], "name": "i", "schema": "double", "unit": "ampere"},
          {"@type": "Property", "name": "closed", "schema": "boolean", "writable": True},
          {"@type": "Relationship", "name": "feeds", "target": "dtmi:gridtwin:Base;1", "maxMultiplicity": 3,
           "properties": [{"@type": "Property", "name": "since", "schema": "dateTime"}]},
          {"@type": "Component", "name": "meter", "schema": "dtmi:gridtwin:Base;1"},
          {"@type": "Command", "name": "trip", "request": {"name": "why", "schema": "string"}},
      ],
      "schemas": [{"@id": "dtmi:gridtwin:Phase;1", "@type": "Enum", "valueSchema": "string",
                   "enumValues": [{"name": "a", "enumValue": "A"}, {"name": "b", "enumValue": "B"}]}]},
     {"@context": "dtmi:dtdl:context;3", "@id": "dtmi:gridtwin:Base;1", "@type": "Interface",
      "contents": [{"@type": "Property", "name": "tag", "schema": {
          "@type": "Object", "fields": [{"name": "x", "schema": {"@type": "Array", "elementSchema": "long"}}]}}]}],
    [{"@context": "dtmi:dtdl:context;2", "@id": "dtmi:gridtwin:Old;1", "@type": "Interface",
      "contents": [{"@type": ["Telemetry", "Temperature"], "name": "t", "schema": "double", "unit": "kelvin"},
                   {"@type": "Property", "name": "m", "schema": {
                       "@type": "Map", "mapKey": {"name": "k", "schema": "string"},
                       "mapValue": {"name": "v", "schema": "integer"}}}]}],
]

JUNK = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=8),
                 st.just("dtmi:x:y;1"), st.just("@id"), st.just([]), st.just({}), st.just({"@value": 1}),
                 st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=4), st.integers(), max_size=2))


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if len(prefix) > 25:
        return out
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, prefix + (i,))
    return out


def _get(node: Any, path: tuple) -> Any:
    for p in path:
        node = node[p]
    return node


@st.composite
def mutated(draw: st.DrawFn) -> Any:
    doc = copy.deepcopy(draw(st.sampled_from(SEED_MODELS)))
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        op = draw(st.sampled_from(["delete", "replace", "swap", "inject", "wrap"]))
        if not path:
            if op == "replace":
                doc = copy.deepcopy(draw(JUNK))
            continue
        parent = _get(doc, path[:-1])
        key = path[-1]
        if op == "delete":
            del parent[key]
        elif op == "replace":
            parent[key] = copy.deepcopy(draw(JUNK))
        elif op == "swap":
            other = draw(st.sampled_from(paths))
            if path[:len(other)] == other:
                continue  # never copy an ancestor into itself
            try:
                parent[key] = copy.deepcopy(_get(doc, other))
            except (KeyError, IndexError, TypeError):
                pass
        elif op == "inject" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["@graph", "foo", "dtmi:a:b;1", "@context", "unit", "name"]))] = copy.deepcopy(draw(JUNK))
        elif op == "wrap":
            parent[key] = [parent[key]]
    return doc


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(), st.booleans())
def test_mutations_never_raise(docs: Any, allow: bool) -> None:
    result = dtdl.validate(docs if isinstance(docs, list) else [docs], allow_undefined_extensions=allow)
    assert isinstance(result.ok, bool)
    for p in result.problems:
        assert p.rule.startswith("dtmi:dtdl:")
        assert isinstance(p.message, str) and p.message
        assert p.cause and p.action
        assert isinstance(p.pointer, str)
    if result.ok:
        assert isinstance(dict(result.models.interfaces), dict)


@settings(max_examples=150, deadline=None)
@given(st.recursive(JUNK, lambda c: st.one_of(st.lists(c, max_size=3),
                                              st.dictionaries(st.sampled_from(
                                                  ["@context", "@id", "@type", "contents", "schema", "name",
                                                   "extends", "elementSchema", "fields"]), c, max_size=4)),
                    max_leaves=20))
def test_arbitrary_json_never_raises(doc: Any) -> None:
    result = dtdl.validate([doc])
    assert isinstance(result.problems, tuple)


def test_seeds_are_valid() -> None:
    for docs in SEED_MODELS:
        r = dtdl.validate(docs)
        assert r.ok, r.problems


def test_deep_nesting_does_not_crash() -> None:
    schema: Any = "double"
    for _ in range(3000):
        schema = {"@type": "Array", "elementSchema": schema}
    doc = {"@context": "dtmi:dtdl:context;3", "@id": "dtmi:a:b;1", "@type": "Interface",
           "contents": [{"@type": "Telemetry", "name": "t", "schema": schema}]}
    assert not dtdl.validate([doc]).ok
