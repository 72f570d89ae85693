"""Every operation with every role and with no token: allowed roles get past the guard, others are refused.

What each operation needs is read from the schema (the permission class on its field,
``api.permissions.permission_of``), not from a list kept here; this file only knows how to
call each operation harmlessly. The operations use ids that do not exist, so an allowed call
ends in a domain answer (null, NOT_FOUND, BAD_USER_INPUT...) and nothing is written.
"""

from __future__ import annotations

import pytest

from api.auth import PERMISSIONS
from api.permissions import permission_of
from tests.integration.conftest import GraphQLClient

ROLES = ("viewer", "analyst", "operator", "admin")
NOBODY = "rbac-no-such-twin"
#: A harmless call per root field; the expectation comes from the schema.
CALLS: dict[str, str] = {
    "health": "{ health { version } }",
    "me": "{ me { username } }",
    "users": "{ users { username } }",
    "twin": f'{{ twin(id: "{NOBODY}") {{ id }} }}',
    "node": f'{{ node(id: "{NOBODY}") {{ id }} }}',
    "twins": "{ twins(first: 1) { totalCount } }",
    "adtQuery": '{ adtQuery(query: "SELECT COUNT() FROM DIGITALTWINS") { value } }',
    "twinsAggregate": '{ twinsAggregate(model: "Line") { count } }',
    "relationships": f'{{ relationships(twinId: "{NOBODY}") {{ id }} }}',
    "downstream": f'{{ downstream(id: "{NOBODY}") {{ depth }} }}',
    "upstream": f'{{ upstream(id: "{NOBODY}") {{ depth }} }}',
    "path": f'{{ path(from: "{NOBODY}", to: "{NOBODY}-2") {{ depth }} }}',
    "sourceSubstations": f'{{ sourceSubstations(id: "{NOBODY}") {{ depth }} }}',
    "islands": "{ islands(minSize: 100000000) { key } }",
    "outageImpact": f'{{ outageImpact(id: ["{NOBODY}"]) {{ opened }} }}',
    "models": "{ models { id } }",
    "model": '{ model(id: "dtmi:gridtwin:Substation;1") { id } }',
    "cypher": '{ cypher(query: "RETURN 1 AS one") { rows } }',
    "login": 'mutation { login(username: "rbac-nobody", password: "rbac-wrong-password") { token } }',
    "logout": "mutation { logout }",
    "createTwin": f'mutation {{ createTwin(id: "{NOBODY}", model: "dtmi:nosuch:X;1") {{ id }} }}',
    "updateTwin": f'mutation {{ updateTwin(id: "{NOBODY}", patch: []) {{ id }} }}',
    "deleteTwin": f'mutation {{ deleteTwin(id: "{NOBODY}") }}',
    "createRelationship": (f'mutation {{ createRelationship(source: "{NOBODY}", name: "feedsTo", '
                           f'target: "{NOBODY}-2") {{ id }} }}'),
    "deleteRelationship": f'mutation {{ deleteRelationship(source: "{NOBODY}", id: "r") }}',
    "uploadModels": "mutation { uploadModels(models: []) { id } }",
    "decommissionModel": 'mutation { decommissionModel(id: "dtmi:nosuch:X;1") { id } }',
    "deleteModel": 'mutation { deleteModel(id: "dtmi:nosuch:X;1") }',
    "createUser": 'mutation { createUser(username: "!", password: "x", role: viewer) { id } }',
    "setUserRole": 'mutation { setUserRole(username: "rbac-nobody", role: viewer) { id } }',
    "setUserActive": 'mutation { setUserActive(username: "rbac-nobody", active: true) { id } }',
    "setUserPassword": 'mutation { setUserPassword(username: "rbac-nobody", password: "x") { id } }',
    "revokeSessions": 'mutation { revokeSessions(username: "rbac-nobody") { id } }',
    "deleteUser": 'mutation { deleteUser(username: "rbac-nobody") }',
    "grids": "{ grids { gridId } }",
    "exportGrid": '{ exportGrid(gridId: "rbac-no-grid", format: adt) }',
    "importGrid": 'mutation { importGrid(source: "nosuch:x") { gridId } }',
    "importGridFile": 'mutation { importGridFile(format: adt, content: "not an ndjson file") { gridId } }',
    "deleteGrid": 'mutation { deleteGrid(gridId: "rbac-no-grid") }',
    "telemetry": f'{{ telemetry(twinId: "{NOBODY}", name: "voltage") {{ time }} }}',
    "latestTelemetry": f'{{ latestTelemetry(twinIds: ["{NOBODY}"]) {{ name }} }}',
    "telemetryBelow": f'{{ telemetryBelow(twinId: "{NOBODY}", name: "voltage") {{ time }} }}',
    "ingestTelemetry": (f'mutation {{ ingestTelemetry(messages: [{{twinId: "{NOBODY}", timestamp: 0, values: {{}}}}]) '
                        '{ accepted } }'),
    "simulations": "{ simulations(first: 1) { id } }",
    "simulation": f'{{ simulation(id: "{NOBODY}") {{ id }} }}',
    "startSimulation": f'mutation {{ startSimulation(gridId: "{NOBODY}", scenarios: [{{kind: "normal"}}]) {{ id }} }}',
    "stopSimulation": f'mutation {{ stopSimulation(id: "{NOBODY}") }}',
    "generateReport": f'mutation {{ generateReport(twinId: "{NOBODY}") {{ url }} }}',
    "invokeCommand": f'mutation {{ invokeCommand(twinId: "{NOBODY}", command: "operate", payload: "open") }}',
    "mlModels": "{ mlModels { name } }",
    "forecastLoad": f'mutation {{ forecastLoad(gridId: "{NOBODY}") {{ gridId }} }}',
    "reloadMlModels": "mutation { reloadMlModels { name } }",
    "runInference": f'mutation {{ runInference(twinIds: ["{NOBODY}"]) {{ twinId }} }}',
    "latestPredictions": f'{{ latestPredictions(twinIds: ["{NOBODY}"]) {{ twinId }} }}',
    "continuousInference": "{ continuousInference { passes } }",
    "setContinuousInference": f'mutation {{ setContinuousInference(twinIds: ["{NOBODY}"]) {{ passes }} }}',
    "eventRoutes": "{ eventRoutes { id } }",
    "eventRoute": '{ eventRoute(id: "rbac-no-route") { id } }',
    "createEventRoute": 'mutation { createEventRoute(route: {id: "!", endpoint: {}}) { id } }',
    "deleteEventRoute": 'mutation { deleteEventRoute(id: "rbac-no-route") }',
}
GUARD_CODES = {"UNAUTHENTICATED", "FORBIDDEN"}


