"""Relationship filters in typed filters (``feedsTo: {some|none|all|single: TwinWhere}``), on the real servers.

The graph (``<tag>-`` prefixes left out): substation ``s1`` feedsTo lines ``a`` (faulted), ``b`` and ``c``
(in service); ``s2`` feedsTo ``c`` only; ``s3`` feeds nothing; line ``b`` feedsTo line ``d`` (maintenance);
line ``a`` is managedBy the user ``<tag>-u`` (an account: hidden from non-admins).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import neo4j
import pytest

from graph.bulk import RelationshipRow, TwinRow, bulk_create_relationships, bulk_create_twins, bulk_delete_twins
from graph.models_store import load_model_set
from graph.search import MAX_RELATED_DEPTH
from tests.integration.conftest import GraphQLClient

LINES = {"a": "faulted", "b": "inService", "c": "inService", "d": "maintenance"}
FEEDS = (("s1", "a"), ("s1", "b"), ("s1", "c"), ("s2", "c"), ("b", "d"))

SUBSTATIONS = """query($tag: String!, $feeds: TwinRelationshipFilter!) {
  twins(filter: {substation: {name: {startsWith: $tag}, feedsTo: $feeds}}, orderBy: [{property: "name"}]) {
    edges { node { id } } } }"""


@pytest.fixture(scope="module")
def tag(neo4j_driver: neo4j.Driver, gql: GraphQLClient, tokens: dict[str, str]) -> Iterator[str]:
    tag = f"rf-{uuid.uuid4().hex[:8]}"
    models = load_model_set(neo4j_driver)
    rows = [TwinRow(f"{tag}-{key}", "dtmi:gridtwin:Substation;1", {"name": f"{tag}-{key}"}) for key in ("s1", "s2", "s3")]
    rows += [TwinRow(f"{tag}-{key}", "dtmi:gridtwin:Line;1", {"name": f"{tag}-{key}", "status": status})
             for key, status in LINES.items()]
    bulk_create_twins(neo4j_driver, models, rows)
    user = gql.data("mutation($u: String!) { createUser(username: $u, password: \"pw-long-enough-1\", role: operator) "
                    "{ id } }", {"u": f"{tag}-u"}, tokens["admin"])["createUser"]["id"]
    bulk_create_relationships(neo4j_driver, models, [
        *(RelationshipRow(f"{tag}-{source}", "feedsTo", f"{tag}-{target}") for source, target in FEEDS),
        RelationshipRow(f"{tag}-a", "managedBy", user)])
    yield tag
    bulk_delete_twins(neo4j_driver, [row.id for row in rows])
    neo4j_driver.execute_query("MATCH (u:Twin {id: $id}) OPTIONAL MATCH (u)-[:HAS_CREDENTIAL]->(c) DETACH DELETE u, c",
                               id=user)


def _substations(gql: GraphQLClient, token: str, tag: str, feeds: dict) -> list[str]:
    edges = gql.data(SUBSTATIONS, {"tag": tag, "feeds": feeds}, token)["twins"]["edges"]
    return [edge["node"]["id"].removeprefix(f"{tag}-") for edge in edges]


def test_each_quantifier_selects_by_the_related_twins(gql: GraphQLClient, tokens: dict[str, str], tag: str) -> None:
    faulted = {"line": {"status": {"eq": "faulted"}}}
    in_service = {"line": {"status": {"eq": "inService"}}}
    viewer = tokens["viewer"]
    assert _substations(gql, viewer, tag, {"some": faulted}) == ["s1"]
    assert _substations(gql, viewer, tag, {"none": faulted}) == ["s2", "s3"]
    assert _substations(gql, viewer, tag, {"all": in_service}) == ["s2", "s3"]  # s3 has none: all hold
    assert _substations(gql, viewer, tag, {"single": in_service}) == ["s2"]  # s1 has two
    assert _substations(gql, viewer, tag, {"some": in_service, "none": faulted}) == ["s2"]  # both must hold


def test_the_related_twins_model_is_part_of_the_filter(gql: GraphQLClient, tokens: dict[str, str], tag: str) -> None:
    """IS_OF_MODEL: a line is-a GridComponent; no line is-a PowerTransformer."""
    assert _substations(gql, tokens["viewer"], tag, {"some": {"gridComponent": {}}}) == ["s1", "s2"]
    assert _substations(gql, tokens["viewer"], tag, {"some": {"powerTransformer": {}}}) == []


def test_inverse_and_nested_relationship_filters(gql: GraphQLClient, tokens: dict[str, str], tag: str) -> None:
    fed_by_s2 = """query($tag: String!, $s: String!) { twins(filter: {line: {name: {startsWith: $tag},
        fedBy: {some: {substation: {name: {eq: $s}}}}}}) { edges { node { id } } } }"""
    edges = gql.data(fed_by_s2, {"tag": tag, "s": f"{tag}-s2"}, tokens["viewer"])["twins"]["edges"]
    assert [edge["node"]["id"] for edge in edges] == [f"{tag}-c"]
    two_down = {"some": {"line": {"feedsTo": {"some": {"line": {"status": {"eq": "maintenance"}}}}}}}
    assert _substations(gql, tokens["viewer"], tag, two_down) == ["s1"]  # s1 -> b -> d


def test_accounts_hidden_from_the_caller_do_not_count(gql: GraphQLClient, tokens: dict[str, str], tag: str) -> None:
    query = """query($tag: String!, $u: String!) { twins(filter: {line: {name: {startsWith: $tag},
        managedBy: {some: {user: {username: {eq: $u}}}}}}) { totalCount } }"""
    variables = {"tag": tag, "u": f"{tag}-u"}
    assert gql.data(query, variables, tokens["admin"])["twins"]["totalCount"] == 1
    assert gql.data(query, variables, tokens["viewer"])["twins"]["totalCount"] == 0  # no probing of accounts
    unmanaged = query.replace("some", "none").replace("totalCount", "edges { node { id } }")
    found = gql.data(unmanaged, variables, tokens["viewer"])["twins"]["edges"]
    assert len(found) == len(LINES)  # for a viewer no line has a visible manager


def test_too_deep_a_nesting_is_refused_with_where(gql: GraphQLClient, tokens: dict[str, str], tag: str) -> None:
    deepest: dict = {"line": {}}
    for _ in range(MAX_RELATED_DEPTH + 1):
        deepest = {"line": {"feedsTo": {"some": deepest}}}
    body = gql("query($f: TwinWhere!) { twins(filter: $f) { totalCount } }", {"f": deepest}, tokens["viewer"])
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    pointer = error["extensions"]["problems"][0]["pointer"]
    assert pointer.startswith("/filter") and pointer.count("/some") == MAX_RELATED_DEPTH
    assert "nest at most" in error["extensions"]["problems"][0]["message"]
