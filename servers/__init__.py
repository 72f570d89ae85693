"""Provisioning and life cycle of the profile's Neo4j, InfluxDB and Redis servers.

``up`` builds what the cache lacks, starts the servers side by side, waits for
them, onboards InfluxDB and records ports, PIDs and credentials in the
profile's runtime.json; ``down`` stops them and leaves no process behind.
Redis is the broker between API replicas (``GRIDTWIN_BROKER=redis``); one API
process without it works as before.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from gridtwin.config import Settings
from servers import influxdb, neo4j, processes, redis


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    running: bool
    pid: int | None
    address: str | None
    version: str | None


def up(settings: Settings) -> dict[str, Any]:
    """Start both servers (building them first if needed) and return the runtime record."""
    settings.state_path.mkdir(parents=True, exist_ok=True)
    runtime = settings.runtime()
    neo4j.provision(settings)
    influxdb.provision(settings)
    redis.provision(settings)
    neo4j_started = neo4j.start(settings, runtime.get("neo4j", {}))
    influx_started = influxdb.start(settings, runtime.get("influxdb", {}))
    redis_started = redis.start(settings, runtime.get("redis", {}))
    try:
        influxdb.wait_ready(influx_started)
        influx_started = influxdb.onboard(settings, influx_started)
        _write_runtime(settings, {"neo4j": neo4j_started, "influxdb": influx_started, "redis": redis_started})
        redis.wait_ready(redis_started)
        neo4j.wait_ready(neo4j_started)
    except Exception:
        for started in (neo4j_started, influx_started, redis_started):
            processes.stop(started.get("pid"))
        raise
    runtime = {"neo4j": neo4j_started, "influxdb": influx_started, "redis": redis_started}
    _write_runtime(settings, runtime)
    return runtime


def down(settings: Settings) -> None:
    """Stop the servers; credentials and ports stay recorded for the next ``up``."""
    runtime = settings.runtime()
    for name in ("neo4j", "influxdb", "redis"):
        record = runtime.get(name, {})
        processes.stop(record.get("pid"))
        record.pop("pid", None)
    if runtime:
        _write_runtime(settings, runtime)


def status(settings: Settings) -> list[ServiceStatus]:
    runtime = settings.runtime()
    uri, user, password = settings.resolved_neo4j()
    neo4j_record = runtime.get("neo4j", {})
    neo4j_running = processes.is_alive(neo4j_record.get("pid"))
    url, _ = settings.resolved_influxdb()
    influx_record = runtime.get("influxdb", {})
    influx_health = influxdb.health(url) if processes.is_alive(influx_record.get("pid")) else None
    return [
        ServiceStatus("neo4j", neo4j_running, neo4j_record.get("pid") if neo4j_running else None, uri,
                      neo4j.server_version(uri, user, password) if neo4j_running else None),
        ServiceStatus("influxdb", influx_health is not None,
                      influx_record.get("pid") if influx_health else None, url,
                      f"InfluxDB {influx_health['version']}" if influx_health else None),
        _redis_status(runtime.get("redis", {})),
    ]


def _redis_status(record: dict[str, Any]) -> ServiceStatus:
    answering = processes.is_alive(record.get("pid")) and redis.ping(record["port"], record["password"])
    address = f"redis://127.0.0.1:{record['port']}" if record.get("port") else None
    return ServiceStatus("redis", answering, record.get("pid") if answering else None, address,
                         f"Redis {record.get('version')}" if answering else None)


def _write_runtime(settings: Settings, runtime: dict[str, Any]) -> None:
    """Write runtime.json atomically and readable by its owner only (it holds secrets)."""
    path = settings.runtime_file
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(runtime, indent=2, sort_keys=True))
    os.chmod(temporary, 0o600)
    temporary.replace(path)
