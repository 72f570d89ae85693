"""The documented examples that need what `make demo` adds, run verbatim against `gridtwin demo` itself.

The demo runs as its own process on the test profile's servers, as `make demo` runs it: the demo
feeder, the imported simbench MV and LV grids, the trained models (trained once per profile), the
1 Hz physics stream and the continuous inference. Against it run the queries and mutations
test_doc_examples.py lists in NEEDS_THE_DEMO, in document order, and every documented subscription,
each until it delivers: telemetry and predictions come from the demo's own loops; ``twinChanged``
is set off by operating a switch, the alerts by the voltage sag docs/api.md starts. The ``curl``
examples run in bash as written, with the demo's port in ``GRIDTWIN_API_PORT`` (which they read),
``$TOKEN`` an operator's token and a ``HOME`` whose demo password file holds the admin's password;
an output the example documents (a ``# {"...`` line) must be what it prints.
Afterwards the grids and the feeder are removed again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import neo4j
import pytest
from websockets.sync.client import connect

from gridtwin.config import Settings
from tests.doc_examples import Operation, examples, graphql_operations, where_sh_runs
from tests.integration.conftest import TEST_ADMIN_PASSWORD, _free_port, _serve_env, _wait_until_serving, stop_process
from tests.integration.test_doc_examples import NEEDS_THE_DEMO, OPERATIONS, VARIABLES, answer_problem

#: The first run on a machine trains the demo's models (a few minutes); later runs find them stored.
DEMO_START_TIMEOUT_S = 900
#: How long a subscription may take to deliver: alerts wait for the sag, 30 s into its run.
DELIVERY_TIMEOUT_S = 150
#: Documented commands that answer nothing (the DTDL command declares no response).
ANSWERS_NOTHING = ("mlEngine/runInference",)
SWITCH = "1-LV-semiurb4--0-sw/switch/0"
SAG = ('mutation { invokeCommand(twinId: "demo-mp-parkstraat-a", command: "startSimulation", payload: '
       '{scenarioType: "voltageSag", durationSeconds: 90, parameters: {depth: "0.2", start_step: "20", '
       'duration_steps: "30"}}) }')


@pytest.fixture(scope="module")
def demo(api_settings: Settings, tokens: dict[str, str], neo4j_driver: neo4j.Driver,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`gridtwin demo` on a free port of its own; its grids, its feeder and the model versions it trained
    are removed when it stops (later tests find the registry as it was)."""
    log_path = tmp_path_factory.mktemp("demo") / "demo.log"
    port = _free_port()
    trained_before = _model_versions(api_settings)
    with log_path.open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "cli", "demo"], stdout=log, stderr=subprocess.STDOUT,
                                   env=_serve_env(api_settings, port))
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_serving(process, url, log_path, timeout=DEMO_START_TIMEOUT_S)
            yield url
        finally:
            stop_process(process)
            _remove_what_the_demo_loaded(neo4j_driver, api_settings)
            _remove_model_versions(api_settings, _model_versions(api_settings) - trained_before)


def _model_versions(settings: Settings) -> set[Path]:
    """The version folders of the profile's model registry (ml/registry.py: <root>/<model>/<version>)."""
    from ml.registry import Registry

    return set(Registry.of_profile(settings.state_path).root.glob("*/*"))


def _remove_model_versions(settings: Settings, versions: set[Path]) -> None:
    import shutil

    for version in versions:
        shutil.rmtree(version)
        if not any(version.parent.iterdir()):
            version.parent.rmdir()


def _remove_what_the_demo_loaded(driver: neo4j.Driver, settings: Settings) -> None:
    from cli.main import DEMO_GRID
    from graph.bulk import bulk_delete_twins
    from loaders import demo_grid
    from loaders.grids.sink import delete_grid

    for grid in (DEMO_GRID.removeprefix("simbench:"), demo_grid.LV_GRID):
        delete_grid(driver, grid, settings=settings)
    bulk_delete_twins(driver, [twin.id for twin in demo_grid.TWINS])


def _post(url: str, token: str, operation: Operation, variables: dict[str, Any]) -> dict[str, Any]:
    return httpx.post(f"{url}/graphql", json={"query": operation.text, "variables": variables},
                      headers={"Authorization": f"Bearer {token}"}, timeout=300).json()


def _run(url: str, token: str, text: str) -> dict[str, Any]:
    body = httpx.post(f"{url}/graphql", json={"query": text}, headers={"Authorization": f"Bearer {token}"},
                      timeout=60).json()
    assert "errors" not in body, body
    return body["data"]


