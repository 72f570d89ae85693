"""Redis 7 (Debian's ``redis-server``): the message broker between API replicas.

It carries the live events between replicas (pub/sub: telemetry after it was acknowledged, twin
changes, model reloads; not persisted, as pub/sub never is) and the event routes with their
undelivered events (api.event_router), which must outlive a restart: so it keeps an append-only
file (``--appendonly yes --appendfsync everysec``: a Redis crash loses nothing, a machine crash up to
a second) and no snapshots (``--save ''``), on loopback, with a password kept in runtime.json.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
from pathlib import Path
from typing import Any

from gridtwin.config import Settings
from servers import processes, toolchain

START_TIMEOUT_S = 30.0


def version() -> str | None:
    """The installed ``redis-server`` version, None when it is not installed."""
    if shutil.which("redis-server") is None:
        return None
    output = subprocess.run(["redis-server", "--version"], capture_output=True, text=True, check=False).stdout
    return next((part.split("=", 1)[1] for part in output.split() if part.startswith("v=")), None)


def provision(settings: Settings) -> None:
    """Nothing to build: the Debian package, installed when missing (as root) or named in the error."""
    toolchain.require(toolchain.REDIS)


def start(settings: Settings, recorded: dict[str, Any]) -> dict[str, Any]:
    """Start the profile's Redis (if not running) and return what runtime.json keeps of it."""
    if processes.is_alive(recorded.get("pid")):
        return recorded
    port = processes.choose_port(recorded.get("port") or settings.default_port("redis"), settings.redis_port)
    password = recorded.get("password") or secrets.token_urlsafe(18)
    data = settings.state_path / "redis"
    data.mkdir(parents=True, exist_ok=True)
    log_file = settings.state_path / "logs" / "redis.log"
    config = data / "redis.conf"  # the password in a 0600 file, not on the command line (ps shows that)
    config.write_text(f"requirepass {password}\n")
    config.chmod(0o600)
    command = ["redis-server", str(config), "--port", str(port), "--bind", "127.0.0.1", "--protected-mode", "yes",
               "--dir", str(data), "--save", "", "--appendonly", "yes", "--appendfsync", "everysec", "--daemonize", "no"]
    pid = processes.start(command, log_file)
    return {"pid": pid, "port": port, "password": password, "url": f"redis://:{password}@127.0.0.1:{port}/0",
            "version": version(), "log": str(log_file)}


def wait_ready(started: dict[str, Any]) -> None:
    processes.wait_until(lambda: ping(started["port"], started["password"]), started["pid"], START_TIMEOUT_S,
                         "Redis", Path(started["log"]))


def ping(port: int, password: str) -> bool:
    """Whether Redis on ``port`` answers PING with this password."""
    import redis

    try:
        with redis.Redis(host="127.0.0.1", port=port, password=password, socket_timeout=1,
                         socket_connect_timeout=1) as client:
            return bool(client.ping())
    except redis.RedisError:
        return False
