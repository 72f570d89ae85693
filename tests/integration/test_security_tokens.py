"""Tokens stand for the account as it is now; logins are bounded and do not tell which usernames exist."""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import jwt
import neo4j
import pytest

from api.accounts import MAX_CONCURRENT_HASHES, STATE_TTL_S
from tests.integration.conftest import GraphQLClient
from tests.integration.test_security_accounts import LOGIN, ME, Account, new_account  # noqa: F401  (fixture)

ADMIN_ONLY = "{ users { username } }"


def _status(gql: GraphQLClient, token: str, query: str = ME) -> tuple[int, dict[str, Any]]:
    response = gql.http.post("/graphql", json={"query": query},  # type: ignore[attr-defined]
                             headers={"Authorization": f"Bearer {token}"})
    try:
        return response.status_code, response.json()
    except ValueError:  # a 401 answers with the reason as text
        return response.status_code, {"text": response.text}


def _codes(body: dict) -> set[str]:
    return {e.get("extensions", {}).get("code", "MASKED") for e in body.get("errors", [])}


def _services(gql: GraphQLClient) -> Any:
    return gql.http.app.state.services.get()  # type: ignore[attr-defined]


def test_deactivated_and_deleted_users_tokens_stop_at_once(gql: GraphQLClient, tokens: dict[str, str],
                                                           new_account: Callable[[str], Account]) -> None:  # noqa: F811
    user = new_account("operator")
    assert _status(gql, user["token"])[0] == 200
    gql.data("mutation($u: String!) { setUserActive(username: $u, active: false) { active } }",
             {"u": user["username"]}, tokens["admin"])
    assert _status(gql, user["token"])[0] == 401
    other = new_account("viewer")
    gql.data("mutation($u: String!) { deleteUser(username: $u) }", {"u": other["username"]}, tokens["admin"])
    assert _status(gql, other["token"])[0] == 401


def test_a_demoted_admin_loses_admin_rights_on_the_next_request(gql: GraphQLClient, tokens: dict[str, str],
                                                                new_account: Callable[[str], Account]) -> None:  # noqa: F811
    admin = new_account("admin")
    assert _codes(_status(gql, admin["token"], ADMIN_ONLY)[1]) == set()
    gql.data("mutation($u: String!) { setUserRole(username: $u, role: viewer) { role } }", {"u": admin["username"]},
             tokens["admin"])
    status, body = _status(gql, admin["token"], ADMIN_ONLY)
    assert status == 200 and _codes(body) == {"FORBIDDEN"}
    assert _status(gql, admin["token"])[1]["data"]["me"]["role"] == "viewer"


def test_the_role_is_never_read_from_the_token(gql: GraphQLClient, new_account: Callable[[str], Account],  # noqa: F811
                                               api_settings: Any) -> None:
    viewer = new_account("viewer")
    secret = api_settings.jwt_secret or (api_settings.state_path / "jwt-secret").read_text().strip()
    claims = jwt.decode(viewer["token"], secret, algorithms=["HS256"])
    forged = jwt.encode({**claims, "role": "admin"}, secret, algorithm="HS256")  # even signed with the real key
    assert _codes(_status(gql, forged, ADMIN_ONLY)[1]) == {"FORBIDDEN"}


def test_logout_ends_this_session_and_all_sessions_ends_every_one(gql: GraphQLClient,
                                                                  new_account: Callable[[str], Account]) -> None:  # noqa: F811
    user = new_account("analyst")
    second = gql.data(LOGIN, {"u": user["username"], "p": user["password"]})["login"]["token"]
    third = gql.data(LOGIN, {"u": user["username"], "p": user["password"]})["login"]["token"]
    assert gql.data("mutation { logout }", token=user["token"])["logout"] is True
    assert _status(gql, user["token"])[0] == 401
    assert _status(gql, second)[0] == 200
    assert gql.data("mutation { logout(allSessions: true) }", token=second)["logout"] is True
    assert _status(gql, second)[0] == 401 and _status(gql, third)[0] == 401
    fresh = gql.data(LOGIN, {"u": user["username"], "p": user["password"]})["login"]["token"]
    assert _status(gql, fresh)[0] == 200


def test_admins_end_a_users_sessions_and_a_new_password_does_too(gql: GraphQLClient, tokens: dict[str, str],
                                                                 new_account: Callable[[str], Account]) -> None:  # noqa: F811
    user = new_account("viewer")
    gql.data("mutation($u: String!) { revokeSessions(username: $u) { id } }", {"u": user["username"]}, tokens["admin"])
    assert _status(gql, user["token"])[0] == 401
    token = gql.data(LOGIN, {"u": user["username"], "p": user["password"]})["login"]["token"]
    gql.data("mutation($u: String!) { setUserPassword(username: $u, password: \"a-brand-new-password\") { id } }",
             {"u": user["username"]}, tokens["admin"])
    assert _status(gql, token)[0] == 401
    assert _codes(gql(LOGIN, {"u": user["username"], "p": user["password"]})) == {"UNAUTHENTICATED"}


