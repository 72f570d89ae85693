"""Which minutes are open, which were written, and what a late sample must merge with (pure, sync).

A minute is *open* while samples may still come: it is written once the wall clock is past
its end plus ``grace`` and no sample touched it for ``idle`` seconds (historical data, whose
minutes are long past, is written once its batch has gone by). A written minute stays
*retained* in memory for a while, so a late sample, or a restart that reloads it, merges
with the exact statistics already written and the minute is rewritten whole (same series,
same timestamp: InfluxDB overwrites the point). A late sample for a minute this ingester wrote
and no longer holds is marked ``readback``: the :class:`~timeseries.downsampler.Downsampler`
reads that stored partial back and merges it before writing. ``written`` (persisted) is what
tells the two cases apart after a restart or crash.

Memory is bounded by ``max_open`` / ``max_retained`` series-minutes: past them the least
recently touched open minutes are written early, and the oldest retained ones forgotten.
"""

from __future__ import annotations

import bisect
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dtdl.model import Interface
from timeseries.aggregate_plans import FieldSlots, PlanEntry, compile_plan
from timeseries.aggregates import MINUTE_NS, SeriesMeta, SeriesMinute, render
from timeseries.directory import TAG_TWIN, TwinInfo, measurement_of
from timeseries.lineprotocol import line_prefix
from timeseries.validation import Sample


class MinuteSet:
    """Minutes (start ns) as sorted, merged ``[start, stop)`` ranges: what one ingester has written.

    Live data makes one growing range, so the set stays tiny however long the process runs.
    """

    def __init__(self, ranges: Iterable[Iterable[int]] = ()) -> None:
        self._starts: list[int] = []
        self._stops: list[int] = []
        for start, stop in sorted((int(a), int(b)) for a, b in ranges):
            if self._stops and start <= self._stops[-1]:
                self._stops[-1] = max(self._stops[-1], stop)
            elif start < stop:
                self._starts.append(start)
                self._stops.append(stop)

    def __contains__(self, minute: int) -> bool:
        index = bisect.bisect_right(self._starts, minute) - 1
        return index >= 0 and minute < self._stops[index]

    def add(self, minute: int) -> None:
        if minute in self:
            return
        index = bisect.bisect_right(self._starts, minute)
        joins_left = index > 0 and self._stops[index - 1] == minute
        joins_right = index < len(self._starts) and self._starts[index] == minute + MINUTE_NS
        if joins_left and joins_right:
            self._stops[index - 1] = self._stops.pop(index)
            del self._starts[index]
        elif joins_left:
            self._stops[index - 1] = minute + MINUTE_NS
        elif joins_right:
            self._starts[index] = minute
        else:
            self._starts.insert(index, minute)
            self._stops.insert(index, minute + MINUTE_NS)

    def ranges(self) -> list[list[int]]:
        return [[a, b] for a, b in zip(self._starts, self._stops)]


@dataclass(eq=False)
class MinuteBucket:
    """Every series of one minute. ``complete``: no series of it was written before this bucket existed."""

    minute: int
    complete: bool
    series: dict[str, SeriesMinute] = field(default_factory=dict)
    touched: float = 0.0
    flushed_at: float = 0.0


