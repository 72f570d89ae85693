"""1-minute statistics of acknowledged telemetry, per series and minute (pure: no I/O).

Why the ingest path aggregates and InfluxDB does not: the former Flux task re-read every raw
point of a 10-minute look-back each minute and filtered rows with ``types.isNumeric``; run
alone it aggregated ~6,900 values/s. Even a pushed-down ``aggregateWindow`` costs influxd
~100 µs of CPU per series and aggregate (measured here: 40,000 series, 2.5 M values, 4-5 s of
CPU per aggregate), so five aggregates of a 2,000-twin grid cost ~0.4 cores at any sample
rate. The ingest path holds every acknowledged sample as Python numbers already; folding it
into running statistics costs a few µs per message, and InfluxDB only receives the results.

Per (series, minute, field) the statistics are ``count, sum, min, max`` and the last value
with its time. They merge exactly — counts and sums add, min/max compare, the later ``last``
wins — which is what lets partial aggregates of several API processes (each tagged with its
``ingester``), of a restart or of a late sample combine into the true minute.

Speed: each model's numeric fields get fixed *slots*, and a series-minute keeps six parallel
lists indexed by slot; the fold is one loop over the message's values with no per-value call
(2.3x faster than a dict of per-field lists, measured). Snapshots made only of flat numeric objects
holding floats are not folded one by one: their numbers are kept as rows of one array per shape and
folded when the statistics are read, with ``sum``/``min``/``max`` over each field's column
(``SeriesMinute.settle``; 0.75x the time of the one-by-one fold, bench/ingest_steps_bench.py).
"""

from __future__ import annotations

import bisect
import math
from array import array
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from timeseries.aggregate_plans import FieldSlots, FlatObject, PlanEntry, TelemetryPlan
from timeseries.lineprotocol import escape_key, line_prefix
from timeseries.snapshot_lines import numbers_of

MINUTE_NS = 60 * 1_000_000_000
#: Values of the ``agg`` tag, in rendering order. ``last_time`` is the time (Unix seconds) of the
#: sample ``last`` came from: what picks the latest ``last`` among the partials of several ingesters.
AGGREGATES = ("count", "sum", "mean", "min", "max", "last", "last_time")
TAG_AGG = "agg"
TAG_INGESTER = "ingester"
_INF = math.inf
_FLOAT_ONLY = {float}

#: ``[count, sum, min, max, last_time_ns, last_value]`` of one field in one minute.
Stats = list


def minute_of(time_ns: int) -> int:
    """The start (ns) of the minute holding ``time_ns`` (floor, also before 1970)."""
    return time_ns - time_ns % MINUTE_NS


# --------------------------------------------------------------------------- one series in one minute

