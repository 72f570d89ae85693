"""Pure validation and storage encoding of twin documents (no database)."""

from __future__ import annotations

from types import MappingProxyType

import pytest
from neo4j.spatial import WGS84Point

from dtdl.model import Content, Interface, ModelSet, NamedSchema, Schema
from graph.errors import ValidationError
from graph.encoding import decode_contents, encode_contents
from graph.patch import apply_patch
from graph.validation import check_primitive, check_writable, validate_twin, validate_value

M = ModelSet()
P = Schema  # brevity


def prim(kind: str) -> Schema:
    return Schema(kind=kind)


def problems(schema: Schema, value: object) -> list[str]:
    return [f"{p.pointer} {p.message}" for p in validate_value(M, schema, value, "/x")]


@pytest.mark.parametrize(
    ("kind", "good", "bad"),
    [
        ("boolean", [True, False], [1, "true", None]),
        ("integer", [0, -(2**31), 2**31 - 1], [2**31, 1.0, True, "1"]),
        ("long", [2**63 - 1, -(2**63)], [2**63, 1.5]),
        ("short", [32767], [32768]),
        ("byte", [-128, 127], [128]),
        ("unsignedByte", [0, 255], [-1, 256]),
        ("unsignedShort", [65535], [65536]),
        ("unsignedInteger", [2**32 - 1], [2**32, -1]),
        ("unsignedLong", [2**64 - 1], [2**64, -1]),
        ("double", [1, 1.5, -1e300], ["1.5", True, float("nan"), float("inf")]),
        ("float", [3.4e38], [3.5e38]),
        ("decimal", [1.25, "1.25", "-0.5e3"], ["1,2", "abc", True]),
        ("string", ["", "x"], [1, None]),
        ("date", ["2024-02-29"], ["2023-02-29", "2024-1-01", "2024-01-01T00:00:00Z"]),
        ("dateTime", ["2024-05-01T12:00:00Z", "2024-05-01t12:00:00.123456789+02:00"], ["2024-05-01T12:00:00", "2024-05-01T25:00:00Z", "2024-13-01T00:00:00Z", "2024-05-01T12:00:00+24:00"]),
        ("time", ["13:45:00", "13:45:00.5+01:00", "00:00:00Z"], ["24:00:00", "1:00:00", "13:45"]),
        ("duration", ["PT15M", "P1DT2H", "P1Y2M3W4DT5H6M7.5S", "P2W"], ["P", "PT", "15M", "P1H", "PT1D"]),
        ("uuid", ["123e4567-e89b-12d3-a456-426614174000"], ["123e4567", "not-a-uuid-at-all-0000-000000000000"]),
        ("bytes", ["aGVsbG8=", ""], ["not base64!"]),
    ],
)
def test_primitives(kind: str, good: list[object], bad: list[object]) -> None:
    for value in good:
        assert problems(prim(kind), value) == [], (kind, value)
    for value in bad:
        found = problems(prim(kind), value)
        assert len(found) == 1 and found[0].startswith("/x "), (kind, value, found)


def test_integer_range_message_names_the_range() -> None:
    (message,) = problems(prim("integer"), 2**31)
    assert "out of the integer range" in message


def test_geojson_point_and_polygon() -> None:
    assert problems(prim("point"), {"type": "Point", "coordinates": [7.5, 47.1]}) == []
    assert problems(prim("point"), {"type": "Point", "coordinates": [200, 47.1]})
    assert problems(prim("point"), {"type": "LineString", "coordinates": [7.5, 47.1]}) == ['/x/type must be "Point"']
    ring = [[0, 0], [1, 0], [1, 1], [0, 0]]
    assert problems(prim("polygon"), {"type": "Polygon", "coordinates": [ring]}) == []
    open_ring = ring[:-1] + [[0, 1]]
    assert problems(prim("polygon"), {"type": "Polygon", "coordinates": [open_ring]}) == [
        "/x/coordinates/0 a polygon ring must end at its first position"
    ]


ENUM = Schema(kind="Enum", value_schema=prim("string"), enum_values=MappingProxyType({"on": "on", "off": "off"}))
INT_ENUM = Schema(kind="Enum", value_schema=prim("integer"), enum_values=MappingProxyType({"one": 1, "two": 2}))
OBJ = Schema(
    kind="Object",
    fields=MappingProxyType({"lat": prim("double"), "lon": prim("double"), "tag": ENUM}),
)
ARR = Schema(kind="Array", element_schema=prim("integer"))
MAP = Schema(
    kind="Map",
    map_key=NamedSchema("phase", prim("string")),
    map_value=NamedSchema("reading", OBJ),
)


def test_enum_values_are_checked_with_their_type() -> None:
    assert problems(ENUM, "on") == []
    assert problems(ENUM, "dim") == ['/x \'dim\' is not one of the enum values [\'on\', \'off\']']
    assert problems(INT_ENUM, 2) == []
    assert problems(INT_ENUM, True)  # True == 1 in Python, not in JSON


def test_object_fields_and_unknown_fields() -> None:
    assert problems(OBJ, {"lat": 1.0}) == []
    found = problems(OBJ, {"lat": "north", "alt": 3})
    assert any(f.startswith("/x/lat expected a number") for f in found)
    assert any(f.startswith("/x/alt unknown field 'alt'") for f in found)
    assert problems(OBJ, [1]) == ["/x expected an object, got array"]


