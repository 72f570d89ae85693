"""Generated GraphQL types: eager instances carry every field, lazy twins read the rest on demand."""

from __future__ import annotations

import asyncio
import dataclasses

from api.typegen import generate
from api.types import GenericTwin
from graph.models_store import builtin_documents, parse_models
from ontology.neo4j_schema import compile_schema

SUBSTATION = "dtmi:gridtwin:Substation;1"


def _types():  # type: ignore[no-untyped-def]
    models = parse_models(builtin_documents())
    return generate(models, compile_schema(models).labels)


def test_instance_sets_every_dataclass_field_of_every_type() -> None:
    types = _types()
    for dtmi, cls in types.objects.items():
        twin = types.instance({"id": "x", "model": dtmi, "etag": "e", "properties": {}})
        assert type(twin) is cls
        constructed = cls(id="x", model=dtmi, etag="e", properties={})
        assert {f.name for f in dataclasses.fields(cls) if f.init} <= set(vars(twin)), dtmi
        assert set(vars(constructed)) == set(vars(twin)), dtmi


def test_instance_matches_the_dataclass_constructor() -> None:
    types = _types()
    record = {"id": "s1", "model": SUBSTATION, "etag": "W/1",
              "properties": {"name": "S1", "bayCount": 4, "unknown": 1}}
    twin = types.instance(record)
    values = {name: record["properties"].get(name) for name in types.typed_fields[SUBSTATION]}  # type: ignore[attr-defined]
    expected = types.objects[SUBSTATION](id="s1", model=SUBSTATION, etag="W/1", properties=record["properties"],
                                         **values)
    assert twin == expected
    assert types.instance({"id": "g", "model": "dtmi:x:Unknown;1", "etag": "", "properties": {}}).__class__ is GenericTwin


def test_lazy_twin_is_typed_and_loads_fields_once_asked() -> None:
    types = _types()
    full = types.instance({"id": "s1", "model": SUBSTATION, "etag": "W/1", "properties": {"name": "S1"}})
    loads: list[str] = []

    async def load(twin_id: str):  # type: ignore[no-untyped-def]
        loads.append(twin_id)
        return full if twin_id == "s1" else None

    lazy = types.lazy("s1", SUBSTATION, load)
    assert isinstance(lazy, types.objects[SUBSTATION])
    assert lazy.__strawberry_definition__.name == "SubstationTwin"  # type: ignore[attr-defined]
    assert (lazy.id, lazy.model, loads) == ("s1", SUBSTATION, [])

    async def read():  # type: ignore[no-untyped-def]
        return await lazy.name, await lazy.etag, await lazy.properties  # type: ignore[attr-defined]

    assert asyncio.run(read()) == ("S1", "W/1", {"name": "S1"})
    gone = types.lazy("s2", SUBSTATION, load)

    async def read_gone():  # type: ignore[no-untyped-def]
        return await gone.name, await gone.etag, await gone.properties  # type: ignore[attr-defined]

    assert asyncio.run(read_gone()) == (None, "", {})


def _value_models():  # type: ignore[no-untyped-def]
    from types import MappingProxyType as frozen
    from dtdl.model import Content, Interface, ModelSet, Schema
    tap = Schema(kind="Enum", enum_values=frozen({"low": 1, "high": 2}))
    odd = Schema(kind="Enum", enum_values=frozen({"a": "x", "b": "x"}))  # two members, one value
    python_refuses = Schema(kind="Enum", enum_values=frozen({"mro": "m"}))  # a name Python's Enum refuses
    place = Schema(kind="Object", fields=frozen({"lat": Schema(kind="double"), "side": tap}))
    readings = Schema(kind="Array", element_schema=Schema(kind="integer"))
    spot = Schema(kind="point")
    engine_contents = {"version": Content(kind="Property", name="version", schema=Schema(kind="string"))}
    engine = Interface(dtmi="dtmi:test:Engine;1", contents=frozen(engine_contents), own_contents=frozen(engine_contents))
    contents = {"tap": Content(kind="Property", name="tap", schema=tap),
                "odd": Content(kind="Property", name="odd", schema=odd),
                "legacy": Content(kind="Property", name="legacy", schema=python_refuses),
                "place": Content(kind="Property", name="place", schema=place),
                "readings": Content(kind="Property", name="readings", schema=readings),
                "spot": Content(kind="Property", name="spot", schema=spot),
                "engine": Content(kind="Component", name="engine", schema_dtmi=engine.dtmi)}
    dtmi = "dtmi:test:Tapped;1"
    interface = Interface(dtmi=dtmi, contents=frozen(contents), own_contents=frozen(contents))
    return dtmi, ModelSet(interfaces=frozen({dtmi: interface, engine.dtmi: engine}))


