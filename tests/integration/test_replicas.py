"""API replicas on the real broker (issue 13): the profile's Redis, two `gridtwin serve` processes.

Telemetry ingested on replica A reaches a subscriber on replica B; a twin created on A reaches
``twinChanged`` on B; a model uploaded on A changes B's schema.  The bus itself is also tested in
one process with two buses on the same Redis (what one replica forwards the other replays, and
nothing comes back).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from api.events import TwinEvent, TwinEvents
from api.replicas import ReplicaBus
from gridtwin.config import Settings
from tests.integration.conftest import _free_port, _serve_env, _wait_until_serving, graphql_data as _post, \
    serve_replica as _serve, stop_process
from timeseries.broker import InProcessBroker
from timeseries.validation import Sample


def test_what_one_bus_forwards_the_other_replays_once(settings: Settings) -> None:
    async def scenario() -> tuple[list[Any], list[Any], list[Any], int]:
        profile = f"bus-{uuid.uuid4().hex[:6]}"  # channels of their own: other tests' replicas stay out
        reloads: list[int] = []

        async def reload() -> None:
            reloads.append(1)

        buses = [ReplicaBus(settings.resolved_redis(), profile, InProcessBroker(), TwinEvents(), reload)
                 for _ in range(2)]
        for bus in buses:
            await bus.start()
        a, b = buses
        seen_a, seen_b = a.telemetry.subscribe(None), b.telemetry.subscribe(None)
        events_b = b.events.subscribe_all()
        try:
            a.telemetry.publish([Sample("t1", 1, {"frequency": 50.01}), Sample("t2", 2, {"voltage": {"average": 231.0}})])
            a.events.publish([TwinEvent("twinCreated", "t3", "dtmi:x:Y;1")])
            got_b = (await asyncio.wait_for(seen_b.get(), 5)).items
            event_b = (await asyncio.wait_for(events_b.get(), 5)).items
            a.models_installed()
            await asyncio.sleep(0.5)
            own = (await asyncio.wait_for(seen_a.get(), 1)).items  # A's own publish, once
            echo = seen_a.backlog  # nothing came back to A from B
            return list(got_b), list(event_b), list(own), echo + 10 * len(reloads)
        finally:
            for bus in buses:
                await bus.close()

    got, events, own, echo_and_reloads = asyncio.run(scenario())
    assert [(s.twin, s.time_ns, dict(s.values)) for s in got] == [("t1", 1, {"frequency": 50.01}),
                                                                   ("t2", 2, {"voltage": {"average": 231.0}})]
    assert [(e.kind, e.twin_id) for e in events] == [("twinCreated", "t3")]
    assert len(own) == 2 and echo_and_reloads == 10  # no echo; B reloaded its models once (A does not)


def test_the_bus_subscribes_again_after_redis_restarts(settings: Settings) -> None:
    """Redis stopped and started again (`services up` restarts it on its port): live events flow again."""
    import servers
    from servers import processes

    async def scenario() -> tuple[list[str], int]:
        async def reload() -> None:
            return None

        profile = f"bus-{uuid.uuid4().hex[:6]}"
        a, b = (ReplicaBus(settings.resolved_redis(), profile, InProcessBroker(), TwinEvents(), reload) for _ in "ab")
        await a.start()
        await b.start()
        received = b.telemetry.subscribe(None)
        try:
            processes.stop(settings.runtime()["redis"]["pid"])
            await asyncio.sleep(1.5)
            await asyncio.to_thread(servers.up, settings)
            await asyncio.sleep(3)  # the listener tries again every second
            a.telemetry.publish([Sample("after-restart", 1, {"frequency": 50.0})])
            delivery = await asyncio.wait_for(received.get(), 10)
            return [sample.twin for sample in delivery.items], b.stats.errors
        finally:
            await a.close()
            await b.close()

    twins, errors = asyncio.run(scenario())
    assert twins == ["after-restart"] and errors >= 1  # the loss was counted, then the bus recovered


# --- two `gridtwin serve` processes ----------------------------------------------------------------

@pytest.fixture(scope="module")
def replicas(api_settings: Settings, tokens: dict[str, str],
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    folder = tmp_path_factory.mktemp("replicas")
    started = [_serve(api_settings, folder / f"replica-{name}.log") for name in "ab"]
    try:
        yield started[0][1], started[1][1]
    finally:
        for process, _ in started:
            stop_process(process)


@contextlib.contextmanager
def _subscribe(url: str, token: str, query: str) -> Iterator[ClientConnection]:
    with connect(url.replace("http", "ws") + "/graphql", subprotocols=["graphql-transport-ws"], open_timeout=10) as ws:
        ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
        assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
        yield ws


def _next_data(ws: ClientConnection, timeout: float = 10) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        if message["type"] == "next":
            return message["payload"]["data"]
        assert message["type"] in ("ping", "pong"), message
    raise AssertionError("no subscription data")


def test_telemetry_ingested_on_a_reaches_a_subscriber_on_b(replicas: tuple[str, str], tokens: dict[str, str]) -> None:
    a, b = replicas
    assert httpx.get(f"{b}/readyz", timeout=10).json() == {"ready": True, "neo4j": True, "influxdb": True,
                                                          "broker": True}
    admin = tokens["admin"]
    point = f"rep-{uuid.uuid4().hex[:8]}-mp"
    _post(a, admin, "mutation($id: ID!) { createTwin(id: $id, model: \"dtmi:gridtwin:GridMeasurementPoint;1\") { id } }",
          {"id": point})
    try:
        with _subscribe(b, tokens["viewer"], f'subscription {{ telemetry(twinIds: ["{point}"]) {{ samples }} }}') as ws:
            time.sleep(0.5)  # the subscription is registered on B before A publishes
            line = json.dumps({"twin": point, "time": int(time.time() * 1000), "values": {
                "voltage": {"phaseA": 230.5, "phaseB": 231.0, "phaseC": 229.5, "average": 230.3}}})
            ingested = httpx.post(f"{a}/ingest", content=line + "\n", timeout=30,
                                  headers={"Authorization": f"Bearer {tokens['operator']}",
                                           "Content-Type": "application/x-ndjson"})
            assert ingested.status_code == 200 and ingested.json()["accepted"] == 1
            samples = _next_data(ws)["telemetry"]["samples"]
        assert samples[0]["twinId"] == point and samples[0]["values"]["voltage"]["phaseA"] == 230.5
    finally:
        _post(a, admin, "mutation($id: ID!) { deleteTwin(id: $id) }", {"id": point})


def test_a_twin_created_on_a_reaches_twin_changed_on_b(replicas: tuple[str, str], tokens: dict[str, str]) -> None:
    a, b = replicas
    twin = f"rep-{uuid.uuid4().hex[:8]}-sub"
    try:
        with _subscribe(b, tokens["viewer"], "subscription { twinChanged { kind twinId } }") as ws:
            time.sleep(0.5)
            _post(a, tokens["admin"], "mutation($id: ID!) { createTwin(id: $id, model: "
                  "\"dtmi:gridtwin:Substation;1\") { id } }", {"id": twin})
            for _ in range(20):  # other tests' events may come first
                event = _next_data(ws)["twinChanged"]
                if event["twinId"] == twin:
                    break
        assert event == {"kind": "twinCreated", "twinId": twin}
    finally:
        _post(a, tokens["admin"], "mutation($id: ID!) { deleteTwin(id: $id) }", {"id": twin})


def test_a_model_uploaded_on_a_changes_the_schema_of_b(replicas: tuple[str, str], tokens: dict[str, str]) -> None:
    a, b = replicas
    name = f"Rep{uuid.uuid4().hex[:8]}"
    dtmi = f"dtmi:gridtwin:test:{name};1"
    model = {"@context": "dtmi:dtdl:context;3", "@id": dtmi, "@type": "Interface",
             "contents": [{"@type": "Property", "name": "rating", "schema": "double"}]}
    probe = '{ __type(name: "%s") { name } }' % name
    assert _post(b, tokens["admin"], probe)["__type"] is None
    _post(a, tokens["admin"], "mutation($m: [JSON!]!) { uploadModels(models: $m) { id } }", {"m": [model]})
    try:
        deadline = time.monotonic() + 15
        while _post(b, tokens["admin"], probe)["__type"] is None:
            assert time.monotonic() < deadline, "replica B never served the uploaded model"
            time.sleep(0.2)
    finally:
        _post(a, tokens["admin"], "mutation($id: String!) { deleteModel(id: $id) }", {"id": dtmi})


def test_serve_with_two_workers_fans_out_to_subscribers_on_either(api_settings: Settings, tokens: dict[str, str],
                                                                   tmp_path: Path) -> None:
    """`gridtwin serve --workers 2`: two processes on one port; every subscriber gets what one ingested."""
    port = _free_port()
    log = tmp_path / "workers.log"
    process = subprocess.Popen([sys.executable, "-m", "cli", "serve", "--workers", "2"], stdout=log.open("wb"),
                               stderr=subprocess.STDOUT, env=_serve_env(api_settings, port))
    url = f"http://127.0.0.1:{port}"
    point = f"rep-{uuid.uuid4().hex[:8]}-mp"
    try:
        _wait_until_serving(process, url, log)
        children = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True).stdout.split()
        assert len(children) >= 2, children  # uvicorn's workers (and its multiprocessing helper)
        _post(url, tokens["admin"], 'mutation($id: ID!) { createTwin(id: $id, model: '
              '"dtmi:gridtwin:GridMeasurementPoint;1") { id } }', {"id": point})
        with contextlib.ExitStack() as stack:
            query = f'subscription {{ telemetry(twinIds: ["{point}"]) {{ samples }} }}'
            sockets = [stack.enter_context(_subscribe(url, tokens["viewer"], query)) for _ in range(6)]
            time.sleep(0.5)
            line = json.dumps({"twin": point, "time": int(time.time() * 1000), "values": {
                "voltage": {"phaseA": 229.0, "phaseB": 230.0, "phaseC": 231.0, "average": 230.0}}})
            assert httpx.post(f"{url}/ingest", content=line + "\n", timeout=30, headers={
                "Authorization": f"Bearer {tokens['operator']}", "Content-Type": "application/x-ndjson"}).status_code == 200
            for ws in sockets:
                assert _next_data(ws)["telemetry"]["samples"][0]["values"]["voltage"]["phaseA"] == 229.0
        _post(url, tokens["admin"], "mutation($id: ID!) { deleteTwin(id: $id) }", {"id": point})
    finally:
        stop_process(process)


def test_killing_a_replica_mid_stream_loses_no_acknowledged_sample_and_the_other_serves_on(
        api_settings: Settings, tokens: dict[str, str], influx_client: Any, tmp_path: Path) -> None:
    """SIGKILL replica A while a client streams to it; B answers throughout; a restarted process takes A's
    spool slot and replays it; every message either replica acknowledged is in InfluxDB, once."""
    import os
    import signal
    import threading

    base_ms = int(time.time() * 1000) - 600_000  # a sequence number is a millisecond after this

    def message(seq: int) -> dict[str, Any]:
        return {"twin": point, "time": base_ms + seq, "values": {"frequency": {"value": 50.0 + seq % 7 / 1000}}}

    def stored() -> list[int]:
        flux = ('from(bucket: b) |> range(start: -1h) |> filter(fn: (r) => r.twin == t and r._field == "frequency.value")'
                ' |> group()')
        tables = influx_client.query_api().query(flux, params={"b": api_settings.influxdb_bucket, "t": point})
        return [round(r.get_time().timestamp() * 1000) - base_ms for table in tables for r in table.records]

    a, url_a = _serve(api_settings, tmp_path / "a.log")
    b, url_b = _serve(api_settings, tmp_path / "b.log")
    point = f"rep-{uuid.uuid4().hex[:8]}-mp"
    headers = {"Authorization": f"Bearer {tokens['operator']}", "Content-Type": "application/x-ndjson"}
    acked: set[int] = set()
    restarted = None

    def send(url: str, first: int, count: int = 50) -> bool:
        body = "".join(json.dumps(message(seq)) + "\n" for seq in range(first, first + count))
        try:
            answer = httpx.post(f"{url}/ingest", content=body, headers=headers, timeout=10)
        except httpx.HTTPError:
            return False  # the replica died with this request: nothing of it was acknowledged
        if answer.status_code == 200 and answer.json()["accepted"] == count:
            acked.update(range(first, first + count))
            return True
        return False

    def stream_to_a() -> None:
        seq = 0
        while send(url_a, seq):
            seq += 50

    try:
        _post(url_b, tokens["admin"], 'mutation($id: ID!) { createTwin(id: $id, model: '
              '"dtmi:gridtwin:GridMeasurementPoint;1") { id } }', {"id": point})
        streamer = threading.Thread(target=stream_to_a)
        streamer.start()
        time.sleep(1.5)
        os.kill(a.pid, signal.SIGKILL)
        streamer.join(timeout=20)
        assert len(acked) >= 100  # A acknowledged a stream before it died
        assert send(url_b, 500_000) and _post(url_b, tokens["viewer"], "{ twin(id: \"%s\") { id } }" % point)
        restarted, _ = _serve(api_settings, tmp_path / "a2.log")  # takes A's spool slot, replays it first
        deadline = time.monotonic() + 30
        while not acked <= set(stored()):
            assert time.monotonic() < deadline, f"{len(acked - set(stored()))} acknowledged samples not in InfluxDB"
            time.sleep(0.5)
        kept = stored()
        assert len(kept) == len(set(kept))  # once each
    finally:
        httpx.post(f"{url_b}/graphql", json={"query": "mutation($id: ID!) { deleteTwin(id: $id) }",
                                             "variables": {"id": point}},
                   headers={"Authorization": f"Bearer {tokens['admin']}"}, timeout=30)  # its points stay
        for process in (b, restarted):
            if process is not None:
                stop_process(process)
        a.wait(timeout=10)
