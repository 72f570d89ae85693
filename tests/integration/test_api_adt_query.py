"""adtQuery on the real Neo4j: ADT's common query forms answer what ADT would."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import neo4j
import pytest

from graph.bulk import RelationshipRow, TwinRow, bulk_create_relationships, bulk_create_twins, bulk_delete_twins
from graph.models_store import load_model_set
from tests.integration.conftest import GraphQLClient

QUERY = "query($q: String!) { adtQuery(query: $q) { value } }"


@pytest.fixture()
def feeder(neo4j_driver: neo4j.Driver) -> Iterator[str]:
    """``<tag>-s`` feedsTo the lines ``<tag>-l1`` and ``<tag>-l2`` and the load ``<tag>-load``."""
    tag = f"adtq-{uuid.uuid4().hex[:8]}"
    models = load_model_set(neo4j_driver)
    bulk_create_twins(neo4j_driver, models, [
        TwinRow(f"{tag}-s", "dtmi:gridtwin:Substation;1", {"name": "Riverside"}),
        TwinRow(f"{tag}-l1", "dtmi:gridtwin:Line;1", {"name": "L1", "length": 1.5}),
        TwinRow(f"{tag}-l2", "dtmi:gridtwin:Line;1", {"name": "L2"}),
        TwinRow(f"{tag}-load", "dtmi:gridtwin:Load;1", {"name": "Bakery"})])
    bulk_create_relationships(neo4j_driver, models, [
        RelationshipRow(f"{tag}-s", "feedsTo", f"{tag}-{end}", id=f"{tag}-r-{end}") for end in ("l1", "l2", "load")])
    yield tag
    bulk_delete_twins(neo4j_driver, [f"{tag}-{key}" for key in ("s", "l1", "l2", "load")])


def _value(gql: GraphQLClient, token: str, query: str) -> list:
    return gql.data(QUERY, {"q": query}, token)["adtQuery"]["value"]


def test_the_common_forms_answer_as_adt_does(gql: GraphQLClient, tokens: dict[str, str], feeder: str) -> None:
    viewer = tokens["viewer"]
    [station] = _value(gql, viewer, f"SELECT * FROM DIGITALTWINS WHERE $dtId = '{feeder}-s'")
    assert station["$dtId"] == f"{feeder}-s" and station["name"] == "Riverside"
    assert station["$metadata"]["$model"] == "dtmi:gridtwin:Substation;1" and station["$etag"].startswith("W/")
    lines = _value(gql, viewer, f"SELECT CT FROM DIGITALTWINS T JOIN CT RELATED T.feedsTo "
                                f"WHERE T.$dtId = '{feeder}-s' AND IS_OF_MODEL(CT, 'dtmi:gridtwin:Line;1')")
    assert sorted(row["CT"]["$dtId"] for row in lines) == [f"{feeder}-l1", f"{feeder}-l2"]
    grid_components = _value(gql, viewer, f"SELECT COUNT() FROM DIGITALTWINS WHERE STARTSWITH($dtId, '{feeder}') "
                                          "AND IS_OF_MODEL('dtmi:gridtwin:GridComponent;1')")
    exact = _value(gql, viewer, f"SELECT COUNT() FROM DIGITALTWINS WHERE STARTSWITH($dtId, '{feeder}') "
                                "AND IS_OF_MODEL('dtmi:gridtwin:GridComponent;1', exact)")
    assert grid_components == [{"COUNT": 4}] and exact == [{"COUNT": 0}]
    projected = _value(gql, viewer, f"SELECT T.name, T.length FROM DIGITALTWINS T WHERE STARTSWITH(T.$dtId, "
                                    f"'{feeder}-l') AND IS_OF_MODEL(T, 'dtmi:gridtwin:Line;1') "
                                    "AND (T.length > 1 OR NOT IS_DEFINED(T.length))")
    assert sorted(projected, key=lambda row: row["name"]) == [{"name": "L1", "length": 1.5}, {"name": "L2"}]


def test_a_relationship_collection_is_projected_as_adt_documents_it(gql: GraphQLClient, tokens: dict[str, str],
                                                                     feeder: str) -> None:
    rows = _value(gql, tokens["viewer"], f"SELECT R FROM DIGITALTWINS T JOIN CT RELATED T.feedsTo R "
                                         f"WHERE T.$dtId = '{feeder}-s' AND CT.name IN ['Bakery']")
    assert rows == [{"R": {"$relationshipId": f"{feeder}-r-load", "$etag": rows[0]["R"]["$etag"],
                           "$sourceId": f"{feeder}-s", "$targetId": f"{feeder}-load", "$relationshipName": "feedsTo"}}]


def test_accounts_and_bad_queries(gql: GraphQLClient, tokens: dict[str, str]) -> None:
    accounts = "SELECT COUNT() FROM DIGITALTWINS WHERE IS_OF_MODEL('dtmi:gridtwin:User;1')"
    assert _value(gql, tokens["viewer"], accounts) == [{"COUNT": 0}]
    assert _value(gql, tokens["admin"], accounts)[0]["COUNT"] >= 4
    body = gql(QUERY, {"q": "SELECT * FROM DIGITALTWINS WHERE colour = 'red'"}, tokens["viewer"])
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["problems"] == [{"pointer": "/query", "message": "colour: 'colour' is not a property "
                                                                               "of any model (object fields by dotted path)"}]
