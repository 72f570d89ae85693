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
                    {"name": f"{tag}-{k}", "length": length, **({"ampacity": 200.0} if k else {})})
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
