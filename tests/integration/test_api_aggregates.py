"""twinsAggregate: typed per-model aggregates over the twins connection's own filters, on the real servers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import neo4j
import pytest

from graph.bulk import TwinRow, bulk_create_twins, bulk_delete_twins
from graph.models_store import load_model_set
from tests.integration.conftest import GraphQLClient

LENGTHS = (0.25, 1.5, 4.0, 0.75)
STATUSES = ("inService", "maintenance", "faulted", "inService")

AGGREGATE = """query($tag: JSON!) {
  twinsAggregate(model: "Line", where: [{property: "name", op: startsWith, value: $tag}]) {
    __typename count model
    ... on LineAggregate { length { min max average sum count } ...names }
  }
  twins(model: "Line", where: [{property: "name", op: startsWith, value: $tag}]) { totalCount }
}
fragment names on LineAggregate { name { min max count } ampacity { count } }"""


@pytest.fixture()
def lines(neo4j_driver: neo4j.Driver) -> Iterator[str]:
    """Four lines named ``<tag>-k`` with LENGTHS (one without an ampacity), and one line of another tag."""
    tag = f"agg-{uuid.uuid4().hex[:8]}"
    models = load_model_set(neo4j_driver)
    rows = [TwinRow(f"{tag}-{k}", "dtmi:gridtwin:Line;1",
                    {"name": f"{tag}-{k}", "length": length, "status": STATUSES[k], **({"ampacity": 200.0} if k else {})})
            for k, length in enumerate(LENGTHS)]
    rows.append(TwinRow(f"other-{tag}", "dtmi:gridtwin:Line;1", {"name": f"other-{tag}", "length": 99.0}))
    bulk_create_twins(neo4j_driver, models, rows)
    yield tag
    bulk_delete_twins(neo4j_driver, [row.id for row in rows])


def test_aggregates_of_a_filtered_set_match_the_stored_values(gql: GraphQLClient, tokens: dict[str, str],
                                                              lines: str) -> None:
    data = gql.data(AGGREGATE, {"tag": lines}, tokens["viewer"])
    found = data["twinsAggregate"]
    assert found["__typename"] == "LineAggregate" and found["model"] == "dtmi:gridtwin:Line;1"
    assert found["count"] == len(LENGTHS) == data["twins"]["totalCount"]
    assert found["length"] == {"min": min(LENGTHS), "max": max(LENGTHS), "average": pytest.approx(sum(LENGTHS) / 4),
                               "sum": pytest.approx(sum(LENGTHS)), "count": 4}
    assert found["name"] == {"min": f"{lines}-0", "max": f"{lines}-3", "count": 4}
    assert found["ampacity"] == {"count": 3}


def test_an_unknown_model_or_property_is_refused_with_where(gql: GraphQLClient, tokens: dict[str, str]) -> None:
    body = gql('{ twinsAggregate(model: "Lion") { count } }', None, tokens["viewer"])
    assert body["errors"][0]["extensions"]["code"] == "BAD_MODEL" and "Lion" in body["errors"][0]["message"]
    body = gql('{ twinsAggregate(model: "Line", where: [{property: "colour", value: 1}]) { count } }', None,
               tokens["viewer"])
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["problems"][0]["pointer"] == "/where/0/property"


def test_accounts_are_counted_only_for_those_who_may_see_them(gql: GraphQLClient, tokens: dict[str, str]) -> None:
    query = '{ twinsAggregate(model: "User") { count } }'
    assert gql.data(query, None, tokens["viewer"])["twinsAggregate"]["count"] == 0
    assert gql.data(query, None, tokens["admin"])["twinsAggregate"]["count"] >= 4  # admin + the three test roles
    assert gql(query, None, None)["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


TYPED = """query($tag: String!) { twins(filter: {line: {name: {startsWith: $tag}, length: {gte: 0.75},
                                                   status: {in: [inService, maintenance]}}}) {
    totalCount edges { node { id } } } }"""


def test_typed_filters_select_what_the_where_list_does(gql: GraphQLClient, tokens: dict[str, str], lines: str) -> None:
    typed = gql.data(TYPED, {"tag": lines}, tokens["viewer"])["twins"]
    listed = gql.data('query($tag: JSON!) { twins(model: "Line", where: [{property: "name", op: startsWith, value: $tag},'
                      ' {property: "length", op: gte, value: 0.75}, '
                      '{property: "status", op: in, value: ["inService", "maintenance"]}]) '
                      '{ totalCount edges { node { id } } } }', {"tag": lines}, tokens["viewer"])["twins"]
    assert typed == listed
    assert sorted(edge["node"]["id"] for edge in typed["edges"]) == [f"{lines}-1", f"{lines}-3"]


def test_a_typed_filter_names_one_model_and_agrees_with_model(gql: GraphQLClient, tokens: dict[str, str]) -> None:
    both = gql('{ twins(filter: {line: {length: {gt: 1}}, load: {name: {eq: "x"}}}) { totalCount } }', None,
               tokens["viewer"])
    assert "exactly one" in both["errors"][0]["message"].lower() or "oneof" in both["errors"][0]["message"].lower()
    other = gql('{ twins(model: "Substation", filter: {line: {length: {gt: 1}}}) { totalCount } }', None,
                tokens["viewer"])
    assert other["errors"][0]["extensions"]["problems"][0]["pointer"] == "/filter"
    assert gql.data('{ twins(model: "Line", filter: {line: {location: {address: {startsWith: "Park"}}}}) '
                    '{ totalCount } }', None, tokens["viewer"])["twins"]["totalCount"] >= 0


def test_typed_filters_combine_with_and_or_not(gql: GraphQLClient, tokens: dict[str, str], lines: str) -> None:
    query = """query($tag: String!) { twins(filter: {line: {name: {startsWith: $tag},
        or: [{length: {lt: 0.5}}, {length: {gt: 3}}], not: {status: {eq: faulted}}}}) { edges { node { id } } } }"""
    found = gql.data(query, {"tag": lines}, tokens["viewer"])["twins"]["edges"]
    assert [edge["node"]["id"] for edge in found] == [f"{lines}-0"]  # 4.0 km is long enough but faulted


def test_aggregates_take_the_typed_filter_of_twins(gql: GraphQLClient, tokens: dict[str, str], lines: str) -> None:
    """The same set by the typed filter (which names the model) as by the where list: the same aggregates."""
    typed = gql.data("""query($tag: String!) { twinsAggregate(filter: {line: {name: {startsWith: $tag},
        status: {in: [inService, maintenance]}}}) { count ... on LineAggregate { length { min max sum } } } }""",
                     {"tag": lines}, tokens["viewer"])["twinsAggregate"]
    listed = gql.data('query($tag: JSON!) { twinsAggregate(model: "Line", where: [{property: "name", op: startsWith, '
                      'value: $tag}, {property: "status", op: in, value: ["inService", "maintenance"]}]) '
                      '{ count ... on LineAggregate { length { min max sum } } } }', {"tag": lines},
                      tokens["viewer"])["twinsAggregate"]
    assert typed == listed and typed["count"] == 3  # the faulted line is left out by both
    assert typed["length"]["sum"] == pytest.approx(LENGTHS[0] + LENGTHS[1] + LENGTHS[3])
    body = gql("{ twinsAggregate { count } }", None, tokens["viewer"])
    assert body["errors"][0]["extensions"]["problems"][0]["pointer"] == "/model"
