"""Event routes (issue 13) on the real broker: two `gridtwin serve` replicas and a local webhook receiver.

The receiver is a real HTTP server in the test process that refuses the first deliveries of a path
(HTTP 503) and records every CloudEvent it accepted.  Events made on either replica reach it at
least once and in order per twin; failures show in the route's state; an endpoint that never takes
an event fills the dead letters; a Redis stream endpoint receives the same CloudEvents; killing the
replica that delivers lets the other take the route over without losing an event.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from gridtwin.config import Settings
from tests.integration.conftest import graphql_data, serve_replica, stop_process

SUBSTATION = "dtmi:gridtwin:Substation;1"
CREATE_ROUTE = ("mutation($r: EventRouteInput!) { createEventRoute(route: $r) { id endpointKind eventTypes "
                "state { pending } } }")
STATE = ("query($id: String!) { eventRoute(id: $id) { state { pending routed delivered failedAttempts deadLettered "
         "lastError lastDeliveredAt deliveringReplica } deadLetters(first: 10) { error attempts event } } }")


class Receiver:
    """A webhook receiver: ``fail[path]`` requests to a path are answered 503 first (-1: always 500)."""

    def __init__(self) -> None:
        self.accepted: dict[str, list[dict[str, Any]]] = {}
        self.refused: dict[str, int] = {}
        self.fail: dict[str, int] = {}
        self.content_types: set[str] = set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.content_types.add(self.headers["Content-Type"])
                status = receiver.answer(self.path, json.loads(body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._lock = threading.Lock()
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, path: str, event: dict[str, Any]) -> int:
        with self._lock:
            left = self.fail.get(path, 0)
            if left == -1:
                self.refused[path] = self.refused.get(path, 0) + 1
                return 500
            if left > 0:
                self.fail[path] = left - 1
                self.refused[path] = self.refused.get(path, 0) + 1
                return 503
            self.accepted.setdefault(path, []).append(event)
            return 204

    def events(self, path: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.accepted.get(path, []))


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.server.shutdown()


@pytest.fixture(scope="module")
def replicas(api_settings: Settings, tokens: dict[str, str],
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Any]]:
    folder = tmp_path_factory.mktemp("routes")
    started = [list(serve_replica(api_settings, folder / f"replica-{name}.log")) for name in "ab"]
    try:
        yield started
    finally:
        for process, _ in started:
            if process.poll() is None:
                stop_process(process)


def _wait(value: Callable[[], Any], timeout: float, what: str, done: Callable[[Any], bool] = bool) -> Any:
    """``value()`` once ``done`` holds of it (polled); fails naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = value()
        if done(found):
            return found
        time.sleep(0.2)
    raise AssertionError(f"{what} within {timeout:g} s (last: {found!r:.500})")


@pytest.fixture
def route_ids(replicas: list[Any], tokens: dict[str, str]) -> Iterator[list[str]]:
    created: list[str] = []
    yield created
    url = next(url for process, url in replicas if process.poll() is None)
    for route_id in created:
        graphql_data(url, tokens["admin"], "mutation($id: String!) { deleteEventRoute(id: $id) }", {"id": route_id})


def _create_twin(url: str, token: str, twin: str, model: str = SUBSTATION) -> None:
    graphql_data(url, token, "mutation($id: ID!, $m: String!) { createTwin(id: $id, model: $m) { id } }",
                 {"id": twin, "m": model})


def _rename(url: str, token: str, twin: str, name: str) -> None:
    graphql_data(url, token, "mutation($id: ID!, $p: JSON!) { updateTwin(id: $id, patch: $p) { id } }",
                 {"id": twin, "p": [{"op": "add", "path": "/name", "value": name}]})