def test_the_demo_only_queries_and_mutations_run_as_written(demo: str, tokens: dict[str, str]) -> None:
    results: dict[str, Any] = {}  # the answers so far: `simulation(id: $id)` takes startSimulation's run
    failures = []
    ran = 0
    for operation in OPERATIONS:
        if operation.first_field not in NEEDS_THE_DEMO:
            continue
        variables = {name: results["startSimulation"]["id"] if name == "id" else VARIABLES[name]
                     for name in operation.variables}
        body = _post(demo, tokens["admin"], operation, variables)
        ran += 1
        results.update(body.get("data") or {})
        answers_nothing = any(command in operation.text for command in ANSWERS_NOTHING)
        problem = answer_problem(operation, body, may_be_empty={"invokeCommand"} if answers_nothing else set())
        if problem:
            failures.append(f"{operation.where} {operation.first_field}: {problem}")
    assert failures == []
    assert ran == len([op for op in OPERATIONS if op.first_field in NEEDS_THE_DEMO]) >= 8


class _Listener(threading.Thread):
    """One subscription over graphql-transport-ws: what it delivered first, or what went wrong."""

    def __init__(self, url: str, token: str, operation: Operation) -> None:
        super().__init__(daemon=True)
        self.url, self.token, self.operation = url, token, operation
        self.subscribed = threading.Event()
        self.first: dict[str, Any] | None = None
        self.problem: str | None = None

    def run(self) -> None:
        try:
            with connect(self.url.replace("http", "ws") + "/graphql", subprotocols=["graphql-transport-ws"],
                         open_timeout=10) as ws:
                ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {self.token}"}}))
                assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
                ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": self.operation.text}}))
                self.subscribed.set()
                self._receive(ws)
        except Exception as error:  # noqa: BLE001 - reported by the test with the example's place
            self.problem = f"{type(error).__name__}: {error}"
        finally:
            self.subscribed.set()

    def _receive(self, ws: Any) -> None:
        deadline = time.monotonic() + DELIVERY_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                message = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            except TimeoutError:
                break
            if message["type"] == "next":
                payload = message["payload"]
                self.first = payload
                if "errors" in payload:
                    self.problem = str(payload["errors"])
                return
            if message["type"] in ("error", "complete"):
                self.problem = f"{message['type']}: {message.get('payload')}"
                return
        self.problem = f"nothing delivered in {DELIVERY_TIMEOUT_S} s"


def test_every_documented_subscription_delivers(demo: str, tokens: dict[str, str]) -> None:
    subscriptions = [op for op in graphql_operations() if op.kind == "subscription"]
    assert len(subscriptions) >= 7
    listeners = [_Listener(demo, tokens["admin"], operation) for operation in subscriptions]
    for listener in listeners:
        listener.start()
    for listener in listeners:
        assert listener.subscribed.wait(20), listener.operation.where
    time.sleep(1)  # the subscribe messages are handled before anything is set off
    _run(demo, tokens["operator"], f'mutation {{ invokeCommand(twinId: "{SWITCH}", command: "operate", payload: "open") }}')
    _run(demo, tokens["operator"], f'mutation {{ invokeCommand(twinId: "{SWITCH}", command: "operate", payload: "closed") }}')
    _run(demo, tokens["operator"], SAG)
    for listener in listeners:
        listener.join(DELIVERY_TIMEOUT_S + 30)
    failures = [f"{listener.operation.where} {listener.operation.first_field}: {listener.problem}"
                for listener in listeners if listener.problem]
    assert failures == []
    assert all(listener.first and listener.first["data"][listener.operation.first_field] for listener in listeners)


def test_the_curl_examples_run_as_written(demo: str, tokens: dict[str, str], tmp_path: Any) -> None:
    password_file = tmp_path / ".local" / "state" / "gridtwin" / "demo" / "admin-password"
    password_file.parent.mkdir(parents=True)
    password_file.write_text(TEST_ADMIN_PASSWORD)
    environment = {**os.environ, "HOME": str(tmp_path), "GRIDTWIN_API_PORT": demo.rsplit(":", 1)[1],
                   "TOKEN": tokens["operator"]}
    curls = [example for example in examples("sh") if (where_sh_runs(example) or "").startswith(__name__.replace(".", "/"))]
    assert len(curls) >= 3
    for example in curls:
        result = subprocess.run(["bash", "-euo", "pipefail", "-c", example.text], env=environment,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"{example.where}: {result.stderr}"
        printed = json.loads(result.stdout)
        assert "data" in printed or "accepted" in printed, f"{example.where}: {printed}"  # GraphQL or /ingest
        assert "data" not in printed or "errors" not in printed, f"{example.where}: {printed}"
        documented = [line.removeprefix("# ") for line in example.text.splitlines() if line.startswith("# {\"")]
        if documented:
            assert printed == json.loads(documented[0]), example.where
