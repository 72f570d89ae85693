"""Authentication and role-based access: roles and permissions, sealed argon2 hashes, JWT bearer tokens.

Roles are ordered; each permission names the lowest role that holds it, so the
whole policy reads as one table (``PERMISSIONS``). Operations carry the permission
they need as a Strawberry permission class (``api.permissions``), never a role check.

A token names an account and a session, not a role: it carries the user id, the
account's session epoch at issue time and a token id. Every request looks the
account up (``api.accounts``, cached briefly), so deactivating, demoting or deleting
a user, ending their sessions or logging out takes effect at once.

Password hashes are *sealed*: the argon2 hash is encrypted with AES-256-GCM under a
key only the API holds (``GRIDTWIN_CREDENTIAL_KEY`` or the profile's
``credential-key`` file), with the account id as associated data. Whatever reads the
database (a Cypher console, a backup) sees ciphertext that cannot be verified
against, cracked offline or moved to another account.
"""

from __future__ import annotations

import base64
import binascii
import enum
import os
import secrets
import time
import uuid
from dataclasses import dataclass

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

JWT_ALGORITHM = "HS256"
SEAL_VERSION = "v1"
CREDENTIAL_KEY_BYTES = 32


class Role(enum.IntEnum):
    """User roles, lowest first; a role holds every permission of the roles below it."""

    viewer = 1
    analyst = 2
    operator = 3
    admin = 4


class Permission(enum.Enum):
    read_twins = "read twins and relationships"
    read_telemetry = "read telemetry"
    read_models = "read models"
    read_predictions = "read ML predictions and alerts"
    run_cypher = "run read-only Cypher"
    write_twins = "write twins and relationships"
    write_telemetry = "write telemetry"
    run_simulation = "run simulations"
    run_inference = "run ML inference"
    manage_grids = "import, export and delete grids"
    manage_models = "upload, decommission and delete models"
    manage_users = "manage user accounts"
    manage_event_routes = "manage event routes"


PERMISSIONS: dict[Permission, Role] = {
    Permission.read_twins: Role.viewer,
    Permission.read_telemetry: Role.viewer,
    Permission.read_models: Role.analyst,
    Permission.read_predictions: Role.analyst,
    Permission.run_cypher: Role.analyst,
    Permission.write_twins: Role.operator,
    Permission.write_telemetry: Role.operator,
    Permission.run_simulation: Role.operator,
    Permission.run_inference: Role.operator,
    Permission.manage_grids: Role.operator,
    Permission.manage_models: Role.admin,
    Permission.manage_users: Role.admin,
    Permission.manage_event_routes: Role.admin,
}


class AuthError(Exception):
    """Authentication failed (no, bad, expired or revoked token; wrong password)."""


class Forbidden(Exception):
    """Authenticated, but the role lacks the permission."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: the account (its current role, read from the graph) and the token's session."""

    user_id: str
    username: str
    role: Role
    token_id: str = ""
    expires_at: int = 0

    def can(self, permission: Permission) -> bool:
        return self.role >= PERMISSIONS[permission]


@dataclass(frozen=True)
class TokenClaims:
    """What a valid token says: which account, which session epoch, which token."""

    user_id: str
    username: str
    session_epoch: int
    token_id: str
    expires_at: int


def require(principal: Principal | None, permission: Permission) -> Principal:
    """The caller if it holds ``permission``; AuthError without a token, Forbidden without the role."""
    if principal is None:
        raise AuthError(f"authentication required to {permission.value}")
    if not principal.can(permission):
        raise Forbidden(f"role {principal.role.name} may not {permission.value}")
    return principal


def issue_token(user_id: str, username: str, session_epoch: int, secret: str, ttl_seconds: int) -> str:
    now = int(time.time())
    claims = {"sub": user_id, "name": username, "sep": session_epoch, "jti": uuid.uuid4().hex,
              "iat": now, "exp": now + ttl_seconds}
    return jwt.encode(claims, secret, algorithm=JWT_ALGORITHM)


