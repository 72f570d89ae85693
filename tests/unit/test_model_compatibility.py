"""Which edits of a shipped model count as additions (pure: the model store's check, no server)."""

from __future__ import annotations

import copy

from graph.models_store import additions_only

TELEMETRY = {"@type": "Telemetry", "name": "predictions",
             "schema": {"@type": "Object", "fields": [{"name": "a", "schema": "double"}]}}
STORED = {"@id": "dtmi:x:M;1", "@type": "Interface", "@context": "dtmi:dtdl:context;3", "contents": [TELEMETRY]}


def _with_fields(*fields: dict) -> dict:
    document = copy.deepcopy(STORED)
    document["contents"][0]["schema"]["fields"] += list(fields)
    return document


def test_a_telemetry_object_may_gain_fields() -> None:
    assert additions_only(STORED, _with_fields({"name": "b", "schema": "double", "unit": "hertz"})) == []


def test_changing_or_dropping_a_field_or_the_telemetry_is_not_an_addition() -> None:
    changed = copy.deepcopy(STORED)
    changed["contents"][0]["schema"]["fields"][0]["schema"] = "integer"
    dropped = copy.deepcopy(STORED)
    dropped["contents"][0]["schema"]["fields"] = [{"name": "b", "schema": "double"}]
    renamed = _with_fields({"name": "b", "schema": "double"})
    renamed["contents"][0]["unit"] = "volt"
    for document in (changed, dropped, renamed):
        assert additions_only(STORED, document) == ["content 'predictions' removed or changed"], document


def test_a_property_object_may_not_gain_fields() -> None:
    stored = copy.deepcopy(STORED)
    stored["contents"][0]["@type"] = "Property"
    shipped = _with_fields({"name": "b", "schema": "double"})
    shipped["contents"][0]["@type"] = "Property"
    assert additions_only(stored, shipped) == ["content 'predictions' removed or changed"]
