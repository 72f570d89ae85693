"""The one configuration of GridTwin, read from ``GRIDTWIN_*`` environment variables.

A *profile* (``GRIDTWIN_PROFILE``, default ``demo``) names a state folder with its
own servers, data and ports, so the test suite (profile ``test``) never touches
the demo's data and both can run at once.  Connection details that the servers
get when they start (ports, passwords, tokens) are written by
``gridtwin services up`` to ``<state>/runtime.json``; explicit environment
variables win over that file, which is how a Docker deployment points the API at
its containers.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from gridtwin import __version__

#: Default loopback ports per profile; a busy port is replaced by a free one at ``up``.
DEFAULT_PORTS: dict[str, dict[str, int]] = {
    "demo": {"neo4j_bolt": 7687, "influxdb_http": 8086, "redis": 6379},
    "test": {"neo4j_bolt": 17687, "influxdb_http": 18086, "redis": 16379},
}


def _xdg(variable: str, fallback: str) -> Path:
    value = os.environ.get(variable)
    return Path(value) if value else Path.home() / fallback


class Settings(BaseSettings):
    """Settings of one GridTwin process; see docs/ARCHITECTURE.md for the list."""

    model_config = SettingsConfigDict(env_prefix="GRIDTWIN_", extra="ignore")

    profile: str = "demo"
    state_dir: Path | None = None
    cache_dir: Path = Field(default_factory=lambda: _xdg("XDG_CACHE_HOME", ".cache") / "gridtwin")

    neo4j_uri: str | None = None
    neo4j_user: str = "neo4j"
    neo4j_password: str | None = None
    neo4j_bolt_port: int | None = None
    neo4j_heap_mb: int = 1024
    neo4j_pagecache_mb: int = 256

    influxdb_url: str | None = None
    influxdb_token: str | None = None
    influxdb_http_port: int | None = None
    influxdb_org: str = "gridtwin"
    influxdb_bucket: str = "telemetry"

    #: When a telemetry batch is acknowledged (and published to subscribers): "direct" once InfluxDB took it
    #: (the spool only when InfluxDB cannot), or "spool_first" once the local spool fsync'ed it, which the
    #: replayer then writes to InfluxDB: milliseconds instead of an InfluxDB round trip before subscribers
    #: see a sample, for a second copy on disk. See timeseries/writer.py and docs/timeseries.md.
    telemetry_write_mode: Literal["direct", "spool_first"] = "direct"

    #: Live events between API replicas: "redis" (the profile's Redis, or ``redis_url``) or "none"
    #: (one process, as before). See api/replicas.py.
    broker: Literal["none", "redis"] = "none"
    redis_url: str | None = None
    redis_port: int | None = None

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    #: The API process's youngest-generation garbage-collection threshold (Python's default is 700;
    #: 0 keeps it). See api/app.py ``tune_garbage_collector`` and bench/api_gc_bench.py.
    api_gc_threshold: int = 3_000
    cors_origins: list[str] = Field(default_factory=list)

    admin_username: str = "admin"
    admin_password: str | None = None
    jwt_secret: str | None = None
    #: Bearer token a Prometheus scraper sends to GET /metrics; generated into the state folder
    #: (``metrics-token``, 0600) when unset.
    metrics_token: str | None = None
    jwt_ttl_seconds: int = 3600
    #: base64 of 32 bytes sealing password hashes (AES-256-GCM); generated into the state folder when unset.
    credential_key: str | None = None
    #: Whether callers without a token may introspect the schema (``__schema``/``__type``);
    #: off so anonymous callers learn nothing beyond what they may call, on for the demo's GraphiQL.
    anonymous_introspection: bool = False
    #: Answer compilable query operations from read plans (api/compiled_reads.py); off runs every
    #: operation field by field (the same answers, slower): a switch for operators and for the tests
    #: that compare the two paths.
    compiled_reads: bool = True

    #: GraphQL over WebSocket: operations in flight per connection, and per user across this process's
    #: connections; past either a subscribe is refused with TOO_MANY_SUBSCRIPTIONS. A service account that
    #: follows many feeders may need a higher per-user value.
    ws_max_subscriptions_per_connection: int = Field(default=20, ge=1)
    ws_max_subscriptions_per_user: int = Field(default=50, ge=1)
    #: Seconds one WebSocket message may wait for a socket that does not take it before the connection is
    #: closed as a slow consumer (1008); what a peer that stops reading can hold is bounded by this.
    ws_send_timeout_seconds: float = Field(default=15.0, gt=0)

    log_level: str = "INFO"
    #: "console" (rich, for people) or "json" (one object per line with the request id, for collectors).
    log_format: Literal["console", "json"] = "console"

    @property
    def state_path(self) -> Path:
        """The profile's state folder: server data, logs, runtime.json."""
        if self.state_dir is not None:
            return self.state_dir
        return _xdg("XDG_STATE_HOME", ".local/state") / "gridtwin" / self.profile

    @property
    def runtime_file(self) -> Path:
        return self.state_path / "runtime.json"

    def runtime(self) -> dict[str, Any]:
        """What ``services up`` recorded for this profile, or ``{}`` before the first up."""
        try:
            return json.loads(self.runtime_file.read_text())
        except FileNotFoundError:
            return {}

    def default_port(self, service: str) -> int:
        ports = DEFAULT_PORTS.get(self.profile, DEFAULT_PORTS["demo"])
        return ports[service]

    def resolved_neo4j(self) -> tuple[str, str, str]:
        """URI, user and password of the profile's Neo4j."""
        recorded = self.runtime().get("neo4j", {})
        uri = self.neo4j_uri or recorded.get("uri") or f"bolt://127.0.0.1:{self.default_port('neo4j_bolt')}"
        password = self.neo4j_password or recorded.get("password") or ""
        return uri, self.neo4j_user, password

    def resolved_influxdb(self) -> tuple[str, str]:
        """URL and operator token of the profile's InfluxDB."""
        recorded = self.runtime().get("influxdb", {})
        url = self.influxdb_url or recorded.get("url") or f"http://127.0.0.1:{self.default_port('influxdb_http')}"
        token = self.influxdb_token or recorded.get("token") or ""
        return url, token

    def resolved_redis(self) -> str:
        """URL (with the password) of the profile's Redis."""
        if self.redis_url:
            return self.redis_url
        recorded = self.runtime().get("redis", {})
        return recorded.get("url") or f"redis://127.0.0.1:{self.default_port('redis')}/0"

    @property
    def version(self) -> str:
        return __version__


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