class SeriesMinute:
    """The running statistics of one raw series (twin) in one minute, plus what it has seen.

    ``times``/``crcs`` (sorted by time) recognise a re-sent message: same time and same line
    is not counted again. ``readback``: this ingester may have written a partial for the
    minute that this object does not hold (merge it before writing). ``dirty``: changed
    since it was last rendered.
    """

    __slots__ = ("meta", "slots", "count", "total", "low", "high", "last_ns", "last", "times", "crcs",
                 "readback", "dirty", "pending_slots", "pending_times", "pending_numbers")

    def __init__(self, meta: SeriesMeta, slots: FieldSlots, readback: bool = False) -> None:
        self.meta = meta
        self.slots = slots
        self.count: list[int] = []
        self.total: list[Any] = []
        self.low: list[Any] = []
        self.high: list[Any] = []
        self.last_ns: list[int] = []
        self.last: list[Any] = []
        self.times = array("q")
        self.crcs = array("q")
        self.readback = readback
        self.dirty = False
        #: Snapshots of one shape not folded yet: their slots, times and numbers (row after row).
        self.pending_slots: tuple[int, ...] | None = None
        self.pending_times = array("q")
        self.pending_numbers = array("d")
        self.grow()

    def grow(self) -> None:
        """Make room for slots the model gained (Map keys, a new interface version)."""
        missing = len(self.slots.keys) - len(self.count)
        if missing > 0:
            self.count += [0] * missing
            self.total += [0] * missing
            self.low += [_INF] * missing
            self.high += [-_INF] * missing
            self.last_ns += [-(1 << 63)] * missing
            self.last += [None] * missing

    def is_new(self, time_ns: int, line: str) -> bool:
        """False for a re-send (same time, same line) of a message already folded in; records it otherwise."""
        times = self.times
        crc = hash(line)  # per process (str hashes are salted): re-sends are recognised within one process
        if not times or time_ns > times[-1]:
            times.append(time_ns)
            self.crcs.append(crc)
            return True
        at = bisect.bisect_left(times, time_ns)
        end = bisect.bisect_right(times, time_ns, at)
        if crc in self.crcs[at:end]:
            return False
        times.insert(end, time_ns)
        self.crcs.insert(end, crc)
        return True

    def fold(self, plan: TelemetryPlan, values: Mapping[str, Any], time_ns: int) -> None:
        """Fold one validated message in; numeric leaves are int or float (validation checked).

        A snapshot of flat objects holding floats only is kept as a row of numbers and folded with the
        others of its shape in :meth:`settle` (a few C loops per field instead of Python work per value);
        anything else settles what is kept, then folds value by value.
        """
        slots = plan.flat_slots(values)
        if slots is not None:
            numbers = numbers_of(values)
            if set(map(type, numbers)) == _FLOAT_ONLY:
                if slots is not self.pending_slots:
                    self.settle()
                    self.pending_slots = slots
                self.pending_times.append(time_ns)
                self.pending_numbers.extend(numbers)
                self.dirty = True
                return
        self.settle()
        if len(self.count) < len(self.slots.keys):
            self.grow()
        count, total, low, high, last_ns, last = self.count, self.total, self.low, self.high, self.last_ns, self.last
        self.dirty = True
        for name, value in values.items():
            target = plan.get(name)
            if target is None:
                continue
            if type(target) is FlatObject:
                for key, v in value.items():
                    i = target[key]
                    count[i] += 1
                    total[i] += v
                    if v < low[i]:
                        low[i] = v
                    if v > high[i]:
                        high[i] = v
                    if time_ns >= last_ns[i]:
                        last_ns[i] = time_ns
                        last[i] = v
            else:
                self._fold_other(target, value, time_ns)

    def settle(self) -> None:
        """Fold the kept rows in: what folding them one by one in arrival order gives, field by field.

        ``sum(column, total)`` adds in arrival order as ``+=`` would; ``last`` is the value of the
        last-arriving row among those with the latest time, if that time is not older than the field's.
        """
        times = self.pending_times
        if not times:
            return
        slots, numbers, width, rows = self.pending_slots, self.pending_numbers, len(self.pending_slots), len(times)
        if len(self.count) < len(self.slots.keys):
            self.grow()
        latest = max(times)
        latest_row = rows - 1 - times[::-1].index(latest)
        count, total, low, high, last_ns, last = self.count, self.total, self.low, self.high, self.last_ns, self.last
        for j, i in enumerate(slots):  # type: ignore[arg-type]
            column = numbers[j::width]
            count[i] += rows
            total[i] = sum(column, total[i])
            low[i] = min(low[i], min(column))
            high[i] = max(high[i], max(column))
            if latest >= last_ns[i]:
                last_ns[i] = latest
                last[i] = numbers[latest_row * width + j]
        self.pending_slots = None
        self.pending_times = array("q")
        self.pending_numbers = array("d")

    def _fold_other(self, target: PlanEntry, value: Any, time_ns: int) -> None:
        if type(target) is int:
            self.add(target, value, time_ns)
        elif isinstance(target, dict):
            for key, item in value.items():
                sub = target.get(key)
                if sub is not None:
                    self._fold_other(sub, item, time_ns)
        else:
            for key, item in value.items():
                sub = target.entry_for(key)  # type: ignore[union-attr]
                if sub is not None:
                    self.grow()
                    self._fold_other(sub, item, time_ns)

    def add(self, i: int, v: Any, time_ns: int) -> None:
        """Fold one value into slot ``i``."""
        if i >= len(self.count):
            self.grow()
        self.count[i] += 1
        self.total[i] += v
        if v < self.low[i]:
            self.low[i] = v
        if v > self.high[i]:
            self.high[i] = v
        if time_ns >= self.last_ns[i]:
            self.last_ns[i] = time_ns
            self.last[i] = v

    def merge(self, key: str, other: Stats) -> None:
        """Merge a partial (e.g. read back from InfluxDB) into field ``key``; equal last times keep ours."""
        self.settle()
        i = self.slots.slot(key)
        self.grow()
        self.dirty = True
        self.count[i] += other[0]
        self.total[i] += other[1]
        self.low[i] = min(self.low[i], other[2])
        self.high[i] = max(self.high[i], other[3])
        if other[4] > self.last_ns[i]:
            self.last_ns[i], self.last[i] = other[4], other[5]

    def stats(self) -> dict[str, Stats]:
        """Field key -> Stats of every field seen in the minute."""
        self.settle()
        keys = self.slots.keys
        return {keys[i]: [c, self.total[i], self.low[i], self.high[i], self.last_ns[i], self.last[i]]
                for i, c in enumerate(self.count) if c}


