"""Pure parts of issue 11's telemetry and WebSocket limits: time bounds, keyset cursors, windows, frame checks."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from api.errors import ClientError
from api.telemetry_bounds import LATEST, MAX_WINDOWS, TimeRange, checked_time, window_length, windows_of
from api.websocket import CLOSE_REASON_BYTES, fitted_reason, message_problem

UTC = timezone.utc


def _pointer(error: pytest.ExceptionInfo[ClientError]) -> str:
    return error.value.extensions["problems"][0]["pointer"]


def test_times_are_those_int64_nanoseconds_hold() -> None:
    assert checked_time(LATEST, "to") == LATEST
    assert checked_time(datetime(2000, 1, 1), "from") == datetime(2000, 1, 1, tzinfo=UTC)  # no zone: UTC
    for moment in (LATEST + timedelta(microseconds=1), datetime(1677, 9, 21, tzinfo=UTC)):
        with pytest.raises(ClientError) as refused:
            checked_time(moment, "after")
        assert refused.value.extensions["code"] == "BAD_USER_INPUT" and _pointer(refused) == "/after"


def test_a_range_defaults_to_the_hour_before_to_and_must_not_be_empty() -> None:
    to = datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert TimeRange.of(None, to) == TimeRange(to - timedelta(hours=1), to)
    with pytest.raises(ClientError) as refused:
        TimeRange.of(to, to)
    assert _pointer(refused) == "/from"


def test_a_cursor_resumes_after_a_raw_point_and_at_a_window_end() -> None:
    span = TimeRange(datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 5, 2, tzinfo=UTC))
    cursor = datetime(2024, 5, 1, 6, tzinfo=UTC)
    assert span.resumed_after(cursor, windowed=False) == TimeRange(cursor + timedelta(microseconds=1), span.stop)
    assert span.resumed_after(cursor, windowed=True) == TimeRange(cursor, span.stop)
    assert span.resumed_after(None, windowed=False) == span
    assert span.resumed_after(span.stop, windowed=True) is None  # nothing is left to read
    assert span.resumed_after(span.start - timedelta(days=9), windowed=False) == span  # never before from


def test_windows_are_counted_from_the_arguments() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    assert windows_of(TimeRange(start, start + timedelta(seconds=MAX_WINDOWS)), 1) == timedelta(seconds=1)
    for span, every in ((TimeRange(start, start + timedelta(seconds=MAX_WINDOWS + 1)), 1),
                        (TimeRange(start, start + timedelta(hours=1)), 0)):
        with pytest.raises(ClientError) as refused:
            windows_of(span, every)
        assert _pointer(refused) == "/everySeconds"


def test_close_reasons_fit_a_close_frame_on_a_character_boundary() -> None:
    fitted = fitted_reason("é" * 100)  # two bytes each
    assert len(fitted.encode()) <= CLOSE_REASON_BYTES and fitted == "é" * (CLOSE_REASON_BYTES // 2)


@pytest.mark.parametrize(("message", "problem"), [
    ([], "a message must be a JSON object"),
    ({"type": 1}, "a message needs a string 'type'"),
    ({"type": "complete", "id": 7}, "a complete message needs a string 'id'"),
    ({"type": "subscribe", "id": "1", "payload": None}, "a subscribe message needs an object 'payload'"),
    ({"type": "subscribe", "id": "1", "payload": {"query": "{ me { username } }", "operationName": 3}},
     "subscribe payload.operationName must be a string or null"),
    ({"type": "subscribe", "id": "1", "payload": {"query": "{ me { username } }", "variables": None}}, None),
    ({"type": "ping", "payload": [1]}, None),
])
def test_messages_are_checked_before_strawberry_indexes_them(message: object, problem: str | None) -> None:
    assert message_problem(message) == problem


def test_a_telemetry_window_is_raw_for_none_or_zero_and_refused_when_negative() -> None:
    assert window_length(None) is None and window_length(0) is None
    assert window_length(60) == timedelta(minutes=1)
    with pytest.raises(ClientError) as refused:
        window_length(-1)
    assert _pointer(refused) == "/everySeconds"
