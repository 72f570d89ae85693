"""Request body limits, enforced at the edge of the app while the body streams in.

Every HTTP request passes :class:`BodyLimitMiddleware`, which answers 413 (a JSON body
naming the limit) before the app holds more than the route's limit:

* a ``Content-Length`` above the limit is refused up front, before any app code runs
  (the header is only this fast path: the bytes actually received are what count);
* the ``http.request`` messages are counted as they arrive and refused as soon as the
  count passes the limit, whatever the header said and for chunked bodies without one.

``/graphql`` (and every route without a limit of its own) is *read ahead*: Strawberry
resolves the caller (``get_context``: token, account) before it reads the body, so the
middleware reads the body up to the limit first and only then calls the app; for an
oversized body no app code runs at all, authentication included.  ``/ingest`` is *streamed*
instead: its endpoint checks the bearer token before it reads a byte (a missing or forged
token costs a JWT signature check, no I/O), so the body of a sender without an operator
token is never read, let alone inflated, and an operator's body is counted while the
endpoint streams it; a gzip body is inflated chunk by chunk (:func:`read_gunzipped`) with
the *decompressed* size bounded too, so memory is bounded by the limit, not by the
compression ratio.  Reading /ingest ahead instead would let anyone make the process hold
64 MiB per connection before the 401.

Starlette's ``RequestBodyLimitMiddleware`` counts bytes too, but only per app or per
``Route`` (the routes belong to ``api/app.py``), answers plain text without the limit, and
refuses a too-large ``Content-Length`` only once the app asks for the body; hence this one.

The limits (bytes) and why:

* ``/graphql`` 16 MiB: the largest legitimate body is ``ingestTelemetry`` at its cap of
  10 000 messages (``api.telemetry.MAX_MESSAGES_PER_CALL``); a full 22-value measurement-point
  snapshot is ~850 bytes of JSON, so a full batch is ~8 MiB: 16 MiB leaves 2x headroom.
  ``uploadModels`` of the whole built-in model set (35 interfaces) is ~100 KB (~145 KB
  pretty-printed), over 100 times below the limit.
* ``/ingest`` 64 MiB as sent and 64 MiB decompressed: the documented limit of the endpoint
  (large gateway batches; the spool and writer take them in 5000-line batches).
* anything else 64 KiB: ``/healthz`` and ``/readyz`` take no body; this bounds stray posts.

WebSocket frames are not HTTP bodies; their size is bounded by the server (uvicorn's
``ws_max_size``, 16 MiB by default).
"""

from __future__ import annotations

import asyncio
import zlib
from collections import deque
from collections.abc import AsyncIterable, Mapping
from dataclasses import dataclass

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

KIB = 1024
MIB = 1024 * KIB

GRAPHQL_MAX_BYTES = 16 * MIB
INGEST_MAX_BYTES = 64 * MIB
INGEST_MAX_DECOMPRESSED_BYTES = 64 * MIB
DEFAULT_MAX_BYTES = 64 * KIB
#: Output of one inflate step (a few ms of CPU) between two yields to the event loop.
INFLATE_STEP_BYTES = 1 * MIB

#: zlib's window bits for a gzip wrapper (RFC 1952), as ``Content-Encoding: gzip`` sends.
_GZIP_WBITS = 16 + zlib.MAX_WBITS


@dataclass(frozen=True)
class BodyLimit:
    """At most ``max_bytes`` of body; ``read_ahead``: read it all (bounded) before calling the app."""

    max_bytes: int
    read_ahead: bool = True


ROUTE_LIMITS: Mapping[str, BodyLimit] = {
    "/graphql": BodyLimit(GRAPHQL_MAX_BYTES, read_ahead=True),
    "/ingest": BodyLimit(INGEST_MAX_BYTES, read_ahead=False),
}
DEFAULT_LIMIT = BodyLimit(DEFAULT_MAX_BYTES, read_ahead=True)


class BodyTooLarge(Exception):
    """A body passed ``max_bytes``; ``what`` says which size (as sent, or decompressed)."""

    def __init__(self, max_bytes: int, what: str = "request body") -> None:
        super().__init__(f"{what} larger than {_human(max_bytes)} ({max_bytes} bytes); send smaller requests")
        self.max_bytes = max_bytes
        self.what = what


class BadGzip(ValueError):
    """A ``Content-Encoding: gzip`` body that is not (complete) gzip."""


