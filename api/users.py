"""The GraphQL operations on accounts: login, logout, ``me``, and the admins' user management.

These are the only doors to User twins and credentials (twin operations refuse them, see
``graph.twins.refuse_account_twin``); each declares its permission on the field.
"""

from __future__ import annotations

import strawberry
from api.context import GraphQLInfo

from api.accounts import AccountService
from api.auth import Permission, Role
from api.errors import ClientError, call, guarded
from api.permissions import Authenticated, requires
from graph import accounts as graph_accounts
from graph.accounts import Account

UserRole = strawberry.enum(Role, name="UserRole", description="Access roles, lowest first.")


@strawberry.type
class AuthToken:
    token: str
    expires_in: int
    role: UserRole  # type: ignore[valid-type]


@strawberry.type(description="A user account (its twin is of the User interface; the credential is never shown).")
class UserAccount:
    id: strawberry.ID
    username: str
    role: UserRole  # type: ignore[valid-type]
    active: bool
    email: str | None
    display_name: str | None


@strawberry.type
class Me:
    id: strawberry.ID
    username: str
    role: UserRole  # type: ignore[valid-type]


def _account(account: Account) -> UserAccount:
    role = Role[account.role] if account.role in Role.__members__ else Role.viewer
    return UserAccount(id=strawberry.ID(account.user_id), username=account.username, role=role,
                       active=account.active, email=account.email, display_name=account.display_name)


def _accounts(info: GraphQLInfo) -> AccountService:
    return info.context.services.accounts  # type: ignore[no-any-return]


async def _refuse_last_admin(info: GraphQLInfo, username: str) -> None:
    """Keep at least one active admin: without one, nobody could manage accounts or models again."""
    accounts = await call(graph_accounts.list_accounts, info.context.services.neo4j)
    others = [a for a in accounts if a.role == Role.admin.name and a.active and a.username != username]
    if not others and any(a.username == username and a.role == Role.admin.name for a in accounts):
        raise ClientError("this is the last active admin; make another admin first", "CONFLICT",
                          [{"pointer": "/username", "message": "last active admin"}])


@strawberry.type
class AccountQuery:
    @strawberry.field(description="The caller's account; null without a valid token.")
    def me(self, info: GraphQLInfo) -> Me | None:
        principal = info.context.principal
        return Me(id=strawberry.ID(principal.user_id), username=principal.username,
                  role=principal.role) if principal else None

    @strawberry.field(description="Every account (admins only).", permission_classes=[requires(Permission.manage_users)])
    async def users(self, info: GraphQLInfo) -> list[UserAccount]:
        return [_account(a) for a in await call(graph_accounts.list_accounts, info.context.services.neo4j)]


@strawberry.type
class AccountMutation:
    @strawberry.mutation(description="Exchange a username and password for a bearer token. Failed attempts lock "
                                     "the username out for a doubling time; each client has a login rate limit.")
    async def login(self, info: GraphQLInfo, username: str, password: str) -> AuthToken:
        request = info.context.request
        client = request.client.host if request is not None and request.client else "unknown"
        token, role = await guarded(_accounts(info).login(username, password, client))
        return AuthToken(token=token, expires_in=_accounts(info).ttl_seconds, role=role)

    @strawberry.mutation(description="End this session (its token stops working at once); allSessions ends every "
                                     "session of the account.", permission_classes=[Authenticated])
    async def logout(self, info: GraphQLInfo, all_sessions: bool = False) -> bool:
        await guarded(_accounts(info).logout(info.context.principal, all_sessions))
        return True

    @strawberry.mutation(description="Create a user (a User twin with a sealed password hash).",
                         permission_classes=[requires(Permission.manage_users)])
    async def create_user(self, info: GraphQLInfo, username: str, password: str, role: UserRole,  # type: ignore[valid-type]
                          email: str | None = None, display_name: str | None = None) -> UserAccount:
        extra = {key: value for key, value in {"email": email, "displayName": display_name}.items() if value}
        account = await guarded(_accounts(info).create(info.context.active.models, username, password, role, extra))
        return _account(account)

    @strawberry.mutation(description="Change a user's role; it applies to the user's next request.",
                         permission_classes=[requires(Permission.manage_users)])
    async def set_user_role(self, info: GraphQLInfo, username: str, role: UserRole) -> UserAccount:  # type: ignore[valid-type]
        if role != Role.admin:
            await _refuse_last_admin(info, username)
        return _account(await guarded(_accounts(info).change(graph_accounts.set_role, username, role.name)))

    @strawberry.mutation(description="Enable or disable an account; a disabled account's tokens stop working.",
                         permission_classes=[requires(Permission.manage_users)])
    async def set_user_active(self, info: GraphQLInfo, username: str, active: bool) -> UserAccount:
        if not active:
            await _refuse_last_admin(info, username)
        return _account(await guarded(_accounts(info).change(graph_accounts.set_active, username, active)))

    @strawberry.mutation(description="Set a user's password; every session of the account ends.",
                         permission_classes=[requires(Permission.manage_users)])
    async def set_user_password(self, info: GraphQLInfo, username: str, password: str) -> UserAccount:
        return _account(await guarded(_accounts(info).set_password(username, password)))

    @strawberry.mutation(description="End every session of a user (their tokens stop working at once).",
                         permission_classes=[requires(Permission.manage_users)])
    async def revoke_sessions(self, info: GraphQLInfo, username: str) -> UserAccount:
        return _account(await guarded(_accounts(info).change(graph_accounts.end_sessions, username)))

    @strawberry.mutation(description="Delete an account: its User twin, its credential and its relationships.",
                         permission_classes=[requires(Permission.manage_users)])
    async def delete_user(self, info: GraphQLInfo, username: str) -> bool:
        await _refuse_last_admin(info, username)
        await guarded(_accounts(info).delete(username))
        return True
