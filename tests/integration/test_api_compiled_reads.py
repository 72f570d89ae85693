"""The compiled read path answers exactly what field-by-field execution answers, from one query.

Each query runs twice on the same app against the real Neo4j: with ``compiled_reads`` on and off
(``Settings.compiled_reads``), and the two whole responses (data and errors) must be equal.  The
``gridtwin_compiled_reads`` counter tells which path answered, so a plan that silently fell back
for every request fails here too.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import neo4j
import pytest

from api.compiled_reads import COMPILED_READS
from graph.bulk import RelationshipRow, TwinRow, bulk_create_relationships, bulk_create_twins, bulk_delete_twins
from graph.models_store import load_model_set
from tests.integration.conftest import GraphQLClient
from tests.integration.test_api_nplus1 import counted

SUBSTATION, LINE, LOAD, DEVICE = ("dtmi:gridtwin:Substation;1", "dtmi:gridtwin:Line;1", "dtmi:gridtwin:Load;1",
                                  "dtmi:gridtwin:MeasurementDevice;1")


@pytest.fixture(scope="module")
def grid(neo4j_driver: neo4j.Driver, tokens: dict[str, str]) -> Iterator[str]:
    """A substation feeding 4 lines, each feeding 2 loads (one line also a device), typed values of every
    kind, and the substation managed by an account twin (the viewer's)."""
    models = load_model_set(neo4j_driver)
    tag = f"cr-{uuid.uuid4().hex[:6]}"
    viewer = neo4j_driver.execute_query("MATCH (u:Twin) WHERE u.id STARTS WITH 'user:viewer-' RETURN u.id AS id "
                                        "ORDER BY id DESC LIMIT 1").records[0]["id"]
    twins = [TwinRow(f"{tag}-sub", SUBSTATION, {"name": f"{tag} substation", "status": "inService", "bayCount": 6,
                                                "staffed": True, "highestVoltage": 110.0,
                                                "location": {"latitude": 52.5, "longitude": 13.4}})]
    relationships = [RelationshipRow(f"{tag}-sub", "managedBy", viewer)]
    for i in range(4):
        line = f"{tag}-line-{i}"
        twins.append(TwinRow(line, LINE, {"name": f"{tag} line {i}", "length": 1.5 * i,
                                          "status": "maintenance" if i == 2 else "inService"}))
        relationships.append(RelationshipRow(f"{tag}-sub", "feedsTo", line))
        for leg in ("a", "b"):
            twins.append(TwinRow(f"{line}-{leg}", LOAD, {"name": f"{tag} load {i}{leg}", "customerCount": i}))
            relationships.append(RelationshipRow(line, "feedsTo", f"{line}-{leg}"))
    twins.append(TwinRow(f"{tag}-device", DEVICE, {"samplingInterval": 1, "accuracyClass": "0.2S"}))
    relationships.append(RelationshipRow(f"{tag}-line-0", "feedsTo", f"{tag}-device"))
    bulk_create_twins(neo4j_driver, models, twins)
    bulk_create_relationships(neo4j_driver, models, relationships)
    yield tag
    bulk_delete_twins(neo4j_driver, [twin.id for twin in twins])


TWIN_FIELDS = ("id model etag properties __typename ... on GridComponent { name status location { latitude "
               "longitude __typename } } ... on Substation { bayCount staffed highestVoltage } ...LineFields")
LINE_FRAGMENT = " fragment LineFields on Line { length lineType }"

#: (query, variables), each to be answered by the compiled path.
COMPILED = {
    "one twin with typed values": (
        "query($id: ID!) { twin(id: $id) { " + TWIN_FIELDS + " } }" + LINE_FRAGMENT, {"id": "{tag}-sub"}),
    "node by id, aliased": ('query($id: ID!) { a: node(id: $id) { id ... on Line { l: length } } '
                            'b: twin(id: "{tag}-missing") { id } __typename }', {"id": "{tag}-line-1"}),
    "a page with two levels of hops": (
        'query($p: JSON!) { twins(model: "Line", first: 3, where: [{property: "name", op: startsWith, value: $p}], '
        'orderBy: [{property: "length", descending: true}]) { totalCount __typename pageInfo { hasNextPage '
        'hasPreviousPage startCursor endCursor } edges { cursor node { id ... on GridNode { feedsTo { id '
        '__typename ... on Load { customerCount } fedBy { id ... on Line { status } } } fedBy { id } } } } } }',
        {"p": "{tag} line"}),
    "a backward page": ('query($p: JSON!) { twins(model: "Load", last: 3, where: [{property: "name", op: '
                        'startsWith, value: $p}]) { pageInfo { hasNextPage hasPreviousPage } edges { node { id } } } }',
                        {"p": "{tag} load"}),
    "downstream with fields": ('query($id: ID!) { downstream(id: $id, maxDepth: 5) { depth __typename twin { '
                               + TWIN_FIELDS + ' } } }' + LINE_FRAGMENT, {"id": "{tag}-sub"}),
    "upstream by model": ('query($id: ID!) { upstream(id: $id, model: "Substation") { depth twin { id } } }',
                          {"id": "{tag}-line-3-b"}),
    "a typed filter with or and an enum": (
        'query($p: String!) { twins(filter: {line: {name: {startsWith: $p}, or: [{length: {gt: 2}}, '
        '{status: {eq: maintenance}}]}}, orderBy: [{property: "name"}]) { totalCount edges { node { id '
        '... on Line { status length } } } } }', {"p": "{tag} line"}),
    "the account, for an admin": ('query($id: ID!) { twin(id: $id) { ... on GridComponent { managedBy { id '
                                  '... on User { username role } } } } }', {"id": "{tag}-sub"}),
}

#: Answered field by field (the plan cannot answer them exactly), with the same responses.
FALLBACK = {
    "the account, hidden from a viewer": COMPILED["the account, for an admin"],
    "a trace from no twin": ('query { downstream(id: "{tag}-missing") { depth } }', {}),
    "a page too large": ('query { twins(model: "Line", first: 100000) { totalCount } }', {}),
    "a typed filter of another model": ('query { twins(model: "Load", filter: {line: {length: {gt: 2}}}) '
                                        '{ totalCount } }', {}),
    "a bad property": ('query { twins(model: "Line", where: [{property: "nope", value: 1}]) { totalCount } }', {}),
}

#: Not compiled at all (outside what plans cover).
FIELD_BY_FIELD = {
    "relationships()": ('query($id: ID!) { twin(id: $id) { id relationships { name targetId } } }',
                        {"id": "{tag}-sub"}),
    "a directive": ('query($id: ID!, $yes: Boolean!) { twin(id: $id) { id @include(if: $yes) } }',
                    {"id": "{tag}-sub", "yes": True}),
}


def _filled(value: object, tag: str) -> object:
    if isinstance(value, str):
        return value.replace("{tag}", tag)
    if isinstance(value, dict):
        return {key: _filled(item, tag) for key, item in value.items()}
    return value


def _both_paths(gql: GraphQLClient, query: str, variables: dict, token: str) -> tuple[dict, dict, dict[str, float]]:
    """(compiled response, field-by-field response, how many of each outcome the first one counted)."""
    settings = gql.http.app.state.services.get().settings  # type: ignore[attr-defined]
    before = {outcome: COMPILED_READS.labels(outcome)._value.get() for outcome in ("compiled", "fallback",
                                                                                   "field_by_field")}
    compiled = gql(query, variables, token)
    outcomes = {outcome: COMPILED_READS.labels(outcome)._value.get() - count for outcome, count in before.items()}
    settings.compiled_reads = False
    try:
        field_by_field = gql(query, variables, token)
    finally:
        settings.compiled_reads = True
    return compiled, field_by_field, outcomes


@pytest.mark.parametrize("shape", [*COMPILED, *FALLBACK, *FIELD_BY_FIELD])
def test_both_paths_answer_alike(gql: GraphQLClient, tokens: dict[str, str], grid: str, shape: str) -> None:
    query, variables = (COMPILED | FALLBACK | FIELD_BY_FIELD)[shape]
    role = "viewer" if shape == "the account, hidden from a viewer" else "admin" if "account" in shape else "analyst"
    compiled, field_by_field, outcomes = _both_paths(gql, _filled(query, grid), _filled(variables, grid),
                                                     tokens[role])
    assert compiled == field_by_field
    if shape in COMPILED:
        assert "errors" not in compiled and compiled["data"], compiled
    expected = "compiled" if shape in COMPILED else "fallback" if shape in FALLBACK else "field_by_field"
    assert outcomes[expected] == 1, outcomes


def test_answers_hold_the_data(gql: GraphQLClient, tokens: dict[str, str], grid: str) -> None:
    """Not only equal: right (both paths could share a bug in the graph layer)."""
    query, variables = COMPILED["a page with two levels of hops"]
    data = gql.data(_filled(query, grid), _filled(variables, grid), tokens["analyst"])["twins"]
    assert data["totalCount"] == 4 and data["pageInfo"]["hasNextPage"] is True
    nodes = [edge["node"] for edge in data["edges"]]
    assert [node["id"] for node in nodes] == [f"{grid}-line-{i}" for i in (3, 2, 1)]
    # relationships come in the order of their ids (random here), on both paths
    assert [sorted(t["id"] for t in node["feedsTo"]) for node in nodes] == [[f"{node['id']}-a", f"{node['id']}-b"]
                                                                           for node in nodes]
    assert min(nodes[1]["feedsTo"], key=lambda t: t["id"]) == {"id": f"{grid}-line-2-a", "__typename": "LoadTwin", "customerCount": 2,
                                      "fedBy": [{"id": f"{grid}-line-2", "status": "maintenance"}]}
    assert all(node["fedBy"] == [{"id": f"{grid}-sub"}] for node in nodes)
    query, variables = COMPILED["a typed filter with or and an enum"]
    typed = gql.data(_filled(query, grid), _filled(variables, grid), tokens["analyst"])["twins"]
    assert [edge["node"]["id"] for edge in typed["edges"]] == [f"{grid}-line-{i}" for i in (2, 3)]
    twin = gql.data(_filled(COMPILED["one twin with typed values"][0], grid), {"id": f"{grid}-sub"},
                    tokens["analyst"])["twin"]
    assert twin["location"] == {"latitude": 52.5, "longitude": 13.4, "__typename": "GridComponentLocation"}
    assert (twin["status"], twin["bayCount"], twin["staffed"], twin["__typename"]) == ("inService", 6, True,
                                                                                       "SubstationTwin")


def test_anonymous_callers_get_the_same_refusal(gql: GraphQLClient, grid: str) -> None:
    compiled, field_by_field, outcomes = _both_paths(gql, f'{{ twin(id: "{grid}-sub") {{ id }} }}', {}, "")
    assert compiled == field_by_field and compiled["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert outcomes["fallback"] == 1


#: Cypher round trips of the compiled shapes (docs/api.md, "Cypher per request").
ROUND_TRIPS = {"one twin with typed values": 1, "a page with two levels of hops": 1, "downstream with fields": 1,
               "node by id, aliased": 2}


def test_each_compiled_shape_is_its_documented_round_trips(gql: GraphQLClient, tokens: dict[str, str],
                                                            grid: str) -> None:
    found = {}
    with counted(gql) as counting:
        for shape in ROUND_TRIPS:
            query, variables = COMPILED[shape]
            counting.queries = 0
            gql.data(_filled(query, grid), _filled(variables, grid), tokens["analyst"])
            found[shape] = counting.queries
    assert found == ROUND_TRIPS


def _post(gql: GraphQLClient, body: dict, token: str | None, status: int = 200) -> tuple[dict, dict[str, float]]:
    """The response to ``body`` (of HTTP ``status``) and how many of each outcome it counted."""
    before = {outcome: COMPILED_READS.labels(outcome)._value.get()
              for outcome in ("compiled", "prepared", "fallback", "field_by_field")}
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = gql.http.post("/graphql", json=body, headers=headers)  # type: ignore[attr-defined]
    assert response.status_code == status, response.text
    body = response.json() if status == 200 else {"text": response.text}
    return body, {outcome: COMPILED_READS.labels(outcome)._value.get() - count
                             for outcome, count in before.items()}


def test_a_text_answered_once_is_prepared(gql: GraphQLClient, tokens: dict[str, str], grid: str) -> None:
    """The second request of a text skips Strawberry's execution, with this request's variables and name."""
    query = "query One($id: ID!) { twin(id: $id) { id ... on Line { length } } }"
    first, outcomes = _post(gql, {"query": query, "variables": {"id": f"{grid}-line-1"}}, tokens["analyst"])
    assert first == {"data": {"twin": {"id": f"{grid}-line-1", "length": 1.5}}} and outcomes["compiled"] == 1
    for name in (None, "One"):
        again, outcomes = _post(gql, {"query": query, "variables": {"id": f"{grid}-line-2"}, "operationName": name},
                                tokens["analyst"])
        assert again == {"data": {"twin": {"id": f"{grid}-line-2", "length": 3.0}}}
        assert outcomes == {"compiled": 0, "prepared": 1, "fallback": 0, "field_by_field": 0}
    wrong_name, outcomes = _post(gql, {"query": query, "variables": {"id": f"{grid}-line-2"},
                                       "operationName": "Other"}, tokens["analyst"], status=400)
    assert "Other" in str(wrong_name) and outcomes["prepared"] == 0
    bad_variable, outcomes = _post(gql, {"query": query, "variables": {"id": None}}, tokens["analyst"])
    assert bad_variable["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert outcomes["fallback"] == 1 and outcomes["prepared"] == 0


def test_prepared_texts_keep_each_callers_answer(gql: GraphQLClient, tokens: dict[str, str], grid: str) -> None:
    """Prepared for one caller, a text still answers another exactly as field-by-field execution does: an
    anonymous caller is refused, a viewer does not see the account twin an admin sees."""
    query, variables = COMPILED["the account, for an admin"]
    query, variables = _filled(query, grid), _filled(variables, grid)
    for _ in range(2):
        admin, _ = _post(gql, {"query": query, "variables": variables}, tokens["admin"])
    assert admin["data"]["twin"]["managedBy"][0]["username"].startswith("viewer")
    viewer, outcomes = _post(gql, {"query": query, "variables": variables}, tokens["viewer"])
    assert outcomes == {"compiled": 0, "prepared": 0, "fallback": 1, "field_by_field": 0}
    anonymous, outcomes = _post(gql, {"query": query, "variables": variables}, None)
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED" and outcomes["prepared"] == 0
    settings = gql.http.app.state.services.get().settings  # type: ignore[attr-defined]
    settings.compiled_reads = False
    try:
        assert viewer == gql(query, variables, tokens["viewer"])
        assert anonymous == gql(query, variables, None)
    finally:
        settings.compiled_reads = True


def test_prepared_operations_are_counted_as_operations(gql: GraphQLClient, tokens: dict[str, str], grid: str) -> None:
    from api.metrics import OPERATIONS

    query = f'{{ twin(id: "{grid}-line-3") {{ id }} }}'
    counter = OPERATIONS.labels("query", "twin", "OK")
    before = counter._value.get()
    for _ in range(3):
        gql.data(query, {}, tokens["analyst"])
    assert counter._value.get() - before == 3
