"""Password hashing, tokens and the role table."""

from __future__ import annotations

import time

import jwt
import pytest

from api.auth import (
    PERMISSIONS, AuthError, Forbidden, Permission, Principal, Role, bearer_token, hash_password, issue_token,
    read_token, require, verify_password,
)

SECRET = "test-secret-with-enough-length-for-hs256"


def test_password_hash_verifies_only_the_right_password() -> None:
    hashed = hash_password("correct horse")
    assert hashed.startswith("$argon2")
    assert verify_password(hashed, "correct horse")
    assert not verify_password(hashed, "wrong horse")
    assert not verify_password("not-a-hash", "correct horse")


def test_token_round_trip_and_rejections() -> None:
    alice = Principal("user-alice", "alice", Role.operator)
    assert read_token(issue_token(alice, SECRET, 60), SECRET) == alice
    with pytest.raises(AuthError, match="invalid"):
        read_token(issue_token(alice, SECRET, 60), SECRET + "-other")
    with pytest.raises(AuthError, match="expired"):
        read_token(issue_token(alice, SECRET, -10), SECRET)
    forged = jwt.encode({"sub": "x", "role": "admin", "exp": int(time.time()) + 60}, "an-attacker-guess-of-the-server-secret", algorithm="HS256")
    with pytest.raises(AuthError):
        read_token(forged, SECRET)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("permission", list(Permission))
def test_every_role_against_every_permission(role: Role, permission: Permission) -> None:
    principal = Principal("u", "u", role)
    if role >= PERMISSIONS[permission]:
        assert require(principal, permission) is principal
    else:
        with pytest.raises(Forbidden):
            require(principal, permission)
    with pytest.raises(AuthError):
        require(None, permission)


def test_policy_matches_the_product_rules() -> None:
    assert {p for p, r in PERMISSIONS.items() if r == Role.viewer} == {Permission.read_twins, Permission.read_telemetry}
    assert {p for p, r in PERMISSIONS.items() if r == Role.analyst} == {Permission.read_models, Permission.run_cypher}
    assert {p for p, r in PERMISSIONS.items() if r == Role.admin} == {Permission.manage_models, Permission.manage_users}


def test_bearer_header_parsing() -> None:
    assert bearer_token("Bearer abc.def") == "abc.def"
    assert bearer_token("bearer  abc ") == "abc"
    assert bearer_token("Basic abc") is None
    assert bearer_token(None) is None
    assert bearer_token("Bearer ") is None
