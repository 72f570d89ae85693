"""The compiled fast paths of twin validation and encoding agree with the full schema walk.

A bulk load validates and encodes through per-interface tables (graph/compiled.py); they skip the
schema walk for the common cases.  These tests hold them to the walk's answer for every value,
so a fast path can never accept what the full check refuses nor store a value differently.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from hypothesis import given, strategies as st

from dtdl.model import Content, Interface, ModelSet, Schema
from graph.encoding import encode_contents, encode_primitive
from graph.keys import TWIN_SYSTEM_KEYS
from graph.validation import validate_twin, validate_value

MODEL = "dtmi:test:Compiled;1"
ENUM = Schema(kind="Enum", enum_values=MappingProxyType({"one": 1, "two": 2, "text": "1"}))
KINDS = ("double", "float", "string", "boolean", "integer", "long", "short", "byte", "unsignedByte",
         "unsignedInteger", "unsignedLong", "date", "duration")
SCHEMAS: dict[str, Schema] = {kind: Schema(kind=kind) for kind in KINDS} | {"enum": ENUM}
MODELS = ModelSet(interfaces=MappingProxyType({MODEL: Interface(dtmi=MODEL, contents=MappingProxyType({
    name: Content(kind="Property", name=name, schema=schema, writable=True) for name, schema in SCHEMAS.items()
}))}))

VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**65), max_value=2**65),
    st.floats(allow_nan=True, allow_infinity=True), st.floats(min_value=-1e39, max_value=1e39),
    st.sampled_from([0, 1, 2, 1.0, 2.0, "1", "2", "one", True, "2024-02-29", "PT15M", 3.5e38, 2**63, 2**64]),
    st.text(max_size=5),
)


def _full_check(name: str, value: Any) -> list[str]:
    return [p.message for p in validate_value(MODELS, SCHEMAS[name], value, f"/{name}")]


@given(name=st.sampled_from(sorted(SCHEMAS)), value=VALUES)
def test_fast_validation_refuses_exactly_what_the_full_check_refuses(name: str, value: Any) -> None:
    fast = [p.message for p in validate_twin(MODELS, MODEL, {name: value})]
    assert fast == _full_check(name, value), (name, value)


@given(name=st.sampled_from(sorted(SCHEMAS)), value=VALUES)
def test_compiled_encoding_stores_what_the_schema_walk_stores(name: str, value: Any) -> None:
    if _full_check(name, value):
        return  # only valid documents are encoded
    stored = encode_contents(MODELS, MODELS.interfaces[MODEL].contents, {name: value})
    expected = value if name == "enum" else encode_primitive(name, value)
    assert stored == {name: expected} and type(stored[name]) is type(expected)


def test_a_system_key_is_refused_even_when_a_property_shares_its_name() -> None:
    system_name = sorted(TWIN_SYSTEM_KEYS)[0]
    contents = {system_name: Content(kind="Property", name=system_name, schema=Schema(kind="string"), writable=True)}
    models = ModelSet(interfaces=MappingProxyType({MODEL: Interface(dtmi=MODEL, contents=MappingProxyType(contents))}))
    (problem,) = validate_twin(models, MODEL, {system_name: "plain text"})
    assert problem.pointer == f"/{system_name}" and "reserved" in problem.message


def _walked(models: ModelSet, contents: Any, stored: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """The document of a stored map by the schema walk, property by property (what decoding must give)."""
    from graph.encoding import _MISSING, _decode_value, component_interface

    document: dict[str, Any] = {}
    for name, content in contents.items():
        if content.kind == "Component":
            interface = component_interface(models, content)
            inner = _walked(models, interface.contents, stored, f"{prefix}{name}.") if interface else {}
            if inner:
                document[name] = inner
        elif content.kind == "Property":
            value = _decode_value(models, content.schema, stored, f"{prefix}{name}")
            if value is not _MISSING:
                document[name] = value
    return document


def test_compiled_decoding_gives_what_the_schema_walk_gives() -> None:
    """Every twin of real grids (objects, arrays, enums, components) stored and read back both ways."""
    import warnings

    from api.app import _shipped_models
    from graph.encoding import decode_contents
    from loaders import demo_grid
    from loaders.grids.sources import load_grid

    models = _shipped_models()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        twins = [*load_grid("pandapower:create_cigre_network_mv").twins, *load_grid("opendss:ieee13").twins,
                 *demo_grid.TWINS]
    assert len(twins) > 100
    for twin in twins:
        contents = models.interfaces[twin.model].contents
        stored = encode_contents(models, contents, twin.properties)
        decoded = decode_contents(models, contents, stored)
        assert decoded == _walked(models, contents, stored) == twin.properties, twin.id
