"""Issue 11, telemetry queries, on the real API and InfluxDB: a page of raw points is capped inside the Flux
query, pages follow a keyset cursor (``after`` = the last point's time) and stay put while telemetry is written,
times InfluxDB cannot hold (before 1677, after 2262) are a BAD_USER_INPUT naming the argument, and
``telemetryBelow`` refuses more windows than it may compute before it asks InfluxDB anything."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.integration.conftest import GraphQLClient
from timeseries.queries import DEFAULT_POINTS, MAX_POINTS

POINTS = 1_200  # one a second, more than a default page
RAW = ("query($id: ID!, $first: Int, $after: DateTime, $from: DateTime, $to: DateTime) { telemetry(twinId: $id, "
       'name: "voltage", first: $first, after: $after, from: $from, to: $to) { time values } }')
WINDOWS = ("query($id: ID!, $first: Int, $after: DateTime, $from: DateTime, $to: DateTime) { telemetry(twinId: $id, "
           'name: "voltage", everySeconds: 60, aggregate: max, first: $first, after: $after, from: $from, to: $to) '
           "{ time values } }")
COUNT = ('query($id: ID!) { telemetry(twinId: $id, name: "voltage", everySeconds: 86400, aggregate: count) '
         "{ values } }")
INGEST = "mutation($m: [TelemetryMessage!]!) { ingestTelemetry(messages: $m) { accepted rejected } }"


def _message(twin_id: str, epoch_ms: int, phase_a: float) -> dict[str, Any]:
    return {"twinId": twin_id, "timestamp": epoch_ms,
            "values": {"voltage": {"phaseA": phase_a, "phaseB": 230.0, "phaseC": 231.0, "average": 230.0}}}


def _utc(epoch_ms: int) -> datetime:
    return datetime.fromtimestamp(epoch_ms / 1000, tz=timezone.utc)


@pytest.fixture()
def history(gql: GraphQLClient, tokens: dict[str, str]) -> Iterator[dict[str, Any]]:
    """A measurement point with POINTS voltage samples one second apart, the last a minute ago."""
    twin_id = f"secq-{uuid.uuid4().hex[:8]}-mp"
    gql.data('mutation($id: ID!) { createTwin(id: $id, model: "dtmi:gridtwin:GridMeasurementPoint;1") { id } }',
             {"id": twin_id}, tokens["admin"])
    last_ms = (int(time.time()) - 60) * 1000
    stamps = [last_ms - (POINTS - 1 - n) * 1000 for n in range(POINTS)]
    report = gql.data(INGEST, {"m": [_message(twin_id, ms, 200.0 + n / 100) for n, ms in enumerate(stamps)]},
                      tokens["operator"])["ingestTelemetry"]
    assert report == {"accepted": POINTS, "rejected": 0}
    _wait_until_stored(gql, tokens["viewer"], twin_id, POINTS)
    yield {"twin": twin_id, "times": [_utc(ms) for ms in stamps], "from": _utc(stamps[0] - 1000).isoformat(),
           "to": _utc(stamps[-1] + 1000).isoformat()}
    gql.data("mutation($id: ID!) { deleteTwin(id: $id, cascade: true) }", {"id": twin_id}, tokens["admin"])


@pytest.fixture(scope="module")
def point(gql: GraphQLClient, tokens: dict[str, str]) -> Iterator[str]:
    """A measurement point without telemetry: what is refused is refused for its arguments alone."""
    twin_id = f"secq-{uuid.uuid4().hex[:8]}-empty-mp"
    gql.data('mutation($id: ID!) { createTwin(id: $id, model: "dtmi:gridtwin:GridMeasurementPoint;1") { id } }',
             {"id": twin_id}, tokens["admin"])
    yield twin_id
    gql.data("mutation($id: ID!) { deleteTwin(id: $id) }", {"id": twin_id}, tokens["admin"])


def _wait_until_stored(gql: GraphQLClient, token: str, twin_id: str, expected: int) -> None:
    deadline = time.monotonic() + 30
    while True:
        windows = gql.data(COUNT, {"id": twin_id}, token)["telemetry"]
        if sum(w["values"].get("phaseA", 0) for w in windows if w["values"]) >= expected:
            return
        assert time.monotonic() < deadline, f"the {expected} points never became readable"
        time.sleep(0.3)


def _error(body: dict[str, Any]) -> dict[str, Any]:
    assert body.get("errors") and not (body.get("data") or {}).get("telemetry"), body
    return body["errors"][0]


def _times(points: list[dict[str, Any]]) -> list[datetime]:
    return [datetime.fromisoformat(point["time"]) for point in points]


def test_a_page_holds_first_points_at_most_and_influxdb_answers_no_more(
        gql: GraphQLClient, tokens: dict[str, str], history: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    viewer, twin = tokens["viewer"], history["twin"]
    for first in (MAX_POINTS + 1, 0, -5):
        error = _error(gql(RAW, {"id": twin, "first": first}, viewer))
        assert error["extensions"]["code"] == "BAD_USER_INPUT" and error["message"].startswith("first:"), error
        assert error["extensions"]["problems"][0]["pointer"] == "/first"
    default_page = gql.data(RAW, {"id": twin, "from": history["from"], "to": history["to"]}, viewer)["telemetry"]
    assert _times(default_page) == history["times"][:DEFAULT_POINTS]

    queries = gql.http.app.state.services.get().telemetry.queries  # type: ignore[attr-defined]
    answered: list[int] = []
    real_query = queries._query

    async def counting(flux: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        rows = await real_query(flux, params)
        answered.append(len(rows))
        return rows

    monkeypatch.setattr(queries, "_query", counting)  # the real query, its answer counted
    page = gql.data(RAW, {"id": twin, "first": 7, "from": history["from"], "to": history["to"]}, viewer)["telemetry"]
    assert _times(page) == history["times"][:7]
    assert answered == [7]  # InfluxDB itself answered seven rows: the limit is in the Flux query


def test_keyset_pages_cover_every_point_once_while_points_are_written(
        gql: GraphQLClient, tokens: dict[str, str], history: dict[str, Any]) -> None:
    viewer, twin, times = tokens["viewer"], history["twin"], history["times"]
    window = {"id": twin, "first": 500, "from": history["from"], "to": history["to"]}
    first_page = _times(gql.data(RAW, window, viewer)["telemetry"])
    assert first_page == times[:500]
    # a point arrives late, before the cursor: an offset would now repeat the cursor's point on page two
    late_ms = int(times[10].timestamp() * 1000) + 500
    late = gql.data(INGEST, {"m": [_message(twin, late_ms, 1.0)]}, tokens["operator"])["ingestTelemetry"]
    assert late["accepted"] == 1
    _wait_until_stored(gql, viewer, twin, POINTS + 1)
    pages, after = [first_page], first_page[-1]
    while True:
        page = _times(gql.data(RAW, {**window, "after": after.isoformat()}, viewer)["telemetry"])
        if not page:
            break
        pages.append(page)
        after = page[-1]
    assert [len(page) for page in pages] == [500, 500, 200]
    assert [moment for page in pages for moment in page] == times  # each point once, in order, none skipped


def test_window_pages_join_up_to_the_unpaged_answer(gql: GraphQLClient, tokens: dict[str, str],
                                                    history: dict[str, Any]) -> None:
    viewer = tokens["viewer"]
    window = {"id": history["twin"], "from": history["from"], "to": history["to"]}
    whole = gql.data(WINDOWS, {**window, "first": 1000}, viewer)["telemetry"]
    assert len(whole) >= 20
    paged: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        page = gql.data(WINDOWS, {**window, "first": 4, "after": after}, viewer)["telemetry"]
        paged += page
        if len(page) < 4:
            break
        after = page[-1]["time"]
    assert paged == whole


OUT_OF_RANGE = [
    ("telemetry", "from", "2263-01-01T00:00:00+00:00"),
    ("telemetry", "to", "9999-12-31T23:59:59+00:00"),
    ("telemetry", "from", "1600-01-01T00:00:00+00:00"),
    ("telemetry", "after", "2262-04-12T00:00:00+00:00"),
    ("telemetryBelow", "from", "2263-01-01T00:00:00+00:00"),
    ("telemetryBelow", "to", "1000-01-01T00:00:00+00:00"),
]


@pytest.mark.parametrize(("field", "argument", "value"), OUT_OF_RANGE)
def test_a_time_influxdb_cannot_hold_is_bad_user_input_naming_the_argument(
        gql: GraphQLClient, tokens: dict[str, str], point: str, field: str, argument: str, value: str) -> None:
    extra = ', field: "phaseA"' if field == "telemetryBelow" else ""  # so that only the time is wrong
    extra += ", after: $after" if argument == "after" else ""
    after_variable = ", $after: DateTime" if argument == "after" else ""
    query = (f"query($id: ID!, $from: DateTime, $to: DateTime{after_variable}) {{ {field}(twinId: $id, "
             f'name: "voltage", from: $from, to: $to{extra}) {{ time }} }}')
    body = gql(query, {"id": point, argument: value}, tokens["viewer"])
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", body
    assert error["message"].startswith(f"{argument}:") and "2262" in error["message"], error
    assert error["extensions"]["problems"][0]["pointer"] == f"/{argument}"


def test_from_after_to_is_bad_user_input(gql: GraphQLClient, tokens: dict[str, str], point: str) -> None:
    body = gql('query($id: ID!, $from: DateTime, $to: DateTime) { telemetry(twinId: $id, name: "voltage", '
               "from: $from, to: $to) { time } }",
               {"id": point, "from": "2024-02-02T00:00:00+00:00", "to": "2024-02-01T00:00:00+00:00"}, tokens["viewer"])
    error = _error(body)
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and error["message"].startswith("from:"), error


def test_telemetry_below_refuses_too_many_windows_before_querying(
        gql: GraphQLClient, tokens: dict[str, str], history: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    queries = gql.http.app.state.services.get().telemetry.queries  # type: ignore[attr-defined]
    asked: list[str] = []
    real_query = queries._query

    async def recording(flux: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        asked.append(flux)
        return await real_query(flux, params)

    monkeypatch.setattr(queries, "_query", recording)
    month_ago = (datetime.now(timezone.utc) - timedelta(days=30)).isoformat()
    body = gql('query($id: ID!, $from: DateTime) { telemetryBelow(twinId: $id, name: "voltage", field: "phaseA", '
               "from: $from, everySeconds: 1) { time value } }", {"id": history["twin"], "from": month_ago},
               tokens["viewer"])
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and error["message"].startswith("everySeconds:"), body
    assert "at most 10000" in error["message"]
    assert asked == []  # refused from the arguments alone
