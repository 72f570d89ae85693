"""Snapshots folded many at once (SeriesMinute.settle) give what folding them one by one gives (no servers)."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from timeseries.aggregate_plans import FieldSlots, TelemetryPlan, compile_plan
from timeseries.aggregates import SeriesMeta, SeriesMinute
from tests.unit.test_timeseries_aggregates import BASE, MINUTE_NS, interface_with_everything


class OneByOne(TelemetryPlan):
    """The same plan with no flat shapes: every message is folded value by value (the reference)."""

    def flat_slots(self, values: Any) -> None:
        return None


def plans() -> tuple[TelemetryPlan, TelemetryPlan, FieldSlots]:
    slots = FieldSlots()
    deferred = compile_plan(interface_with_everything(), slots)
    reference = OneByOne()
    reference.update(deferred)
    return deferred, reference, slots


finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12)
phases = st.one_of(
    st.fixed_dictionaries({"a": finite, "b": finite}),
    st.fixed_dictionaries({"b": finite, "a": finite}),  # another order: another shape
    st.fixed_dictionaries({"b": finite}),
    st.fixed_dictionaries({"a": st.integers(-10**6, 10**6)}))  # an int: folded one by one
messages = st.one_of(
    st.fixed_dictionaries({"phases": phases}),
    st.fixed_dictionaries({"phases": phases, "power": finite}),  # not all flat objects
    st.fixed_dictionaries({"phases": phases, "steps": st.integers(0, 9)}))
steps = st.lists(st.tuples(st.integers(0, 5), messages, st.booleans()), min_size=1, max_size=40)


def same(left: dict[str, list[Any]], right: dict[str, list[Any]]) -> None:
    assert left.keys() == right.keys()
    for key in left:
        (count, total, low, high, last_ns, last), expected = left[key], right[key]
        assert [count, low, high, last_ns, last] == [expected[0], *expected[2:]], key
        assert math.isclose(total, expected[1], rel_tol=1e-12, abs_tol=1e-6), key  # same order: equal on 3.11


@settings(max_examples=400, deadline=None)
@given(steps)
def test_settled_statistics_equal_the_one_by_one_fold(sequence: list[tuple[int, dict[str, Any], bool]]) -> None:
    deferred_plan, reference_plan, slots = plans()
    meta = SeriesMeta.of("m", {"twin": "t"}, "ing-1")
    deferred, reference = SeriesMinute(meta, slots), SeriesMinute(meta, slots)
    for second, values, look in sequence:
        time_ns = BASE + second * 1_000_000_000  # equal times are common: the later arrival's last wins
        deferred.fold(deferred_plan, values, time_ns)
        reference.fold(reference_plan, values, time_ns)
        if look:  # reading the statistics in between settles what is kept
            same(deferred.stats(), reference.stats())
    same(deferred.stats(), reference.stats())


def test_a_snapshot_of_floats_is_kept_until_read_and_a_merge_settles_it_first() -> None:
    plan, _, slots = plans()
    one = SeriesMinute(SeriesMeta.of("m", {"twin": "t"}, "ing-1"), slots)
    for second in range(3):
        one.fold(plan, {"phases": {"a": 1.0 + second, "b": -1.0}}, BASE + second)
    assert len(one.pending_times) == 3 and one.count[slots.slot("phases.a")] == 0
    one.merge("phases.a", [2, 10.0, -5.0, 50.0, BASE + MINUTE_NS - 1, 7.0])
    assert not one.pending_times
    assert one.stats()["phases.a"] == [5, 16.0, -5.0, 50.0, BASE + MINUTE_NS - 1, 7.0]
    assert one.stats()["phases.b"] == [3, -3.0, -1.0, -1.0, BASE + 2, -1.0]
