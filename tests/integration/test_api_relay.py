"""Relay's conventions the schema follows: ``node(id)`` for every twin type, and an introspected schema that validates."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import neo4j
import pytest
from graphql import build_client_schema, get_introspection_query, validate_schema

from graph.bulk import TwinRow, bulk_create_twins, bulk_delete_twins
from graph.models_store import load_model_set
from tests.integration.conftest import GraphQLClient

NODE = "query($id: ID!) { node(id: $id) { id __typename ... on Twin { model } } }"


@pytest.fixture()
def twins_of_every_model(neo4j_driver: neo4j.Driver) -> Iterator[dict[str, str]]:
    """One twin of every twin model but accounts (id -> DTMI)."""
    models = load_model_set(neo4j_driver)
    tag = uuid.uuid4().hex[:8]
    dtmis = [dtmi for dtmi in models.interfaces if not dtmi.startswith("dtmi:gridtwin:User;")]
    rows = [TwinRow(f"relay-{tag}-{k}", dtmi, {}) for k, dtmi in enumerate(dtmis)]
    bulk_create_twins(neo4j_driver, models, rows)
    yield {row.id: row.model for row in rows}
    bulk_delete_twins(neo4j_driver, [row.id for row in rows])


def test_node_fetches_every_twin_type_again_by_its_id(gql: GraphQLClient, tokens: dict[str, str],
                                                      twins_of_every_model: dict[str, str]) -> None:
    assert len(twins_of_every_model) > 10
    for twin_id, dtmi in twins_of_every_model.items():
        node = gql.data(NODE, {"id": twin_id}, tokens["viewer"])["node"]
        twin = gql.data("query($id: ID!) { twin(id: $id) { __typename } }", {"id": twin_id}, tokens["viewer"])["twin"]
        assert node["id"] == twin_id and node["model"] == dtmi and node["__typename"] == twin["__typename"]
    assert gql.data(NODE, {"id": "no-such-twin"}, tokens["viewer"])["node"] is None


def test_node_needs_the_right_to_read_twins(gql: GraphQLClient) -> None:
    body = gql(NODE, {"id": "anything"})
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_the_introspected_schema_validates_and_names_relays_types(gql: GraphQLClient, tokens: dict[str, str]) -> None:
    schema = build_client_schema(gql.data(get_introspection_query(), None, tokens["viewer"]))
    assert validate_schema(schema) == []
    node, page_info = schema.get_type("Node"), schema.get_type("PageInfo")
    assert node is not None and set(node.fields) == {"id"}  # type: ignore[union-attr]
    assert {"hasNextPage", "hasPreviousPage", "startCursor", "endCursor"} <= set(page_info.fields)  # type: ignore[union-attr]
    twin_types = [t for t in schema.type_map.values() if hasattr(t, "interfaces")
                  and any(i.name == "Twin" for i in t.interfaces)]
    assert twin_types and all(any(i.name == "Node" for i in t.interfaces) for t in twin_types)


def test_node_hides_accounts_as_twin_does(gql: GraphQLClient, tokens: dict[str, str], api_settings) -> None:
    from graph.accounts import account_twin_id

    admin = account_twin_id(api_settings.admin_username)
    assert gql.data(NODE, {"id": admin}, tokens["viewer"])["node"] is None
    assert gql.data(NODE, {"id": admin}, tokens["admin"])["node"]["id"] == admin


def test_dtdl_enums_are_graphql_enums_and_answer_the_stored_value(gql: GraphQLClient, tokens: dict[str, str],
                                                                   neo4j_driver: neo4j.Driver) -> None:
    models = load_model_set(neo4j_driver)
    twin_id = f"enum-{uuid.uuid4().hex[:8]}"
    bulk_create_twins(neo4j_driver, models, [TwinRow(twin_id, "dtmi:gridtwin:Load;1",
                                                     {"status": "maintenance", "loadClass": "publicLighting"})])
    try:
        kinds = gql.data('{ __type(name: "LoadLoadClass") { kind enumValues { name } } }', {}, tokens["viewer"])
        assert kinds["__type"]["kind"] == "ENUM"
        assert [v["name"] for v in kinds["__type"]["enumValues"]] == ["residential", "commercial", "industrial",
                                                                       "agricultural", "publicLighting"]
        twin = gql.data("query($id: ID!) { twin(id: $id) { ... on Load { status loadClass } } }", {"id": twin_id},
                        tokens["viewer"])["twin"]
        assert twin == {"status": "maintenance", "loadClass": "publicLighting"}
        found = gql.data('{ twins(model: "Load", where: [{property: "loadClass", op: eq, value: "publicLighting"}]) '
                         '{ edges { node { id } } } }', {}, tokens["viewer"])["twins"]["edges"]
        assert {"node": {"id": twin_id}} in found
    finally:
        bulk_delete_twins(neo4j_driver, [twin_id])


def test_dtdl_objects_and_components_are_object_types_over_the_stored_values(
        gql: GraphQLClient, tokens: dict[str, str], neo4j_driver: neo4j.Driver) -> None:
    models = load_model_set(neo4j_driver)
    tag = uuid.uuid4().hex[:8]
    load_id, point_id = f"located-{tag}", f"engine-{tag}"
    bulk_create_twins(neo4j_driver, models, [
        TwinRow(load_id, "dtmi:gridtwin:Load;1", {"location": {"latitude": 52.52, "longitude": 13.40}}),
        TwinRow(point_id, "dtmi:gridtwin:GridMeasurementPoint;1",
                {"mlEngine": {"$metadata": {}, "modelsPerModule": {"monitoring": 4}}})])
    try:
        location = gql.data('{ __type(name: "GridComponentLocation") { kind fields { name type { name } } } }', {},
                            tokens["viewer"])["__type"]
        assert location["kind"] == "OBJECT"
        assert {(f["name"], f["type"]["name"]) for f in location["fields"]} == {
            ("latitude", "Float"), ("longitude", "Float"), ("address", "String")}
        query = ("query($load: ID!, $point: ID!) { load: twin(id: $load) { ... on Load { location { latitude address } } }"
                 " point: twin(id: $point) { ... on GridMeasurementPoint { mlEngine { modelsPerModule } } } }")
        found = gql.data(query, {"load": load_id, "point": point_id}, tokens["viewer"])
        assert found["load"] == {"location": {"latitude": 52.52, "address": None}}
        assert found["point"] == {"mlEngine": {"modelsPerModule": {"monitoring": 4}}}
    finally:
        bulk_delete_twins(neo4j_driver, [load_id, point_id])
