"""Every GraphQL example in README.md and docs/ parses and validates against the shipped models' schema,
so a renamed field, argument or enum value cannot leave a doc example behind (no servers needed)."""

from __future__ import annotations

import pytest
from graphql import parse, validate

from api.app import _shipped_models
from api.registry import ModelRegistry
from api.schema import build_schema
from tests.doc_examples import Operation, examples, graphql_operations, operations

OPERATIONS = graphql_operations()


@pytest.fixture(scope="module")
def schema():  # type: ignore[no-untyped-def]
    return ModelRegistry(build_schema, _shipped_models()).active.schema._schema


def test_the_docs_hold_graphql_examples_and_each_parses() -> None:
    blocks = examples("graphql")
    assert len(blocks) >= 15
    assert all(operations(block) for block in blocks)  # parse() raises with the line on a bad example


@pytest.mark.parametrize("operation", OPERATIONS, ids=[f"{o.where} {o.first_field}" for o in OPERATIONS])
def test_each_example_validates_against_the_schema(schema, operation: Operation) -> None:  # type: ignore[no-untyped-def]
    errors = validate(schema, parse(operation.text))
    assert errors == [], f"{operation.where}: {[error.message for error in errors]}"
