"""Accounts can be changed only through the admins' user operations, never through twin operations.

Each test is an attack that worked before: an operator patching its own User twin to admin,
deactivating or deleting an admin through twin operations, a bulk load overwriting an account,
a deleted user leaving its credential behind, viewers listing every account with e-mail.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import neo4j
import pytest

from graph.bulk import TwinRow, bulk_create_twins, bulk_delete_twins
from graph.errors import ValidationError
from tests.integration.conftest import GraphQLClient

LOGIN = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token role } }"
CREATE_USER = ("mutation($u: String!, $p: String!, $r: UserRole!, $e: String) { createUser(username: $u, password: $p, "
               "role: $r, email: $e) { id username role active email } }")
ME = "{ me { id username role } }"

Account = dict[str, str]


@pytest.fixture()
def new_account(gql: GraphQLClient, tokens: dict[str, str],
                neo4j_driver: neo4j.Driver) -> Iterator[Callable[[str], Account]]:
    """Make accounts of a role (logged in); all removed afterwards."""
    made: list[str] = []

    def make(role: str) -> Account:
        username = f"sec-{role}-{uuid.uuid4().hex[:8]}"
        password = f"pw-{uuid.uuid4().hex}"
        gql.data(CREATE_USER, {"u": username, "p": password, "r": role, "e": f"{username}@example.org"},
                 tokens["admin"])
        made.append(username)
        token = gql.data(LOGIN, {"u": username, "p": password})["login"]["token"]
        return {"username": username, "password": password, "token": token, "id": f"user:{username}"}

    yield make
    neo4j_driver.execute_query("UNWIND $ids AS id MATCH (u:Twin {id: id}) OPTIONAL MATCH (u)-[:HAS_CREDENTIAL]->(c) "
                               "DETACH DELETE u, c", ids=[f"user:{name}" for name in made])


def _codes(body: dict) -> set[str]:
    return {e.get("extensions", {}).get("code", "MASKED") for e in body.get("errors", [])}


def _role_of(neo4j_driver: neo4j.Driver, twin_id: str) -> str | None:
    records, _, _ = neo4j_driver.execute_query("MATCH (u:Twin {id: $id}) RETURN u.role AS role", id=twin_id)
    return records[0]["role"] if records else None


@pytest.mark.parametrize("patch", [
    [{"op": "replace", "path": "/role", "value": "admin"}],
    [{"op": "add", "path": "/role", "value": "admin"}],
    [{"op": "replace", "path": "/active", "value": False}],
    [{"op": "replace", "path": "/username", "value": "admin"}],
    [{"op": "remove", "path": "/email"}],
])
def test_no_twin_update_of_any_role_changes_an_account(gql: GraphQLClient, tokens: dict[str, str],
                                                       new_account: Callable[[str], Account],
                                                       neo4j_driver: neo4j.Driver, patch: list[dict]) -> None:
    operator = new_account("operator")
    for caller in ("operator", "admin"):
        token = operator["token"] if caller == "operator" else tokens["admin"]
        body = gql("mutation($id: ID!, $p: JSON!) { updateTwin(id: $id, patch: $p) { id } }",
                   {"id": operator["id"], "p": patch}, token)
        assert _codes(body) == {"FORBIDDEN"}, body
    assert _role_of(neo4j_driver, operator["id"]) == "operator"
    assert gql.data(ME, token=operator["token"])["me"]["role"] == "operator"


def test_no_twin_operation_deletes_or_creates_an_account(gql: GraphQLClient, tokens: dict[str, str],
                                                         new_account: Callable[[str], Account],
                                                         neo4j_driver: neo4j.Driver) -> None:
    admin = new_account("admin")
    for cascade in ("false", "true"):
        body = gql(f'mutation($id: ID!) {{ deleteTwin(id: $id, cascade: {cascade}) }}', {"id": admin["id"]},
                   tokens["operator"])
        assert _codes(body) == {"FORBIDDEN"}, body
        body = gql(f'mutation($id: ID!) {{ deleteTwin(id: $id, cascade: {cascade}) }}', {"id": admin["id"]},
                   tokens["admin"])
        assert _codes(body) == {"FORBIDDEN"}, body
    assert _role_of(neo4j_driver, admin["id"]) == "admin"
    body = gql('mutation { createTwin(id: "user:sneaky", model: "dtmi:gridtwin:User;1", '
               'properties: {username: "sneaky", role: "admin", active: true}) { id } }', token=tokens["operator"])
    assert _codes(body) == {"FORBIDDEN"}, body
    assert _role_of(neo4j_driver, "user:sneaky") is None


def test_bulk_loads_cannot_write_or_overwrite_accounts(new_account: Callable[[str], Account], models: object,
                                                        neo4j_driver: neo4j.Driver) -> None:
    victim = new_account("admin")
    with pytest.raises(ValidationError, match="accounts"):
        bulk_create_twins(neo4j_driver, models, [TwinRow("user:bulk", "dtmi:gridtwin:User;1",  # type: ignore[arg-type]
                                                        {"username": "bulk", "role": "admin"})], merge=True)
    with pytest.raises(ValidationError, match="account"):  # an upsert onto an account's id
        bulk_create_twins(neo4j_driver, models, [TwinRow(victim["id"], "dtmi:gridtwin:Substation;1",  # type: ignore[arg-type]
                                                        {"name": "x"})], merge=True)
    assert bulk_delete_twins(neo4j_driver, [victim["id"]]) == 0
    assert _role_of(neo4j_driver, victim["id"]) == "admin"


def test_delete_user_removes_the_credential_too(gql: GraphQLClient, tokens: dict[str, str],
                                                new_account: Callable[[str], Account],
                                                neo4j_driver: neo4j.Driver) -> None:
    doomed = new_account("viewer")
    assert gql.data("mutation($u: String!) { deleteUser(username: $u) }", {"u": doomed["username"]},
                    tokens["admin"])["deleteUser"] is True
    records, _, _ = neo4j_driver.execute_query(
        "MATCH (c:Credential) WHERE NOT EXISTS { (:Twin)-[:HAS_CREDENTIAL]->(c) } RETURN count(c) AS orphans")
    assert records[0]["orphans"] == 0
    assert _role_of(neo4j_driver, doomed["id"]) is None
    response = gql.http.post("/graphql", json={"query": ME},  # type: ignore[attr-defined]
                             headers={"Authorization": f"Bearer {doomed['token']}"})
    assert response.status_code == 401 and "no longer exists" in response.text


def test_set_user_active_and_role_are_the_admins_doors(gql: GraphQLClient, tokens: dict[str, str],
                                                       new_account: Callable[[str], Account]) -> None:
    user = new_account("viewer")
    off = gql.data("mutation($u: String!) { setUserActive(username: $u, active: false) { active } }",
                   {"u": user["username"]}, tokens["admin"])
    assert off["setUserActive"]["active"] is False
    assert _codes(gql(LOGIN, {"u": user["username"], "p": user["password"]})) == {"UNAUTHENTICATED"}
    gql.data("mutation($u: String!) { setUserActive(username: $u, active: true) { active } }",
             {"u": user["username"]}, tokens["admin"])
    assert gql.data(LOGIN, {"u": user["username"], "p": user["password"]})["login"]["role"] == "viewer"
    body = gql("mutation($u: String!) { setUserRole(username: $u, role: admin) { role } }", {"u": user["username"]},
               tokens["operator"])
    assert _codes(body) == {"FORBIDDEN"}


def test_the_last_active_admin_cannot_be_removed(gql: GraphQLClient, tokens: dict[str, str],
                                                 neo4j_driver: neo4j.Driver) -> None:
    records, _, _ = neo4j_driver.execute_query(
        "MATCH (u:Twin)-[:HAS_CREDENTIAL]->() WHERE u.role = 'admin' AND u.active RETURN u.username AS name")
    if len(records) != 1:
        pytest.skip("other admins exist in this database")
    name = records[0]["name"]
    for mutation in (f'setUserRole(username: "{name}", role: viewer) {{ role }}',
                     f'setUserActive(username: "{name}", active: false) {{ active }}',
                     f'deleteUser(username: "{name}")'):
        assert _codes(gql(f"mutation {{ {mutation} }}", token=tokens["admin"])) == {"CONFLICT"}


def test_accounts_are_invisible_to_non_admins(gql: GraphQLClient, tokens: dict[str, str],
                                              new_account: Callable[[str], Account]) -> None:
    user = new_account("viewer")
    for role in ("viewer", "analyst", "operator"):
        assert gql.data("query($id: ID!) { twin(id: $id) { id } }", {"id": user["id"]}, tokens[role])["twin"] is None
        listed = gql.data('{ twins(model: "dtmi:gridtwin:User;1", first: 100) { totalCount edges { node { id } } } }',
                          token=tokens[role])["twins"]
        assert listed["totalCount"] == 0 and listed["edges"] == []
        everything = gql.data("{ twins(first: 1000) { edges { node { id properties } } } }",
                              token=tokens[role])["twins"]["edges"]
        assert not any(edge["node"]["id"].startswith("user:") for edge in everything)
        assert _codes(gql("{ users { email } }", token=tokens[role])) == {"FORBIDDEN"}
        assert gql.data(ME, token=tokens[role])["me"]["role"] == role
    admin_view = gql.data("query($id: ID!) { twin(id: $id) { id ... on User { email } } }", {"id": user["id"]},
                          tokens["admin"])
    assert admin_view["twin"]["email"] == f"{user['username']}@example.org"
    assert user["username"] in {u["username"] for u in gql.data("{ users { username } }", token=tokens["admin"])["users"]}


def test_hashes_stored_in_the_clear_by_older_versions_are_sealed(gql: GraphQLClient,
                                                                 new_account: Callable[[str], Account],
                                                                 neo4j_driver: neo4j.Driver) -> None:
    from argon2 import PasswordHasher

    user = new_account("viewer")
    neo4j_driver.execute_query("MATCH (:Twin {id: $id})-[:HAS_CREDENTIAL]->(c) SET c.passwordHash = $hash "
                               "REMOVE c.sealedHash", id=user["id"], hash=PasswordHasher().hash(user["password"]))
    accounts = gql.http.app.state.services.get().accounts  # type: ignore[attr-defined]
    assert accounts.seal_legacy_credentials() >= 1
    records, _, _ = neo4j_driver.execute_query("MATCH (:Twin {id: $id})-[:HAS_CREDENTIAL]->(c) "
                                               "RETURN c.passwordHash AS clear, c.sealedHash AS sealed", id=user["id"])
    assert records[0]["clear"] is None and records[0]["sealed"].startswith("v1:")
    assert gql.data(LOGIN, {"u": user["username"], "p": user["password"]})["login"]["role"] == "viewer"
