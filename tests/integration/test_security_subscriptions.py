"""Issue 11, subscriptions: clean-up on complete and disconnect, limits per connection and per user, consumers
that stop reading, and malformed WebSocket frames, over real sockets against the test profile's servers.

The API runs under uvicorn in a thread of this process: its own app instance on the real Neo4j and InfluxDB,
with small limits so they are quick to reach. Real sockets matter twice: a consumer that stops reading really
fills TCP buffers (the in-process test client's queues never do), and a refused frame really arrives as a close
frame with a code. Being in this process makes the server's event loop reachable, so the tests count what is
really left behind there: asyncio tasks, the broker's fan-out index, the twin-event listeners.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
import uvicorn
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from gridtwin.config import Settings
from tests.integration.conftest import GraphQLClient, build_feeder, remove_twins
from gridtwin.fanout import MAX_BACKLOG_ITEMS as MAX_BACKLOG_SAMPLES
from timeseries.validation import Sample

T = TypeVar("T")
Logs = pytest.LogCaptureFixture
GT = "dtmi:gridtwin:"
PER_CONNECTION, PER_USER, SEND_TIMEOUT_S = 3, 5, 1.0
SUBSCRIBE_BELOW = "subscription($id: ID!) { telemetryBelow(twinId: $id) { coalesced samples } }"
SUBSCRIBE_TWINS = "subscription($ids: [ID!]!) { telemetry(twinIds: $ids) { coalesced samples } }"
LEAK_SIGNS = ("Task exception was never retrieved", "asynchronous generator is already running",
              "Exception in ASGI application", "Exception in worker task")


class ServedApi:
    """The app under uvicorn on a loopback port, in a thread with its own event loop."""

    def __init__(self, settings: Settings) -> None:
        from api.app import create_app

        self.app = create_app(settings)
        self.loop = asyncio.new_event_loop()
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(self.app, log_config=None, access_log=False))
        self._thread = threading.Thread(target=self.loop.run_until_complete,
                                        args=(self.server.serve(sockets=[self._socket]),), daemon=True)

    def __enter__(self) -> ServedApi:
        self._thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            assert self._thread.is_alive() and time.monotonic() < deadline, "the served API did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self._thread.join(30)
        self.loop.close()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    def run(self, function: Callable[[], T]) -> T:
        """``function()`` evaluated on the server's event loop."""
        async def call() -> T:
            return function()
        return asyncio.run_coroutine_threadsafe(call(), self.loop).result(10)

    @property
    def services(self) -> Any:
        return self.app.state.services.get()

    def state(self) -> dict[str, int]:
        """What subscriptions leave behind when they leak: tasks, broker index, event listeners."""
        def measure() -> dict[str, int]:
            broker = self.services.telemetry.broker
            return {"tasks": len(asyncio.all_tasks()), "indexed twins": broker.indexed_keys,
                    "subscriptions": len(broker.subscriptions), "event listeners": self.services.events.listener_count}
        return self.run(measure)

    def subscriptions_of(self, twin_id: str) -> int:
        return self.run(lambda: sum(twin_id in s.keys for s in self.services.telemetry.broker.subscriptions))

    def wait_until(self, condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, f"timed out waiting until {what}"
            time.sleep(0.002)

    def grew_since(self, baseline: dict[str, int], timeout: float = 10.0) -> dict[str, int]:
        """What is still above ``baseline`` once clean-up had ``timeout`` to run ({} when nothing grew).
        (Connections of an earlier test may still be closing when a baseline is taken, so less is fine.)"""
        deadline = time.monotonic() + timeout
        while True:
            grown = {key: value for key, value in self.state().items() if value > baseline[key]}
            if not grown or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.run(gc.collect)  # an unretrieved task exception is logged when its task is collected
        return grown


@pytest.fixture(scope="module")
def served(api_settings: Settings) -> Iterator[ServedApi]:
    limited = api_settings.model_copy(update={"ws_max_subscriptions_per_connection": PER_CONNECTION,
                                              "ws_max_subscriptions_per_user": PER_USER,
                                              "ws_send_timeout_seconds": SEND_TIMEOUT_S})
    with ServedApi(limited) as api:
        yield api


@pytest.fixture(scope="module")
def feeder(gql: GraphQLClient, tokens: dict[str, str]) -> Iterator[dict[str, str]]:
    """A substation feeding a transformer feeding a measurement point."""
    ids = build_feeder(gql, tokens["admin"], f"secsub-{uuid.uuid4().hex[:8]}-",
                       {"sub": "Substation", "tr": "PowerTransformer", "mp": "GridMeasurementPoint"})
    yield ids
    remove_twins(gql, tokens["admin"], ids)


@pytest.fixture()
def logs(caplog: Logs) -> Logs:
    caplog.set_level(logging.WARNING)  # the served API logs into this process's root logger
    return caplog


def leak_signs(logs: Logs) -> dict[str, int]:
    """How often the server logged a sign of a leaked task or a crashed connection."""
    messages = [record.getMessage() for record in logs.records]
    return {sign: count for sign in LEAK_SIGNS if (count := sum(sign in message for message in messages))}


@contextlib.contextmanager
def session(api: ServedApi, token: str, **options: Any) -> Iterator[ClientConnection]:
    """An acknowledged graphql-transport-ws connection of ``token``'s user."""
    protocols: Any = ["graphql-transport-ws"]
    with connect(api.url, subprotocols=protocols, open_timeout=10, **options) as ws:
        ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
        assert json.loads(ws.recv(10))["type"] == "connection_ack"
        yield ws


def subscribe(ws: ClientConnection, operation_id: str, query: str, variables: dict[str, Any]) -> None:
    ws.send(json.dumps({"id": operation_id, "type": "subscribe", "payload": {"query": query, "variables": variables}}))


def complete(ws: ClientConnection, operation_id: str) -> None:
    ws.send(json.dumps({"id": operation_id, "type": "complete"}))


def close_code(ws: ClientConnection) -> tuple[int | None, str]:
    """The code and reason of the close frame the server sent (None: the connection ended without one)."""
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            ws.recv(10)
    frame = closed.value.rcvd
    return (frame.code, frame.reason) if frame is not None else (None, "")


def listeners_now(api: ServedApi) -> int:
    return api.run(lambda: api.services.events.listener_count)


# --- clean-up --------------------------------------------------------------------------------------


def test_a_thousand_subscribe_complete_cycles_leave_nothing_behind(served: ServedApi, feeder: dict[str, str],
                                                                   tokens: dict[str, str], logs: Logs) -> None:
    baseline = served.state()
    with session(served, tokens["viewer"]) as ws:
        connected = served.state()
        for cycle in range(1000):
            subscribe(ws, str(cycle), SUBSCRIBE_BELOW, {"id": feeder["sub"]})
            # live: indexed in the broker and following the topology (its event watcher registered)
            served.wait_until(lambda: served.subscriptions_of(feeder["mp"]) == 1
                              and listeners_now(served) == connected["event listeners"] + 1, "the subscription is live")
            complete(ws, str(cycle))
            served.wait_until(lambda: served.subscriptions_of(feeder["mp"]) == 0
                              and listeners_now(served) == connected["event listeners"], "the subscription ended")
        assert not served.grew_since(connected)
    assert not served.grew_since(baseline)
    assert not leak_signs(logs)


def test_a_disconnect_ends_every_subscription_of_the_connection(served: ServedApi, feeder: dict[str, str],
                                                                tokens: dict[str, str], logs: Logs) -> None:
    baseline = served.state()
    for goodbye in ("close frame", "dropped socket"):
        with session(served, tokens["viewer"]) as ws:
            for n in range(PER_CONNECTION):
                subscribe(ws, f"s{n}", SUBSCRIBE_BELOW, {"id": feeder["sub"]})
            served.wait_until(lambda: served.subscriptions_of(feeder["mp"]) == PER_CONNECTION, "all are live")
            if goodbye == "dropped socket":
                ws.socket.shutdown(socket.SHUT_RDWR)
        assert not served.grew_since(baseline), goodbye
    assert not leak_signs(logs)


def test_deleting_the_twin_below_which_one_subscribed_ends_the_subscription(
        served: ServedApi, gql: GraphQLClient, tokens: dict[str, str], logs: Logs) -> None:
    from api.events import TwinEvent

    prefix = f"secsub-{uuid.uuid4().hex[:8]}-"
    for twin_id, model in ((prefix + "sub", "Substation"), (prefix + "mp", "GridMeasurementPoint")):
        gql.data("mutation($id: ID!, $m: String!) { createTwin(id: $id, model: $m) { id } }",
                 {"id": twin_id, "m": f"{GT}{model};1"}, tokens["admin"])
    gql.data('mutation($s: ID!, $t: ID!) { createRelationship(source: $s, name: "feedsTo", target: $t) { id } }',
             {"s": prefix + "sub", "t": prefix + "mp"}, tokens["admin"])
    baseline = served.state()
    with session(served, tokens["viewer"]) as ws:
        subscribe(ws, "below", SUBSCRIBE_BELOW, {"id": prefix + "sub"})
        served.wait_until(lambda: served.subscriptions_of(prefix + "mp") == 1, "the subscription is live")
        for twin_id in (prefix + "sub", prefix + "mp"):
            gql.data("mutation($id: ID!) { deleteTwin(id: $id, cascade: true) }", {"id": twin_id}, tokens["admin"])
        # the deletion went through the other app instance; tell this one's subscribers, as its own mutation would
        deleted = TwinEvent("twinDeleted", prefix + "sub", f"{GT}Substation;1")
        served.run(lambda: served.services.events.publish_one(deleted))
        message = json.loads(ws.recv(10))
        assert message["type"] == "next" and message["id"] == "below", message
        error = message["payload"]["errors"][0]
        assert error["extensions"]["code"] == "SUBSCRIPTION_CLOSED" and f"no twin '{prefix}sub'" in error["message"]
        assert json.loads(ws.recv(10)) == {"id": "below", "type": "complete"}
    assert not served.grew_since(baseline)
    assert not leak_signs(logs)


# --- limits -----------------------------------------------------------------------------------------


def _refusal(ws: ClientConnection, operation_id: str) -> dict[str, Any]:
    message = json.loads(ws.recv(10))
    assert message["type"] == "error" and message["id"] == operation_id, message
    return message["payload"][0]


def test_one_connection_holds_at_most_the_per_connection_limit(served: ServedApi, feeder: dict[str, str],
                                                               tokens: dict[str, str], logs: Logs) -> None:
    with session(served, tokens["viewer"]) as ws:
        for n in range(PER_CONNECTION):
            subscribe(ws, f"s{n}", SUBSCRIBE_BELOW, {"id": feeder["sub"]})
        served.wait_until(lambda: served.subscriptions_of(feeder["mp"]) == PER_CONNECTION, "all are live")
        before = served.state()
        subscribe(ws, "one-too-many", SUBSCRIBE_BELOW, {"id": feeder["sub"]})
        error = _refusal(ws, "one-too-many")
        assert error["extensions"]["code"] == "TOO_MANY_SUBSCRIPTIONS"
        assert f"at most {PER_CONNECTION} subscriptions per connection" in error["message"]
        assert served.state() == before  # refused before a task, broker subscription or query existed
        complete(ws, "s0")  # a completed subscription frees its place at once
        subscribe(ws, "again", SUBSCRIBE_BELOW, {"id": feeder["sub"]})
        served.wait_until(lambda: served.subscriptions_of(feeder["mp"]) == PER_CONNECTION, "the new one is live")
    assert not leak_signs(logs)


def test_one_user_holds_at_most_the_per_user_limit_across_connections(served: ServedApi, feeder: dict[str, str],
                                                                      tokens: dict[str, str], logs: Logs) -> None:
    first_share = PER_CONNECTION
    with session(served, tokens["viewer"]) as first, session(served, tokens["viewer"]) as second:
        for n in range(first_share):
            subscribe(first, f"a{n}", SUBSCRIBE_BELOW, {"id": feeder["sub"]})
        for n in range(PER_USER - first_share):
            subscribe(second, f"b{n}", SUBSCRIBE_BELOW, {"id": feeder["sub"]})
        served.wait_until(lambda: served.subscriptions_of(feeder["mp"]) == PER_USER, "the user's are live")
        subscribe(second, "over", SUBSCRIBE_BELOW, {"id": feeder["sub"]})
        error = _refusal(second, "over")
        assert error["extensions"]["code"] == "TOO_MANY_SUBSCRIPTIONS"
        assert f"at most {PER_USER} subscriptions per user" in error["message"]
        with session(served, tokens["operator"]) as someone_else:  # the limit is the user's, not the server's
            subscribe(someone_else, "other", SUBSCRIBE_BELOW, {"id": feeder["sub"]})
            served.wait_until(lambda: served.subscriptions_of(feeder["mp"]) == PER_USER + 1, "another user's is live")
    served.wait_until(lambda: served.subscriptions_of(feeder["mp"]) == 0, "the connections' subscriptions ended")
    with session(served, tokens["viewer"]) as later:  # places come back when connections end
        subscribe(later, "later", SUBSCRIBE_BELOW, {"id": feeder["sub"]})
        served.wait_until(lambda: served.subscriptions_of(feeder["mp"]) == 1, "the later one is live")
    assert not leak_signs(logs)


def test_a_subscription_names_at_most_ten_thousand_twins(served: ServedApi, tokens: dict[str, str],
                                                         logs: Logs) -> None:
    before = served.state()
    with session(served, tokens["viewer"]) as ws:
        subscribe(ws, "huge", SUBSCRIBE_TWINS, {"ids": [f"secsub-nothing-{n}" for n in range(10_001)]})
        message = json.loads(ws.recv(10))
        assert message["type"] in ("next", "error") and message["id"] == "huge", message
        errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
        assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT" and "twinIds" in errors[0]["message"], errors
    assert not served.grew_since(before)
    assert not leak_signs(logs)


# --- consumers that stop reading ----------------------------------------------------------------------


def _publish_burst(api: ServedApi, twin_id: str) -> int:
    """Publish five updates of 100 samples (~100 KB each, random so per-message deflate cannot shrink them) of
    ``twin_id`` on the server's broker, as an ingest batch does; the largest backlog any subscription of it
    holds right after."""
    def burst() -> int:
        broker = api.services.telemetry.broker
        for _ in range(5):
            now = time.time_ns()
            broker.publish([Sample(twin_id, now + n, {"note": os.urandom(500).hex()}) for n in range(100)])
        return max((s.backlog for s in broker.subscriptions if twin_id in s.keys), default=0)
    return api.run(burst)


def _drain(ws: ClientConnection) -> list[dict[str, Any]]:
    """Every message waiting on ``ws`` (at least one)."""
    messages = [json.loads(ws.recv(10))]
    try:
        while True:
            messages.append(json.loads(ws.recv(0.05)))
    except TimeoutError:
        return messages


def test_a_consumer_that_stops_reading_is_closed_and_holds_a_bounded_backlog(
        served: ServedApi, feeder: dict[str, str], tokens: dict[str, str], logs: Logs) -> None:
    baseline = served.state()
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect, so the window stays small
    raw.connect(("127.0.0.1", served.port))
    with session(served, tokens["viewer"], sock=raw, max_queue=1) as stalled, \
            session(served, tokens["viewer"]) as reader:
        subscribe(stalled, "stalled", SUBSCRIBE_TWINS, {"ids": [feeder["mp"]]})
        subscribe(reader, "reader", SUBSCRIBE_TWINS, {"ids": [feeder["mp"]]})
        served.wait_until(lambda: served.subscriptions_of(feeder["mp"]) == 2, "both are live")
        # From here on nobody reads `stalled`: websockets stops taking data from its socket once one
        # message waits (max_queue=1), so the TCP window closes and the server's sends stall.
        peak, started = 0, time.monotonic()
        while served.subscriptions_of(feeder["mp"]) == 2 and time.monotonic() - started < 30:
            peak = max(peak, _publish_burst(served, feeder["mp"]))
            assert {m["type"] for m in _drain(reader)} == {"next"}  # the reading consumer is served all along
        assert served.subscriptions_of(feeder["mp"]) == 1, "the stalled consumer was never closed"
        assert peak <= MAX_BACKLOG_SAMPLES + 1  # queued samples, plus the one coalesced value of its one telemetry
        _publish_burst(served, feeder["mp"])
        assert {m["type"] for m in _drain(reader)} == {"next"}  # and still is after the other was closed
    assert not served.grew_since(baseline)
    assert not leak_signs(logs)


# --- malformed frames -----------------------------------------------------------------------------------

MALFORMED = {
    "a JSON array": "[]",
    "a JSON string": '"connection_init"',
    "an id that is a list": '{"type": "subscribe", "id": ["1"], "payload": {"query": "{ health { version } }"}}',
    "a payload that is a list": '{"type": "subscribe", "id": "1", "payload": ["{ health { version } }"]}',
    "a query that is a number": '{"type": "subscribe", "id": "1", "payload": {"query": 42}}',
    "variables that are a list": '{"type": "subscribe", "id": "1", "payload": {"query": "{ me { username } }", '
                                 '"variables": [1]}}',
    "a complete whose id is an object": '{"type": "complete", "id": {"n": 1}}',
    "an unknown type longer than a close frame": json.dumps({"type": "x" * 500}),
}


@pytest.mark.parametrize("frame", sorted(MALFORMED))
def test_a_malformed_message_gets_the_protocols_4400_close(served: ServedApi, tokens: dict[str, str],
                                                           logs: Logs, frame: str) -> None:
    with session(served, tokens["viewer"]) as ws:
        ws.send(MALFORMED[frame])
        code, reason = close_code(ws)
    assert code == 4400, (code, reason)
    assert reason and len(reason.encode()) <= 123
    assert not leak_signs(logs)


@pytest.mark.parametrize("header", ["Bearer not.a.token", "Bearer " + "e" * 300])
def test_a_bad_token_on_the_handshake_gets_the_protocols_4403_close(served: ServedApi, logs: Logs,
                                                                    header: str) -> None:
    code, reason = None, ""
    with contextlib.suppress(ConnectionClosed), connect(  # closing a socket the server closed may raise
            served.url, subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]  # noqa: E501
            additional_headers={"Authorization": header}, open_timeout=10) as ws:
        with contextlib.suppress(ConnectionClosed):  # the server may have closed already: nothing waits for init
            ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        code, reason = close_code(ws)
    assert code == 4403 and "invalid token" in reason, (code, reason)
    assert not leak_signs(logs)


def test_the_legacy_graphql_ws_protocol_is_not_offered(served: ServedApi, logs: Logs) -> None:
    protocols: Any = ["graphql-ws"]
    code, reason = None, ""
    with contextlib.suppress(ConnectionClosed), connect(served.url, subprotocols=protocols, open_timeout=10) as ws:
        code, reason = close_code(ws)
    assert (code, reason) == (4406, "Subprotocol not acceptable")
    assert not leak_signs(logs)
