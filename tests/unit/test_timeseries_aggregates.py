"""The pure part of downsampling: which values are aggregated, the statistics, lines, minutes' life cycle."""

from __future__ import annotations

import math
import random

import orjson
import pytest

from dtdl.model import Content, Interface, NamedSchema, Schema
from timeseries.aggregate_plans import FieldSlots, FlatObject, MapPlan, compile_plan
from timeseries.aggregates import AGGREGATES, MINUTE_NS, SeriesMeta, SeriesMinute, final_aggregates, minute_of, render
from timeseries.directory import TwinInfo
from timeseries.minutes import MinuteAggregator, MinuteSet
from timeseries.samples import MEASUREMENT_POINT, measurement_point_interface, snapshot
from timeseries.validation import Sample, validate_batch

DOUBLE = Schema(kind="double")
BASE = 1_800_000_000 * 1_000_000_000  # a whole minute


def interface_with_everything() -> Interface:
    contents = {
        "power": Content(kind="Telemetry", name="power", schema=DOUBLE),
        "steps": Content(kind="Telemetry", name="steps", schema=Schema(kind="long")),
        "on": Content(kind="Telemetry", name="on", schema=Schema(kind="boolean")),
        "label": Content(kind="Telemetry", name="label", schema=Schema(kind="string")),
        "level": Content(kind="Telemetry", name="level", schema=Schema(
            kind="Enum", value_schema=Schema(kind="integer"), enum_values={"low": 1, "high": 2})),
        "mode": Content(kind="Telemetry", name="mode", schema=Schema(
            kind="Enum", value_schema=Schema(kind="string"), enum_values={"a": "a"})),
        "phases": Content(kind="Telemetry", name="phases", schema=Schema(kind="Object", fields={"a": DOUBLE,
                                                                                                "b": DOUBLE})),
        "mixed": Content(kind="Telemetry", name="mixed", schema=Schema(kind="Object", fields={
            "x": DOUBLE, "tag": Schema(kind="string")})),
        "byFeeder": Content(kind="Telemetry", name="byFeeder", schema=Schema(
            kind="Map", map_key=NamedSchema("feeder", Schema(kind="string")), map_value=NamedSchema("load", DOUBLE))),
        "rated": Content(kind="Property", name="rated", schema=DOUBLE),
    }
    return Interface(dtmi="dtmi:test:Everything;1", contents=contents, own_contents=contents)


def series(slots: FieldSlots | None = None) -> SeriesMinute:
    return SeriesMinute(SeriesMeta.of("m", {"twin": "t"}, "ing-1"), slots or FieldSlots())


def test_only_numeric_telemetry_is_planned() -> None:
    slots = FieldSlots()
    plan = compile_plan(interface_with_everything(), slots)
    assert set(plan) == {"power", "steps", "level", "phases", "mixed", "byFeeder"}
    assert type(plan["phases"]) is FlatObject and type(plan["mixed"]) is dict and set(plan["mixed"]) == {"x"}
    assert isinstance(plan["byFeeder"], MapPlan)
    assert slots.keys == ["power", "steps", "level", "phases.a", "phases.b", "mixed.x"]


def test_statistics_are_exact_with_samples_out_of_time_order() -> None:
    slots = FieldSlots()
    plan = compile_plan(interface_with_everything(), slots)
    one = series(slots)
    rows = [(BASE + random.Random(i).randrange(MINUTE_NS), i) for i in range(50)]
    for time_ns, i in rows:
        values = {"power": i * 1.5 - 20, "steps": i, "phases": {"a": float(i), "b": -i * 0.25},
                  "mixed": {"x": i % 7 * 1.0, "tag": "s"}, "on": True, "byFeeder": {"f1": i * 2.0}}
        assert one.is_new(time_ns, f"line {time_ns} {i}")
        one.fold(plan, values, time_ns)
    stats = one.stats()
    latest = max(rows)[1]
    assert stats["power"] == [50, sum(i * 1.5 - 20 for _, i in rows), -20.0, 49 * 1.5 - 20, max(rows)[0],
                              latest * 1.5 - 20]
    assert stats["steps"][:4] == [50, sum(range(50)), 0, 49] and stats["steps"][5] == latest
    assert stats["mixed.x"][2:4] == [0.0, 6.0]
    assert stats["byFeeder.f1"][0] == 50  # a Map key became a slot of its own
    assert "on" not in stats and "mixed.tag" not in stats


