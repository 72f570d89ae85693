"""Issue acceptance, end to end over GraphQL on the real servers: models, twins, topology, ETags, roles."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest

from ontology import MODELS_DIR
from tests.integration.conftest import TEST_ADMIN_PASSWORD, GraphQLClient

GT = "dtmi:gridtwin:"


@pytest.fixture()
def prefix(gql: GraphQLClient, tokens: dict[str, str]) -> Iterator[str]:
    prefix = f"e2e-{uuid.uuid4().hex[:8]}-"
    yield prefix
    found = gql.data('{ cypher(query: "MATCH (t:Twin) WHERE t.id STARTS WITH $p RETURN t.id AS id", '
                     'params: {p: "' + prefix + '"}) { rows } }', token=tokens["admin"])
    for row in found["cypher"]["rows"]:
        gql.data("mutation($id: ID!) { deleteTwin(id: $id, cascade: true) }", {"id": row["id"]}, tokens["admin"])


def test_operator_story(gql: GraphQLClient, api_settings: object, prefix: str, tokens: dict[str, str]) -> None:
    login = gql.data('mutation($p: String!) { login(username: "admin", password: $p) { token role } }',
                     {"p": TEST_ADMIN_PASSWORD})["login"]
    assert login["role"] == "admin"
    admin = login["token"]

    documents = [json.loads(path.read_text()) for path in sorted(MODELS_DIR.glob("*.json"))]
    gql.data("mutation($m: [JSON!]!) { uploadModels(models: $m) { id } }", {"m": documents}, admin)
    stored = gql.data("{ models { id } }", token=admin)["models"]
    assert {f"{GT}Substation;1", f"{GT}GridMeasurementPoint;1"} <= {model["id"] for model in stored}

    create = "mutation($id: ID!, $m: String!, $p: JSON) { createTwin(id: $id, model: $m, properties: $p) { id etag } }"
    gql.data(create, {"id": prefix + "sub", "m": f"{GT}Substation;1", "p": {"name": "Riverside", "status": "inService"}},
             admin)
    gql.data(create, {"id": prefix + "tr", "m": f"{GT}PowerTransformer;2", "p": {"name": "T1"}}, admin)
    for point in ("mp1", "mp2"):
        gql.data(create, {"id": prefix + point, "m": f"{GT}GridMeasurementPoint;1", "p": {"isSimulation": False}}, admin)
    link = "mutation($s: ID!, $t: ID!) { createRelationship(source: $s, name: \"feedsTo\", target: $t) { id } }"
    for source, target in (("sub", "tr"), ("tr", "mp1"), ("tr", "mp2")):
        gql.data(link, {"s": prefix + source, "t": prefix + target}, admin)

    trace = gql.data("""query($id: ID!) { downstream(id: $id) { depth twin { id __typename
                        ... on GridMeasurementPoint { isSimulation } ... on PowerTransformer { name } } } }""",
                     {"id": prefix + "sub"}, admin)["downstream"]
    by_id = {step["twin"]["id"]: step for step in trace}
    assert set(by_id) == {prefix + "tr", prefix + "mp1", prefix + "mp2"}
    assert by_id[prefix + "mp1"]["twin"]["__typename"] == "GridMeasurementPointTwin"
    assert by_id[prefix + "mp1"]["depth"] == 2 and by_id[prefix + "mp1"]["twin"]["isSimulation"] is False
    assert by_id[prefix + "tr"]["twin"] == {"id": prefix + "tr", "__typename": "PowerTransformerTwin", "name": "T1"}

    current = gql.data("query($id: ID!) { twin(id: $id) { etag } }", {"id": prefix + "tr"}, admin)["twin"]["etag"]
    update = ("mutation($id: ID!, $e: String) { updateTwin(id: $id, ifMatch: $e, patch: "
              "[{op: \"replace\", path: \"/name\", value: \"T1-renamed\"}]) { etag ... on PowerTransformer { name } } }")
    stale = gql(update, {"id": prefix + "tr", "e": 'W/"stale"'}, admin)
    assert stale["errors"][0]["extensions"]["code"] == "PRECONDITION_FAILED"
    unchanged = gql.data("query($id: ID!) { twin(id: $id) { etag ... on PowerTransformer { name } } }",
                         {"id": prefix + "tr"}, admin)["twin"]
    assert unchanged == {"etag": current, "name": "T1"}
    fresh = gql.data(update, {"id": prefix + "tr", "e": current}, admin)["updateTwin"]
    assert fresh["name"] == "T1-renamed" and fresh["etag"] != current

    refused = gql(create, {"id": prefix + "viewer", "m": f"{GT}Substation;1", "p": {}}, tokens["viewer"])
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert gql.data("query($id: ID!) { twin(id: $id) { id } }", {"id": prefix + "viewer"}, admin)["twin"] is None


def test_fed_by_is_the_inverse_view(gql: GraphQLClient, prefix: str, tokens: dict[str, str]) -> None:
    admin = tokens["admin"]
    create = "mutation($id: ID!, $m: String!) { createTwin(id: $id, model: $m) { id } }"
    gql.data(create, {"id": prefix + "a", "m": f"{GT}Substation;1"}, admin)
    gql.data(create, {"id": prefix + "b", "m": f"{GT}Line;1"}, admin)
    gql.data('mutation($s: ID!, $t: ID!) { createRelationship(source: $s, name: "feedsTo", target: $t) { id } }',
             {"s": prefix + "a", "t": prefix + "b"}, admin)
    line = gql.data("query($id: ID!) { twin(id: $id) { ... on Line { fedBy { id } } } }", {"id": prefix + "b"},
                    admin)["twin"]
    assert line == {"fedBy": [{"id": prefix + "a"}]}
    view = gql.data('query($id: ID!) { relationships(twinId: $id, name: "fedBy") { sourceId targetId name } }',
                    {"id": prefix + "b"}, admin)["relationships"]
    assert view == [{"sourceId": prefix + "a", "targetId": prefix + "b", "name": "feedsTo"}]


def test_bad_input_names_the_field(gql: GraphQLClient, prefix: str, tokens: dict[str, str]) -> None:
    body = gql('mutation($id: ID!) { createTwin(id: $id, model: "dtmi:gridtwin:Substation;1", '
               'properties: {bayCount: "many", nope: 1}) { id } }', {"id": prefix + "bad"}, tokens["operator"])
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    pointers = {problem["pointer"] for problem in error["extensions"]["problems"]}
    assert {"/bayCount", "/nope"} <= pointers
    assert "Traceback" not in json.dumps(body) and "MATCH" not in json.dumps(body)
