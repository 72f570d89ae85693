"""User accounts in the twin graph: the one module that may write User twins and credentials.

An account is a twin of the User interface (so assets can be ``managedBy`` it and the
twin graph shows who is responsible for what) plus a ``(:Credential)`` node linked by
``HAS_CREDENTIAL`` that holds what only authentication needs: the sealed password hash
and the session state (``sessionEpoch``, revoked token ids).

Why a module of its own: the twin operations (``graph.twins``, ``graph.bulk``) refuse
every twin that is-a User (see :func:`refuse_account_twin`), whatever the caller's role,
so the only doors to an account are these functions, which the API exposes to admins
alone. Every change here runs in one transaction: a User twin never exists without its
credential, and deleting an account removes both.

The hash arrives *sealed* (encrypted by ``api.auth``); this module stores opaque text.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import neo4j
from neo4j.exceptions import ConstraintError

from dtdl.model import ModelSet
from graph.errors import ConflictError, NotFoundError, Problem
from graph.reads import Read, send, send_async
from graph.records import twin_from_node
from graph.twins import ACCOUNT_MODEL, create_statement, validate_document

#: Revoked token ids are kept until their token would have expired anyway, at most this many per account.
MAX_REVOKED_TOKENS = 1_000


@dataclass(frozen=True)
class AccountState:
    """What every request checks: is the account there, active, which role, which sessions are valid."""

    user_id: str
    username: str
    role: str
    active: bool
    session_epoch: int
    revoked_tokens: frozenset[str]


@dataclass(frozen=True)
class Account:
    """An account as admins see it (never the credential)."""

    user_id: str
    username: str
    role: str
    active: bool
    email: str | None
    display_name: str | None


def account_twin_id(username: str) -> str:
    return f"user:{username}"


# --------------------------------------------------------------------------- reads

_STATE = (
    "MATCH (u:Twin {id: $id})-[:HAS_CREDENTIAL]->(c:Credential) "
    "RETURN u.id AS id, u.username AS username, u.role AS role, u.active AS active, "
    "coalesce(c.sessionEpoch, 0) AS epoch, coalesce(c.revokedTokens, []) AS revoked"
)


def _state(records: Sequence[neo4j.Record]) -> AccountState | None:
    if not records:
        return None
    record = records[0]
    return AccountState(user_id=record["id"], username=record["username"] or "", role=record["role"] or "",
                        active=record["active"] is not False, session_epoch=int(record["epoch"]),
                        revoked_tokens=frozenset(record["revoked"]))


def account_state_read(user_id: str) -> Read[AccountState | None]:
    """The account check of every request, described once for the sync and the async driver."""
    return Read(_STATE, {"id": user_id}, _state)


def account_state(driver: neo4j.Driver, user_id: str) -> AccountState | None:
    return send(driver, account_state_read(user_id))


async def account_state_async(driver: neo4j.AsyncDriver, user_id: str) -> AccountState | None:
    """:func:`account_state` on the event loop: the API checks it on every request (behind a short cache)."""
    return await send_async(driver, account_state_read(user_id))


def sealed_credential(driver: neo4j.Driver, username: str) -> tuple[AccountState, str] | None:
    """The account and its sealed hash, for a login; None when there is no such account."""
    records, _, _ = driver.execute_query(
        "MATCH (u:Twin {id: $id})-[:HAS_CREDENTIAL]->(c:Credential) "
        "RETURN u.id AS id, u.username AS username, u.role AS role, u.active AS active, "
        "coalesce(c.sessionEpoch, 0) AS epoch, coalesce(c.revokedTokens, []) AS revoked, c.sealedHash AS sealed",
        id=account_twin_id(username), routing_=neo4j.RoutingControl.READ)
    state = _state(records)
    return (state, records[0]["sealed"]) if state is not None else None


def list_accounts(driver: neo4j.Driver) -> list[Account]:
    records, _, _ = driver.execute_query(
        "MATCH (u:Twin)-[:HAS_CREDENTIAL]->(:Credential) RETURN u ORDER BY u.username",
        routing_=neo4j.RoutingControl.READ)
    return [_account(dict(record["u"])) for record in records]


def _account(node: Mapping[str, Any]) -> Account:
    return Account(user_id=node["id"], username=node.get("username", ""), role=node.get("role", ""),
                   active=node.get("active") is not False, email=node.get("email"),
                   display_name=node.get("displayName"))


# --------------------------------------------------------------------------- writes


def create_account(driver: neo4j.Driver, models: ModelSet, username: str, role: str, sealed_hash: str,
                   properties: Mapping[str, Any] | None = None) -> Account:
    """The User twin and its credential, in one transaction; a taken username is a ConflictError."""
    twin_id = account_twin_id(username)
    document = {**(properties or {}), "username": username, "role": role, "active": True}
    validate_document(models, ACCOUNT_MODEL, document)
    query, params = create_statement(models, twin_id, ACCOUNT_MODEL, document)
    query += " CREATE (t)-[:HAS_CREDENTIAL]->(:Credential {sealedHash: $sealed, sessionEpoch: 0}) RETURN t"
    try:
        records, _, _ = driver.execute_query(query, params, sealed=sealed_hash)
    except ConstraintError as error:
        raise ConflictError(f"a user {username!r} already exists") from error
    return _account(dict(twin_from_node(models, records[0]["t"]).properties, id=twin_id))


def _update(driver: neo4j.Driver, username: str, assignments: str, **params: Any) -> Account:
    """Change an account's twin (u) and/or credential (c) in one locked write; NotFoundError when absent."""
    records, _, _ = driver.execute_query(
        "MATCH (u:Twin {id: $id})-[:HAS_CREDENTIAL]->(c:Credential) "
        f"SET u._lock = true REMOVE u._lock SET {assignments}, u._etag = 'W/\"' + randomUUID() + '\"' RETURN u",
        id=account_twin_id(username), **params)
    if not records:
        raise NotFoundError(f"no user {username!r}", [Problem("/username", "no such account")])
    return _account(dict(records[0]["u"]))


