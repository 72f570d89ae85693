"""GET /metrics of a real `gridtwin serve` process, scraped as Prometheus would (issue 13, Operations).

The scrape needs the metrics token (generated into the profile's state folder when unset); the
series count what the test did: GraphQL operations by root field and outcome, HTTP requests by
route and status, telemetry accepted and rejected, InfluxDB writes, graph-layer calls, and the
live gauges (spool depth, open subscriptions).  Labels never carry request text.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gridtwin.config import Settings
from tests.integration.conftest import GraphQLClient, ServedApi, build_feeder, remove_twins


def _scrape(api: ServedApi, token: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = httpx.get(f"{api.url}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.text) for sample in family.samples}


def _value(series: dict, name: str, **labels: str) -> float:
    return series.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture()
def point(gql: GraphQLClient, tokens: dict[str, str]) -> Iterator[str]:
    ids = build_feeder(gql, tokens["admin"], f"met-{uuid.uuid4().hex[:8]}-",
                       {"sub": "Substation", "tr": "PowerTransformer", "mp": "GridMeasurementPoint"})
    yield ids["mp"]
    remove_twins(gql, tokens["admin"], ids)


def _post(api: ServedApi, token: str, query: str) -> dict:
    return httpx.post(f"{api.url}/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"},
                      timeout=30).json()


def test_metrics_need_the_token(served_api: ServedApi) -> None:
    assert httpx.get(f"{served_api.url}/metrics", timeout=10).status_code == 401
    wrong = httpx.get(f"{served_api.url}/metrics", headers={"Authorization": "Bearer not-the-token"}, timeout=10)
    assert wrong.status_code == 401 and "metrics token" in wrong.text


def test_the_scrape_counts_operations_requests_and_telemetry(served_api: ServedApi, api_settings: Settings,
                                                             tokens: dict[str, str], point: str) -> None:
    token = (api_settings.state_path / "metrics-token").read_text().strip()
    before = _scrape(served_api, token)
    operator = tokens["operator"]
    for _ in range(2):
        assert "errors" not in _post(served_api, operator, "{ twins(first: 1) { edges { node { id } } } }")
    refused = _post(served_api, operator, "{ noSuchField_" + uuid.uuid4().hex + " }")
    assert "noSuchField" in refused["errors"][0]["message"]
    now_ms = int(time.time() * 1000)
    voltage = {"phaseA": 230.0, "phaseB": 231.0, "phaseC": 229.0, "average": 230.0}
    lines = [json.dumps({"twin": point, "time": now_ms - i, "values": {"voltage": voltage}}) for i in range(5)]
    lines.append(json.dumps({"twin": point, "time": now_ms, "values": {"voltage": "high"}}))
    ingested = httpx.post(f"{served_api.url}/ingest", content="\n".join(lines) + "\n",
                          headers={"Authorization": f"Bearer {operator}", "Content-Type": "application/x-ndjson"},
                          timeout=30)
    assert ingested.status_code == 200 and ingested.json()["accepted"] == 5, ingested.text
    after = _scrape(served_api, token)

    def grew(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert grew("gridtwin_graphql_operations_total", type="query", field="twins", outcome="OK") == 2
    assert grew("gridtwin_graphql_operations_total", type="query", field="-", outcome="INVALID") == 1
    assert grew("gridtwin_graphql_operation_seconds_count", type="query", field="twins") == 2
    assert grew("gridtwin_http_requests_total", route="/ingest", method="POST", status="200") == 1
    assert grew("gridtwin_http_requests_total", route="/graphql", method="POST", status="200") >= 3
    assert grew("gridtwin_ingest_messages_total", outcome="accepted") == 5
    assert grew("gridtwin_ingest_messages_total", outcome="rejected") == 1
    assert grew("gridtwin_telemetry_lines_total", path="direct") + grew("gridtwin_telemetry_lines_total",
                                                                        path="spooled") >= 5
    assert grew("gridtwin_influxdb_write_seconds_count") >= 1
    assert any(name == "gridtwin_graph_call_seconds_count" and value > 0 for (name, _), value in after.items())
    assert ("gridtwin_spool_pending_bytes", ()) in after
    assert ("gridtwin_subscriptions", (("stream", "telemetry"),)) in after
    assert not any("noSuchField" in str(labels) for (_, labels) in after)  # request text never becomes a label


def test_the_grafana_dashboard_reads_only_series_the_api_exports(served_api: ServedApi, api_settings: Settings) -> None:
    token = (api_settings.state_path / "metrics-token").read_text().strip()
    text = httpx.get(f"{served_api.url}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=10).text
    exported = {family.name for family in text_string_to_metric_families(text)}
    dashboard = json.loads((Path(__file__).resolve().parents[2] / "docs" / "grafana" / "gridtwin-api.json").read_text())
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    used = {re.sub(r"_(bucket|sum|count|total)$", "", name) for expr in expressions
            for name in re.findall(r"gridtwin_[a-z_]+", expr)}
    assert used and used <= exported, sorted(used - exported)
