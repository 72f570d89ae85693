"""``POST /ingest``: NDJSON telemetry for devices and gateways (``Content-Encoding: gzip`` allowed).

One JSON object per line: ``{"twin": id, "time": RFC 3339 or epoch, "values": {...}}``
(``twinId``/``timestamp`` are accepted as names too).  A line that is not JSON
is rejected with its index like any invalid message; the valid ones are stored.
Answers 200 with ``{accepted, rejected, errors: [{index, twin, reason}]}``, 503
with Retry-After when the local spool is full (nothing of that batch stored),
401/403 without an operator token, 413 past the body limits.

Order of the checks, cheapest first (see ``api.body_limits``): a Content-Length above
64 MiB is refused by the middleware before this endpoint runs; then the bearer token is
checked before a byte of the body is read (a missing or forged token costs a JWT signature
check and no I/O), so the body of a sender without an operator token is never read nor
inflated; then the body is streamed, at most 64 MiB as sent (counted by the middleware)
and, for gzip, inflated chunk by chunk to at most 64 MiB.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse

from api.auth import AuthError, Forbidden, Permission, bearer_token, require
from api.body_limits import INGEST_MAX_DECOMPRESSED_BYTES, BadGzip, BodyTooLarge, read_gunzipped, read_plain, \
    too_large_response
from api.context import Services
from timeseries.lineprotocol import PRECISIONS
from timeseries.spool import SpoolFull
from timeseries.writer import WriteRejected

_ENCODINGS = ("", "identity", "gzip")


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


async def refused(request: Request, permission: Permission) -> JSONResponse | None:
    """The 401/403 answer of a plain HTTP endpoint whose bearer token lacks ``permission``, else None
    (checked before the endpoint reads a byte of its body or a file)."""
    services: Services = request.state.services
    try:
        principal = await services.accounts.principal(bearer_token(request.headers.get("authorization")) or "")
        require(principal, permission)
    except AuthError as error:
        return _error(401, str(error), {"WWW-Authenticate": "Bearer"})
    except Forbidden as error:
        return _error(403, str(error))
    return None


def parse_ndjson(body: bytes | bytearray) -> tuple[list[Any], dict[int, str]]:
    """Messages of an NDJSON body (blank lines skipped) and the indexes of lines that are not JSON."""
    messages: list[Any] = []
    bad: dict[int, str] = {}
    for line in body.splitlines():
        if not line.strip():
            continue
        try:
            message = orjson.loads(line)  # ~3x faster than json.loads: parsing was 40 % of ingest CPU
        except orjson.JSONDecodeError as error:
            bad[len(messages)] = f"not a JSON object: {error}"
            message = None
        if isinstance(message, dict):
            for alias, name in (("twinId", "twin"), ("timestamp", "time")):
                if alias in message and name not in message:
                    message[name] = message.pop(alias)
        messages.append(message)
    return messages, bad


async def ingest_endpoint(request: Request) -> JSONResponse:
    services: Services = request.state.services
    denied = await refused(request, Permission.write_telemetry)
    if denied is not None:
        return denied
    precision = request.query_params.get("precision")
    if precision is not None and precision not in PRECISIONS:
        return _error(400, f"precision must be one of {', '.join(PRECISIONS)}")
    encoding = request.headers.get("content-encoding", "").strip().lower()
    if encoding not in _ENCODINGS:
        return _error(415, f"Content-Encoding {encoding!r} is not supported; send gzip or no encoding")
    try:
        read = read_gunzipped if encoding == "gzip" else read_plain
        body = await read(request.stream(), INGEST_MAX_DECOMPRESSED_BYTES)
    except BodyTooLarge as error:
        return too_large_response(error)
    except BadGzip as error:
        return _error(400, str(error))
    messages, not_json = parse_ndjson(body)
    try:
        result = await services.telemetry.ingest.ingest(messages, precision)  # type: ignore[arg-type]
    except SpoolFull as error:
        return _error(503, str(error), {"Retry-After": str(max(1, round(error.retry_after)))})
    except WriteRejected as error:
        return _error(422, str(error))
    errors = [{"index": r.index, "twin": r.twin, "reason": not_json.get(r.index, r.reason)} for r in result.rejected]
    return JSONResponse({"accepted": result.accepted, "rejected": len(errors), "errors": errors})