def test_array_elements_have_index_pointers() -> None:
    assert problems(ARR, [1, 2]) == []
    assert [f.split(" ")[0] for f in problems(ARR, [1, "two", 3.5])] == ["/x/1", "/x/2"]


def test_map_values_are_validated_and_keys_escaped() -> None:
    assert problems(MAP, {"L1": {"lat": 1.0}}) == []
    found = problems(MAP, {"a/b": {"lat": "x"}})
    assert found[0].startswith("/x/a~1b/lat ")


def _content(name: str, schema: Schema, writable: bool = True, kind: str = "Property") -> Content:
    return Content(kind=kind, name=name, schema=schema, writable=writable)


METER = "dtmi:test:Meter;1"
PHASE = "dtmi:test:Phase;1"
MODELS = ModelSet(
    interfaces=MappingProxyType(
        {
            METER: Interface(
                dtmi=METER,
                contents=MappingProxyType(
                    {
                        "name": _content("name", prim("string")),
                        "serial": _content("serial", prim("string"), writable=False),
                        "location": _content("location", OBJ),
                        "taps": _content("taps", ARR),
                        "readings": _content("readings", MAP),
                        "where": _content("where", prim("point")),
                        "big": _content("big", prim("unsignedLong")),
                        "power": _content("power", prim("double"), kind="Telemetry"),
                        "phaseA": Content(kind="Component", name="phaseA", schema_dtmi=PHASE),
                        "feeds": Content(kind="Relationship", name="feeds"),
                    }
                ),
            ),
            PHASE: Interface(
                dtmi=PHASE,
                contents=MappingProxyType(
                    {"voltage": _content("voltage", prim("double")), "fw": _content("fw", prim("string"), writable=False)}
                ),
            ),
        }
    )
)


def test_twin_document_problems_name_each_pointer() -> None:
    found = validate_twin(
        MODELS,
        METER,
        {"name": 3, "nope": 1, "power": 2.0, "feeds": "x", "id": "x", "phaseA": {"voltage": "high", "$metadata": {}}},
    )
    by_pointer = {p.pointer: p.message for p in found}
    assert set(by_pointer) == {"/name", "/nope", "/power", "/feeds", "/id", "/phaseA/voltage"}
    assert "unknown property 'nope'" in by_pointer["/nope"]
    assert "Telemetry, not a Property" in by_pointer["/power"]
    assert "reserved" in by_pointer["/id"]


def test_unknown_model() -> None:
    (problem,) = validate_twin(MODELS, "dtmi:test:Nope;1", {})
    assert problem.pointer == "/$metadata/$model"


def test_null_is_not_a_value() -> None:
    (problem,) = validate_twin(MODELS, METER, {"name": None})
    assert problem.pointer == "/name" and "remove the property" in problem.message


def test_writable_rule_refuses_changes_to_reported_properties() -> None:
    contents = MODELS.interfaces[METER].contents
    assert check_writable(MODELS, contents, {"serial": "A"}, {"serial": "A", "name": "n"}) == []
    (problem,) = check_writable(MODELS, contents, {"serial": "A"}, {"serial": "B"})
    assert problem.pointer == "/serial" and "not writable" in problem.message
    (problem,) = check_writable(MODELS, contents, {"phaseA": {"fw": "1"}}, {"phaseA": {"fw": "2"}})
    assert problem.pointer == "/phaseA/fw"


def test_storage_round_trip() -> None:
    document = {
        "name": "M1",
        "serial": "S-1",
        "location": {"lat": 47.1, "lon": 7.5, "tag": "on"},
        "taps": [1, 2, 3],
        "readings": {"L1": {"lat": 1.0}},
        "where": {"type": "Point", "coordinates": [7.5, 47.1]},
        "big": 2**64 - 1,
        "phaseA": {"voltage": 230.0},
    }
    assert validate_twin(MODELS, METER, document) == []
    contents = MODELS.interfaces[METER].contents
    stored = encode_contents(MODELS, contents, document)
    assert stored["location.lat"] == 47.1 and stored["location.tag"] == "on"
    assert stored["taps"] == [1, 2, 3]
    assert isinstance(stored["readings"], str)
    assert isinstance(stored["where"], WGS84Point)
    assert stored["big"] == str(2**64 - 1)
    assert stored["phaseA.voltage"] == 230.0
    assert decode_contents(MODELS, contents, stored) == document


def test_apply_patch_and_its_errors() -> None:
    document = {"name": "a", "location": {"lat": 1.0}}
    patched = apply_patch(document, [{"op": "replace", "path": "/location/lat", "value": 2.0}, {"op": "remove", "path": "/name"}])
    assert patched == {"location": {"lat": 2.0}} and document["name"] == "a"
    with pytest.raises(ValidationError) as error:
        apply_patch(document, [{"op": "remove", "path": "/missing"}])
    assert error.value.problems[0].pointer == "/missing"
    with pytest.raises(ValidationError):
        apply_patch(document, [{"op": "test", "path": "/name", "value": "b"}])
    with pytest.raises(ValidationError):
        apply_patch(document, [{"op": "replace", "path": "", "value": {}}])
    with pytest.raises(ValidationError):
        apply_patch(document, {"op": "add"})  # type: ignore[arg-type]


def test_primitive_check_is_pure_and_reports_kind() -> None:
    (problem,) = check_primitive("dateTime", "yesterday", "/when")
    assert problem.pointer == "/when" and "RFC 3339" in problem.message