class MinuteAggregator:
    """Open and retained minutes of one ingester; the I/O around it is the Downsampler's."""

    def __init__(self, ingester: str, *, written: MinuteSet | None = None, max_open: int = 100_000,
                 max_retained: int = 100_000) -> None:
        self.ingester = ingester
        self.written = written or MinuteSet()
        self.max_open = max_open
        self.max_retained = max_retained
        self.open: dict[int, MinuteBucket] = {}
        self.retained: dict[int, MinuteBucket] = {}  # in the order they were written
        self.open_series = 0
        self.retained_series = 0
        self.folded = 0
        self.resent = 0
        self._slots: dict[str, FieldSlots] = {}
        self._plans: dict[int, tuple[Interface, dict[str, PlanEntry], FieldSlots]] = {}
        self._metas: dict[str, SeriesMeta] = {}
        self._twins: dict[str, tuple[TwinInfo, str, dict[str, PlanEntry], FieldSlots]] = {}

    # ------------------------------------------------------------------ samples in

    def add(self, samples: Sequence[Sample], lines: Sequence[str], twins: Mapping[str, TwinInfo],
            now: float | None = None) -> None:
        """Fold acknowledged samples in (``lines[i]`` is the line of ``samples[i]``); the ingest's hot path."""
        now = time.monotonic() if now is None else now
        open_buckets = self.open
        known = self._twins
        folded = resent = 0
        for sample, line in zip(samples, lines):
            info = twins.get(sample.twin)
            cached = known.get(sample.twin)
            if cached is None or cached[0] is not info:
                if info is None:
                    continue
                cached = self._known(info)
            time_ns = sample.time_ns
            minute = time_ns - time_ns % MINUTE_NS
            bucket = open_buckets.get(minute) or self._bucket(minute)
            bucket.touched = now
            series = bucket.series.get(cached[1])
            if series is None:
                series = bucket.series[cached[1]] = SeriesMinute(self._meta(cached[1], info), cached[3],
                                                                 readback=not bucket.complete)
                self.open_series += 1
            if series.is_new(time_ns, line):
                series.fold(cached[2], sample.values, time_ns)
                folded += 1
            else:
                resent += 1
        self.folded += folded
        self.resent += resent

    def _known(self, info: TwinInfo) -> tuple[TwinInfo, str, dict[str, PlanEntry], FieldSlots]:
        """Per twin: its info, raw line prefix (the series key), plan and slots, so a message costs one lookup."""
        if len(self._twins) > 500_000:
            self._twins.clear()
        plan, slots = self._plan(info.interface, info.model)
        entry = self._twins[info.twin_id] = (info, info.line_prefix, plan, slots)
        return entry

    def _bucket(self, minute: int) -> MinuteBucket:
        """The open bucket of ``minute``: a retained one reopened, or a new one."""
        bucket = self.retained.pop(minute, None)
        if bucket is not None:
            self.retained_series -= len(bucket.series)
            self.open_series += len(bucket.series)
        else:
            bucket = MinuteBucket(minute, complete=minute not in self.written)
        self.open[minute] = bucket
        return bucket

    def _plan(self, interface: Interface, model: str) -> tuple[dict[str, PlanEntry], FieldSlots]:
        entry = self._plans.get(id(interface))
        if entry is not None and entry[0] is interface:
            return entry[1], entry[2]
        slots = self.slots_of(model)
        plan = compile_plan(interface, slots)
        if len(self._plans) > 512:
            self._plans.clear()
        self._plans[id(interface)] = (interface, plan, slots)
        return plan, slots

    def slots_of(self, model: str) -> FieldSlots:
        """The slots of a model DTMI (one numbering per model, shared by its interface objects)."""
        slots = self._slots.get(model)
        if slots is None:
            slots = self._slots[model] = FieldSlots()
        return slots

    def _meta(self, prefix: str, info: TwinInfo) -> SeriesMeta:
        meta = self._metas.get(prefix)
        if meta is None:
            if len(self._metas) > 500_000:
                self._metas.clear()
            meta = self._metas[prefix] = SeriesMeta.of(measurement_of(info.model), info.all_tags(), self.ingester)
        return meta

    def meta_for(self, measurement: str, tags: Mapping[str, str]) -> SeriesMeta:
        """The meta of a series known only by measurement and tags (a reloaded minute)."""
        return SeriesMeta.of(measurement, tags, self.ingester)

    # ------------------------------------------------------------------ minutes out

    def due(self, now_ns: int, now: float, grace_ns: int, idle_s: float) -> list[int]:
        """Open minutes to write now: closed and idle, plus the least recently touched past ``max_open``."""
        minutes = [m for m, b in self.open.items() if m + MINUTE_NS + grace_ns <= now_ns and now - b.touched >= idle_s]
        excess = self.open_series - sum(len(self.open[m].series) for m in minutes) - self.max_open
        if excess > 0:
            chosen = set(minutes)
            for bucket in sorted(self.open.values(), key=lambda b: b.touched):
                if excess <= 0:
                    break
                if bucket.minute not in chosen:
                    minutes.append(bucket.minute)
                    excess -= len(bucket.series)
        return minutes

    def readback_wanted(self, minutes: Iterable[int]) -> dict[str, dict[int, set[str]]]:
        """measurement -> minute -> twin ids whose stored partial must be merged before writing."""
        wanted: dict[str, dict[int, set[str]]] = {}
        for minute in minutes:
            for series in self.open[minute].series.values():
                if series.readback:
                    twins = wanted.setdefault(series.meta.measurement, {}).setdefault(minute, set())
                    twins.add(series.meta.tags.get(TAG_TWIN, ""))
        return wanted

    def merge_stored(self, minute: int, measurement: str, tags: Mapping[str, str],
                     fields: Mapping[str, list[Any]]) -> bool:
        """Merge a stored partial into the open series it belongs to; False if no series wanted it."""
        bucket = self.open.get(minute)
        if bucket is None:
            return False
        series = bucket.series.get(line_prefix(measurement, tags))
        if series is None or not series.readback:
            return False
        for key, stats in fields.items():
            series.merge(key, stats)
        return True

    def readback_done(self, wanted: Mapping[int, set[str]], measurement: str) -> None:
        """The stored partials of these twins of ``measurement`` are merged: do not read them again.

        Only the twins that were asked for: a series that appeared while the query ran still waits.
        """
        for minute, twins in wanted.items():
            bucket = self.open.get(minute)
            for series in bucket.series.values() if bucket is not None else ():
                if series.meta.measurement == measurement and series.meta.tags.get(TAG_TWIN, "") in twins:
                    series.readback = False

    def take(self, minutes: Iterable[int], now: float) -> tuple[list[MinuteBucket], list[str]]:
        """Render the changed series of ``minutes`` and move them to retained (before the write is awaited,
        so a sample arriving meanwhile reopens the minute and it is written again)."""
        buckets, lines = [], []
        for minute in minutes:
            bucket = self.open.pop(minute)
            self.open_series -= len(bucket.series)
            end = minute + MINUTE_NS
            for series in bucket.series.values():
                if series.dirty:
                    series.dirty = False
                    lines.extend(render(series, end))
            bucket.flushed_at = now
            self.written.add(minute)
            self.retained[minute] = bucket
            self.retained_series += len(bucket.series)
            buckets.append(bucket)
        return buckets, lines

    def untake(self, buckets: Iterable[MinuteBucket]) -> None:
        """A write failed: mark the buckets' series changed and open again, to be retried."""
        for bucket in buckets:
            for series in bucket.series.values():
                series.dirty = True
            if self.retained.pop(bucket.minute, None) is not None:
                self.retained_series -= len(bucket.series)
                self.open_series += len(bucket.series)
                self.open[bucket.minute] = bucket

    def evict(self, now: float, retain_s: float) -> None:
        """Forget retained minutes written more than ``retain_s`` ago, or past ``max_retained``."""
        while self.retained:
            minute, bucket = next(iter(self.retained.items()))
            if now - bucket.flushed_at < retain_s and self.retained_series <= self.max_retained:
                break
            del self.retained[minute]
            self.retained_series -= len(bucket.series)

    # ------------------------------------------------------------------ persistence

    def to_state(self, *, with_minutes: bool) -> dict[str, Any]:
        """What a restart needs: the written minutes, and (at shutdown) the minutes held in memory.

        Re-send detection (``times``/``crcs``) is not kept: a message re-sent across a restart is
        counted again.
        """
        state: dict[str, Any] = {"ingester": self.ingester, "written": self.written.ranges()}
        if with_minutes:
            state["minutes"] = [_bucket_state(b, "open") for b in self.open.values()] + [
                _bucket_state(b, "retained") for b in self.retained.values()]
        return state

    def restore(self, minutes: Iterable[Mapping[str, Any]], now: float) -> None:
        """Reload the minutes of :meth:`to_state` (retained ones count as just written)."""
        for saved in minutes:
            bucket = MinuteBucket(int(saved["minute"]), bool(saved["complete"]), touched=now, flushed_at=now)
            for entry in saved["series"]:
                measurement, tags = entry["measurement"], entry["tags"]
                series = SeriesMinute(self.meta_for(measurement, tags), self.slots_of(tags.get("model", "")),
                                      readback=bool(entry.get("readback")))
                for key, stats in entry["fields"].items():
                    series.merge(key, [math.inf if v is None else v for v in stats])
                series.dirty = saved["state"] == "open"
                bucket.series[line_prefix(measurement, tags)] = series
            if saved["state"] == "open":
                self.open[bucket.minute] = bucket
                self.open_series += len(bucket.series)
            else:
                self.retained[bucket.minute] = bucket
                self.retained_series += len(bucket.series)


def _bucket_state(bucket: MinuteBucket, state: str) -> dict[str, Any]:
    return {"minute": bucket.minute, "complete": bucket.complete, "state": state, "series": [
        {"measurement": s.meta.measurement, "tags": dict(s.meta.tags), "readback": s.readback,
         "fields": {key: [_storable(v) for v in stats] for key, stats in s.stats().items()}}
        for s in bucket.series.values()]}


def _storable(value: Any) -> Any:
    """JSON keeps 64-bit integers only: a larger sum of integers is kept as a float."""
    return float(value) if type(value) is int and not -(1 << 63) <= value < (1 << 63) else value
