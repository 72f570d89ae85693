"""GraphQL over WebSocket (graphql-transport-ws): malformed frames, limits and consumers that stop reading.

Strawberry runs the protocol; this module hardens it. Why each rule:

* The protocol closes the socket with ``4400: <reason>`` on any message of a type or format it
  does not specify. Strawberry indexes a message before checking its shape, so a JSON array or
  a list as ``id`` raised ``TypeError`` out of the ASGI app and the peer got no close frame at
  all: every message is checked here first (:func:`message_problem`).
* A bad token in the handshake's ``Authorization`` header closes the socket with ``4403:
  Forbidden``, the code the protocol's reference implementation uses to reject a connection
  (it used to be an HTTP 401 raised inside an already accepted WebSocket).
* A close frame carries at most 123 bytes of reason; a longer one (an echoed ``type`` or
  ``id`` of any length) made the server raise instead of close, so reasons are cut to fit.
* Operations in flight are limited per connection and per user (across this process's
  connections). A subscribe beyond a limit is answered with an ``error`` message coded
  ``TOO_MANY_SUBSCRIPTIONS`` before any task, broker subscription or query exists for it.
* When messages wait and the socket takes none of them for the send timeout, the connection is
  closed (``1008``, "slow consumer"). A peer that stops reading fills the socket buffers and then
  blocks every send forever: its operation tasks, broker subscriptions and queued updates would
  live as long as it keeps the TCP connection open. One watchdog timer per connection checks
  this (every half timeout, so it acts within 1.5 timeouts); a timeout around each send cost
  ~40 µs per message, a sixth of a whole delivery.

* The session is checked while the connection lives: every ``SESSION_CHECK_S`` the token is
  checked against its account again (``api.accounts``), so a user who is disabled, deleted or
  logged out, or whose sessions an admin ended, loses live subscriptions too: the connection
  closes with ``4403`` and the reason.

The legacy ``graphql-ws`` (subscriptions-transport-ws) protocol is not offered: it has no
close codes for bad messages, and one hardened protocol is less to keep safe than two.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler

from api.auth import AuthError

BAD_REQUEST = 4400
FORBIDDEN = 4403
POLICY_VIOLATION = 1008
#: A close frame's payload is 125 bytes, two of which hold the code.
CLOSE_REASON_BYTES = 123
#: How long the final close frame may wait for a socket that stopped reading.
CLOSE_TIMEOUT_S = 1.0
TOO_MANY_SUBSCRIPTIONS = "TOO_MANY_SUBSCRIPTIONS"
#: How often a live connection's session is checked again (the account cache's time: api.accounts).
SESSION_CHECK_S = 2.0


@dataclass(frozen=True)
class SubscriptionLimits:
    """Operations in flight per connection and per user, and how long one send may wait."""

    per_connection: int
    per_user: int
    send_timeout_s: float

    @classmethod
    def from_settings(cls, settings: Any) -> SubscriptionLimits:
        return cls(per_connection=settings.ws_max_subscriptions_per_connection,
                   per_user=settings.ws_max_subscriptions_per_user,
                   send_timeout_s=settings.ws_send_timeout_seconds)


class UserConnections:
    """The open WebSocket connections of each user in this process.

    The per-user count is summed from the connections' own operation tables when a subscribe
    arrives, so there is no second counter that could drift from what is really running.
    """

    def __init__(self) -> None:
        self._by_user: dict[str, set[GridTwinTransportWSHandler]] = {}

    def add(self, user: str, handler: GridTwinTransportWSHandler) -> None:
        self._by_user.setdefault(user, set()).add(handler)

    def discard(self, user: str, handler: GridTwinTransportWSHandler) -> None:
        handlers = self._by_user.get(user)
        if handlers is not None:
            handlers.discard(handler)
            if not handlers:
                del self._by_user[user]

    def operations_of(self, user: str) -> int:
        return sum(len(handler.operations) for handler in self._by_user.get(user, ()))


def message_problem(message: object) -> str | None:
    """Why ``message`` is not a graphql-transport-ws message Strawberry may index, or None."""
    if not isinstance(message, dict):
        return "a message must be a JSON object"
    kind = message.get("type")
    if not isinstance(kind, str):
        return "a message needs a string 'type'"
    if kind in ("subscribe", "complete") and not isinstance(message.get("id"), str):
        return f"a {kind} message needs a string 'id'"
    if kind == "subscribe":
        return _subscribe_payload_problem(message.get("payload"))
    return None


def _subscribe_payload_problem(payload: object) -> str | None:
    if not isinstance(payload, dict):
        return "a subscribe message needs an object 'payload'"
    if not isinstance(payload.get("query"), str):
        return "subscribe payload.query must be a string"
    if not isinstance(payload.get("variables"), dict | None):
        return "subscribe payload.variables must be an object or null"
    if not isinstance(payload.get("operationName"), str | None):
        return "subscribe payload.operationName must be a string or null"
    return None


def fitted_reason(reason: str) -> str:
    """``reason`` cut to what a close frame carries, on a UTF-8 character boundary."""
    return reason.encode()[:CLOSE_REASON_BYTES].decode(errors="ignore")


def reject_handshake(request: Any, reason: str) -> None:
    """Remember on the connection why its handshake credentials were refused (closed with 4403)."""
    request.state.handshake_rejection = reason


def _handshake_rejection(context: Any) -> str | None:
    request = getattr(context, "request", None)
    return getattr(request.state, "handshake_rejection", None) if request is not None else None


class GridTwinWebSocketAdapter(ASGIWebSocketAdapter):
    """Strawberry's ASGI adapter whose close reasons always fit a close frame."""

    async def close(self, code: int, reason: str) -> None:
        await super().close(code, fitted_reason(reason))


