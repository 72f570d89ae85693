"""The snapshot fast path of the line protocol encoder agrees with the value-by-value reference (no servers).

Whatever the fast path encodes must be what the reference encodes (the same field keys in the same
order, the same float values); whatever the reference refuses, the fast path must leave to it.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dtdl.model import Interface
from timeseries.lineprotocol import InterfaceEncoder, InvalidValue

POINT = "dtmi:gridtwin:GridMeasurementPoint;1"


@cache
def point_interface() -> Interface:
    from api.app import _shipped_models

    return _shipped_models().interfaces[POINT]


@cache
def point_encoder() -> InterfaceEncoder:
    return InterfaceEncoder(point_interface())


def object_fields() -> dict[str, list[str]]:
    interface = point_interface()
    return {name: list(content.schema.fields) for name, content in interface.contents.items()
            if content.kind == "Telemetry" and content.schema is not None and content.schema.kind == "Object"}


def parsed(field_set: str) -> list[tuple[str, float]]:
    """``k=v,...`` as (key, float value) pairs: how InfluxDB reads a float field."""
    return [(key, float(value)) for key, value in (part.split("=") for part in field_set.split(","))]


leaves = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.booleans(), st.none(), st.text(max_size=6), st.lists(st.floats(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.floats(), max_size=2))
mostly_finite = st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.floats(allow_nan=False,
                          allow_infinity=False, min_value=-1e6, max_value=1e6), leaves)


@st.composite
def messages(draw: st.DrawFn, fields: dict[str, list[str]]) -> Any:
    """``values`` of a snapshot: known objects with known, unknown, missing fields and odd leaves."""
    names = draw(st.lists(st.sampled_from([*fields, "unknownTelemetry"]), unique=True, max_size=6))
    values: dict[str, Any] = {}
    for name in names:
        keys = fields.get(name, ["x"])
        chosen = draw(st.lists(st.sampled_from([*keys, "unknownField"]), unique=True, max_size=len(keys) + 1))
        values[name] = {key: draw(mostly_finite) for key in chosen}
        if draw(st.integers(0, 30)) == 0:
            values[name] = draw(leaves)
    return values


@settings(max_examples=600, deadline=None)
@given(messages(object_fields()))
def test_the_fast_path_encodes_exactly_what_the_reference_accepts(values: Any) -> None:
    encoder = point_encoder()
    fast = encoder.snapshots.encode(values)
    try:
        reference = encoder.encode_each(values)
    except InvalidValue:
        assert fast is None, f"the fast path accepted what the reference refuses: {values!r} -> {fast!r}"
        return
    if fast is not None:
        assert parsed(fast) == parsed(reference)


def test_a_full_snapshot_takes_the_fast_path_and_reads_back_the_same_floats() -> None:
    encoder = point_encoder()
    values = {name: {key: 230.123456789 + i / 7 for i, key in enumerate(keys)}
              for name, keys in object_fields().items()}
    fast = encoder.snapshots.encode(values)
    assert fast is not None, "a full snapshot of finite floats must not fall back"
    assert parsed(fast) == parsed(encoder.encode_each(values))
    assert encoder.encode_values(values) == fast


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, True, "230", None, 10**400, [1.0]])
def test_a_bad_leaf_goes_to_the_reference_which_names_it(bad: Any) -> None:
    encoder = point_encoder()
    values = {"voltage": {"phaseA": 230.0, "phaseB": bad}}
    assert encoder.snapshots.encode(values) is None
    with pytest.raises(InvalidValue, match="voltage.phaseB"):
        encoder.encode_values(values)


def test_an_empty_object_or_unknown_field_is_refused_by_name() -> None:
    encoder = point_encoder()
    with pytest.raises(InvalidValue, match="voltage: empty object"):
        encoder.encode_values({"voltage": {}})
    with pytest.raises(InvalidValue, match="unknown field 'phaseD'"):
        encoder.encode_values({"voltage": {"phaseD": 1.0}})