# --------------------------------------------------------------------------- partials and finals

def stats_from_aggregates(values: Mapping[str, float]) -> Stats | None:
    """Stats of one stored partial (``agg`` -> value, one field); None when a part is missing."""
    try:
        return [int(round(values["count"])), values["sum"], values["min"], values["max"],
                int(round(values["last_time"] * 1e9)), values["last"]]
    except KeyError:
        return None


def final_aggregates(partials: Iterable[Mapping[str, float]]) -> dict[str, float]:
    """One field's minute from the partials of several ingesters (each ``agg`` -> value)."""
    merged: Stats | None = None
    for values in partials:
        stats = stats_from_aggregates(values)
        if stats is None:
            continue
        if merged is None:
            merged = stats
            continue
        merged[0] += stats[0]
        merged[1] += stats[1]
        merged[2] = min(merged[2], stats[2])
        merged[3] = max(merged[3], stats[3])
        if stats[4] > merged[4]:
            merged[4], merged[5] = stats[4], stats[5]
    return dict(zip(AGGREGATES, _rendered(merged))) if merged is not None else {}


#: The Flux form of :func:`final_aggregates`: the whole minutes of one twin from every ingester's partial
#: (parameters ``gt_bucket`` = ``<bucket>_1m``, ``gt_start``, ``gt_stop``, ``gt_measurement``, ``gt_twin``).
#: One row per field and minute with ``count sum mean min max last last_time``; ``_time`` is the minute's end.
MERGED_MINUTES_FLUX = """from(bucket: gt_bucket)
    |> range(start: gt_start, stop: gt_stop)
    |> filter(fn: (r) => r._measurement == gt_measurement and r.twin == gt_twin)
    |> group(mode: "except", columns: ["agg", "_value"])
    |> pivot(rowKey: ["_time"], columnKey: ["agg"], valueColumn: "_value")
    |> group(columns: ["_measurement", "twin", "_field", "_time"])
    |> reduce(identity: {count: 0.0, sum: 0.0, min: 0.0, max: 0.0, last: 0.0, last_time: -1.0},
              fn: (r, accumulator) => ({
                  count: accumulator.count + r.count,
                  sum: accumulator.sum + r.sum,
                  min: if accumulator.count == 0.0 or r.min < accumulator.min then r.min else accumulator.min,
                  max: if accumulator.count == 0.0 or r.max > accumulator.max then r.max else accumulator.max,
                  last: if r.last_time > accumulator.last_time then r.last else accumulator.last,
                  last_time: if r.last_time > accumulator.last_time then r.last_time else accumulator.last_time}))
    |> map(fn: (r) => ({r with mean: r.sum / r.count}))
    |> group()
    |> sort(columns: ["_time", "_field"])
"""


def _rendered(stats: Stats) -> tuple[float, ...]:
    count, total, low, high, last_ns, last = stats
    return (float(count), float(total), total / count, float(low), float(high), float(last), last_ns / 1e9)


@dataclass(frozen=True, eq=False)
class SeriesMeta:
    """Where one raw series' aggregates go: measurement, tags, and one line prefix per ``agg``."""

    measurement: str
    tags: Mapping[str, str]
    prefixes: tuple[str, ...]

    @classmethod
    def of(cls, measurement: str, tags: Mapping[str, str], ingester: str) -> SeriesMeta:
        prefixes = tuple(line_prefix(measurement, {**tags, TAG_AGG: agg, TAG_INGESTER: ingester})
                         for agg in AGGREGATES)
        return cls(measurement, dict(tags), prefixes)


_ESCAPED: dict[str, str] = {}


def _escaped(key: str) -> str:
    escaped = _ESCAPED.get(key)
    if escaped is None:
        if len(_ESCAPED) > 100_000:
            _ESCAPED.clear()
        escaped = _ESCAPED[key] = escape_key(key)
    return escaped


def render(series: SeriesMinute, window_end_ns: int) -> list[str]:
    """Line protocol of one series-minute: one line per ``agg``, every field a float.

    A non-finite result (a sum overflowing to inf) is left out: line protocol cannot carry it.
    """
    parts: list[list[str]] = [[] for _ in AGGREGATES]
    for key, stats in series.stats().items():
        escaped = _escaped(key)
        for index, value in enumerate(_rendered(stats)):
            if math.isfinite(value):
                parts[index].append(f"{escaped}={value!r}")
    prefixes = series.meta.prefixes
    return [f"{prefixes[i]}{','.join(p)} {window_end_ns}" for i, p in enumerate(parts) if p]
