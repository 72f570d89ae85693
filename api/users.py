"""Users are twins of the User interface; their password hashes live apart from them.

A hash is kept on a ``(:Credential {passwordHash})`` node linked by
``(:User)-[:HAS_CREDENTIAL]->(:Credential)``. It carries no ``:Twin`` label, so
no twin query, GraphQL field or relationship listing can return it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

import neo4j

from api.auth import AuthError, Principal, Role, hash_password, verify_password
from dtdl import ModelSet
from graph import twins as graph_twins
from graph.cypher import resolve_label, quote
from graph.errors import ConflictError, NotFoundError, Problem, ValidationError

log = logging.getLogger(__name__)

USER_MODEL = "dtmi:gridtwin:User;1"
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD_LENGTH = 10


@dataclass(frozen=True)
class UserRecord:
    id: str
    username: str
    role: Role
    active: bool


def user_twin_id(username: str) -> str:
    return f"user:{username}"


def _check_new_credentials(username: str, password: str) -> None:
    problems = []
    if not _USERNAME.match(username):
        problems.append(Problem("/username", "1-64 letters, digits or . _ @ -, starting with a letter or digit"))
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(Problem("/password", f"at least {MIN_PASSWORD_LENGTH} characters"))
    if problems:
        raise ValidationError("invalid user", problems)


def create_user(driver: neo4j.Driver, models: ModelSet, username: str, password: str, role: Role,
                properties: dict[str, Any] | None = None) -> UserRecord:
    """Create the User twin (validated against the model) and its credential."""
    _check_new_credentials(username, password)
    document = {**(properties or {}), "username": username, "role": role.name, "active": True}
    twin = graph_twins.create_twin(driver, models, user_twin_id(username), USER_MODEL, document)
    try:
        driver.execute_query("MATCH (u:Twin {id: $id}) CREATE (u)-[:HAS_CREDENTIAL]->(:Credential {passwordHash: $hash})",
                             id=twin.id, hash=hash_password(password))
    except Exception:
        graph_twins.delete_twin(driver, twin.id, cascade=True)
        raise
    return UserRecord(twin.id, username, role, True)


def authenticate(driver: neo4j.Driver, models: ModelSet, username: str, password: str) -> Principal:
    """The principal of valid, active credentials; one vague AuthError otherwise."""
    records, _, _ = driver.execute_query(
        f"MATCH (u:Twin:{quote(resolve_label(models, USER_MODEL))} {{username: $username}})"
        "-[:HAS_CREDENTIAL]->(c:Credential) RETURN u.id AS id, u.role AS role, u.active AS active, "
        "c.passwordHash AS hash", username=username, routing_=neo4j.RoutingControl.READ)
    if not records or not verify_password(records[0]["hash"], password):
        raise AuthError("wrong username or password")
    record = records[0]
    if record["active"] is False or record["role"] not in Role.__members__:
        raise AuthError("this user may not log in")
    return Principal(user_id=record["id"], username=username, role=Role[record["role"]])


def set_role(driver: neo4j.Driver, models: ModelSet, username: str, role: Role) -> UserRecord:
    twin_id = user_twin_id(username)
    try:
        twin = graph_twins.update_twin(driver, models, twin_id, [{"op": "replace", "path": "/role", "value": role.name}],
                                       allow_read_only=True)
    except NotFoundError as error:
        raise NotFoundError(f"no user {username!r}") from error
    return UserRecord(twin.id, username, role, bool(twin.properties.get("active", True)))


def ensure_admin(driver: neo4j.Driver, models: ModelSet, username: str, password: str, *,
                 reset_password: bool) -> bool:
    """Create the first admin unless a user of that name exists; True when created.

    With ``reset_password`` (the password comes from configuration, which is the
    source of truth for this bootstrap account) an existing account gets that
    password and the admin role back, so a lost admin password is recovered by
    restarting with ``GRIDTWIN_ADMIN_PASSWORD`` set.
    """
    try:
        create_user(driver, models, username, password, Role.admin)
    except ConflictError:
        if reset_password:
            _reset(driver, models, username, password)
        return False
    log.info("created the first admin user %r", username)
    return True


def _reset(driver: neo4j.Driver, models: ModelSet, username: str, password: str) -> None:
    _check_new_credentials(username, password)
    set_role(driver, models, username, Role.admin)
    driver.execute_query(
        "MATCH (u:Twin {id: $id}) MERGE (u)-[:HAS_CREDENTIAL]->(c:Credential) SET c.passwordHash = $hash",
        id=user_twin_id(username), hash=hash_password(password))