def test_a_resent_message_is_not_counted_twice_but_a_split_one_is() -> None:
    one = series()
    assert one.is_new(BASE + 5, "a 5")
    assert one.is_new(BASE + 9, "a 9")
    assert not one.is_new(BASE + 5, "a 5")  # same time, same line: a retry
    assert not one.is_new(BASE + 9, "a 9")
    assert one.is_new(BASE + 5, "b 5")  # same time, other values: a second message for that instant
    assert list(one.times) == [BASE + 5, BASE + 5, BASE + 9]


def test_lines_carry_every_aggregate_as_floats_at_the_window_end() -> None:
    slots = FieldSlots()
    one = SeriesMinute(SeriesMeta.of("dtmi:x:M", {"twin": "t 1", "model": "dtmi:x:M;1"}, "host-1"), slots)
    for i, value in enumerate((3, 1, 2)):
        one.add(slots.slot("steps"), value, BASE + i)
    one.add(slots.slot("huge"), 1e308, BASE)
    one.add(slots.slot("huge"), 1e308, BASE + 1)  # the sum overflows: left out, the rest stays
    lines = render(one, BASE + MINUTE_NS)
    assert lines[0] == f"dtmi:x:M,agg=count,ingester=host-1,model=dtmi:x:M;1,twin=t\\ 1 steps=3.0,huge=2.0 {BASE + MINUTE_NS}"
    by_agg = {line.split(",")[1]: line.rsplit(" ", 2)[1] for line in lines}
    assert by_agg["agg=sum"] == "steps=6.0"
    assert by_agg["agg=mean"] == "steps=2.0"
    assert by_agg["agg=last"] == "steps=2.0,huge=1e+308"
    assert by_agg["agg=last_time"].startswith(f"steps={(BASE + 2) / 1e9!r}")
    assert [line.split(",")[1] for line in lines] == [f"agg={a}" for a in AGGREGATES]


def test_partials_merge_to_the_whole_in_any_order() -> None:
    values = [(BASE + i * 997, math.sin(i) * 10) for i in range(60)]
    whole = _partial(values)
    parts = [_partial(values[0::3]), _partial(values[1::3]), _partial(values[2::3])]
    for order in ([0, 1, 2], [2, 0, 1]):
        merged = final_aggregates(parts[i] for i in order)
        assert merged["count"] == whole["count"] and merged["last"] == whole["last"]
        assert (merged["min"], merged["max"]) == (whole["min"], whole["max"])
        assert merged["mean"] == pytest.approx(whole["mean"], rel=1e-12)
    assert final_aggregates([{"count": 1.0}]) == {}


def _partial(values: list[tuple[int, float]]) -> dict[str, float]:
    one = series()
    for time_ns, value in values:
        one.add(one.slots.slot("v"), value, time_ns)
    stats = one.stats()["v"]
    return dict(zip(AGGREGATES, (stats[0], stats[1], stats[1] / stats[0], stats[2], stats[3], stats[5],
                                 stats[4] / 1e9)))


