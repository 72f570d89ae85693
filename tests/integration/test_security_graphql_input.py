"""Issue 11, GraphQL input: one operation or a name, no introspection or suggestions for anonymous
callers (unless the setting allows introspection), and bad input answered BAD_USER_INPUT with a
pointer instead of "Unexpected error." (integers beyond 64 bits in filters, enum typos in variables).

All against the real API in-process on the real servers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from gridtwin.config import Settings
from tests.integration.conftest import GraphQLClient

SEVERAL = "query First { __typename } query Second { me { username } }"
INTROSPECTIONS = (
    "{ __schema { queryType { name } } }",
    '{ __type(name: "Query") { name } }',
    "query { ...Types } fragment Types on Query { __schema { types { name } } }",
)
TYPO = "{ helth { version } }"
WHERE = 'query($w: [PropertyFilter!]) { twins(model: "Substation", where: $w) { totalCount } }'
DIRECTION = 'query($d: Direction!) { relationships(twinId: "no-such-twin", direction: $d) { id } }'


def _post(gql: GraphQLClient, body: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = gql.http.post("/graphql", json=body, headers=headers)  # type: ignore[attr-defined]
    assert response.status_code == 200, response.text
    return response.json()


def _only_error(body: dict[str, Any]) -> dict[str, Any]:
    assert body.get("data") is None, body
    [error] = body["errors"]
    return error


def _code(error: dict[str, Any]) -> str | None:
    return error.get("extensions", {}).get("code")


def test_several_operations_without_an_operation_name_are_refused(gql: GraphQLClient, tokens: dict[str, str]) -> None:
    error = _only_error(_post(gql, {"query": SEVERAL}, tokens["viewer"]))
    assert _code(error) == "BAD_USER_INPUT", error
    assert [problem["pointer"] for problem in error["extensions"]["problems"]] == ["/operationName"]
    assert "First" in error["message"] and "Second" in error["message"]
    named = _post(gql, {"query": SEVERAL, "operationName": "Second"}, tokens["viewer"])
    assert "errors" not in named and named["data"]["me"]["username"]


def test_anonymous_introspection_is_refused_by_default(gql: GraphQLClient, api_settings: Settings,
                                                       tokens: dict[str, str]) -> None:
    assert not getattr(api_settings, "anonymous_introspection", False), "GRIDTWIN_ANONYMOUS_INTROSPECTION is set"
    for query in INTROSPECTIONS:
        error = _only_error(gql(query))
        assert _code(error) == "UNAUTHENTICATED", (query, error)
        assert "log in" in error["message"]
    assert gql.data("{ __typename }") == {"__typename": "Query"}  # not introspection
    assert gql.data(INTROSPECTIONS[0], token=tokens["viewer"]) == {"__schema": {"queryType": {"name": "Query"}}}


@pytest.fixture()
def introspectable_app(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A second app on the test profile with the setting on (from the environment, as deployed).

    No admin password: resetting it would end the sessions of the tokens the other tests hold."""
    from starlette.testclient import TestClient

    from api.app import create_app

    monkeypatch.setenv("GRIDTWIN_ANONYMOUS_INTROSPECTION", "true")
    settings = Settings().model_copy(update={"admin_password": None})
    assert settings.anonymous_introspection
    with TestClient(create_app(settings)) as client:
        yield client


def test_the_setting_allows_anonymous_introspection_but_not_suggestions(introspectable_app: Any) -> None:
    gql = GraphQLClient(introspectable_app)
    for query in INTROSPECTIONS[:2]:
        assert "errors" not in gql(query), query
    assert "Did you mean" not in _only_error(gql(TYPO))["message"]


def test_anonymous_callers_get_no_suggestions(gql: GraphQLClient, tokens: dict[str, str]) -> None:
    anonymous = _only_error(gql(TYPO))["message"]
    assert "helth" in anonymous and "Did you mean" not in anonymous
    assert "Did you mean 'health'" in _only_error(gql(TYPO, token=tokens["viewer"]))["message"]
    for query, variables in ((WHERE, {"w": [{"property": "bayCount", "op": "gtt", "value": 1}]}),
                             (DIRECTION, {"d": "OUTGOIN"})):
        error = _only_error(gql(query, variables))
        assert _code(error) == "BAD_USER_INPUT", error
        assert "Did you mean" not in error["message"] and "Allowed values" not in error["message"]


def test_an_integer_beyond_64_bits_in_a_filter_is_bad_user_input(gql: GraphQLClient, tokens: dict[str, str]) -> None:
    cases = (
        ([{"property": "bayCount", "op": "gt", "value": 2**70}], "/where/0/value"),
        ([{"property": "bayCount", "op": "lt", "value": -(2**63) - 1}], "/where/0/value"),
        ([{"property": "staffed", "op": "eq", "value": True},
          {"property": "bayCount", "op": "in", "value": [1, 2**64]}], "/where/1/value/1"),
        ([{"property": "substationType", "op": "eq", "value": 2**70}], "/where/0/value"),
    )
    for where, pointer in cases:
        error = _only_error(gql(WHERE, {"w": where}, tokens["viewer"]))
        assert _code(error) == "BAD_USER_INPUT", (where, error)
        assert [problem["pointer"] for problem in error["extensions"]["problems"]] == [pointer]
    literal = ('{ twins(model: "Substation", where: [{property: "bayCount", op: gt, '
               'value: 1180591620717411303424}]) { totalCount } }')
    assert _code(_only_error(gql(literal, token=tokens["viewer"]))) == "BAD_USER_INPUT"
    largest = [{"property": "bayCount", "op": "gt", "value": 2**63 - 1}]
    assert gql.data(WHERE, {"w": largest}, tokens["viewer"]) == {"twins": {"totalCount": 0}}


def test_an_enum_typo_in_variables_is_bad_user_input_naming_the_variable_and_the_values(
        gql: GraphQLClient, tokens: dict[str, str]) -> None:
    operators = [value["name"] for value in gql.data('{ __type(name: "FilterOp") { enumValues { name } } }',
                                                     token=tokens["viewer"])["__type"]["enumValues"]]
    cases = ((WHERE, {"w": [{"property": "bayCount", "op": "greaterThan", "value": 1}]}, "/variables/w/0/op",
              "greaterThan", operators),
             (DIRECTION, {"d": "outgoin"}, "/variables/d", "outgoin", ["outgoing", "incoming", "both"]))
    for query, variables, pointer, typo, allowed in cases:
        error = _only_error(gql(query, variables, tokens["viewer"]))
        assert _code(error) == "BAD_USER_INPUT", error
        [problem] = error["extensions"]["problems"]
        assert problem["pointer"] == pointer and typo in problem["message"]
        assert f"${pointer.split('/')[2]}" in error["message"]
        assert all(value in problem["message"] for value in allowed), problem
