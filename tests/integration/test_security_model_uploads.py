"""A model upload can never break the schema or the next start.

Before: an interface named like a built-in GraphQL type (``TelemetryPoint``, ``Generic`` whose
object type is ``GenericTwin``) was stored, the request answered "Unexpected error." and the
stored set no longer built a schema at start-up.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator

import neo4j
import pytest
from starlette.testclient import TestClient

from graph import models_store
from graph.errors import ModelError
from tests.integration.conftest import GraphQLClient

UPLOAD = "mutation($m: [JSON!]!) { uploadModels(models: $m) { id } }"


def _interface(dtmi: str, *contents: dict) -> dict:
    return {"@context": "dtmi:dtdl:context;3", "@id": dtmi, "@type": "Interface", "contents": list(contents)}


@pytest.fixture()
def namespace(neo4j_driver: neo4j.Driver) -> Iterator[str]:
    space = f"dtmi:sec{uuid.uuid4().hex[:8]}"
    yield space
    neo4j_driver.execute_query("MATCH (m:Model) WHERE m.dtmi STARTS WITH $p DETACH DELETE m", p=space + ":")


@pytest.mark.parametrize("name", ["TelemetryPoint", "Generic", "Query", "PageInfo", "UserAccount", "Health"])
def test_names_of_built_in_types_cannot_break_the_schema(gql: GraphQLClient, tokens: dict[str, str],
                                                         namespace: str, name: str) -> None:
    model = _interface(f"{namespace}:{name};1", {"@type": "Property", "name": "rating", "schema": "double"})
    body = gql(UPLOAD, {"m": [model]}, tokens["admin"])
    assert "errors" not in body, body
    schema = gql.data('{ __type(name: "Query") { fields { name } } }', token=tokens["admin"])
    assert {"twin", "telemetry"} <= {field["name"] for field in schema["__type"]["fields"]}
    point = gql.data('{ __type(name: "TelemetryPoint") { fields { name } } }', token=tokens["admin"])["__type"]
    assert {field["name"] for field in point["fields"]} == {"time", "values"}  # the built-in type is intact


def test_a_set_that_fails_the_check_stores_nothing(neo4j_driver: neo4j.Driver, namespace: str) -> None:
    dtmi = f"{namespace}:Refused;1"

    def refuse(_: object) -> None:
        raise ModelError("the models cannot be served as a GraphQL schema")

    with pytest.raises(ModelError):
        models_store.upload_models(neo4j_driver, [_interface(dtmi)], check=refuse)
    records, _, _ = neo4j_driver.execute_query("MATCH (m:Model {dtmi: $d}) RETURN count(m) AS n", d=dtmi)
    assert records[0]["n"] == 0


def test_the_upload_check_is_the_real_schema_build(gql: GraphQLClient, tokens: dict[str, str],
                                                   namespace: str) -> None:
    """The API's check builds the GraphQL schema of the candidate set: what it refuses is never stored."""
    registry = gql.http.app.state.services.get().registry  # type: ignore[attr-defined]
    built: list[object] = []
    original = registry.build
    registry.build = lambda models: built.append(models) or original(models)
    try:
        gql.data(UPLOAD, {"m": [_interface(f"{namespace}:Checked;1")]}, tokens["admin"])
    finally:
        registry.build = original
    assert built and f"{namespace}:Checked;1" in built[0].interfaces  # type: ignore[attr-defined]


def test_start_up_survives_a_stored_set_that_cannot_build(api_settings: object, neo4j_driver: neo4j.Driver,
                                                          namespace: str, caplog: pytest.LogCaptureFixture) -> None:
    from api.app import create_app

    broken = {"@context": "dtmi:dtdl:context;3", "@id": f"{namespace}:Broken;1", "@type": "Interface",
              "extends": f"{namespace}:Missing;1"}
    neo4j_driver.execute_query("CREATE (:Model {dtmi: $d, json: $j, label: 'Broken'})", d=broken["@id"],
                               j=json.dumps(broken))
    with caplog.at_level(logging.ERROR), TestClient(create_app(api_settings)) as client:  # type: ignore[arg-type]
        assert client.get("/healthz").status_code == 200
        body = client.post("/graphql", json={"query": "{ health { version } }"}).json()
        assert "errors" not in body, body
    assert any("shipped models only" in record.getMessage() for record in caplog.records)
