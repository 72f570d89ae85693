"""Issue acceptance for telemetry, over the real API, InfluxDB and Neo4j:
subscribe below a substation, ingest below it, receive it, query it back aggregated,
and see a message for an unknown twin rejected by index with its reason."""

from __future__ import annotations

import gzip
import json
import time
import uuid
from collections.abc import Iterator

import pytest

from tests.integration.conftest import GraphQLClient, build_feeder, remove_twins

GT = "dtmi:gridtwin:"
SUBSCRIBE_BELOW = "subscription($id: ID!) { telemetryBelow(twinId: $id) { coalesced samples } }"


@pytest.fixture()
def feeder(gql: GraphQLClient, tokens: dict[str, str]) -> Iterator[dict[str, str]]:
    ids = build_feeder(gql, tokens["admin"], f"tel-{uuid.uuid4().hex[:8]}-",
                       {"sub": "Substation", "tr": "PowerTransformer", "mp": "GridMeasurementPoint",
                        "other-mp": "GridMeasurementPoint"})
    ids["other"] = ids.pop("other-mp")
    yield ids
    remove_twins(gql, tokens["admin"], ids)


def _snapshot(phase_a: float) -> dict:
    return {"voltage": {"phaseA": phase_a, "phaseB": 230.0, "phaseC": 231.0, "average": (phase_a + 461.0) / 3},
            "activePower": {"phaseA": 1000.0, "phaseB": 1100.0, "phaseC": 900.0, "total": 3000.0}}


def _receive_next(ws: object) -> dict:
    while True:
        message = ws.receive_json()  # type: ignore[attr-defined]
        if message["type"] != "ping":
            return message


def test_subscriber_below_a_substation_gets_what_is_ingested(gql: GraphQLClient, tokens: dict[str, str],
                                                             feeder: dict[str, str]) -> None:
    http = gql.http
    with http.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[attr-defined]
        ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {tokens['viewer']}"}})
        assert _receive_next(ws)["type"] == "connection_ack"
        ws.send_json({"id": "1", "type": "subscribe",
                      "payload": {"query": SUBSCRIBE_BELOW, "variables": {"id": feeder["sub"]}}})
        time.sleep(0.3)  # the subscription resolves the points below before it listens
        now_ms = int(time.time() * 1000)
        report = gql.data(
            "mutation($m: [TelemetryMessage!]!) { ingestTelemetry(messages: $m) { accepted rejected "
            "errors { index twinId reason } } }",
            {"m": [{"twinId": feeder["other"], "timestamp": now_ms - 2000, "values": _snapshot(200.0)},
                   {"twinId": feeder["mp"], "timestamp": now_ms - 1000, "values": _snapshot(228.0)},
                   {"twinId": "tel-no-such-twin", "timestamp": now_ms, "values": _snapshot(1.0)},
                   {"twinId": feeder["mp"], "timestamp": now_ms, "values": _snapshot(232.0)}]},
            tokens["operator"])["ingestTelemetry"]
        assert report["accepted"] == 3 and report["rejected"] == 1
        assert report["errors"] == [{"index": 2, "twinId": "tel-no-such-twin",
                                     "reason": "unknown twin 'tel-no-such-twin'"}]
        received: list[dict] = []
        while len(received) < 2:
            message = _receive_next(ws)
            assert message["type"] == "next", message
            received += message["payload"]["data"]["telemetryBelow"]["samples"]
        assert {sample["twinId"] for sample in received} == {feeder["mp"]}  # not the point outside the feeder
        assert sorted(sample["values"]["voltage"]["phaseA"] for sample in received) == [228.0, 232.0]
        ws.send_json({"id": "1", "type": "complete"})

    points = gql.data('query($id: ID!) { telemetry(twinId: $id, name: "voltage", everySeconds: 3600, '
                      'aggregate: mean) { values } }', {"id": feeder["mp"]}, tokens["viewer"])["telemetry"]
    assert [point["values"]["phaseA"] for point in points if point["values"]] == [pytest.approx(230.0)]
    maximum = gql.data('query($id: ID!) { telemetry(twinId: $id, name: "voltage", everySeconds: 3600, '
                       'aggregate: max) { values } }', {"id": feeder["mp"]}, tokens["viewer"])["telemetry"]
    assert [point["values"]["phaseA"] for point in maximum if point["values"]] == [232.0]
    below = gql.data('query($id: ID!) { telemetryBelow(twinId: $id, name: "activePower", field: "total", '
                     'everySeconds: 3600) { value twins } }', {"id": feeder["sub"]}, tokens["viewer"])["telemetryBelow"]
    assert [(point["value"], point["twins"]) for point in below if point["value"] is not None] == [(3000.0, 1)]


def test_http_ingest_ndjson_gzip_and_auth(gql: GraphQLClient, tokens: dict[str, str], feeder: dict[str, str]) -> None:
    http = gql.http
    now_ms = int(time.time() * 1000)
    lines = [json.dumps({"twin": feeder["mp"], "time": now_ms - i, "values": _snapshot(230.0)}) for i in range(3)]
    body = gzip.compress(("\n".join(lines) + "\nnot json\n").encode())
    headers = {"Content-Encoding": "gzip", "Content-Type": "application/x-ndjson"}
    response = http.post("/ingest", content=body, headers={**headers, "Authorization": f"Bearer {tokens['operator']}"})  # type: ignore[attr-defined]
    assert response.status_code == 200
    assert response.json()["accepted"] == 3 and response.json()["errors"][0]["index"] == 3
    assert http.post("/ingest", content=body, headers=headers).status_code == 401  # type: ignore[attr-defined]
    viewer = http.post("/ingest", content=body, headers={**headers, "Authorization": f"Bearer {tokens['viewer']}"})  # type: ignore[attr-defined]
    assert viewer.status_code == 403


def test_subscription_needs_a_token(gql: GraphQLClient) -> None:
    with gql.http.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[attr-defined]
        ws.send_json({"type": "connection_init", "payload": {}})
        with pytest.raises(Exception):
            ws.receive_json()