def read_token(token: str, secret: str) -> TokenClaims:
    """The claims of a token; AuthError when it is forged, malformed or expired (revocation is checked
    against the account by the caller)."""
    try:
        claims = jwt.decode(token, secret, algorithms=[JWT_ALGORITHM],
                            options={"require": ["exp", "sub", "jti", "sep"]})
        return TokenClaims(user_id=str(claims["sub"]), username=str(claims.get("name", "")),
                           session_epoch=int(claims["sep"]), token_id=str(claims["jti"]),
                           expires_at=int(claims["exp"]))
    except jwt.ExpiredSignatureError as error:
        raise AuthError("token expired") from error
    except (jwt.InvalidTokenError, KeyError, TypeError, ValueError) as error:
        raise AuthError("invalid token") from error


class VerifiedTokens:
    """The claims of tokens whose signature this process has already verified.

    A token is an immutable signed string, so verifying it again on every request of its session
    (PyJWT's HMAC and JSON decoding: about a tenth of the API's time on a one-twin read) tells
    nothing new.  Its expiry is still checked on every use; revocation and disabled accounts are
    checked against the account on every request by the caller (``AccountService.principal``).
    Bounded: past ``size`` tokens the oldest are verified again when they come back.
    """

    def __init__(self, secret: str, size: int = 4096) -> None:
        self._secret, self._size = secret, size
        self._claims: dict[str, TokenClaims] = {}

    def read(self, token: str) -> TokenClaims:
        claims = self._claims.get(token)
        if claims is None:
            claims = read_token(token, self._secret)
            if len(self._claims) >= self._size:
                self._claims.pop(next(iter(self._claims)), None)
            self._claims[token] = claims
        if claims.expires_at <= time.time():
            self._claims.pop(token, None)
            raise AuthError("token expired")
        return claims


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, if any."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def new_secret() -> str:
    return secrets.token_urlsafe(48)


def new_credential_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(CREDENTIAL_KEY_BYTES)).decode()


class PasswordVault:
    """argon2id hashes sealed with AES-256-GCM; ``verify`` of an unknown user costs what a real one does.

    The methods are CPU- and memory-heavy (argon2 takes ~64 MiB per call): callers bound how many
    run at once (``api.accounts``).
    """

    def __init__(self, key: str) -> None:
        try:
            raw = base64.urlsafe_b64decode(key.encode())
        except (binascii.Error, ValueError) as error:
            raise ValueError("the credential key is not base64") from error
        if len(raw) != CREDENTIAL_KEY_BYTES:
            raise ValueError(f"the credential key must be {CREDENTIAL_KEY_BYTES} bytes (base64), got {len(raw)}")
        self._aead = AESGCM(raw)
        self._hasher = PasswordHasher()
        self._dummy = self._hasher.hash(secrets.token_urlsafe(16))

    def seal(self, user_id: str, password: str) -> str:
        return self.seal_hash(user_id, self._hasher.hash(password))

    def seal_hash(self, user_id: str, password_hash: str) -> str:
        """Seal an argon2 hash (also how hashes stored in the clear by older versions are migrated)."""
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, password_hash.encode(), user_id.encode())
        return f"{SEAL_VERSION}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def verify(self, user_id: str, sealed: str | None, password: str) -> bool:
        """True when ``password`` matches; a missing or unreadable seal still runs one argon2 verify,
        so the answer's timing does not tell whether the account exists."""
        stored = self._unseal(user_id, sealed) if sealed else None
        try:
            return self._hasher.verify(stored or self._dummy, password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False

    def _unseal(self, user_id: str, sealed: str) -> str | None:
        version, _, body = sealed.partition(":")
        if version != SEAL_VERSION:
            return None
        try:
            raw = base64.urlsafe_b64decode(body.encode())
            return self._aead.decrypt(raw[:12], raw[12:], user_id.encode()).decode()
        except (binascii.Error, ValueError, InvalidTag):
            return None
