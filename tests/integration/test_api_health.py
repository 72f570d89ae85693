"""The API answers the health query against the real servers."""

from __future__ import annotations

from starlette.testclient import TestClient

from api.app import create_app
from gridtwin.config import Settings


def test_health_query_reports_both_servers(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        response = client.post("/graphql", json={"query": "{ health { neo4j influxdb version } }"})
    assert response.status_code == 200
    assert response.json() == {"data": {"health": {"neo4j": True, "influxdb": True, "version": settings.version}}}


def test_probes(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").json()["status"] == "ok"
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["ready"] is True
        assert "graphiql" in client.get("/graphql", headers={"Accept": "text/html"}).text.lower()
