"""The ADT query language compiled to Cypher: structure, not text, decides what reaches Neo4j."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graph.adt_query import MAX_ROWS, adt_query_read
from graph.errors import ValidationError
from graph.models_store import builtin_documents, parse_models

MODELS = parse_models(builtin_documents())
ACCOUNTS = ("dtmi:gridtwin:User;1",)


def _problem(query: str) -> str:
    with pytest.raises(ValidationError) as refused:
        adt_query_read(MODELS, query)
    [problem] = refused.value.problems
    assert problem.pointer == "/query"
    return problem.message


def test_is_of_model_is_the_model_and_what_extends_it_and_exact_is_the_model_alone() -> None:
    read = adt_query_read(MODELS, "SELECT * FROM DIGITALTWINS WHERE IS_OF_MODEL('dtmi:gridtwin:SwitchingDevice;2')")
    [dtmis] = [value for name, value in read.params.items() if name != "limit"]
    assert set(dtmis) == {"dtmi:gridtwin:SwitchingDevice;2", "dtmi:gridtwin:Breaker;2", "dtmi:gridtwin:Switch;2"}
    exact = adt_query_read(MODELS, "SELECT * FROM DIGITALTWINS T WHERE IS_OF_MODEL(T, 'dtmi:gridtwin:Line;1', exact)")
    assert exact.params["p0"] == ["dtmi:gridtwin:Line;1"]


def test_literals_are_parameters_and_names_are_ours() -> None:
    read = adt_query_read(MODELS, "SELECT T, CT FROM DIGITALTWINS T JOIN CT RELATED T.feedsTo "
                                  "WHERE T.$dtId = 'x\\' OR 1=1 //' AND CT.name IN ['a', 'b']")
    assert "1=1" not in read.text and "'x" not in read.text and " T." not in read.text and "CT" not in read.text
    assert read.params["p0"] == "x' OR 1=1 //" and read.params["p1"] == ["a", "b"]
    assert "-[r1:`FEEDS_TO`]->" in read.text


def test_accounts_are_left_out_of_every_twin_collection_for_those_who_may_not_see_them() -> None:
    read = adt_query_read(MODELS, "SELECT T, CT FROM DIGITALTWINS T JOIN CT RELATED T.managedBy",
                          hidden_models=ACCOUNTS)
    assert "NOT c0:`User`" in read.text and "NOT c1:`User`" in read.text
    assert "User" not in adt_query_read(MODELS, "SELECT * FROM DIGITALTWINS").text


@pytest.mark.parametrize(("query", "says"), [
    ("SELECT * FROM DIGITALTWINS WHERE name = 'x' AND", "line 1, column 45"),
    ("SELECT * FROM DIGITALTWINS WHERE colour = 'x'", "'colour' is not a property"),
    ("SELECT * FROM DIGITALTWINS T JOIN CT RELATED T.eats", "'eats' is not a relationship"),
    ("SELECT * FROM DIGITALTWINS T JOIN CT RELATED T.feedsTo", "SELECT * cannot be used with JOIN"),
    ("SELECT * FROM DIGITALTWINS WHERE IS_BOOL(name)", "IS_BOOL(...): not a supported function"),
    ("SELECT * FROM DIGITALTWINS WHERE IS_OF_MODEL('dtmi:x:Y;1')", "'dtmi:x:Y;1' is not a stored model"),
    ("SELECT * FROM RELATIONSHIPS", "line 1, column 15"),
    ("SELECT T FROM DIGITALTWINS T JOIN CT RELATED T.feedsTo R WHERE R.name = 'x'", "relationship collections"),
    ("SELECT * FROM DIGITALTWINS T WHERE name = 'x'", "name the collection"),
    ("SELECT * FROM DIGITALTWINS WHERE STARTSWITH(length, 'x')", "needs a string property"),
])
def test_a_bad_query_is_refused_naming_what_and_where(query: str, says: str) -> None:
    assert says in _problem(query)


def test_top_and_first_bound_the_rows() -> None:
    assert adt_query_read(MODELS, "SELECT TOP(5) T FROM DIGITALTWINS T", first=100).params["limit"] == 5
    assert adt_query_read(MODELS, "SELECT TOP(500) T FROM DIGITALTWINS T", first=10).params["limit"] == 10
    with pytest.raises(ValidationError):
        adt_query_read(MODELS, "SELECT * FROM DIGITALTWINS", first=MAX_ROWS + 1)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_any_text_is_compiled_or_refused_with_a_validation_error(text: str) -> None:
    """Whatever an integrator sends, the answer is a query or a ValidationError, never a crash."""
    for query in (text, f"SELECT * FROM DIGITALTWINS WHERE {text}"):
        try:
            adt_query_read(MODELS, query)
        except ValidationError:
            pass
