"""Issue 11, bounded bodies: every endpoint refuses an oversized body with 413 while it streams,
before the app reads it whole, for plain and gzip bodies, whatever Content-Length claims.

Two ways in, both the real app on the real servers: the in-process app driven at the ASGI
level (so a test can count exactly how many body bytes the app pulled) and ``gridtwin serve``
as a subprocess (real sockets, and a process whose memory can be measured on its own).
"""

from __future__ import annotations

import asyncio
import gzip
import itertools
import select
import socket
import zlib
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson

from api.body_limits import DEFAULT_MAX_BYTES, GRAPHQL_MAX_BYTES, INGEST_MAX_BYTES, INGEST_MAX_DECOMPRESSED_BYTES
from tests.integration.conftest import GraphQLClient, ServedApi

MIB = 1024 * 1024
CHUNK = b" " * MIB  # JSON whitespace: a body of it is only refused for its size


# --- the in-process app, driven at the ASGI level ----------------------------------------------


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    consumed: int  # body bytes the app (middleware included) pulled from the client


async def _drive(app: Any, path: str, headers: dict[str, str], chunks: Iterable[bytes]) -> Answer:
    remaining = iter(chunks)
    upcoming: bytes | None = next(remaining, b"")
    consumed = 0
    status, body = 0, bytearray()

    async def receive() -> dict[str, Any]:
        nonlocal upcoming, consumed
        if upcoming is None:
            return {"type": "http.disconnect"}
        chunk, upcoming = upcoming, next(remaining, None)
        consumed += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": upcoming is not None}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
             "client": ("127.0.0.1", 50000), "server": ("testserver", 80), "extensions": {},
             "state": {"services": app.state.services.get()}}  # what the server copies from the lifespan
    await app(scope, receive, send)
    try:
        parsed = orjson.loads(body) if body else {}
    except orjson.JSONDecodeError:
        parsed = {"text": body.decode(errors="replace")}
    return Answer(status, parsed, consumed)


def asgi_post(gql: GraphQLClient, path: str, headers: dict[str, str], chunks: Iterable[bytes]) -> Answer:
    """POST ``chunks`` (pulled lazily: nothing is built that the app does not read) to the running app."""
    client: Any = gql.http
    return client.portal.call(_drive, client.app, path, headers, chunks)


def megabytes(count: int) -> Iterator[bytes]:
    return itertools.repeat(CHUNK, count)