def test_a_change_made_elsewhere_is_seen_within_the_cache_time(gql: GraphQLClient, neo4j_driver: neo4j.Driver,
                                                               new_account: Callable[[str], Account]) -> None:  # noqa: F811
    """Another replica (here: Cypher straight to Neo4j) disables the account: this process notices within the TTL."""
    user = new_account("viewer")
    assert _status(gql, user["token"])[0] == 200
    neo4j_driver.execute_query("MATCH (u:Twin {id: $id}) SET u.active = false", id=user["id"])
    time.sleep(STATE_TTL_S + 0.5)
    assert _status(gql, user["token"])[0] == 401


def test_failed_logins_lock_the_username_out(gql: GraphQLClient, new_account: Callable[[str], Account]) -> None:  # noqa: F811
    user = new_account("viewer")
    throttle = _services(gql).accounts.throttle
    for _ in range(throttle.free_failures):
        assert _codes(gql(LOGIN, {"u": user["username"], "p": "wrong-password-123"})) == {"UNAUTHENTICATED"}
    assert _codes(gql(LOGIN, {"u": user["username"], "p": "wrong-password-123"})) == {"UNAUTHENTICATED"}
    locked = gql(LOGIN, {"u": user["username"], "p": user["password"]})  # even the right password now waits
    assert _codes(locked) == {"RATE_LIMITED"}, locked
    assert "retry in" in locked["errors"][0]["message"]
    throttle.succeeded(user["username"])  # leave the shared test client unlocked


@pytest.fixture()
def counted_verifies(gql: GraphQLClient) -> Iterator[dict[str, int]]:
    """Counts argon2 verifies and the most that ran at once (wrapping the real vault, not replacing it)."""
    vault = _services(gql).accounts._vault
    original = vault.verify
    counts = {"calls": 0, "running": 0, "peak": 0}
    lock = threading.Lock()

    def verify(*args: Any) -> bool:
        with lock:
            counts["calls"] += 1
            counts["running"] += 1
            counts["peak"] = max(counts["peak"], counts["running"])
        try:
            return original(*args)
        finally:
            with lock:
                counts["running"] -= 1

    vault.verify = verify
    yield counts
    vault.verify = original


def test_unknown_usernames_cost_what_known_ones_do(gql: GraphQLClient, new_account: Callable[[str], Account],  # noqa: F811
                                                   counted_verifies: dict[str, int]) -> None:
    known = new_account("viewer")["username"]
    counted_verifies["calls"] = 0  # the fixture's own login
    unknown = f"nobody-{uuid.uuid4().hex[:8]}"
    timings: dict[str, list[float]] = {known: [], unknown: []}
    for _ in range(4):
        for name in (known, unknown):
            started = time.perf_counter()
            assert _codes(gql(LOGIN, {"u": name, "p": "wrong-password-123"})) == {"UNAUTHENTICATED"}
            timings[name].append(time.perf_counter() - started)
    throttle = _services(gql).accounts.throttle
    throttle.succeeded(known), throttle.succeeded(unknown)
    assert counted_verifies["calls"] == 8  # one argon2 verify per attempt, account or not
    ratio = statistics.median(timings[unknown]) / statistics.median(timings[known])
    assert 0.5 < ratio < 2.0, timings


def test_concurrent_logins_hash_at_most_a_few_at_once(gql: GraphQLClient, new_account: Callable[[str], Account],  # noqa: F811
                                                      counted_verifies: dict[str, int]) -> None:
    user = new_account("viewer")
    counted_verifies["peak"] = 0

    def login(_: int) -> set[str]:
        return _codes(gql(LOGIN, {"u": user["username"], "p": user["password"]}))

    with ThreadPoolExecutor(max_workers=40) as pool:
        outcomes = list(pool.map(login, range(40)))
    assert counted_verifies["peak"] <= MAX_CONCURRENT_HASHES
    assert all(codes <= {"RETRY_LATER"} for codes in outcomes), outcomes
    assert sum(1 for codes in outcomes if not codes) >= MAX_CONCURRENT_HASHES


def test_a_live_subscription_ends_when_its_session_does(gql: GraphQLClient, tokens: dict[str, str],
                                                        new_account: Callable[[str], Account]) -> None:  # noqa: F811
    from starlette.websockets import WebSocketDisconnect

    user = new_account("viewer")
    with gql.http.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[attr-defined]
        ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {user['token']}"}})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json({"id": "1", "type": "subscribe", "payload": {
            "query": "subscription { telemetry(twinIds: [\"sec-none\"]) { coalesced } }"}})
        gql.data("mutation($u: String!) { setUserActive(username: $u, active: false) { active } }",
                 {"u": user["username"]}, tokens["admin"])
        started = time.monotonic()
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                ws.receive_json()
    assert closed.value.code == 4403 and "disabled" in closed.value.reason
    assert time.monotonic() - started < 10