def _root_fields(gql: GraphQLClient) -> dict[str, object]:
    """Root query and mutation fields of the schema the app serves, by GraphQL name."""
    schema = gql.http.app.state.services.get().registry.active.schema  # type: ignore[attr-defined]
    fields: dict[str, object] = {}
    for root in (schema.query, schema.mutation):
        for field in root.__strawberry_definition__.fields:
            fields[schema.config.name_converter.get_graphql_name(field)] = field
    return fields


def _lowest_role(field: object) -> str | None:
    """The lowest role the field's permission class lets through; None for a public field."""
    declared = permission_of(field)
    if declared is False:
        return None
    if declared is True:
        return ROLES[0]
    return PERMISSIONS[declared].name  # type: ignore[index]


def _codes(body: dict) -> set[str]:
    return {error.get("extensions", {}).get("code", "MASKED") for error in body.get("errors", [])}


@pytest.mark.parametrize("caller", [None, *ROLES])
@pytest.mark.parametrize("operation", sorted(CALLS))
def test_operation_guard(gql: GraphQLClient, tokens: dict[str, str], operation: str, caller: str | None) -> None:
    lowest = _lowest_role(_root_fields(gql)[operation])
    if operation == "logout" and caller is not None:
        pytest.skip("logging out would end the shared session token; tests/integration/test_security_tokens.py")
    body = gql(CALLS[operation], token=tokens[caller] if caller else None)
    codes = _codes(body)
    assert "MASKED" not in codes, body
    if operation == "login":  # public; its domain answer to a wrong password is UNAUTHENTICATED for anyone
        assert lowest is None and codes == {"UNAUTHENTICATED"}, body
    elif lowest is None or (caller is not None and ROLES.index(caller) >= ROLES.index(lowest)):
        assert not codes & GUARD_CODES, body
    elif caller is None:
        assert codes == {"UNAUTHENTICATED"}, body
    else:
        assert codes == {"FORBIDDEN"}, body


def test_every_root_field_is_covered_and_guarded_as_designed(gql: GraphQLClient) -> None:
    fields = _root_fields(gql)
    assert set(fields) == set(CALLS), sorted(set(fields) ^ set(CALLS))
    public = {name for name, field in fields.items() if _lowest_role(field) is None}
    assert public == {"health", "me", "login"}
    admin_only = {name for name, field in fields.items() if _lowest_role(field) == "admin"}
    assert {"users", "createUser", "setUserRole", "setUserActive", "deleteUser", "uploadModels"} <= admin_only


def test_forged_token_is_rejected(gql: GraphQLClient) -> None:
    response = gql.http.post("/graphql", json={"query": "{ health { version } }"},  # type: ignore[attr-defined]
                             headers={"Authorization": "Bearer not.a.token"})
    assert response.status_code == 401
