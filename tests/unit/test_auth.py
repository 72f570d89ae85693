"""Sealed password hashes, tokens and the role table."""

from __future__ import annotations

import time

import jwt
import pytest

from api.auth import (
    PERMISSIONS, AuthError, Forbidden, PasswordVault, Permission, Principal, Role, TokenClaims, bearer_token,
    issue_token, new_credential_key, read_token, require,
)

SECRET = "test-secret-with-enough-length-for-hs256"


def test_password_hash_verifies_only_the_right_password() -> None:
    vault = PasswordVault(new_credential_key())
    sealed = vault.seal("user:alice", "correct horse")
    assert "$argon2" not in sealed  # sealed: the hash itself is never stored in the clear
    assert vault.verify("user:alice", sealed, "correct horse")
    assert not vault.verify("user:alice", sealed, "wrong horse")
    assert not vault.verify("user:alice", "not-a-seal", "correct horse")
    assert not vault.verify("user:mallory", sealed, "correct horse")  # bound to its account
    assert not PasswordVault(new_credential_key()).verify("user:alice", sealed, "correct horse")  # other key
    assert not vault.verify("user:nobody", None, "correct horse")


def test_token_round_trip_and_rejections() -> None:
    token = issue_token("user-alice", "alice", 3, SECRET, 60)
    claims = read_token(token, SECRET)
    assert isinstance(claims, TokenClaims)
    assert (claims.user_id, claims.username, claims.session_epoch) == ("user-alice", "alice", 3)
    assert claims.token_id and claims.token_id != read_token(issue_token("user-alice", "alice", 3, SECRET, 60),
                                                             SECRET).token_id
    assert "role" not in jwt.decode(token, SECRET, algorithms=["HS256"])  # the role is the account's, read per request
    with pytest.raises(AuthError, match="invalid"):
        read_token(token, SECRET + "-other")
    with pytest.raises(AuthError, match="expired"):
        read_token(issue_token("user-alice", "alice", 0, SECRET, -10), SECRET)
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
    assert {p for p, r in PERMISSIONS.items() if r == Role.analyst} == {Permission.read_models, Permission.read_predictions,
                                                                          Permission.run_cypher}
    assert {p for p, r in PERMISSIONS.items() if r == Role.admin} == {Permission.manage_models, Permission.manage_users,
                                                                         Permission.manage_event_routes}


def test_bearer_header_parsing() -> None:
    assert bearer_token("Bearer abc.def") == "abc.def"
    assert bearer_token("bearer  abc ") == "abc"
    assert bearer_token("Basic abc") is None
    assert bearer_token(None) is None
    assert bearer_token("Bearer ") is None


def test_verified_tokens_refuse_forgeries_and_expired_tokens_even_when_seen(monkeypatch: pytest.MonkeyPatch) -> None:
    from api.auth import VerifiedTokens

    tokens = VerifiedTokens("a-secret-of-this-process-0123456789", size=2)
    token = issue_token("user:ada", "ada", 0, "a-secret-of-this-process-0123456789", 60)
    assert tokens.read(token).user_id == "user:ada"
    assert tokens.read(token).user_id == "user:ada"  # from the cache
    forged = issue_token("user:ada", "ada", 0, "another-secret-0123456789-abcdefgh", 60)
    with pytest.raises(AuthError, match="invalid token"):
        tokens.read(forged)
    with pytest.raises(AuthError, match="invalid token"):
        tokens.read(token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1])
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(AuthError, match="expired"):
        tokens.read(token)
