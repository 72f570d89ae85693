"""The floor of live delivery: a bare Starlette WebSocket broadcast of the same messages.

bench/telemetry_api_bench.py part (e) runs its subscribers and feeder of part (c) against this
app instead of ``gridtwin serve``: ``POST /ingest`` parses the NDJSON body and, with no
validation, storage or acknowledgement, sends every subscriber the samples of its twins as one
graphql-transport-ws ``next`` message, shaped like the API's ``telemetry`` subscription, so the
client side is byte for byte the same work.  What is left is the cost no server avoids: JSON,
the WebSocket frames, the event loop, on the same two cores.

    .venv/bin/python -m uvicorn --app-dir bench ws_floor_app:app --port 8123
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

#: twin id -> the sockets subscribed to it
subscribers_of: dict[str, set[WebSocket]] = defaultdict(set)


def iso_time(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, timezone.utc).isoformat()


async def ingest(request: Request) -> JSONResponse:
    """Broadcast each subscriber its twins' samples of this body, one message each, one after another."""
    per_socket: dict[WebSocket, list[dict[str, object]]] = defaultdict(list)
    lines = (await request.body()).splitlines()
    for line in lines:
        message = orjson.loads(line)
        sample = {"twinId": message["twin"], "time": iso_time(message["time"]), "values": message["values"]}
        for socket in subscribers_of.get(message["twin"], ()):
            per_socket[socket].append(sample)
    for socket, samples in per_socket.items():
        text = orjson.dumps({"id": "1", "type": "next",
                             "payload": {"data": {"telemetry": {"coalesced": False, "samples": samples}}}}).decode()
        try:
            await socket.send_text(text)
        except (WebSocketDisconnect, RuntimeError):
            pass
    return JSONResponse({"accepted": len(lines), "rejected": 0, "errors": []})


async def graphql_ws(socket: WebSocket) -> None:
    """Just enough graphql-transport-ws: init -> ack, one subscribe naming ``variables.ids``."""
    await socket.accept(subprotocol="graphql-transport-ws")
    twins: list[str] = []
    try:
        while True:
            message = orjson.loads(await socket.receive_text())
            if message["type"] == "connection_init":
                await socket.send_text('{"type":"connection_ack"}')
            elif message["type"] == "subscribe":
                twins = message["payload"]["variables"]["ids"]
                for twin in twins:
                    subscribers_of[twin].add(socket)
    except WebSocketDisconnect:
        pass
    finally:
        for twin in twins:
            subscribers_of[twin].discard(socket)


async def ready(_: Request) -> JSONResponse:
    return JSONResponse({"ready": True})


app = Starlette(routes=[Route("/ingest", ingest, methods=["POST"]), Route("/readyz", ready),
                        WebSocketRoute("/graphql", graphql_ws)])