def test_minute_set_keeps_merged_ranges() -> None:
    written = MinuteSet()
    for minute in (5, 7, 6, 1, 9):
        written.add(BASE + minute * MINUTE_NS)
    assert [[(a - BASE) // MINUTE_NS, (b - BASE) // MINUTE_NS] for a, b in written.ranges()] == [[1, 2], [5, 8],
                                                                                                 [9, 10]]
    assert BASE + 6 * MINUTE_NS in written and BASE + 8 * MINUTE_NS not in written
    assert MinuteSet(written.ranges() + [[BASE, BASE + 3 * MINUTE_NS]]).ranges()[0] == [BASE, BASE + 3 * MINUTE_NS]
    assert minute_of(BASE + MINUTE_NS - 1) == BASE and minute_of(-1) == -MINUTE_NS


# --------------------------------------------------------------------------- the minutes' life cycle

IFACE = measurement_point_interface()
TWINS = {f"mp{i}": TwinInfo(f"mp{i}", MEASUREMENT_POINT, IFACE) for i in range(3)}


def fold(aggregator: MinuteAggregator, times: list[int], now: float, twin: str = "mp0") -> None:
    batch = validate_batch([{"twin": twin, "time": t, "values": snapshot(t % 97)} for t in times], TWINS, "ns")
    aggregator.add(batch.samples, batch.lines, TWINS, now=now)


def test_a_minute_is_due_after_its_end_plus_grace_once_idle() -> None:
    aggregator = MinuteAggregator("ing")
    fold(aggregator, [BASE + 1, BASE + MINUTE_NS + 1], now=100.0)
    end = BASE + MINUTE_NS
    assert aggregator.due(end + 9_000_000_000, 110.0, grace_ns=10_000_000_000, idle_s=2.0) == []
    assert aggregator.due(end + 10_000_000_000, 101.0, grace_ns=10_000_000_000, idle_s=2.0) == []  # touched 1 s ago
    assert aggregator.due(end + 10_000_000_000, 102.0, grace_ns=10_000_000_000, idle_s=2.0) == [BASE]
    aggregator.max_open = 0  # past the bound, the least recently touched minutes go early
    assert sorted(aggregator.due(end, 100.0, grace_ns=10_000_000_000, idle_s=2.0)) == [BASE, BASE + MINUTE_NS]


def test_a_late_sample_reopens_a_retained_minute_and_needs_a_readback_once_it_is_forgotten() -> None:
    aggregator = MinuteAggregator("ing")
    fold(aggregator, [BASE + 1, BASE + 2], now=1.0)
    buckets, lines = aggregator.take([BASE], now=1.0)
    assert len(lines) == len(AGGREGATES) and BASE in aggregator.written and BASE in aggregator.retained
    fold(aggregator, [BASE + 3], now=2.0)  # late, minute still retained: merged in memory
    assert BASE in aggregator.open and aggregator.readback_wanted([BASE]) == {}
    assert aggregator.open[BASE].series[TWINS["mp0"].line_prefix].stats()["frequency"][0] == 3
    aggregator.take([BASE], now=2.0)
    aggregator.evict(now=1_000.0, retain_s=60.0)
    assert not aggregator.retained and aggregator.retained_series == 0
    fold(aggregator, [BASE + 4], now=3.0)  # late again, the minute is only in InfluxDB now
    wanted = aggregator.readback_wanted([BASE])
    assert wanted == {"dtmi:gridtwin:GridMeasurementPoint": {BASE: {"mp0"}}}
    assert aggregator.merge_stored(BASE, "dtmi:gridtwin:GridMeasurementPoint", TWINS["mp0"].all_tags(),
                                   {"frequency": [3, 150.0, 49.0, 51.0, BASE + 3, 50.5]})
    aggregator.readback_done({BASE: {"mp1"}}, "dtmi:gridtwin:GridMeasurementPoint")  # another twin: still waits
    assert aggregator.readback_wanted([BASE])
    aggregator.readback_done(wanted["dtmi:gridtwin:GridMeasurementPoint"], "dtmi:gridtwin:GridMeasurementPoint")
    assert aggregator.readback_wanted([BASE]) == {}
    stats = aggregator.open[BASE].series[TWINS["mp0"].line_prefix].stats()["frequency"]
    assert stats[0] == 4 and stats[4] == BASE + 4


def test_a_failed_write_puts_the_minute_back_to_be_retried() -> None:
    aggregator = MinuteAggregator("ing")
    fold(aggregator, [BASE + 1], now=1.0)
    buckets, _ = aggregator.take([BASE], now=1.0)
    aggregator.untake(buckets)
    assert BASE in aggregator.open and aggregator.open_series == 1 and aggregator.retained_series == 0
    _, lines = aggregator.take([BASE], now=2.0)
    assert len(lines) == len(AGGREGATES)  # rendered again in full


def test_state_round_trips_open_and_retained_minutes() -> None:
    aggregator = MinuteAggregator("ing-7")
    fold(aggregator, [BASE + 1, BASE + 2], now=1.0)
    fold(aggregator, [BASE + MINUTE_NS + 5], now=1.0, twin="mp1")
    aggregator.take([BASE], now=1.0)
    state = orjson.loads(orjson.dumps(aggregator.to_state(with_minutes=True)))
    again = MinuteAggregator(state["ingester"], written=MinuteSet(state["written"]))
    again.restore(state["minutes"], now=5.0)
    assert set(again.open) == {BASE + MINUTE_NS} and set(again.retained) == {BASE}
    for minute in (BASE, BASE + MINUTE_NS):
        before = {p: s.stats() for p, s in {**aggregator.open, **aggregator.retained}[minute].series.items()}
        after = {p: s.stats() for p, s in {**again.open, **again.retained}[minute].series.items()}
        assert after == before
    _, lines = again.take([BASE + MINUTE_NS], now=6.0)  # the reloaded open minute is written in full
    assert len(lines) == len(AGGREGATES) and all("ingester=ing-7" in line for line in lines)
    assert "minutes" not in aggregator.to_state(with_minutes=False)


def test_samples_of_unknown_twins_are_skipped() -> None:
    aggregator = MinuteAggregator("ing")
    aggregator.add([Sample("ghost", BASE, {"frequency": 50.0})], ["x"], TWINS)
    assert aggregator.folded == 0 and not aggregator.open
