"""Neo4j 5.26 LTS Community: resolved from Maven Central, started with our launcher.

The engine's jars come from ``servers/inputs/neo4j/pom.xml`` through Maven's
dependency plugin; ``servers/inputs/neo4j/src/GridTwinNeo4j.java`` starts the engine
with only a Bolt connector on loopback and authentication on.
"""

from __future__ import annotations

import re
import secrets
import socket
from pathlib import Path
from typing import Any

from gridtwin.config import Settings
from servers import processes, toolchain
from servers.build import SERVER_INPUTS, cached_build, run, source_digest

POM = SERVER_INPUTS / "neo4j" / "pom.xml"
LAUNCHER = SERVER_INPUTS / "neo4j" / "src" / "GridTwinNeo4j.java"
READY_MARKER = "GRIDTWIN_NEO4J_READY"
START_TIMEOUT_S = 180.0


def version() -> str:
    match = re.search(r"<neo4j.version>([^<]+)</neo4j.version>", POM.read_text())
    if not match:
        raise RuntimeError(f"{POM}: no <neo4j.version> property")
    return match.group(1)


def provision(settings: Settings) -> Path:
    """The folder with ``lib/`` (engine jars) and ``classes/`` (launcher), built if needed."""
    target = settings.cache_dir / f"neo4j-{version()}-{source_digest(POM, LAUNCHER)}"
    return cached_build(target, _build)


def _build(work: Path) -> None:
    toolchain.require(toolchain.JAVA, toolchain.JAVAC, toolchain.MAVEN)
    run(
        ["mvn", "-B", "-q", "-f", str(POM), "dependency:copy-dependencies",
         f"-DoutputDirectory={work / 'lib'}", "-DincludeScope=runtime"],
        what="resolving Neo4j from Maven Central",
    )
    run(
        ["javac", "-d", str(work / "classes"), "-cp", f"{work / 'lib'}/*", str(LAUNCHER)],
        what="compiling the Neo4j launcher",
    )


def start(settings: Settings, recorded: dict[str, Any]) -> dict[str, Any]:
    """Start the profile's Neo4j (if not running) and return what runtime.json keeps of it."""
    if processes.is_alive(recorded.get("pid")):
        return recorded
    home = provision(settings)
    port = processes.choose_port(recorded.get("port") or settings.default_port("neo4j_bolt"), settings.neo4j_bolt_port)
    password = settings.neo4j_password or recorded.get("password") or secrets.token_urlsafe(18)
    data = settings.state_path / "neo4j"
    log_file = settings.state_path / "logs" / "neo4j.log"
    log_offset = log_file.stat().st_size if log_file.exists() else 0
    command = [
        "java", f"-Xms{settings.neo4j_heap_mb}m", f"-Xmx{settings.neo4j_heap_mb}m", "-XX:+UseG1GC",
        "-XX:+ExitOnOutOfMemoryError", "-cp", f"{home / 'lib'}/*:{home / 'classes'}",
        "GridTwinNeo4j", str(data), str(port), str(settings.neo4j_pagecache_mb),
    ]
    pid = processes.start(command, log_file, env={"GRIDTWIN_NEO4J_PASSWORD": password})
    return {
        "pid": pid, "port": port, "uri": f"bolt://127.0.0.1:{port}", "password": password,
        "version": version(), "log": str(log_file), "log_offset": log_offset,
    }


def wait_ready(started: dict[str, Any]) -> None:
    log_file = Path(started["log"])
    offset = int(started.get("log_offset", 0))

    def ready() -> bool:
        with log_file.open("rb") as log:
            log.seek(offset)
            if READY_MARKER.encode() not in log.read():
                return False
        return _accepts(started["port"])

    processes.wait_until(ready, started["pid"], START_TIMEOUT_S, "Neo4j", log_file)


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def server_version(uri: str, user: str, password: str) -> str | None:
    """Name, version and edition reported by ``dbms.components()``, or None if unreachable."""
    import neo4j

    try:
        with neo4j.GraphDatabase.driver(uri, auth=(user, password), connection_timeout=3) as driver:
            records, _, _ = driver.execute_query("CALL dbms.components() YIELD name, versions, edition")
    except Exception:  # noqa: BLE001 - status reports any failure as "not reachable"
        return None
    component = records[0]
    return f"{component['name']} {component['versions'][0]} {component['edition']}"

