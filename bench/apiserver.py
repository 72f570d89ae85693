"""Start one ``gridtwin serve`` process for a benchmark and log in to it (shared by the bench scripts)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable

import httpx

from gridtwin.config import Settings
from servers.processes import free_port

ADMIN_PASSWORD = "bench-admin-password"


def start_api(settings: Settings, python_args: list[str] | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """The API on a free port (``python_args`` replaces ``-m cli serve``), once /readyz answers."""
    port = free_port()
    env = {**os.environ, "GRIDTWIN_API_PORT": str(port), "GRIDTWIN_ADMIN_PASSWORD": ADMIN_PASSWORD,
           "GRIDTWIN_LOG_LEVEL": "WARNING"}
    log = open(settings.state_path / f"bench-api-{port}.log", "wb")  # noqa: SIM115 - the child keeps it
    process = subprocess.Popen([sys.executable, *(python_args or ["-m", "cli", "serve"])], env=env,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    wait_until_ready(process, lambda: httpx.get(url + "/readyz", timeout=1), "the API", log.name)
    return process, url


def wait_until_ready(process: subprocess.Popen[bytes], probe: Callable[[], httpx.Response], what: str, log: str,
                     seconds: float = 60.0) -> None:
    """Poll ``probe`` until it answers 200; a clear exit naming the log if the process dies or never answers."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if probe().status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            raise SystemExit(f"{what} exited; see {log}")
        time.sleep(0.25)
    raise SystemExit(f"{what} did not become ready; see {log}")


def login(url: str) -> str:
    body = {"query": 'mutation($p: String!) { login(username: "admin", password: $p) { token } }',
            "variables": {"p": ADMIN_PASSWORD}}
    return str(httpx.post(url + "/graphql", json=body, timeout=30).json()["data"]["login"]["token"])
