"""InfluxDB 2.7 OSS: built from the Go module proxy, Flux's Rust library by cargo.

``servers/inputs/influxdb/go.mod`` pins influxdb v2.7.12 (repeating its replace
directive) and influxdata's pkg-config wrapper, which builds libflux with cargo
from crates.io when cgo asks for it.  The UI (``assets`` tag) is left out.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from pathlib import Path
from typing import Any

import httpx

from gridtwin.config import Settings
from servers import processes, toolchain
from servers.build import SERVER_INPUTS, cached_build, run, source_digest

MODULE = SERVER_INPUTS / "influxdb"
RUSTC_WRAPPER = MODULE / "rustc-cap-lints"
BUILD_TAGS = "sqlite_foreign_keys,sqlite_json"
START_TIMEOUT_S = 60.0
#: Flux query limits, so that no query (or pile of them) can take the machine: the former
#: downsampling task reached 20 GB resident with 12 overlapping runs. At most 8 queries run at
#: once (2-core boxes gain nothing from more), 256 more wait, and each may hold 256 MiB of table
#: memory out of 1 GiB for all (8 x the initial 16 MiB must fit, which influxd checks). A query
#: past its share fails with "memory allocation limit reached" instead of growing.
QUERY_LIMITS = {
    "--query-concurrency": "8",
    "--query-queue-size": "256",
    "--query-initial-memory-bytes": str(16 << 20),
    "--query-memory-bytes": str(256 << 20),
    "--query-max-memory-bytes": str(1 << 30),
}


def version() -> str:
    match = re.search(r"github.com/influxdata/influxdb/v2 v(\S+)", (MODULE / "go.mod").read_text())
    if not match:
        raise RuntimeError(f"{MODULE / 'go.mod'}: influxdb is not required")
    return match.group(1)


def provision(settings: Settings) -> Path:
    """The folder holding the ``influxd`` binary, built if needed."""
    inputs = (MODULE / "go.mod", MODULE / "go.sum", MODULE / "tools.go", RUSTC_WRAPPER)
    target = settings.cache_dir / f"influxdb-{version()}-{source_digest(*inputs)}"
    return cached_build(target, _build)


def _build(work: Path) -> None:
    toolchain.require(toolchain.GO, toolchain.CARGO, toolchain.CC, toolchain.PKG_CONFIG)
    wrapper = work / "pkg-config"
    env = {**os.environ, "GOFLAGS": "-mod=readonly -buildvcs=false"}
    run(["go", "build", "-o", str(wrapper), "github.com/influxdata/pkg-config"], cwd=MODULE, env=env,
        what="building influxdata's pkg-config wrapper")
    env |= {"PKG_CONFIG": str(wrapper), "RUSTC_WRAPPER": str(RUSTC_WRAPPER)}
    if shutil.which("rustup"):
        # libflux pins Rust 1.72 in rust-toolchain.toml; rustup cannot download it
        # here, and the installed stable toolchain builds it fine.
        env.setdefault("RUSTUP_TOOLCHAIN", "stable")
    ldflags = f"-X main.version={version()} -X main.commit=gridtwin-build"
    run(["go", "build", "-tags", BUILD_TAGS, "-ldflags", ldflags, "-o", str(work / "influxd"),
         "github.com/influxdata/influxdb/v2/cmd/influxd"], cwd=MODULE, env=env,
        what="building influxd (first time: several minutes)")
    wrapper.unlink()


def start(settings: Settings, recorded: dict[str, Any]) -> dict[str, Any]:
    """Start the profile's influxd (if not running) and return what runtime.json keeps of it."""
    if processes.is_alive(recorded.get("pid")):
        return recorded
    binary = provision(settings) / "influxd"
    port = processes.choose_port(recorded.get("port") or settings.default_port("influxdb_http"),
                                 settings.influxdb_http_port)
    data = settings.state_path / "influxdb"
    data.mkdir(parents=True, exist_ok=True)
    log_file = settings.state_path / "logs" / "influxdb.log"
    command = [
        str(binary), "--bolt-path", str(data / "influxd.bolt"), "--engine-path", str(data / "engine"),
        "--sqlite-path", str(data / "influxd.sqlite"), "--http-bind-address", f"127.0.0.1:{port}",
        "--reporting-disabled", "--log-level", "warn",
        *(item for flag_value in QUERY_LIMITS.items() for item in flag_value),
    ]
    pid = processes.start(command, log_file, cwd=data)
    return {**recorded, "pid": pid, "port": port, "url": f"http://127.0.0.1:{port}",
            "version": version(), "log": str(log_file)}


def wait_ready(started: dict[str, Any]) -> None:
    processes.wait_until(lambda: health(started["url"]) is not None, started["pid"], START_TIMEOUT_S,
                         "InfluxDB", Path(started["log"]))


def health(url: str) -> dict[str, Any] | None:
    """InfluxDB's /health document when it passes, else None."""
    try:
        response = httpx.get(f"{url}/health", timeout=2)
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    document: dict[str, Any] = response.json()
    return document if document.get("status") == "pass" else None


def onboard(settings: Settings, started: dict[str, Any]) -> dict[str, Any]:
    """Create org, bucket and operator token on a new server; keep the token in runtime.json."""
    url = started["url"]
    if not httpx.get(f"{url}/api/v2/setup", timeout=5).json().get("allowed"):
        if not started.get("token"):
            raise processes.ServiceError(f"InfluxDB at {url} is set up, but no token is recorded for it")
        return started
    token = settings.influxdb_token or secrets.token_urlsafe(32)
    body = {
        "username": "gridtwin", "password": secrets.token_urlsafe(18), "org": settings.influxdb_org,
        "bucket": settings.influxdb_bucket, "token": token,
    }
    response = httpx.post(f"{url}/api/v2/setup", json=body, timeout=10)
    if response.status_code != 201:
        raise processes.ServiceError(f"InfluxDB onboarding failed: {response.status_code} {response.text}")
    return {**started, "token": token, "org": settings.influxdb_org, "bucket": settings.influxdb_bucket}