def test_dtdl_values_are_typed_and_answer_what_is_stored() -> None:
    """An enum member stands for its stored enumValue (here an integer), an Object and a Component are
    object types over the stored mapping, an Array a list; what GraphQL cannot carry one-to-one (two
    members with one value, a name Python refuses, a GeoJSON point) stays a scalar of its values."""
    import strawberry

    dtmi, models = _value_models()
    types = generate(models, {dtmi: "Tapped", "dtmi:test:Engine;1": "Engine"})
    twin = types.instance({"id": "t1", "model": dtmi, "etag": "e", "properties": {
        "tap": 2, "odd": "x", "place": {"lat": 52.5, "side": 1}, "readings": [3, 4],
        "spot": {"type": "Point", "coordinates": [13.4, 52.5]}, "engine": {"version": "v7"}}})

    field = strawberry.field(resolver=lambda: twin, graphql_type=types.interfaces[dtmi])
    Query = strawberry.type(type("Query", (), {"tapped": field}))

    sdl = strawberry.Schema(query=Query, types=list(types.objects.values())).as_str()
    for expected in ("enum TappedTap {\n  low\n  high\n}", "odd: String", "legacy: String", "place: TappedPlace",
                     "type TappedPlace {", "side: TappedTap", "readings: [Int]", "spot: JSON",
                     "engine: EngineComponent", "type EngineComponent {\n  version: String\n}"):
        assert expected in sdl, expected
    schema = strawberry.Schema(query=Query, types=list(types.objects.values()))
    result = schema.execute_sync("{ tapped { ... on TappedTwin { tap odd place { lat side } readings spot "
                                 "engine { version } } } }")
    assert result.errors is None
    assert result.data == {"tapped": {"tap": "high", "odd": "x", "place": {"lat": 52.5, "side": "low"},
                                      "readings": [3, 4], "spot": {"type": "Point", "coordinates": [13.4, 52.5]},
                                      "engine": {"version": "v7"}}}


def test_typed_filters_become_the_search_conditions_of_the_where_list() -> None:
    """``filter: {line: {...}}`` parses into graph.search conditions: dotted paths for Object fields,
    stored values for enum members, every operator by its documented name (``in`` included), and
    ``and``/``or``/``not`` as the boolean combinations they name."""
    import strawberry

    from api.filter_types import filters_of
    from graph.search import AllOf, AnyOf, Filter, Not

    types = _types()
    twin_where = types.filters.twin_where
    captured = []

    def twins(filter: twin_where) -> int:  # type: ignore[valid-type]
        captured.append(filters_of(filter.line))  # type: ignore[attr-defined]
        return 0

    twins.__annotations__ = {"filter": twin_where, "return": int}
    Query = strawberry.type(type("Query", (), {"twins": strawberry.field(resolver=twins)}))
    schema = strawberry.Schema(query=Query, types=list(types.objects.values()))
    result = schema.execute_sync('{ twins(filter: {line: {length: {gt: 1, lte: 5}, status: {in: [inService]}, '
                                 'location: {address: {startsWith: "Park"}}, '
                                 'or: [{name: {eq: "a"}}, {name: {eq: "b"}}], not: {ampacity: {lt: 100}}}}) }')
    assert result.errors is None
    [found] = captured
    assert isinstance(found, AllOf)
    expected = [Filter("length", "gt", 1.0), Filter("length", "lte", 5.0), Filter("status", "in", ["inService"]),
                Filter("location.address", "startsWith", "Park")]
    assert sorted(found.conditions[:4], key=repr) == sorted(expected, key=repr)
    assert AnyOf([AllOf([Filter("name", "eq", "a")]), AllOf([Filter("name", "eq", "b")])]) in found.conditions
    assert Not(AllOf([Filter("ampacity", "lt", 100.0)])) in found.conditions
    wrong = schema.execute_sync('{ twins(filter: {line: {status: {eq: broken}}}) }')
    assert wrong.errors and "broken" in wrong.errors[0].message


def test_boolean_combinations_compile_to_parenthesised_cypher_with_their_pointers() -> None:
    import pytest

    from graph.errors import ValidationError
    from graph.search import AllOf, AnyOf, Filter, Not, Search, search_read

    models = parse_models(builtin_documents())
    typed = AllOf([AnyOf([Filter("name", "eq", "a"), Filter("name", "eq", "b")]), Not(Filter("length", "lt", 1.0))])
    read = search_read(models, Search(model="Line", typed_filter=typed))
    assert "((t.`name` = $v0 OR t.`name` = $v1) AND NOT t.`length` < $v2)" in read.text
    assert (read.params["v0"], read.params["v1"], read.params["v2"]) == ("a", "b", 1.0)
    assert "false" in search_read(models, Search(model="Line", typed_filter=AnyOf([]))).text
    with pytest.raises(ValidationError) as refused:
        search_read(models, Search(model="Line", typed_filter=AllOf([Not(Filter("colour", "eq", 1))])))
    assert refused.value.problems[0].pointer == "/filter/0/not/property"
