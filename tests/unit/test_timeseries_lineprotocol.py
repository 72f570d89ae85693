"""Line protocol escaping, timestamps and encoders (no servers)."""

from __future__ import annotations

import pytest

from dtdl.model import Schema
from timeseries.lineprotocol import (
    InvalidValue, compile_schema, detect_precision, escape_key, escape_measurement, escape_string_field,
    line_prefix, timestamp_ns)


def test_measurement_escapes_comma_and_space_only() -> None:
    assert escape_measurement("my meas,x=1") == r"my\ meas\,x=1"
    assert escape_measurement("dtmi:gridtwin:Point") == "dtmi:gridtwin:Point"


def test_keys_escape_comma_equals_space() -> None:
    assert escape_key("a b,c=d") == r"a\ b\,c\=d"
    assert escape_key('quote"ok') == 'quote"ok'


@pytest.mark.parametrize("bad", ["", "line\nbreak", "cr\rx", "trailing\\"])
def test_keys_that_line_protocol_cannot_carry_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        escape_key(bad)


def test_string_fields_escape_quote_and_backslash() -> None:
    assert escape_string_field('say "hi" c:\\dir') == '"say \\"hi\\" c:\\\\dir"'
    assert escape_string_field("a,b=c d") == '"a,b=c d"'
    with pytest.raises(InvalidValue):
        escape_string_field("two\nlines")


def test_line_prefix_sorts_tags_and_omits_empty_values() -> None:
    prefix = line_prefix("m x", {"twin": "t 1", "feeder": "", "model": "dtmi:a;1", "substation": "S=1"})
    assert prefix == r"m\ x,model=dtmi:a;1,substation=S\=1,twin=t\ 1 "


def test_written_line_round_trips_through_influxdb_client_parser_rules() -> None:
    encode = compile_schema(Schema(kind="string"), "note", "note")
    assert encode('x"y\\') == 'note="x\\"y\\\\"'


@pytest.mark.parametrize(("value", "precision", "expected"), [
    (1_700_000_000, None, 1_700_000_000_000_000_000),
    (1_700_000_000_123, None, 1_700_000_000_123_000_000),
    (1_700_000_000_123_456, None, 1_700_000_000_123_456_000),
    (1_700_000_000_123_456_789, None, 1_700_000_000_123_456_789),
    (1_700_000_000_123, "ms", 1_700_000_000_123_000_000),
    (5, "s", 5_000_000_000),
    ("2023-11-14T22:13:20Z", None, 1_700_000_000_000_000_000),
    ("2023-11-14T22:13:20.123456789Z", None, 1_700_000_000_123_456_789),
    ("2023-11-14T23:13:20.5+01:00", None, 1_700_000_000_500_000_000),
    (1_700_000_000.25, "s", 1_700_000_000_250_000_000),
])
def test_timestamps_keep_the_device_precision(value: object, precision: str | None, expected: int) -> None:
    assert timestamp_ns(value, precision) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [True, None, "yesterday", "2023-11-14T22:13:20", "2023-13-40T00:00:00Z",
                                 float("nan"), 10**30, [1]])
def test_bad_timestamps_are_refused(bad: object) -> None:
    with pytest.raises(InvalidValue):
        timestamp_ns(bad, "ns" if bad == 10**30 else None)


def test_precision_detection_by_magnitude() -> None:
    assert [detect_precision(v) for v in (1.7e9, 1.7e12, 1.7e15, 1.7e18)] == ["s", "ms", "us", "ns"]  # type: ignore[arg-type]


def test_numbers_integers_booleans_enums() -> None:
    double = compile_schema(Schema(kind="double"), "f", "f")
    assert double(50) == "f=50.0" and double(49.99) == "f=49.99"
    for bad in (True, "50", float("inf"), None):
        with pytest.raises(InvalidValue):
            double(bad)
    integer = compile_schema(Schema(kind="integer"), "n", "n")
    assert integer(7) == "n=7i"
    for bad in (7.0, False, 2**31):
        with pytest.raises(InvalidValue):
            integer(bad)
    boolean = compile_schema(Schema(kind="boolean"), "b", "b")
    assert boolean(True) == "b=true"
    with pytest.raises(InvalidValue):
        boolean(1)
    enum = compile_schema(Schema(kind="Enum", value_schema=Schema(kind="integer"), enum_values={"on": 1, "off": 0}),
                          "s", "s")
    assert enum(1) == "s=1i"
    for bad in (2, "on", True):
        with pytest.raises(InvalidValue):
            enum(bad)


def test_nested_objects_are_flattened_with_dots() -> None:
    schema = Schema(kind="Object", fields={"a": Schema(kind="double"),
                                           "inner": Schema(kind="Object", fields={"n": Schema(kind="long")})})
    encode = compile_schema(schema, "x", "x")
    assert encode({"a": 1.5, "inner": {"n": 3}}) == "x.a=1.5,x.inner.n=3i"
    with pytest.raises(InvalidValue, match="x.inner.n"):
        encode({"inner": {"n": "3"}})
    with pytest.raises(InvalidValue, match="unknown field"):
        encode({"b": 1.0})