def test_events_of_both_replicas_arrive_at_least_once_in_order_per_twin_and_failures_show(
        replicas: list[Any], tokens: dict[str, str], receiver: Receiver, route_ids: list[str]) -> None:
    (_, a), (_, b) = replicas
    admin, tag = tokens["admin"], uuid.uuid4().hex[:8]
    path = f"/hook-{tag}"
    receiver.fail[path] = 3  # the first three deliveries are refused
    route = graphql_data(a, admin, CREATE_ROUTE, {"r": {
        "id": f"orders-{tag}", "endpoint": {"webhook": receiver.url + path}, "model": SUBSTATION,
        "eventTypes": ["twinCreated", "twinUpdated", "twinDeleted"], "maxAttempts": 20, "retrySeconds": 0.05}})
    route_ids.append(f"orders-{tag}")
    assert route["createEventRoute"]["endpointKind"] == "webhook"
    time.sleep(2.5)  # replica B reads the new route within ROUTES_REFRESH_S
    twins = {f"ev-{tag}-a": a, f"ev-{tag}-b": b}
    other = f"ev-{tag}-point"  # not a Substation: filtered out
    for twin, url in twins.items():
        _create_twin(url, admin, twin)
    _create_twin(a, admin, other, "dtmi:gridtwin:GridMeasurementPoint;1")
    for step in range(3):
        for twin, url in twins.items():
            _rename(url, admin, twin, f"step {step}")
    for twin, url in twins.items():
        graphql_data(url, admin, "mutation($id: ID!) { deleteTwin(id: $id) }", {"id": twin})
    graphql_data(a, admin, "mutation($id: ID!) { deleteTwin(id: $id) }", {"id": other})

    expected = ["gridtwin.twin.created"] + ["gridtwin.twin.updated"] * 3 + ["gridtwin.twin.deleted"]

    def per_twin() -> dict[str, list[str]]:
        unique: dict[str, dict[str, Any]] = {}
        for event in receiver.events(path):
            unique.setdefault(event["id"], event)  # at least once: a redelivery carries the same id
        found: dict[str, list[str]] = {}
        for event in unique.values():
            found.setdefault(event["subject"], []).append(event["type"])
        return found

    got = _wait(per_twin, 60, "every event of both twins delivered",
                lambda found: all(len(found.get(t, [])) == 5 for t in twins))
    assert got == {twin: expected for twin in twins}  # in order per twin, and the point's events filtered out
    sample = receiver.events(path)[0]
    assert sample["specversion"] == "1.0" and sample["source"] == "/gridtwin/test" and sample["data"]["model"] == SUBSTATION
    assert receiver.content_types == {"application/cloudevents+json; charset=utf-8"}
    state = _wait(lambda: graphql_data(b, admin, STATE, {"id": f"orders-{tag}"})["eventRoute"]["state"], 30,
                  "the route's backlog drained", lambda found: found["pending"] == 0)
    assert state["failedAttempts"] == 3 and state["lastError"] == "HTTP 503 from the webhook"
    assert state["delivered"] == len(receiver.events(path)) >= 10 and state["routed"] == 10
    assert state["deadLettered"] == 0 and state["lastDeliveredAt"] and state["deliveringReplica"]


def test_an_endpoint_that_never_takes_an_event_fills_the_dead_letters(
        replicas: list[Any], tokens: dict[str, str], receiver: Receiver, route_ids: list[str]) -> None:
    (_, a), _ = replicas
    admin, tag = tokens["admin"], uuid.uuid4().hex[:8]
    path = f"/broken-{tag}"
    receiver.fail[path] = -1
    twin = f"ev-{tag}-dead"
    graphql_data(a, admin, CREATE_ROUTE, {"r": {"id": f"dead-{tag}", "endpoint": {"webhook": receiver.url + path},
                                                "subtree": None, "eventTypes": ["twinCreated"], "maxAttempts": 2,
                                                "retrySeconds": 0.05}})
    route_ids.append(f"dead-{tag}")
    try:
        _create_twin(a, admin, twin)
        route = _wait(lambda: graphql_data(a, admin, STATE, {"id": f"dead-{tag}"})["eventRoute"], 30,
                      "the event dead-lettered", lambda found: found["state"]["deadLettered"] >= 1)
    finally:
        graphql_data(a, admin, "mutation($id: ID!) { deleteTwin(id: $id) }", {"id": twin})
    letters = [d for d in route["deadLetters"] if d["event"]["subject"] == twin]
    assert letters and letters[0]["attempts"] == 2 and letters[0]["error"] == "HTTP 500 from the webhook"
    assert letters[0]["event"]["type"] == "gridtwin.twin.created"
    assert receiver.refused[path] >= 2 and not receiver.events(path)


def test_a_redis_stream_endpoint_and_a_subtree_filter(replicas: list[Any], tokens: dict[str, str],
                                                      api_settings: Settings, route_ids: list[str]) -> None:
    import redis

    (_, a), _ = replicas
    admin, tag = tokens["admin"], uuid.uuid4().hex[:8]
    root, child, outside = f"ev-{tag}-root", f"ev-{tag}-child", f"ev-{tag}-outside"
    stream = f"routes-test-{tag}"
    for twin in (root, child, outside):
        _create_twin(a, admin, twin)
    graphql_data(a, admin, "mutation($s: ID!, $t: ID!) { createRelationship(source: $s, name: \"feedsTo\", "
                 "target: $t) { id } }", {"s": root, "t": child})
    client = redis.Redis.from_url(api_settings.resolved_redis())
    try:
        graphql_data(a, admin, CREATE_ROUTE, {"r": {"id": f"stream-{tag}", "endpoint": {"redisStream": stream},
                                                    "subtree": root, "eventTypes": ["twinUpdated"]}})
        route_ids.append(f"stream-{tag}")
        for twin in (outside, child, root):
            _rename(a, admin, twin, "renamed")
        entries = _wait(lambda: client.xrange(stream), 20, "two events in the stream", lambda found: len(found) >= 2)
        time.sleep(1.0)  # nothing else may follow
        subjects = [json.loads(fields[b"event"])["subject"] for _, fields in client.xrange(stream)]
        assert subjects == [child, root] and len(entries) == 2
    finally:
        client.delete(stream)
        client.close()
        for twin in (child, root, outside):
            graphql_data(a, admin, "mutation($id: ID!) { deleteTwin(id: $id, cascade: true) }", {"id": twin})


