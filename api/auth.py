"""Authentication and role-based access: argon2 password hashes, JWT bearer tokens, roles.

Roles are ordered; each permission names the lowest role that holds it, so the
whole policy reads as one table (``PERMISSIONS``) and every resolver asks for a
permission, never for a role.
"""

from __future__ import annotations

import enum
import secrets
import time
from dataclasses import dataclass

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

JWT_ALGORITHM = "HS256"
_hasher = PasswordHasher()


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
    run_cypher = "run read-only Cypher"
    write_twins = "write twins and relationships"
    write_telemetry = "write telemetry"
    run_simulation = "run simulations"
    run_inference = "run ML inference"
    manage_models = "upload, decommission and delete models"
    manage_users = "create users and set roles"


PERMISSIONS: dict[Permission, Role] = {
    Permission.read_twins: Role.viewer,
    Permission.read_telemetry: Role.viewer,
    Permission.read_models: Role.analyst,
    Permission.run_cypher: Role.analyst,
    Permission.write_twins: Role.operator,
    Permission.write_telemetry: Role.operator,
    Permission.run_simulation: Role.operator,
    Permission.run_inference: Role.operator,
    Permission.manage_models: Role.admin,
    Permission.manage_users: Role.admin,
}


class AuthError(Exception):
    """Authentication failed (no, bad or expired token; wrong password)."""


class Forbidden(Exception):
    """Authenticated, but the role lacks the permission."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: the user's twin id, username and role."""

    user_id: str
    username: str
    role: Role

    def can(self, permission: Permission) -> bool:
        return self.role >= PERMISSIONS[permission]


def require(principal: Principal | None, permission: Permission) -> Principal:
    """The caller if it holds ``permission``; AuthError without a token, Forbidden without the role."""
    if principal is None:
        raise AuthError(f"authentication required to {permission.value}")
    if not principal.can(permission):
        raise Forbidden(f"role {principal.role.name} may not {permission.value}")
    return principal


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def issue_token(principal: Principal, secret: str, ttl_seconds: int) -> str:
    now = int(time.time())
    claims = {"sub": principal.user_id, "name": principal.username, "role": principal.role.name,
              "iat": now, "exp": now + ttl_seconds}
    return jwt.encode(claims, secret, algorithm=JWT_ALGORITHM)


def read_token(token: str, secret: str) -> Principal:
    """The principal a token names; AuthError when it is forged, malformed or expired."""
    try:
        claims = jwt.decode(token, secret, algorithms=[JWT_ALGORITHM], options={"require": ["exp", "sub"]})
        return Principal(user_id=claims["sub"], username=claims.get("name", ""), role=Role[claims["role"]])
    except jwt.ExpiredSignatureError as error:
        raise AuthError("token expired") from error
    except (jwt.InvalidTokenError, KeyError) as error:
        raise AuthError("invalid token") from error


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, if any."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def new_secret() -> str:
    return secrets.token_urlsafe(48)
