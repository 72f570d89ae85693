"""Every operation with every role and with no token: allowed roles get past the guard, others are refused.

The operations use ids that do not exist, so an allowed call ends in a domain
answer (null, NOT_FOUND, BAD_USER_INPUT...) and nothing is written.
"""

from __future__ import annotations

import pytest

from tests.integration.conftest import GraphQLClient

ROLES = ("viewer", "analyst", "operator", "admin")
NOBODY = "rbac-no-such-twin"
OPERATIONS: dict[str, tuple[str, str | None]] = {
    # name: (document, lowest role allowed; None = public)
    "health": ("{ health { version } }", None),
    "me": ("{ me { username } }", None),
    "twin": (f'{{ twin(id: "{NOBODY}") {{ id }} }}', "viewer"),
    "twins": ("{ twins(first: 1) { totalCount } }", "viewer"),
    "relationships": (f'{{ relationships(twinId: "{NOBODY}") {{ id }} }}', "viewer"),
    "downstream": (f'{{ downstream(id: "{NOBODY}") {{ depth }} }}', "viewer"),
    "upstream": (f'{{ upstream(id: "{NOBODY}") {{ depth }} }}', "viewer"),
    "path": (f'{{ path(from: "{NOBODY}", to: "{NOBODY}-2") {{ depth }} }}', "viewer"),
    "sourceSubstations": (f'{{ sourceSubstations(id: "{NOBODY}") {{ depth }} }}', "viewer"),
    "islands": ("{ islands(minSize: 100000000) { key } }", "viewer"),
    "outageImpact": (f'{{ outageImpact(id: ["{NOBODY}"]) {{ opened }} }}', "viewer"),
    "models": ("{ models { id } }", "analyst"),
    "model": ('{ model(id: "dtmi:gridtwin:Substation;1") { id } }', "analyst"),
    "cypher": ('{ cypher(query: "RETURN 1 AS one") { rows } }', "analyst"),
    "createTwin": (f'mutation {{ createTwin(id: "{NOBODY}", model: "dtmi:nosuch:X;1") {{ id }} }}', "operator"),
    "updateTwin": (f'mutation {{ updateTwin(id: "{NOBODY}", patch: []) {{ id }} }}', "operator"),
    "deleteTwin": (f'mutation {{ deleteTwin(id: "{NOBODY}") }}', "operator"),
    "createRelationship": (f'mutation {{ createRelationship(source: "{NOBODY}", name: "feedsTo", '
                           f'target: "{NOBODY}-2") {{ id }} }}', "operator"),
    "deleteRelationship": (f'mutation {{ deleteRelationship(source: "{NOBODY}", id: "r") }}', "operator"),
    "uploadModels": ("mutation { uploadModels(models: []) { id } }", "admin"),
    "decommissionModel": ('mutation { decommissionModel(id: "dtmi:nosuch:X;1") { id } }', "admin"),
    "deleteModel": ('mutation { deleteModel(id: "dtmi:nosuch:X;1") }', "admin"),
    "createUser": ('mutation { createUser(username: "!", password: "x", role: viewer) { id } }', "admin"),
    "setUserRole": ('mutation { setUserRole(username: "rbac-nobody", role: viewer) { id } }', "admin"),
    "telemetry": (f'{{ telemetry(twinId: "{NOBODY}", name: "voltage") {{ time }} }}', "viewer"),
    "latestTelemetry": (f'{{ latestTelemetry(twinIds: ["{NOBODY}"]) {{ name }} }}', "viewer"),
    "telemetryBelow": (f'{{ telemetryBelow(twinId: "{NOBODY}", name: "voltage") {{ time }} }}', "viewer"),
    "ingestTelemetry": (f'mutation {{ ingestTelemetry(messages: [{{twinId: "{NOBODY}", timestamp: 0, values: {{}}}}]) '
                        '{ accepted } }', "operator"),
}
GUARD_CODES = {"UNAUTHENTICATED", "FORBIDDEN"}


def _codes(body: dict) -> set[str]:
    return {error.get("extensions", {}).get("code", "MASKED") for error in body.get("errors", [])}


@pytest.mark.parametrize("caller", [None, *ROLES])
@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_operation_guard(gql: GraphQLClient, tokens: dict[str, str], operation: str, caller: str | None) -> None:
    document, lowest = OPERATIONS[operation]
    body = gql(document, token=tokens[caller] if caller else None)
    codes = _codes(body)
    assert "MASKED" not in codes, body
    if lowest is None or (caller is not None and ROLES.index(caller) >= ROLES.index(lowest)):
        assert not codes & GUARD_CODES, body
    elif caller is None:
        assert codes == {"UNAUTHENTICATED"}, body
    else:
        assert codes == {"FORBIDDEN"}, body


def test_every_root_field_is_covered(gql: GraphQLClient, tokens: dict[str, str]) -> None:
    schema = gql.data("{ __schema { queryType { fields { name } } mutationType { fields { name } } } }",
                      token=tokens["admin"])["__schema"]
    fields = {f["name"] for f in schema["queryType"]["fields"]} | {f["name"] for f in schema["mutationType"]["fields"]}
    assert fields - {"login"} <= set(OPERATIONS), sorted(fields - set(OPERATIONS))


def test_forged_token_is_rejected(gql: GraphQLClient) -> None:
    response = gql.http.post("/graphql", json={"query": "{ health { version } }"},  # type: ignore[attr-defined]
                             headers={"Authorization": "Bearer not.a.token"})
    assert response.status_code == 401
