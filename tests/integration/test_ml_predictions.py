"""Predictions over the real API, Neo4j and InfluxDB: a measurement point on a stored simbench grid.

The point's telemetry goes in through the ingest; ``runInference`` reads its last minute back from
InfluxDB, runs the small plan's trained models, stores the answer as the point's ``mlEngine``
telemetry, streams it on ``predictions`` and raises an alert when a sag shows; analysts read,
operators infer; continuous inference reads the live stream instead and streams by itself.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import neo4j
import pytest

from ml.plan import SMALL
from tests.integration.conftest import GraphQLClient, stored_simbench_grid

CODE = SMALL.se_test_codes[0]
TRAINED = ("monitoring.voltage_anomaly", "monitoring.frequency_forecast", "maintenance.overload_risk")
INGEST = ("mutation($m: [TelemetryMessage!]!) { ingestTelemetry(messages: $m) { accepted rejected "
          "errors { index reason } } }")
RUN = ("mutation($ids: [ID!]!, $modules: [MlModule!]) { runInference(twinIds: $ids, modules: $modules) { twinId time "
       "monitoring { voltageAnomaly frequencyForecast models { model version } unanswered { model reason } } "
       "maintenance { overloadRisk equipmentFailureRisk unanswered { model reason } } "
       "decision { optimalDispatch unanswered { model reason } } } }")
LATEST = "query($ids: [ID!]!) { latestPredictions(twinIds: $ids) { twinId time monitoring { voltageAnomaly } } }"


@pytest.fixture(scope="module")
def grid_id(neo4j_driver: neo4j.Driver, models: object, settings: object) -> Iterator[str]:
    with stored_simbench_grid(neo4j_driver, models, settings, CODE, "mlp") as grid:  # type: ignore[arg-type]
        yield grid


@pytest.fixture(scope="module")
def trained(settings: object, gql: GraphQLClient, tokens: dict[str, str]) -> None:
    from ml import jobs
    from ml.registry import Registry

    registry = Registry.of_profile(settings.state_path)  # type: ignore[attr-defined]
    for name in TRAINED:
        jobs.train(name, registry, SMALL, None)
    gql.data("mutation { reloadMlModels { name } }", token=tokens["admin"])


@pytest.fixture(scope="module")
def point(gql: GraphQLClient, tokens: dict[str, str], grid_id: str, neo4j_driver: neo4j.Driver) -> Iterator[str]:
    records, _, _ = neo4j_driver.execute_query(
        "MATCH (l:Twin {gridId: $g})-[:TERMINAL]->(b:Twin) WHERE l.model ENDS WITH 'EnergyConsumer;1' "
        "RETURN b.id AS bus ORDER BY bus LIMIT 1", g=grid_id)
    twin_id = f"mlp-point-{uuid.uuid4().hex[:6]}"
    gql.data("mutation($id: ID!, $p: JSON) { createTwin(id: $id, model: \"dtmi:gridtwin:GridMeasurementPoint;1\", "
             "properties: $p) { id } }", {"id": twin_id, "p": {"name": "test point", "gridStandard": {
                 "nominalVoltage": 230.0, "nominalFrequency": 50.0, "phases": 3}}}, tokens["admin"])
    gql.data("mutation($s: ID!, $t: ID!) { createRelationship(source: $s, name: \"connectedTo\", target: $t) { id } }",
             {"s": twin_id, "t": records[0]["bus"]}, tokens["admin"])
    yield twin_id
    gql.data("mutation($id: ID!) { deleteTwin(id: $id, cascade: true) }", {"id": twin_id}, tokens["admin"])


def _minute(twin_id: str, *, sag_seconds: int = 0, end_s: int | None = None) -> list[dict]:
    """A minute of 1 Hz samples up to ``end_s``; the last ``sag_seconds`` at 70 % voltage."""
    end_s = end_s or int(time.time()) - 1
    messages = []
    for k, second in enumerate(range(end_s - 60, end_s + 1)):
        volts = 230.0 * (0.7 if second > end_s - sag_seconds else 1.0) * (1 + 0.001 * math.sin(k))
        frequency = 50.0 + 0.01 * math.sin(k / 10)
        messages.append({"twinId": twin_id, "timestamp": second * 1000 + 200, "values": {
            "voltage": {"phaseA": volts, "phaseB": volts, "phaseC": volts, "average": volts},
            "activePower": {"phaseA": 1000.0, "phaseB": 1000.0, "phaseC": 1000.0, "total": 3000.0},
            "frequency": {"value": frequency, "deviation": frequency - 50.0}}})
    return messages


def _ingest(gql: GraphQLClient, token: str, messages: list[dict]) -> None:
    report = gql.data(INGEST, {"m": messages}, token)["ingestTelemetry"]
    assert report["accepted"] == len(messages), report


@contextmanager
def _connected(gql: GraphQLClient, token: str) -> Iterator[object]:
    """A graphql-transport-ws connection to the in-process API, acknowledged for ``token``."""
    with gql.http.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[attr-defined]
        ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        assert ws.receive_json()["type"] == "connection_ack"
        yield ws


def _next(ws: object, operation: str) -> dict:
    while True:
        message = ws.receive_json()  # type: ignore[attr-defined]
        if message.get("type") == "next" and message.get("id") == operation:
            return message["payload"]
        assert message.get("type") in ("ping", "next"), message


def test_a_point_is_inferred_from_its_stored_minute_and_the_answer_is_stored_and_streamed(
        gql: GraphQLClient, tokens: dict[str, str], point: str, trained: None) -> None:
    with _connected(gql, tokens["analyst"]) as ws:
        ws.send_json({"id": "p", "type": "subscribe", "payload": {
            "query": "subscription($ids: [ID!]!) { predictions(twinIds: $ids) { twinId monitoring { voltageAnomaly } } }",
            "variables": {"ids": [point]}}})
        ws.send_json({"id": "a", "type": "subscribe", "payload": {
            "query": "subscription($ids: [ID!]) { alerts(minSeverity: warning, twinIds: $ids) "
                     "{ twinId field severity value message } }", "variables": {"ids": [point]}}})
        time.sleep(0.3)
        _ingest(gql, tokens["operator"], _minute(point))
        normal = gql.data(RUN, {"ids": [point]}, tokens["operator"])["runInference"][0]
        monitoring = normal["monitoring"]
        assert monitoring["voltageAnomaly"] < 0.5 and abs(monitoring["frequencyForecast"] - 50.0) < 0.1
        assert {m["model"] for m in monitoring["models"]} == {"monitoring.voltage_anomaly",
                                                              "monitoring.frequency_forecast"}
        assert 0.0 <= normal["maintenance"]["overloadRisk"] <= 1.0
        assert normal["maintenance"]["equipmentFailureRisk"] is None
        reasons = {u["model"]: u["reason"] for u in normal["maintenance"]["unanswered"]}
        assert "maintenance.equipment_failure_risk" in reasons and "gridtwin ml evaluate" in reasons[
            "maintenance.voltage_sag_prediction"]
        streamed = _next(ws, "p")["data"]["predictions"]
        assert streamed == {"twinId": point, "monitoring": {"voltageAnomaly": monitoring["voltageAnomaly"]}}

        time.sleep(1.1)  # the sag is in a later second than the normal minute's end
        _ingest(gql, tokens["operator"], _minute(point, sag_seconds=4))
        sag = gql.data(RUN, {"ids": [point], "modules": ["monitoring"]}, tokens["operator"])["runInference"][0]
        assert sag["monitoring"]["voltageAnomaly"] > 0.5 and sag["maintenance"] is None
        alert = _next(ws, "a")["data"]["alerts"]
        assert alert["twinId"] == point and alert["field"] == "voltageAnomaly"
        assert alert["severity"] in ("warning", "critical") and alert["value"] == sag["monitoring"]["voltageAnomaly"]

    latest = gql.data(LATEST, {"ids": [point]}, tokens["analyst"])["latestPredictions"]
    assert latest == [{"twinId": point, "time": sag["time"], "monitoring": {"voltageAnomaly": sag["monitoring"][
        "voltageAnomaly"]}}]
    metrics = gql.data("query($ids: [ID!]!) { latestPredictions(twinIds: $ids) { metrics { totalInferences "
                       "averageInferenceTime activeModels } } }", {"ids": [point]}, tokens["analyst"])
    stored = metrics["latestPredictions"][0]["metrics"]
    assert stored["totalInferences"] >= 2 and stored["averageInferenceTime"] > 0 and stored["activeModels"] >= 2


def test_analysts_read_predictions_and_only_operators_infer(gql: GraphQLClient, tokens: dict[str, str],
                                                            point: str) -> None:
    refused = gql(RUN, {"ids": [point]}, tokens["analyst"])["errors"][0]
    assert refused["extensions"]["code"] == "FORBIDDEN"
    hidden = gql(LATEST, {"ids": [point]}, tokens["viewer"])["errors"][0]
    assert hidden["extensions"]["code"] == "FORBIDDEN"


def test_a_twin_that_is_not_a_point_is_named(gql: GraphQLClient, tokens: dict[str, str], point: str,
                                             grid_id: str) -> None:
    error = gql(RUN, {"ids": [point, grid_id]}, tokens["operator"])["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and grid_id in error["message"]
    assert error["extensions"]["problems"][0]["pointer"] == "/twinIds"
    too_many = gql(RUN, {"ids": []}, tokens["operator"])["errors"][0]
    assert too_many["extensions"]["code"] == "BAD_USER_INPUT"


def test_the_ml_engines_command_runs_inference_and_checks_its_payload(gql: GraphQLClient, tokens: dict[str, str],
                                                                     point: str, trained: None) -> None:
    invoke = "mutation($id: ID!, $c: String!, $p: JSON) { invokeCommand(twinId: $id, command: $c, payload: $p) }"
    before = gql.data(LATEST, {"ids": [point]}, tokens["analyst"])["latestPredictions"]
    time.sleep(1.1)
    _ingest(gql, tokens["operator"], _minute(point))
    assert gql.data(invoke, {"id": point, "c": "mlEngine/runInference", "p": ["monitoring"]},
                    tokens["operator"])["invokeCommand"] is None
    after = gql.data(LATEST, {"ids": [point]}, tokens["analyst"])["latestPredictions"]
    assert after and (not before or after[0]["time"] > before[0]["time"])
    bad = gql(invoke, {"id": point, "c": "mlEngine/runInference", "p": ["nope"]}, tokens["operator"])["errors"][0]
    assert bad["extensions"]["code"] == "BAD_USER_INPUT" and bad["extensions"]["problems"][0]["pointer"] == "/payload/0"
    reload = gql(invoke, {"id": point, "c": "mlEngine/reloadModels"}, tokens["operator"])["errors"][0]
    assert reload["extensions"]["code"] == "FORBIDDEN"  # reloading is an admin's
    loaded = gql.data(invoke, {"id": point, "c": "mlEngine/reloadModels"}, tokens["admin"])["invokeCommand"]
    assert loaded >= len(TRAINED)  # the models the registry holds (its response, `loadedModels`)


def test_continuous_inference_streams_predictions_of_the_live_stream(gql: GraphQLClient, tokens: dict[str, str],
                                                                    point: str, trained: None) -> None:
    watch = ("mutation($ids: [ID!]!) { setContinuousInference(twinIds: $ids, intervalSeconds: 1, "
             "modules: [monitoring]) { twinIds intervalSeconds } }")
    with _connected(gql, tokens["analyst"]) as ws:
        ws.send_json({"id": "p", "type": "subscribe", "payload": {
            "query": "subscription($ids: [ID!]!) { predictions(twinIds: $ids) { twinId monitoring { voltageAnomaly } } }",
            "variables": {"ids": [point]}}})
        assert gql.data(watch, {"ids": [point]}, tokens["operator"])["setContinuousInference"] == {
            "twinIds": [point], "intervalSeconds": 1.0}
        try:
            _ingest(gql, tokens["operator"], _minute(point, end_s=int(time.time()) - 1))  # what the rings hold first
            for _ in range(3):  # then the live stream: a sample a second
                _ingest(gql, tokens["operator"], _minute(point, end_s=int(time.time()))[-1:])
                time.sleep(1.0)
            streamed = _next(ws, "p")["data"]["predictions"]
            assert streamed["twinId"] == point and streamed["monitoring"]["voltageAnomaly"] < 0.5
            state = gql.data("{ continuousInference { passes lastError } }", token=tokens["analyst"])
            assert state["continuousInference"]["passes"] >= 1 and state["continuousInference"]["lastError"] is None
        finally:
            assert gql.data(watch, {"ids": []}, tokens["operator"])["setContinuousInference"] is None
    assert gql.data("{ continuousInference { passes } }", token=tokens["analyst"])["continuousInference"] is None


START_RUN = """mutation($g: String!, $s: [ScenarioInput!]!, $start: DateTime!) {
  startSimulation(gridId: $g, scenarios: $s, steps: 180, stepSeconds: 1, start: $start, seed: 5) { id } }"""


def test_a_stored_runs_dataset_has_the_live_streams_features_and_the_recorded_labels(
        gql: GraphQLClient, tokens: dict[str, str], grid_id: str, point: str, settings: object,
        neo4j_driver: neo4j.Driver, models: object) -> None:
    """The run's point telemetry as the broker streamed it (nested Objects) and as InfluxDB returns it (flat
    fields) give the same features; the labels are the recorded sag's seconds."""
    import asyncio
    from datetime import datetime, timedelta, timezone

    import numpy as np

    from ml.data.stored_runs import run_dataset
    from ml.features.compute import FEATURES, Windows, point_features
    from ml.features.windows import LiveWindows
    from timeseries.directory import InMemoryTwinDirectory
    from timeseries.queries import TelemetryQueries

    start = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)
    sag = [{"kind": "normal"}, {"kind": "voltageSag", "parameters": {"depth": 0.3, "start_step": 100,
                                                                       "duration_steps": 10}}]
    live = LiveWindows()
    with _connected(gql, tokens["viewer"]) as ws:
        ws.send_json({"id": "t", "type": "subscribe", "payload": {
            "query": "subscription($ids: [ID!]!) { telemetry(twinIds: $ids) { coalesced samples } }",
            "variables": {"ids": [point]}}})
        time.sleep(0.3)
        run_id = gql.data(START_RUN, {"g": grid_id, "s": sag, "start": start.isoformat()},
                          tokens["operator"])["startSimulation"]["id"]
        received = 0
        while received < 170:  # the point's samples as the broker streams them (a few are lost by the sensors)
            batch = _next(ws, "t")["data"]["telemetry"]
            assert not batch["coalesced"]
            for sample in batch["samples"]:
                moment = datetime.fromisoformat(sample["time"])
                live.push(point, int(moment.timestamp() * 1e9) // 1000 * 1000, sample["values"])
                received += 1
    deadline = time.monotonic() + 60
    while gql.data("query($id: ID!) { simulation(id: $id) { status } }", {"id": run_id},
                   tokens["operator"])["simulation"]["status"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.3)
    queries = TelemetryQueries.from_settings(settings, InMemoryTwinDirectory())  # type: ignore[arg-type]
    try:
        dataset = asyncio.run(run_dataset(neo4j_driver, models, queries, run_id))
    finally:
        queries.close()
    first = int(start.timestamp())
    mine = dataset.twin_ids == point
    assert mine.sum() == 180 and dataset.x.shape[1] == len(FEATURES)
    labelled = dataset.times_s[mine & dataset.labels["voltage_anomaly"]]
    assert labelled.tolist() == list(range(first + 100, first + 110))  # the recorded sag, second by second
    now = dataset.x[mine][:, FEATURES.index("voltage_average_now")]
    assert np.nanmax(now[100:110]) < 0.8 < np.nanmin(now[70:100])
    ends = [first + 179]  # the ring holds the last minute the stream sent
    rows = [np.flatnonzero(mine & (dataset.times_s == end))[0] for end in ends]
    live_features = point_features(Windows(np.stack([live.windows([point], end)[0] for end in ends]),
                                           np.full(1, 230.0), np.full(1, 50.0), np.array(ends)))
    np.testing.assert_allclose(dataset.x[rows], live_features, rtol=1e-9, equal_nan=True)


def test_a_viewer_cannot_read_predictions_by_naming_their_broker_key(gql: GraphQLClient, tokens: dict[str, str],
                                                                     point: str) -> None:
    from timeseries.broker import component_key

    with _connected(gql, tokens["viewer"]) as ws:
        ws.send_json({"id": "t", "type": "subscribe", "payload": {
            "query": "subscription($ids: [ID!]!) { telemetry(twinIds: $ids) { samples } }",
            "variables": {"ids": [component_key(point, "mlEngine")]}}})
        while (message := ws.receive_json())["type"] == "ping":
            pass
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT", message
    assert errors[0]["extensions"]["problems"][0]["pointer"] == "/twinIds/0"
