"""The schema of the shipped models follows the naming convention docs/api.md states, and validates."""

from __future__ import annotations

import re
from collections.abc import Iterator

from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLInterfaceType, GraphQLObjectType, validate_schema

from api.app import _shipped_models
from api.registry import ModelRegistry
from api.schema import build_schema

PASCAL = re.compile(r"^[A-Z][A-Za-z0-9]*$")
CAMEL = re.compile(r"^[a-z][A-Za-z0-9]*$")
ACRONYM = re.compile(r"^[A-Z][A-Z0-9]*$")  # an enum member a model spells in capitals: SF6, ONAN


def _schema():  # type: ignore[no-untyped-def]
    return ModelRegistry(build_schema, _shipped_models()).active.schema._schema


def _names() -> Iterator[tuple[str, str, str]]:
    """(kind, where, name) of every type, field, argument, input field and enum value but GraphQL's own."""
    for type_name, graphql_type in _schema().type_map.items():
        if type_name.startswith("__"):
            continue
        yield "type", type_name, type_name
        if isinstance(graphql_type, (GraphQLObjectType, GraphQLInterfaceType)):
            for field_name, field in graphql_type.fields.items():
                yield "field", type_name, field_name
                yield from (("argument", f"{type_name}.{field_name}", arg) for arg in field.args)
        elif isinstance(graphql_type, GraphQLInputObjectType):
            yield from (("field", type_name, field_name) for field_name in graphql_type.fields)
        elif isinstance(graphql_type, GraphQLEnumType):
            yield from (("enum value", type_name, value) for value in graphql_type.values)


def test_every_name_follows_the_documented_convention() -> None:
    rules = {"type": (PASCAL,), "field": (CAMEL,), "argument": (CAMEL,), "enum value": (CAMEL, ACRONYM)}
    wrong = [(kind, where, name) for kind, where, name in _names()
             if not any(rule.match(name) for rule in rules[kind])]
    assert wrong == []


def test_the_api_own_enums_are_camel_case_as_the_models_are() -> None:
    schema = _schema()
    assert list(schema.type_map["Direction"].values) == ["outgoing", "incoming", "both"]
    assert list(schema.type_map["GridExportFormat"].values) == ["pandapowerJson", "openDss", "adt"]
    assert list(schema.type_map["FilterOp"].values)[2] == "in"


def test_the_schema_validates() -> None:
    assert validate_schema(_schema()) == []