# --- gridtwin serve as a subprocess ----------------------------------------------------------


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def _gzip_of_zeros(size: int) -> bytes:
    """A gzip body of ``size`` zero bytes (~1000:1), compressed without building it."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(MIB)
    return b"".join(compressor.compress(block) for _ in range(size // MIB)) + compressor.flush()


# --- the tests -------------------------------------------------------------------------------


def test_a_gzip_bomb_on_ingest_is_refused_while_inflating_and_memory_stays_bounded(
        served_api: ServedApi, tokens: dict[str, str]) -> None:
    bomb = _gzip_of_zeros(1024 * MIB)  # 1 GiB inflated, ~1 MiB sent: the 0.2 -> 2.2 GB
    assert len(bomb) < 2 * MIB
    rss_before = _status_kib(served_api.pid, "VmRSS")
    Path(f"/proc/{served_api.pid}/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current RSS
    response = httpx.post(f"{served_api.url}/ingest", content=bomb, timeout=60,
                          headers={"Authorization": f"Bearer {tokens['operator']}", "Content-Encoding": "gzip",
                                   "Content-Type": "application/x-ndjson"})
    peak_growth = (_status_kib(served_api.pid, "VmHWM") - rss_before) * 1024
    assert response.status_code == 413, response.text
    # the inflated prefix is held at most once: the peak grows by about the limit, not by the 1 GiB
    assert peak_growth < 2 * INGEST_MAX_DECOMPRESSED_BYTES, f"peak RSS grew by {peak_growth / MIB:.0f} MiB"
    assert response.json()["maxBytes"] == INGEST_MAX_DECOMPRESSED_BYTES
    assert "decompressed" in response.json()["error"]


def test_a_streamed_300_mib_graphql_body_without_token_is_refused_before_it_is_read(served_api: ServedApi) -> None:
    """Chunked (no Content-Length) over a real socket: the 413 comes while the body still streams."""
    frame = f"{len(CHUNK):x}\r\n".encode() + CHUNK + b"\r\n"
    sent, answer = 0, b""
    with socket.create_connection(("127.0.0.1", served_api.port), timeout=30) as connection:
        connection.sendall(b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                           b"Transfer-Encoding: chunked\r\n\r\n")
        try:
            while sent < 300 * MIB:
                readable, writable, _ = select.select([connection], [connection], [], 10)
                if readable:
                    break
                if writable:
                    connection.sendall(frame)
                    sent += len(CHUNK)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server closed after answering; the answer is still in our receive buffer
        answer = _read_http_answer(connection)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), f"{head!r} after {sent / MIB:.0f} MiB sent"
    assert orjson.loads(body)["maxBytes"] == GRAPHQL_MAX_BYTES
    assert sent < GRAPHQL_MAX_BYTES + 32 * MIB, f"{sent / MIB:.0f} MiB were sent before the answer"


def _read_http_answer(connection: socket.socket) -> bytes:
    answer = b""
    connection.settimeout(10)
    try:
        while chunk := connection.recv(65536):
            answer += chunk
    except (ConnectionResetError, TimeoutError):
        pass
    return answer


def test_a_content_length_above_the_limit_is_refused_before_a_byte_is_read(gql: GraphQLClient) -> None:
    for path, limit in (("/graphql", GRAPHQL_MAX_BYTES), ("/ingest", INGEST_MAX_BYTES),
                        ("/healthz", DEFAULT_MAX_BYTES)):
        answer = asgi_post(gql, path, {"content-type": "application/json", "content-length": str(limit + 1)},
                           megabytes(300))
        assert (answer.status, answer.consumed) == (413, 0), (path, answer)
        assert answer.body["maxBytes"] == limit and str(limit) in answer.body["error"]


def test_a_content_length_that_lies_does_not_lift_the_limit(gql: GraphQLClient, tokens: dict[str, str]) -> None:
    """The header says 100 bytes; what counts is what arrives."""
    graphql = asgi_post(gql, "/graphql", {"content-type": "application/json", "content-length": "100"},
                        megabytes(300))
    assert graphql.status == 413 and graphql.body["maxBytes"] == GRAPHQL_MAX_BYTES
    assert graphql.consumed <= GRAPHQL_MAX_BYTES + MIB
    ingest = asgi_post(gql, "/ingest", {"content-type": "application/x-ndjson", "content-length": "100",
                                        "authorization": f"Bearer {tokens['operator']}"}, megabytes(300))
    assert ingest.status == 413 and ingest.body["maxBytes"] == INGEST_MAX_BYTES
    assert ingest.consumed <= INGEST_MAX_BYTES + MIB


def test_an_anonymous_ingest_body_is_never_read(gql: GraphQLClient) -> None:
    """The order chosen for /ingest: the (cheap) token check before a byte of the body is read."""
    answer = asgi_post(gql, "/ingest", {"content-type": "application/x-ndjson", "content-encoding": "gzip"},
                       megabytes(300))
    assert (answer.status, answer.consumed) == (401, 0)


def test_chunked_bodies_within_the_limits_are_served(served_api: ServedApi, tokens: dict[str, str]) -> None:
    lines = b"".join(orjson.dumps({"twin": "no-such-twin-body-limits", "time": 1_700_000_000_000 + i,
                                   "values": {"frequency": {"value": 50.0}}}) + b"\n" for i in range(2000))
    body = gzip.compress(lines)

    async def pieces(data: bytes) -> AsyncIterator[bytes]:
        for start in range(0, len(data), 4096):
            yield data[start:start + 4096]

    async def post_all() -> tuple[httpx.Response, httpx.Response, httpx.Response]:
        auth = {"Authorization": f"Bearer {tokens['operator']}", "Content-Type": "application/x-ndjson"}
        async with httpx.AsyncClient(base_url=served_api.url, timeout=60) as client:
            ingest = await client.post("/ingest", content=pieces(body), headers={**auth, "Content-Encoding": "gzip"})
            truncated = await client.post("/ingest", content=pieces(body[:-8]),
                                          headers={**auth, "Content-Encoding": "gzip"})
            graphql = await client.post("/graphql", content=pieces(b'{"query": "{ health { version } }"}'),
                                        headers={"Content-Type": "application/json"})
        return ingest, truncated, graphql

    ingest, truncated, graphql = asyncio.run(post_all())
    assert ingest.request.headers.get("transfer-encoding") == "chunked"
    assert ingest.status_code == 200, ingest.text
    assert ingest.json()["accepted"] == 0 and ingest.json()["rejected"] == 2000  # every line inflated and parsed
    assert truncated.status_code == 400 and "gzip" in truncated.json()["error"]
    assert graphql.status_code == 200 and graphql.json()["data"]["health"]["version"]


def test_the_largest_legitimate_graphql_bodies_fit(gql: GraphQLClient, tokens: dict[str, str]) -> None:
    """uploadModels of the whole built-in set goes through; a full ingestTelemetry batch fits too."""
    import random

    from api.telemetry import MAX_MESSAGES_PER_CALL
    from graph.models_store import builtin_documents
    from timeseries.samples import grid_measurement_point_snapshot

    upload = gql.data("mutation($m: [JSON!]!) { uploadModels(models: $m) { id } }", {"m": builtin_documents()},
                      tokens["admin"])
    assert len(upload["uploadModels"]) == len(builtin_documents())
    message = {"twinId": "a-measurement-point-id-of-typical-length", "timestamp": "2026-01-01T00:00:00.000Z",
               "values": grid_measurement_point_snapshot(random.Random(1))}
    batch = orjson.dumps({"query": "mutation($m: [TelemetryMessage!]!) { ingestTelemetry(messages: $m) { accepted } }",
                          "variables": {"m": [message] * MAX_MESSAGES_PER_CALL}})
    assert len(batch) < GRAPHQL_MAX_BYTES / 1.5, f"a full batch is {len(batch) / MIB:.1f} MiB"
