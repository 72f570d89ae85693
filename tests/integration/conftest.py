"""Connections to the test profile's real Neo4j and InfluxDB; never fakes.

Every test in this folder is marked ``integration``.  When a server is not
reachable the test fails with the command that starts it, rather than skipping
and hiding that the suite did not run.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

import neo4j
import pytest
from influxdb_client import InfluxDBClient

from dtdl import ModelSet
from gridtwin.config import Settings
from tests.conftest import save_screenshot


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


START_HINT = "start the test servers: GRIDTWIN_PROFILE=test .venv/bin/gridtwin services up"


@pytest.fixture(scope="session")
def neo4j_driver(settings: Settings) -> Iterator[neo4j.Driver]:
    uri, user, password = settings.resolved_neo4j()
    driver = neo4j.GraphDatabase.driver(uri, auth=(user, password))
    try:
        driver.verify_connectivity()
    except Exception as error:  # noqa: BLE001
        pytest.fail(f"Neo4j at {uri} is not reachable ({error}); {START_HINT}")
    yield driver
    driver.close()


@pytest.fixture(scope="session")
def influx_client(settings: Settings) -> Iterator[InfluxDBClient]:
    url, token = settings.resolved_influxdb()
    client = InfluxDBClient(url=url, token=token, org=settings.influxdb_org, timeout=10_000)
    if not client.ping():
        pytest.fail(f"InfluxDB at {url} is not reachable; {START_HINT}")
    yield client
    client.close()


@pytest.fixture(scope="session")
def models(neo4j_driver: neo4j.Driver) -> ModelSet:
    """Our grid models, parsed, with their Neo4j schema applied to the test database."""
    from graph.cypher import apply_schema
    from graph.models_store import builtin_documents, parse_models

    parsed = parse_models(builtin_documents())
    apply_schema(neo4j_driver, parsed)
    return parsed


# --- the API, in-process on the real servers -------------------------------------------------

TEST_ADMIN_PASSWORD = "test-admin-password-1"


class GraphQLClient:
    """Posts GraphQL to the in-process app; ``token`` names the caller (None: anonymous)."""

    def __init__(self, client: object) -> None:
        self.http = client

    def __call__(self, query: str, variables: dict | None = None, token: str | None = None) -> dict:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = self.http.post("/graphql", json={"query": query, "variables": variables or {}},  # type: ignore[attr-defined]
                                  headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    def data(self, query: str, variables: dict | None = None, token: str | None = None) -> dict:
        """The ``data`` of a query that must succeed."""
        body = self(query, variables, token)
        assert "errors" not in body, body
        return body["data"]


@pytest.fixture()
def browser_page(request: pytest.FixtureRequest) -> Iterator[tuple[object, list[str], list[str]]]:
    """Headless Chromium whose every request to a host other than loopback is aborted and recorded
    (``outside``), with the page's uncaught errors (``errors``); what the page showed at the end is
    attached to the run as a screenshot named after the test (tests.conftest.save_screenshot)."""
    import shutil

    from playwright import sync_api as playwright
    from servers.toolchain import CHROMIUM, require

    require(CHROMIUM)

    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
        page = browser.new_page()
        outside: list[str] = []
        errors: list[str] = []

        def only_loopback(route: object) -> None:
            url = route.request.url  # type: ignore[attr-defined]
            if urlparse(url).hostname not in ("127.0.0.1", "localhost"):
                outside.append(url)
                route.abort()  # type: ignore[attr-defined]
            else:
                route.continue_()  # type: ignore[attr-defined]

        page.route("**/*", only_loopback)
        page.on("pageerror", lambda error: errors.append(str(error)))
        try:
            yield page, outside, errors
        finally:
            save_screenshot(page, request.node.name, "last-page")
            browser.close()


@pytest.fixture(scope="module")
def demo_feeder(settings: Settings, neo4j_driver: neo4j.Driver) -> Iterator[None]:
    """The demo feeder of `make demo` (loaders/demo_grid.py) in the test graph, removed afterwards."""
    from graph.bulk import bulk_delete_twins
    from loaders import demo_grid

    demo_grid.load(settings)
    yield
    bulk_delete_twins(neo4j_driver, [twin.id for twin in demo_grid.TWINS])


@pytest.fixture(scope="session")
def api_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"admin_password": TEST_ADMIN_PASSWORD})


@pytest.fixture(scope="session")
def gql(api_settings: Settings) -> Iterator[GraphQLClient]:
    from starlette.testclient import TestClient

    from api.app import create_app

    with TestClient(create_app(api_settings)) as client:
        yield GraphQLClient(client)


@pytest.fixture(scope="session")
def tokens(gql: GraphQLClient, api_settings: Settings, neo4j_driver: neo4j.Driver) -> Iterator[dict[str, str]]:
    """A bearer token per role; the users are created once per test session with unique names."""
    import uuid

    login = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }"
    admin = gql.data(login, {"u": api_settings.admin_username, "p": TEST_ADMIN_PASSWORD})["login"]["token"]
    found = {"admin": admin}
    suffix = uuid.uuid4().hex[:8]
    for role in ("viewer", "analyst", "operator"):
        username, password = f"{role}-{suffix}", f"pw-{role}-{suffix}-long"
        gql.data("mutation($u: String!, $p: String!, $r: UserRole!) { createUser(username: $u, password: $p, "
                 "role: $r) { id } }", {"u": username, "p": password, "r": role}, admin)
        found[role] = gql.data(login, {"u": username, "p": password})["login"]["token"]
    yield found
    neo4j_driver.execute_query("MATCH (u:Twin) WHERE u.id ENDS WITH $suffix "
                               "OPTIONAL MATCH (u)-[:HAS_CREDENTIAL]->(c:Credential) DETACH DELETE u, c",
                               suffix=f"-{suffix}")


def build_feeder(gql: GraphQLClient, admin_token: str, prefix: str,
                 models: dict[str, str]) -> dict[str, str]:
    """Twins ``prefix + key`` of the given models (sub, tr, mp, ...): sub feedsTo tr feedsTo mp."""
    ids = {key: prefix + key for key in models}
    for key, model in models.items():
        gql.data("mutation($id: ID!, $m: String!) { createTwin(id: $id, model: $m) { id } }",
                 {"id": ids[key], "m": f"dtmi:gridtwin:{model};1"}, admin_token)
    for source, target in (("sub", "tr"), ("tr", "mp")):
        gql.data('mutation($s: ID!, $t: ID!) { createRelationship(source: $s, name: "feedsTo", target: $t) { id } }',
                 {"s": ids[source], "t": ids[target]}, admin_token)
    return ids


def remove_twins(gql: GraphQLClient, admin_token: str, ids: dict[str, str]) -> None:
    for twin_id in ids.values():
        gql.data("mutation($id: ID!) { deleteTwin(id: $id, cascade: true) }", {"id": twin_id}, admin_token)


@contextmanager
def stored_simbench_grid(driver: neo4j.Driver, models: ModelSet, settings: Settings, code: str,
                         prefix: str) -> Iterator[str]:
    """A simbench grid imported under a fresh id ``<prefix>-<hex>`` (profiles included), deleted afterwards."""
    import uuid
    import warnings

    from loaders.grids.sink import delete_grid, store_grid
    from loaders.grids.sources import load_grid

    grid = f"{prefix}-{uuid.uuid4().hex[:6]}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        store_grid(driver, models, load_grid(f"simbench:{code}", grid), settings=settings)
    try:
        yield grid
    finally:
        delete_grid(driver, grid, settings=settings)


# --- the API as its own `gridtwin serve` process (real HTTP, real sockets) ---------------------------

@dataclass
class ServedApi:
    url: str
    port: int
    pid: int


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve_env(settings: Settings, port: int) -> dict[str, str]:
    """The test profile as the in-process app has it (servers, JWT secret: its tokens work here).

    No admin password: the process must not reset the admin's password, which would end the
    sessions of the tokens the other tests hold."""
    environment = {key: value for key, value in os.environ.items() if key != "GRIDTWIN_ADMIN_PASSWORD"}
    return {**environment, "GRIDTWIN_PROFILE": settings.profile, "GRIDTWIN_API_HOST": "127.0.0.1",
            "GRIDTWIN_API_PORT": str(port)}


@pytest.fixture(scope="module")
def served_api(api_settings: Settings, tokens: dict[str, str],
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApi]:
    log_path = tmp_path_factory.mktemp("served-api") / "serve.log"
    port = _free_port()
    log = log_path.open("wb")
    process = subprocess.Popen([sys.executable, "-m", "cli", "serve"], stdout=log, stderr=subprocess.STDOUT,
                               env=_serve_env(api_settings, port))
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(process, url, log_path)
        yield ServedApi(url, port, process.pid)
    finally:
        stop_process(process)
        log.close()


def stop_process(process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """SIGTERM (the API drains its spool and closes), then SIGKILL if it does not end in ``timeout``."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _wait_until_serving(process: subprocess.Popen[bytes], url: str, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gridtwin serve exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    pytest.fail(f"gridtwin did not answer within {timeout:g} s: {log.read_text()[-2000:]}")


def serve_replica(settings: Settings, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """One `gridtwin serve` process on the broker (a replica), and its URL once it answers."""
    port = _free_port()
    env = {**_serve_env(settings, port), "GRIDTWIN_BROKER": "redis"}
    process = subprocess.Popen([sys.executable, "-m", "cli", "serve"], stdout=log.open("wb"),
                               stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    _wait_until_serving(process, url, log)
    return process, url


def graphql_data(url: str, token: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """POST a GraphQL operation to a served API; its data (no errors allowed)."""
    body = httpx.post(f"{url}/graphql", json={"query": query, "variables": variables or {}},
                      headers={"Authorization": f"Bearer {token}"}, timeout=30).json()
    assert "errors" not in body, body
    return body["data"]
