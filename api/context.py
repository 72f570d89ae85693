"""What every resolver can reach: the process-wide connections and settings."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import neo4j

from gridtwin.config import Settings


@dataclass
class Services:
    """Connections opened once at start-up and shared by all requests."""

    settings: Settings
    neo4j: neo4j.AsyncDriver
    influxdb_http: httpx.AsyncClient

    async def close(self) -> None:
        await self.neo4j.close()
        await self.influxdb_http.aclose()
