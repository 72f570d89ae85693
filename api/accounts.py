"""Accounts in the API: logins, the per-request account check, and the admins' user operations.

Every request that carries a token is checked against the account as it is *now*
(``AccountService.principal``): missing, inactive, an older session epoch or a revoked
token id is a 401, and the role comes from the account, never from the token. The
look-up is cached for ``STATE_TTL_S`` per account and dropped at once when an admin
changes the account through this process, so the check costs a dict read on the hot
path and at most one Neo4j read per account and TTL.

Logins are the expensive, attackable door: argon2 needs ~64 MiB and tens of ms per
call, so at most ``MAX_CONCURRENT_HASHES`` run at once and no more than
``MAX_WAITING_HASHES`` may wait (the rest answer RETRY_LATER before any work); failed
attempts lock a username out for a doubling time and a client is rate limited; an
unknown username costs the same argon2 verify as a known one.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import neo4j
from starlette.concurrency import run_in_threadpool

from api.auth import AuthError, PasswordVault, Principal, Role, VerifiedTokens, issue_token
from api.errors import ClientError
from dtdl.model import ModelSet
from graph import accounts as graph_accounts
from graph.accounts import Account, AccountState
from graph.errors import Problem, ValidationError

T = TypeVar("T")

STATE_TTL_S = 2.0
MAX_CACHED_ACCOUNTS = 100_000
MAX_CONCURRENT_HASHES = 2
MAX_WAITING_HASHES = 16
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1_024
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


class AccountCache:
    """Account states by user id for a short time; ``forget`` after a change made here."""

    def __init__(self, ttl_s: float = STATE_TTL_S, max_entries: int = MAX_CACHED_ACCOUNTS) -> None:
        self._ttl = ttl_s
        self._max = max_entries
        self._entries: dict[str, tuple[float, AccountState | None]] = {}

    def get(self, user_id: str) -> tuple[bool, AccountState | None]:
        entry = self._entries.get(user_id)
        if entry is None or entry[0] < time.monotonic():
            return False, None
        return True, entry[1]

    def put(self, user_id: str, state: AccountState | None) -> None:
        if len(self._entries) >= self._max:
            self._entries.clear()
        self._entries[user_id] = (time.monotonic() + self._ttl, state)

    def forget(self, user_id: str) -> None:
        self._entries.pop(user_id, None)


@dataclass
class LoginThrottle:
    """Failed logins lock a username out for a doubling time; each client gets a bounded rate of failures.

    Kept per API process (a replica behind a load balancer counts its own share): enough to turn an
    online guessing attack from thousands of tries a second into a handful a minute.
    """

    free_failures: int = 5
    first_lockout_s: float = 30.0
    max_lockout_s: float = 900.0
    per_client_per_minute: int = 30
    max_entries: int = 100_000
    _failures: OrderedDict[str, tuple[int, float]] = field(default_factory=OrderedDict)
    _clients: OrderedDict[str, list[float]] = field(default_factory=OrderedDict)

    def check(self, username: str, client: str) -> None:
        """Refuse (RATE_LIMITED, with the wait) while the username is locked or the client failed too often."""
        now = time.monotonic()
        recent = [t for t in self._clients.get(client, []) if t > now - 60.0]
        if len(recent) >= self.per_client_per_minute:
            self._refuse(60.0 - (now - recent[0]), "too many failed logins from this client")
        _, locked_until = self._failures.get(username, (0, 0.0))
        if locked_until > now:
            self._refuse(locked_until - now, "too many failed logins for this username")

    def failed(self, username: str, client: str) -> None:
        now = time.monotonic()
        recent = [t for t in self._clients.get(client, []) if t > now - 60.0]
        self._remember(self._clients, client, recent + [now])
        failures, _ = self._failures.get(username, (0, 0.0))
        failures += 1
        extra = failures - self.free_failures
        lock = min(self.max_lockout_s, self.first_lockout_s * 2 ** (extra - 1)) if extra > 0 else 0.0
        self._remember(self._failures, username, (failures, now + lock))

    def succeeded(self, username: str) -> None:
        self._failures.pop(username, None)

    def _remember(self, table: OrderedDict[str, Any], key: str, value: Any) -> None:
        table[key] = value
        table.move_to_end(key)
        while len(table) > self.max_entries:
            table.popitem(last=False)

    @staticmethod
    def _refuse(retry_after_s: float, why: str) -> None:
        seconds = max(1, round(retry_after_s))
        raise ClientError(f"{why}; retry in {seconds} s", "RATE_LIMITED",
                          [{"pointer": "/username", "message": f"retry after {seconds} s"}])


class BoundedHashing:
    """Runs argon2 work in threads, at most ``limit`` at once, refusing when too many already wait."""

    def __init__(self, limit: int = MAX_CONCURRENT_HASHES, max_waiting: int = MAX_WAITING_HASHES) -> None:
        self._slots = asyncio.Semaphore(limit)
        self._max_waiting = max_waiting
        self._waiting = 0

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        if self._waiting >= self._max_waiting:
            raise ClientError("the server is busy hashing passwords; retry in a second", "RETRY_LATER")
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        try:
            return await run_in_threadpool(function, *args)
        finally:
            self._slots.release()


class AccountService:
    """Accounts of one API process: the account check of every request, logins, user management."""

    def __init__(self, driver: neo4j.Driver, async_driver: neo4j.AsyncDriver, vault: PasswordVault,
                 jwt_secret: str, ttl_seconds: int) -> None:
        self._driver = driver
        self._async_driver = async_driver
        self._vault = vault
        self._jwt_secret = jwt_secret
        self._tokens = VerifiedTokens(jwt_secret)
        self._ttl = ttl_seconds
        self.cache = AccountCache()
        self.throttle = LoginThrottle()
        self.hashing = BoundedHashing()

    # --- every request ---------------------------------------------------------------------

    async def principal(self, token: str) -> Principal:
        """The caller a bearer token stands for now; AuthError when the token or its account is not valid."""
        claims = self._tokens.read(token)
        state = await self._state(claims.user_id)
        if state is None or not state.active:
            raise AuthError("this account is disabled or no longer exists")
        if claims.session_epoch != state.session_epoch or claims.token_id in state.revoked_tokens:
            raise AuthError("this session has ended; log in again")
        if state.role not in Role.__members__:
            raise AuthError("this account has no valid role")
        return Principal(user_id=state.user_id, username=state.username, role=Role[state.role],
                         token_id=claims.token_id, expires_at=claims.expires_at)

    async def _state(self, user_id: str) -> AccountState | None:
        hit, state = self.cache.get(user_id)
        if not hit:
            state = await graph_accounts.account_state_async(self._async_driver, user_id)
            self.cache.put(user_id, state)
        return state

    # --- logins -----------------------------------------------------------------------------

    async def login(self, username: str, password: str, client: str) -> tuple[str, Role]:
        """A token for valid credentials of an active account; one vague AuthError otherwise."""
        _check_password_length(password, "/password")
        self.throttle.check(username, client)
        found = await run_in_threadpool(graph_accounts.sealed_credential, self._driver, username) \
            if USERNAME.match(username) else None
        state, sealed = found if found else (None, None)
        user_id = state.user_id if state else graph_accounts.account_twin_id(username)
        valid = await self.hashing.run(self._vault.verify, user_id, sealed, password)
        if not valid or state is None or not state.active or state.role not in Role.__members__:
            self.throttle.failed(username, client)
            raise AuthError("wrong username or password, or the account is disabled")
        self.throttle.succeeded(username)
        await run_in_threadpool(graph_accounts.record_login, self._driver, state.user_id)
        token = issue_token(state.user_id, state.username, state.session_epoch, self._jwt_secret, self._ttl)
        return token, Role[state.role]

    async def logout(self, principal: Principal, all_sessions: bool) -> None:
        if all_sessions:
            await run_in_threadpool(graph_accounts.end_sessions, self._driver, principal.username)
        else:
            await run_in_threadpool(graph_accounts.revoke_token, self._driver, principal.user_id,
                                    principal.token_id, principal.expires_at)
        self.cache.forget(principal.user_id)

    @property
    def ttl_seconds(self) -> int:
        return self._ttl

    # --- admins -----------------------------------------------------------------------------

    async def create(self, models: ModelSet, username: str, password: str, role: Role,
                     properties: dict[str, Any]) -> Account:
        check_new_credentials(username, password)
        user_id = graph_accounts.account_twin_id(username)
        sealed = await self.hashing.run(self._vault.seal, user_id, password)
        return await run_in_threadpool(graph_accounts.create_account, self._driver, models, username, role.name,
                                       sealed, properties)

    async def change(self, operation: Callable[..., Account], username: str, *args: Any) -> Account:
        """Run one of graph.accounts' changes and drop the cached state, so the next request sees it."""
        account = await run_in_threadpool(operation, self._driver, username, *args)
        self.cache.forget(account.user_id)
        return account

    async def set_password(self, username: str, password: str) -> Account:
        check_new_credentials(username, password)
        sealed = await self.hashing.run(self._vault.seal, graph_accounts.account_twin_id(username), password)
        return await self.change(graph_accounts.set_sealed_hash, username, sealed)

    async def delete(self, username: str) -> None:
        await run_in_threadpool(graph_accounts.delete_account, self._driver, username)
        self.cache.forget(graph_accounts.account_twin_id(username))

    def seal_legacy_credentials(self) -> int:
        """Seal hashes that older versions stored in the clear (start-up; a no-op once done)."""
        legacy = graph_accounts.unsealed_credentials(self._driver)
        for user_id, password_hash in legacy:
            graph_accounts.replace_unsealed(self._driver, user_id, self._vault.seal_hash(user_id, password_hash))
        return len(legacy)

    def ensure_admin(self, models: ModelSet, username: str, password: str, *, reset_password: bool) -> bool:
        """Create the first admin unless the account exists; True when created (runs at start-up).

        With ``reset_password`` (the password comes from configuration, the source of truth for this
        bootstrap account) an existing account gets that password, the admin role and activity back, so a
        lost admin password is recovered by restarting with ``GRIDTWIN_ADMIN_PASSWORD`` set."""
        check_new_credentials(username, password)
        user_id = graph_accounts.account_twin_id(username)
        found = graph_accounts.sealed_credential(self._driver, username)
        if found is None:
            graph_accounts.create_account(self._driver, models, username, Role.admin.name,
                                          self._vault.seal(user_id, password))
            return True
        state, sealed = found
        if reset_password:
            if not self._vault.verify(user_id, sealed, password):  # a new password ends the old sessions
                graph_accounts.set_sealed_hash(self._driver, username, self._vault.seal(user_id, password))
            if state.role != Role.admin.name:
                graph_accounts.set_role(self._driver, username, Role.admin.name)
            if not state.active:
                graph_accounts.set_active(self._driver, username, True)
        return False


def check_new_credentials(username: str, password: str) -> None:
    problems = []
    if not isinstance(username, str) or not USERNAME.match(username):
        problems.append(Problem("/username", "1-64 letters, digits or . _ @ -, starting with a letter or digit"))
    if len(password) < MIN_PASSWORD_LENGTH or len(password) > MAX_PASSWORD_LENGTH:
        problems.append(Problem("/password", f"{MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters"))
    if problems:
        raise ValidationError("invalid user", problems)


def _check_password_length(password: str, pointer: str) -> None:
    """Refuse absurd passwords before hashing them (argon2 time grows with the input)."""
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ClientError(f"a password has at most {MAX_PASSWORD_LENGTH} characters", "BAD_USER_INPUT",
                          [{"pointer": pointer, "message": "too long"}])
