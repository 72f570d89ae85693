"""The docs' examples run as written on the real servers with the demo feeder loaded.

Every GraphQL query and mutation of docs/ runs verbatim, in document order, as an admin (the
grid imports and deletes, the twin, user and model life cycle, the demo feeder's reads), and
must answer without errors and with no null top-level answer (a null twin is an example naming a
twin that does not exist). What needs more than these servers hold, namely what `make demo` adds
(its imported simbench grids, trained models, background loops), is listed in NEEDS_THE_DEMO with
the reason: those operations, and every subscription, run against `gridtwin demo` itself in
test_doc_examples_on_the_demo.py. The Flux and Cypher examples run on InfluxDB and
Neo4j (Cypher with CYPHER_PARAMETERS, read-only); they must run without errors, whether or not
the test data gives them rows.
"""

from __future__ import annotations

from collections.abc import Iterator

import neo4j
import pytest
from influxdb_client import InfluxDBClient

from graph.bulk import bulk_delete_twins
from gridtwin.config import Settings
from tests.doc_examples import Operation, examples, graphql_operations
from tests.integration.conftest import TEST_ADMIN_PASSWORD, GraphQLClient

#: First field of an operation -> why it does not run on the test servers (it runs on `make demo`).
NEEDS_THE_DEMO = {
    "startSimulation": "simulates the demo's imported LV grid (1-LV-semiurb4--0-sw)",
    "simulation": "needs a run id from startSimulation",
    "forecastLoad": "needs the demo's trained load forecast and its imported MV grid",
    "runInference": "needs the demo's trained models and the points attached to the LV grid",
    "setContinuousInference": "starts a background loop that outlives the request",
    "invokeCommand": "operates the LV grid's switch, simulates and infers as above",
    "createEventRoute": "routes live on the broker, which the demo joins (the test API runs without one)",
    "eventRoutes": "as createEventRoute",
    "eventRoute": "as createEventRoute",
    "deleteEventRoute": "as createEventRoute",
}
#: Variables of the examples that declare them.
VARIABLES = {"password": TEST_ADMIN_PASSWORD,
             "models": [{"@context": "dtmi:dtdl:context;3", "@id": "dtmi:example:Kiosk;1", "@type": "Interface",
                         "contents": []}]}
#: Answers that may be empty or null on the test servers: data only while `make demo` streams and infers
#: (continuousInference is null while no loop runs).
MAY_BE_EMPTY = {"telemetry", "telemetryBelow", "latestTelemetry", "simulations", "mlModels", "latestPredictions",
                "continuousInference"}

OPERATIONS = [op for op in graphql_operations() if op.kind != "subscription"]


@pytest.fixture(scope="module")
def documented(demo_feeder: None, neo4j_driver: neo4j.Driver) -> Iterator[None]:
    """The demo feeder, and afterwards no trace of what the examples make."""
    yield
    bulk_delete_twins(neo4j_driver, ["t1", "t2"])
    # what the examples make and remove again, should a run stop between the two
    neo4j_driver.execute_query("MATCH (u:Twin {username: 'olga'}) OPTIONAL MATCH (u)-[:HAS_CREDENTIAL]->(c) "
                               "DETACH DELETE u, c")
    neo4j_driver.execute_query("MATCH (m:Model {dtmi: 'dtmi:example:Kiosk;1'}) DETACH DELETE m")
    for grid in ("case33bw", "ieee13"):
        neo4j_driver.execute_query("MATCH (t:Twin {gridId: $g}) DETACH DELETE t", g=grid)
        neo4j_driver.execute_query("MATCH (t:Twin {id: $g}) DETACH DELETE t", g=grid)


@pytest.fixture(scope="module")
def docs_admin(gql: GraphQLClient, api_settings: Settings, documented: None) -> str:
    """A session of its own: the examples end with logout."""
    login = 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }'
    return str(gql.data(login, {"u": api_settings.admin_username, "p": TEST_ADMIN_PASSWORD})["login"]["token"])


def test_the_examples_that_need_the_demo_are_few_and_named() -> None:
    names = {op.first_field for op in graphql_operations()}
    assert set(NEEDS_THE_DEMO) <= names  # a renamed example cannot hide here
    assert len([op for op in OPERATIONS if op.first_field not in NEEDS_THE_DEMO]) >= 30


def test_every_query_and_mutation_runs_as_written(gql: GraphQLClient, docs_admin: str) -> None:
    failures = []
    for operation in OPERATIONS:
        if operation.first_field in NEEDS_THE_DEMO:
            continue
        body = gql(operation.text, {name: VARIABLES[name] for name in operation.variables}, docs_admin)
        problem = answer_problem(operation, body)
        if problem:
            failures.append(f"{operation.where} {operation.first_field}: {problem}")
    assert failures == []


def answer_problem(operation: Operation, body: dict, may_be_empty: set[str] | frozenset[str] = frozenset()) -> str | None:
    """What is wrong with an example's answer: an error, or an empty answer where data was due."""
    if "errors" in body:
        return str([error["message"] for error in body["errors"]])
    for field, value in (body.get("data") or {}).items():
        if (value is None or value == []) and field not in MAY_BE_EMPTY | may_be_empty:
            return f"{field} answered {value!r}"
    return None


def test_the_flux_examples_run_on_influxdb(influx_client: InfluxDBClient, settings: Settings,
                                           gql: GraphQLClient, docs_admin: str) -> None:
    flux = examples("flux")
    assert len(flux) >= 3
    query_api = influx_client.query_api()
    failures = []
    for example in flux:
        try:
            query_api.query(example.text, org=settings.influxdb_org)
        except Exception as error:  # the client raises ApiException with Flux's own message
            failures.append(f"{example.where}: {error}")
    assert failures == []


#: Parameters of the Cypher examples, with values of the demo feeder and the imported IEEE 13 feeder.
CYPHER_PARAMETERS = {"name": "Parkstraat 20/0.4 kV", "id": "demo-tr-f1-parkstraat", "username": "admin",
                     "trafo": "demo-tr-f1-parkstraat", "bus": "ieee13/bus/650", "grid": "ieee13"}


def test_the_cypher_examples_run_on_neo4j(neo4j_driver: neo4j.Driver, documented: None) -> None:
    statements = [(example.where, statement.strip()) for example in examples("cypher")
                  for statement in example.text.split(";\n") if statement.strip()]
    assert len(statements) >= 15
    failures = []
    for where, statement in statements:
        try:
            neo4j_driver.execute_query(statement, CYPHER_PARAMETERS, routing_=neo4j.RoutingControl.READ)
        except neo4j.exceptions.Neo4jError as error:
            failures.append(f"{where}: {error.message}")
    assert failures == []
