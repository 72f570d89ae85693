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
