"""Event routes without servers: what a route is checked for, what it matches, the CloudEvent it sends."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from api.event_router import routed_sample, routed_twin_event
from api.event_routes import (MAX_RETRY_DELAY_S, REDIS_STREAM, WEBHOOK, EventType, RouteSpec, check_route, cloud_event,
                              matches, refuse_if_wrong)
from api.events import TwinEvent
from graph.errors import ConflictError, ValidationError
from timeseries.validation import Sample

GT = "dtmi:gridtwin:"


@pytest.fixture(scope="module")
def models():  # type: ignore[no-untyped-def]
    from api.app import _shipped_models

    return _shipped_models()


def _pointers(spec: RouteSpec, models) -> set[str]:  # type: ignore[no-untyped-def]
    return {problem.pointer for problem in check_route(spec, models)}


def test_a_good_route_has_no_problems_and_each_bad_field_is_named(models) -> None:  # type: ignore[no-untyped-def]
    assert check_route(RouteSpec("scada-1", WEBHOOK, "https://scada.example.net/hook?key=s"), models) == []
    assert check_route(RouteSpec("s", REDIS_STREAM, "scada:events", model=f"{GT}Breaker;1"), models) == []
    assert _pointers(RouteSpec("bad id", WEBHOOK, "https://h/"), models) == {"/route/id"}
    for url in ("ftp://h/x", "http://", "not a url at all", "https://h/" + "x" * 2_100):
        assert _pointers(RouteSpec("r", WEBHOOK, url), models) == {"/route/endpoint/webhook"}, url
    for stream in ("gridtwin:test:routes", "has space", ""):
        assert _pointers(RouteSpec("r", REDIS_STREAM, stream), models) == {"/route/endpoint/redisStream"}, stream
    assert _pointers(RouteSpec("r", WEBHOOK, "https://h/", event_types=("twinMoved",), model="dtmi:no:X;1",
                               max_attempts=0, retry_seconds=0.0), models) == {
        "/route/eventTypes", "/route/model", "/route/maxAttempts", "/route/retrySeconds"}


def test_a_taken_id_is_a_conflict_and_the_route_count_is_bounded(models) -> None:  # type: ignore[no-untyped-def]
    spec = RouteSpec("taken", WEBHOOK, "https://h/")
    with pytest.raises(ConflictError):
        refuse_if_wrong(spec, models, {"taken"})
    with pytest.raises(ValidationError, match="at most 100 routes"):
        refuse_if_wrong(spec, models, {f"r{n}" for n in range(100)})
    refuse_if_wrong(spec, models, {"other"})


def test_a_route_matches_by_type_model_including_subtypes_and_subtree(models) -> None:  # type: ignore[no-untyped-def]
    breaker = routed_twin_event(TwinEvent("twinUpdated", "brk-1", f"{GT}Breaker;1"))
    everything = RouteSpec("all", WEBHOOK, "https://h/")
    assert matches(everything, breaker, models, None)
    assert not matches(RouteSpec("c", WEBHOOK, "https://h/", event_types=("twinCreated",)), breaker, models, None)
    switching = RouteSpec("sw", WEBHOOK, "https://h/", model=f"{GT}SwitchingDevice;1")
    assert matches(switching, breaker, models, None)  # a Breaker extends SwitchingDevice
    assert not matches(RouteSpec("l", WEBHOOK, "https://h/", model=f"{GT}Line;1"), breaker, models, None)
    assert matches(everything, breaker, models, frozenset({"root", "brk-1"}))
    assert not matches(everything, breaker, models, frozenset({"root"}))
    no_model = routed_twin_event(TwinEvent("twinDeleted", "gone", None))
    assert not matches(switching, no_model, models, None)


def test_the_retry_delay_doubles_up_to_a_minute() -> None:
    spec = RouteSpec("r", WEBHOOK, "https://h/", retry_seconds=0.5)
    assert [spec.retry_delay(n) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 4.0]
    assert spec.retry_delay(30) == MAX_RETRY_DELAY_S


def test_a_route_survives_its_stored_form() -> None:
    spec = RouteSpec("r", REDIS_STREAM, "s", event_types=("telemetry", "prediction"), subtree="root", max_attempts=3)
    assert RouteSpec.from_json(spec.to_json()) == spec


def test_telemetry_and_predictions_become_cloud_events_with_their_time() -> None:
    at_ns = 1_796_316_000_123_000_000
    telemetry = routed_sample(Sample("mp-1", at_ns, {"frequency": {"value": 50.01}}), f"{GT}GridMeasurementPoint;1")
    prediction = routed_sample(Sample("mp-1", at_ns, {"anomalyScore": 0.2}, "mlEngine"), None)
    assert (telemetry.type, telemetry.subject) == (EventType.telemetry, "mp-1")
    assert (prediction.type, prediction.subject) == (EventType.prediction, "mp-1/mlEngine")
    sent = json.loads(cloud_event(telemetry, "e1", "/gridtwin/test"))
    assert sent["type"] == "gridtwin.telemetry" and sent["id"] == "e1" and sent["specversion"] == "1.0"
    assert sent["data"] == {"twinId": "mp-1", "time": datetime.fromtimestamp(at_ns / 1e9, timezone.utc).isoformat(),
                            "values": {"frequency": {"value": 50.01}}}
    relationship = routed_twin_event(TwinEvent("relationshipCreated", "a", f"{GT}Line;1", "feedsTo", "b"))
    assert relationship.subject == "a/relationships/feedsTo/b" and relationship.data["otherTwinId"] == "b"
