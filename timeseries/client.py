"""Reaching the profile's InfluxDB."""

from __future__ import annotations

import httpx


async def is_reachable(http: httpx.AsyncClient) -> bool:
    """True when InfluxDB's /health passes."""
    try:
        response = await http.get("/health", timeout=2)
    except httpx.HTTPError:
        return False
    return response.status_code == 200 and response.json().get("status") == "pass"