def too_large_response(error: BodyTooLarge) -> JSONResponse:
    """413 naming the limit; the connection is closed since the rest of the body is never read."""
    return JSONResponse({"error": str(error), "maxBytes": error.max_bytes}, status_code=413,
                        headers={"Connection": "close"})


class BodyLimitMiddleware:
    """Pure ASGI: per-path body limits (``ROUTE_LIMITS``, else ``default``), 413 before the app reads more."""

    def __init__(self, app: ASGIApp, limits: Mapping[str, BodyLimit] = ROUTE_LIMITS,
                 default: BodyLimit = DEFAULT_LIMIT) -> None:
        self.app = app
        self.limits = limits
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.get(scope["path"], self.default)
        declared = _declared_length(scope)
        if declared is not None and declared > limit.max_bytes:
            await too_large_response(BodyTooLarge(limit.max_bytes))(scope, receive, send)
            return
        if limit.read_ahead:
            await self._read_ahead(limit.max_bytes, scope, receive, send)
        else:
            await self._streamed(limit.max_bytes, scope, receive, send)

    async def _read_ahead(self, max_bytes: int, scope: Scope, receive: Receive, send: Send) -> None:
        """The whole body (at most ``max_bytes``) before the app runs; the app gets it replayed."""
        messages: deque[Message] = deque()
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break  # the client went away: the app sees the disconnect
            size += len(message.get("body", b""))
            if size > max_bytes:
                await too_large_response(BodyTooLarge(max_bytes))(scope, receive, send)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.popleft() if messages else await receive()

        await self.app(scope, replay, send)

    async def _streamed(self, max_bytes: int, scope: Scope, receive: Receive, send: Send) -> None:
        """Count the body while the app reads it; past ``max_bytes`` the app's read fails and we answer 413."""
        received = 0
        response_started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise BodyTooLarge(max_bytes)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLarge as error:
            if response_started:
                raise
            await too_large_response(error)(scope, receive, send)


async def read_plain(chunks: AsyncIterable[bytes], max_bytes: int) -> bytearray:
    """The body, at most ``max_bytes`` (``BodyTooLarge`` beyond)."""
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > max_bytes:
            raise BodyTooLarge(max_bytes)
    return body


async def read_gunzipped(chunks: AsyncIterable[bytes], max_bytes: int) -> bytearray:
    """A gzip body inflated chunk by chunk; ``BodyTooLarge`` as soon as the output passes ``max_bytes``.

    zlib's ``max_length`` caps what each step may produce, so at most ``max_bytes + 1`` bytes
    are ever inflated whatever the ratio; steps of at most ``INFLATE_STEP_BYTES`` with a yield
    between them keep one large body from holding the event loop.  Several gzip members may
    follow each other as ``gzip.decompress`` allows; a truncated or corrupt stream is ``BadGzip``.
    """
    body = bytearray()
    inflater = zlib.decompressobj(_GZIP_WBITS)
    seen_input = False
    try:
        async for chunk in chunks:
            seen_input = seen_input or bool(chunk)
            data = chunk
            while data:
                inflater, data = _inflate_step(body, inflater, data, max_bytes)
                await asyncio.sleep(0)
    except zlib.error as error:
        raise BadGzip(f"body is not valid gzip: {error}") from error
    if seen_input and not inflater.eof:
        raise BadGzip("body is not valid gzip: the stream ends before the gzip trailer")
    return body


def _inflate_step(body: bytearray, inflater: zlib._Decompress, data: bytes,
                  max_bytes: int) -> tuple[zlib._Decompress, bytes]:
    """Inflate at most one step of ``data`` onto ``body``: the inflater and the input left for the next step."""
    body += inflater.decompress(data, min(max_bytes + 1 - len(body), INFLATE_STEP_BYTES))
    if len(body) > max_bytes:
        raise BodyTooLarge(max_bytes, "decompressed body")
    if inflater.eof and inflater.unused_data:
        return zlib.decompressobj(_GZIP_WBITS), inflater.unused_data  # the next gzip member starts here
    return inflater, inflater.unconsumed_tail


def _declared_length(scope: Scope) -> int | None:
    """The Content-Length header as a number, None when absent or not one (the count still applies)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _human(size: int) -> str:
    return f"{size // MIB} MiB" if size % MIB == 0 else f"{size // KIB} KiB" if size % KIB == 0 else f"{size} bytes"