def test_killing_the_delivering_replica_loses_no_routed_event(
        replicas: list[Any], tokens: dict[str, str], receiver: Receiver, route_ids: list[str],
        api_settings: Settings, tmp_path: Path) -> None:
    """Route events while the endpoint refuses them, SIGKILL the replica holding the lease: the other takes
    over when the lease expires and delivers every event (the backlog lives in Redis, not in a process)."""
    admin, tag = tokens["admin"], uuid.uuid4().hex[:8]
    path = f"/takeover-{tag}"
    receiver.fail[path] = 10_000
    (_, a), (_, b) = replicas
    graphql_data(a, admin, CREATE_ROUTE, {"r": {"id": f"takeover-{tag}", "endpoint": {"webhook": receiver.url + path},
                                                "eventTypes": ["twinCreated", "twinDeleted"], "maxAttempts": 100,
                                                "retrySeconds": 0.2}})
    route_ids.append(f"takeover-{tag}")
    time.sleep(2.5)
    twins = [f"ev-{tag}-{n}" for n in range(4)]
    for n, twin in enumerate(twins):
        _create_twin(a if n % 2 else b, admin, twin)
    holder = _wait(lambda: graphql_data(a, admin, STATE, {"id": f"takeover-{tag}"})["eventRoute"]["state"]
                   ["deliveringReplica"], 15, "a replica holding the lease")
    holder_pid = int(holder.split(":")[1])
    victim = next(i for i, (process, _) in enumerate(replicas) if process.pid == holder_pid)
    os.kill(holder_pid, signal.SIGKILL)
    replicas[victim][0].wait(10)
    survivor = replicas[1 - victim][1]
    receiver.fail[path] = 0  # the endpoint recovers
    for twin in twins:
        graphql_data(survivor, admin, "mutation($id: ID!) { deleteTwin(id: $id) }", {"id": twin})
    delivered = _wait(lambda: {(e["subject"], e["type"]) for e in receiver.events(path)}, 60,
                      "every event after the takeover", lambda found: len(found) >= 8)
    assert {(twin, kind) for twin in twins for kind in ("gridtwin.twin.created", "gridtwin.twin.deleted")} <= delivered
    state = graphql_data(survivor, admin, STATE, {"id": f"takeover-{tag}"})["eventRoute"]["state"]
    assert state["deliveringReplica"] != holder and state["failedAttempts"] >= 1
    replicas[victim][:] = serve_replica(api_settings, tmp_path / "restarted.log")  # the module's other tests go on


def test_routes_are_checked_and_for_admins_only(replicas: list[Any], tokens: dict[str, str]) -> None:
    (_, a), _ = replicas

    def errors(token: str, route: dict[str, Any]) -> list[dict[str, Any]]:
        return httpx.post(f"{a}/graphql", json={"query": CREATE_ROUTE, "variables": {"r": route}},
                          headers={"Authorization": f"Bearer {token}"}, timeout=30).json()["errors"]

    good = {"id": "nope", "endpoint": {"webhook": "http://127.0.0.1:9/x"}}
    assert errors(tokens["operator"], good)[0]["extensions"]["code"] == "FORBIDDEN"
    bad = errors(tokens["admin"], {"id": "bad id", "endpoint": {"webhook": "ftp://x"}, "model": "dtmi:no:Such;1",
                                   "maxAttempts": 0})
    assert bad[0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert {p["pointer"] for p in bad[0]["extensions"]["problems"]} == {
        "/route/id", "/route/endpoint/webhook", "/route/model", "/route/maxAttempts"}
    both = errors(tokens["admin"], {"id": "both", "endpoint": {"webhook": "http://h/", "redisStream": "s"}})
    assert both[0]["extensions"]["problems"] == [{"pointer": "/route/endpoint",
                                                  "message": "exactly one of webhook and redisStream"}]
    reserved = errors(tokens["admin"], {"id": "r", "endpoint": {"redisStream": "gridtwin:test:routes"}})
    assert reserved[0]["extensions"]["problems"][0]["pointer"] == "/route/endpoint/redisStream"
    missing_root = errors(tokens["admin"], {"id": "r", "endpoint": {"redisStream": "s"}, "subtree": "no-such-twin"})
    assert missing_root[0]["extensions"]["code"] == "NOT_FOUND"


def test_without_a_broker_routes_say_what_they_need(gql: Any, tokens: dict[str, str]) -> None:
    """The in-process API of the other tests runs without a broker."""
    body = gql("{ eventRoutes { id } }", None, tokens["admin"])
    assert body["errors"][0]["extensions"]["code"] == "FAILED_PRECONDITION"
    assert "GRIDTWIN_BROKER=redis" in body["errors"][0]["message"]
