"""Every request gets an id: the caller's ``X-Request-Id`` when it is a plain token, else a new one.

The id is answered in the ``X-Request-Id`` response header, held in :data:`gridtwin.logs.REQUEST_ID`
while the request runs (so every log record of it carries the id, threads of the pool included:
they run in a copy of the request's context) and sent to Neo4j as transaction metadata by the
graph layer where it passes it.  A WebSocket connection keeps one id for its life.
"""

from __future__ import annotations

import re
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gridtwin.logs import REQUEST_ID

HEADER = b"x-request-id"
#: What a caller's id may be: ids are logged and echoed, so nothing that could forge a log line.
ACCEPTED = re.compile(rb"[A-Za-z0-9._:-]{1,64}")


def request_id_of(scope: Scope) -> str:
    """The caller's id when acceptable, else a fresh random one."""
    for name, value in scope.get("headers", ()):
        if name == HEADER and ACCEPTED.fullmatch(value):
            return value.decode()
    return uuid.uuid4().hex


class RequestIds:
    """ASGI middleware: the request id in the context while the request runs, and in the answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)

        async def with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), (HEADER, request_id.encode())]
            await send(message)

        token = REQUEST_ID.set(request_id)
        try:
            await self.app(scope, receive, with_header if scope["type"] == "http" else send)
        finally:
            REQUEST_ID.reset(token)