class GridTwinTransportWSHandler(BaseGraphQLTransportWSHandler[Any, Any]):
    """graphql-transport-ws with checked messages, subscription limits and a watchdog on stalled sends."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limits = SubscriptionLimits.from_settings(self.context.services.settings)
        self._user: str | None = None  # known once connection_init authenticated the connection
        self._handler_task: asyncio.Task[Any] | None = None
        self._stalled = False
        self._sends_waiting = 0
        self._waiting_since = 0.0  # loop time of the last send that completed, or of the first that waited
        self._watchdog: asyncio.TimerHandle | None = None
        self._session_ended: str | None = None

    async def handle(self) -> None:
        rejection = _handshake_rejection(self.context)
        if rejection is not None:
            await self.websocket.close(FORBIDDEN, f"Forbidden: {rejection}")
            return
        self._handler_task = asyncio.current_task()
        self._watch()
        session = asyncio.create_task(self._watch_session())
        try:
            await super().handle()
        except asyncio.CancelledError:
            # Cancelled by _stall or _end_session; anything else cancels for real.
            ended = self._stalled or self._session_ended is not None
            if not ended or self._handler_task is None or self._handler_task.uncancel() > 0:
                raise
        finally:
            if self._watchdog is not None:
                self._watchdog.cancel()
            session.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await session
        if self._session_ended is not None:
            await self._close_quietly(FORBIDDEN, fitted_reason(f"Forbidden: {self._session_ended}"))
        elif self._stalled:
            waited = self._limits.send_timeout_s
            await self._close_quietly(POLICY_VIOLATION, f"slow consumer: messages waited {waited:g} s, the socket "
                                                        "took none")

    async def shutdown(self) -> None:
        try:
            await super().shutdown()
        finally:
            if self._user is not None:
                self.view.user_connections.discard(self._user, self)

    async def handle_message(self, message: Any) -> None:
        problem = message_problem(message)
        if problem is not None:
            await self.handle_invalid_message(problem)
            return
        await super().handle_message(message)

    async def handle_subscribe(self, message: Any) -> None:
        if not self.connection_acknowledged or message["id"] in self.operations:
            await super().handle_subscribe(message)  # the protocol's 4401 / 4409 closes
            return
        if self._user is None:
            principal = self.context.principal
            self._user = principal.user_id if principal is not None else ""
            self.view.user_connections.add(self._user, self)
        refusal = self._limit_refusal(self._user)
        if refusal is not None:
            error = GraphQLError(refusal, extensions={"code": TOO_MANY_SUBSCRIPTIONS})
            await self.send_message({"id": message["id"], "type": "error", "payload": [error.formatted]})
            return
        await super().handle_subscribe(message)

    def _limit_refusal(self, user: str) -> str | None:
        if len(self.operations) >= self._limits.per_connection:
            return (f"at most {self._limits.per_connection} subscriptions per connection; complete one "
                    "before subscribing again")
        if self.view.user_connections.operations_of(user) >= self._limits.per_user:
            return f"at most {self._limits.per_user} subscriptions per user across connections"
        return None

    async def send_message(self, message: Mapping[str, Any]) -> None:  # type: ignore[override]
        if self._stalled:
            raise WebSocketDisconnected
        loop = asyncio.get_running_loop()
        if self._sends_waiting == 0:
            self._waiting_since = loop.time()
        self._sends_waiting += 1
        try:
            await super().send_message(message)  # type: ignore[arg-type]
        finally:
            self._sends_waiting -= 1
            self._waiting_since = loop.time()  # the socket took a message (or gave up): the clock restarts

    def _watch(self) -> None:
        """Check every half send timeout whether messages have waited a whole timeout without progress."""
        loop = asyncio.get_running_loop()
        if self._sends_waiting and loop.time() - self._waiting_since >= self._limits.send_timeout_s:
            self._stall()
            return
        self._watchdog = loop.call_later(self._limits.send_timeout_s / 2, self._watch)

    async def _watch_session(self) -> None:
        """Check the connection's token against its account every SESSION_CHECK_S; end the connection
        when the session no longer stands (the role of later operations follows the account)."""
        while True:
            await asyncio.sleep(SESSION_CHECK_S)
            token = self.context.session_token
            if token is None:
                continue
            try:
                self.context.principal = await self.context.services.accounts.principal(token)
            except AuthError as error:
                self._session_ended = str(error)
                if self._handler_task is not None:
                    self._handler_task.cancel()
                return

    def _stall(self) -> None:
        """The peer stopped reading: end the read loop, whose shutdown cancels every operation."""
        self._stalled = True
        if self._handler_task is not None:
            self._handler_task.cancel()

    async def handle_task_exception(self, error: Exception) -> None:
        if isinstance(error, WebSocketDisconnected):
            return  # the peer left or was closed as a slow consumer: nothing to log
        await super().handle_task_exception(error)

    async def _close_quietly(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await self.websocket.close(code, reason)