def set_role(driver: neo4j.Driver, username: str, role: str) -> Account:
    return _update(driver, username, "u.role = $role, u._updatedAt = datetime()", role=role)


def set_active(driver: neo4j.Driver, username: str, active: bool) -> Account:
    return _update(driver, username, "u.active = $active, u._updatedAt = datetime()", active=active)


def set_sealed_hash(driver: neo4j.Driver, username: str, sealed_hash: str) -> Account:
    """A new password; every session of the account ends with it."""
    return _update(driver, username, "c.sealedHash = $sealed, c.sessionEpoch = coalesce(c.sessionEpoch, 0) + 1",
                   sealed=sealed_hash)


def end_sessions(driver: neo4j.Driver, username: str) -> Account:
    """Revoke every token issued so far (tokens carry the epoch they were issued in)."""
    return _update(driver, username, "c.sessionEpoch = coalesce(c.sessionEpoch, 0) + 1")


def revoke_token(driver: neo4j.Driver, user_id: str, token_id: str, expires_at: int) -> None:
    """Revoke one token until it expires; expired entries are dropped on the way (the list stays bounded).
    Two parallel lists, because a Neo4j property cannot hold a list of pairs."""
    now = int(time.time())
    driver.execute_query(
        "MATCH (u:Twin {id: $id})-[:HAS_CREDENTIAL]->(c:Credential) SET u._lock = true REMOVE u._lock "
        "WITH c, coalesce(c.revokedTokens, []) AS ids, coalesce(c.revokedUntil, []) AS until "
        "WITH c, [i IN range(0, size(ids) - 1) WHERE until[i] > $now | [ids[i], until[i]]] AS live "
        "WITH c, (live + [[$jti, $exp]])[-$max..] AS kept "
        "SET c.revokedTokens = [entry IN kept | entry[0]], c.revokedUntil = [entry IN kept | entry[1]]",
        id=user_id, jti=token_id, exp=expires_at, now=now, max=MAX_REVOKED_TOKENS)


def record_login(driver: neo4j.Driver, user_id: str) -> None:
    driver.execute_query("MATCH (u:Twin {id: $id}) SET u.lastLogin = toString(datetime())", id=user_id)


def unsealed_credentials(driver: neo4j.Driver) -> list[tuple[str, str]]:
    """(account id, clear hash) of credentials an older version stored unsealed, to seal them at start-up."""
    records, _, _ = driver.execute_query(
        "MATCH (u:Twin)-[:HAS_CREDENTIAL]->(c:Credential) WHERE c.passwordHash IS NOT NULL "
        "RETURN u.id AS id, c.passwordHash AS hash")
    return [(record["id"], record["hash"]) for record in records]


def replace_unsealed(driver: neo4j.Driver, user_id: str, sealed_hash: str) -> None:
    driver.execute_query("MATCH (:Twin {id: $id})-[:HAS_CREDENTIAL]->(c:Credential) "
                         "SET c.sealedHash = $sealed REMOVE c.passwordHash", id=user_id, sealed=sealed_hash)


def delete_account(driver: neo4j.Driver, username: str) -> None:
    """The User twin, its credential and its relationships (``managedBy`` edges to it), together."""
    records, _, _ = driver.execute_query(
        "MATCH (u:Twin {id: $id}) OPTIONAL MATCH (u)-[:HAS_CREDENTIAL]->(c:Credential) "
        "DETACH DELETE c, u RETURN count(u) AS deleted", id=account_twin_id(username))
    if not records or not records[0]["deleted"]:
        raise NotFoundError(f"no user {username!r}", [Problem("/username", "no such account")])

