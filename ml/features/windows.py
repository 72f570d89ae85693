"""Windows of one-second samples: filled live, one sample at a time, or cut from a stored history.

:class:`LiveWindows` keeps the last minute of every watched point in a ring of
``WINDOW_SAMPLES x SIGNALS`` floats (about 10 kB a point), updated by each accepted sample in
O(signals); :func:`windows_from_history` cuts the same windows from a history (InfluxDB rows or a
simulated array).  Both give ``(n, WINDOW_SAMPLES, SIGNALS)`` arrays for
:func:`ml.features.compute.point_features`, so the live and the batch path compute the same
numbers from the same samples (``tests/unit/test_ml_features.py`` checks it value for value).

Samples are placed by whole seconds (a sample at 12:00:00.7 is the 12:00:00 slot; the latest
sample of a slot wins), as the 1 Hz stream and its stored history are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from ml.features.compute import WINDOW_SAMPLES
from ml.features.signals import SIGNALS, flattened

_NS = 1_000_000_000


class _Ring:
    """The last ``WINDOW_SAMPLES`` seconds of one point, newest row last."""

    __slots__ = ("rows", "newest_s")

    def __init__(self) -> None:
        self.rows = np.full((WINDOW_SAMPLES, len(SIGNALS)), np.nan)
        self.newest_s: int | None = None

    def put(self, second: int, values: Mapping[str, Any]) -> None:
        if self.newest_s is None:
            self.newest_s = second
        elif second > self.newest_s:
            self._advance(second - self.newest_s)
            self.newest_s = second
        row = WINDOW_SAMPLES - 1 - (self.newest_s - second)
        if row < 0:
            return  # older than the window: nothing of it is read any more
        for column, value in flattened(values):
            self.rows[row, column] = value

    def _advance(self, seconds: int) -> None:
        if seconds >= WINDOW_SAMPLES:
            self.rows.fill(np.nan)
            return
        self.rows[:-seconds] = self.rows[seconds:]
        self.rows[-seconds:] = np.nan

    def ending_at(self, end_s: int) -> np.ndarray:
        """The window whose newest slot is ``end_s`` (seconds not yet or no longer held are NaN)."""
        if self.newest_s is None:
            return np.full((WINDOW_SAMPLES, len(SIGNALS)), np.nan)
        shift = end_s - self.newest_s
        if shift == 0:
            return self.rows.copy()
        out = np.full((WINDOW_SAMPLES, len(SIGNALS)), np.nan)
        if 0 < shift < WINDOW_SAMPLES:
            out[:-shift] = self.rows[shift:]
        elif -WINDOW_SAMPLES < shift < 0:
            out[-shift:] = self.rows[:shift]
        return out


class LiveWindows:
    """The last minute of every point it is told about, from the samples the ingest accepted."""

    def __init__(self, max_points: int = 100_000) -> None:
        self._rings: dict[str, _Ring] = {}
        self._max_points = max_points

    def __contains__(self, twin_id: object) -> bool:
        return twin_id in self._rings

    def __len__(self) -> int:
        return len(self._rings)

    def push(self, twin_id: str, time_ns: int, values: Mapping[str, Any]) -> None:
        """Fold one sample in (a few microseconds); a point beyond ``max_points`` new ones is not kept."""
        ring = self._rings.get(twin_id)
        if ring is None:
            if len(self._rings) >= self._max_points:
                return
            ring = self._rings[twin_id] = _Ring()
        ring.put(time_ns // _NS, values)

    def forget(self, twin_ids: Iterable[str]) -> None:
        for twin_id in twin_ids:
            self._rings.pop(twin_id, None)

    def newest_s(self, twin_id: str) -> int | None:
        ring = self._rings.get(twin_id)
        return ring.newest_s if ring else None

    def windows(self, twin_ids: Sequence[str], end_s: int) -> np.ndarray:
        """``(len(twin_ids), WINDOW_SAMPLES, SIGNALS)`` ending at ``end_s``; unknown points are all NaN."""
        empty = _Ring()
        return np.stack([self._rings.get(twin_id, empty).ending_at(end_s) for twin_id in twin_ids]) \
            if twin_ids else np.empty((0, WINDOW_SAMPLES, len(SIGNALS)))


def history_rows(times_ns: Sequence[int], values: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """A point's samples as ``(seconds (T,), rows (T, SIGNALS))`` on a regular one-second grid."""
    if not len(times_ns):
        return np.empty(0, dtype=np.int64), np.empty((0, len(SIGNALS)))
    seconds = np.asarray(times_ns, dtype=np.int64) // _NS
    first = int(seconds.min())
    grid = np.arange(first, int(seconds.max()) + 1, dtype=np.int64)
    rows = np.full((len(grid), len(SIGNALS)), np.nan)
    for second, sample in zip(seconds, values):
        for column, value in flattened(sample):
            rows[second - first, column] = value
    return grid, rows


def windows_from_history(seconds: np.ndarray, rows: np.ndarray, ends_s: Sequence[int]) -> np.ndarray:
    """``(len(ends_s), WINDOW_SAMPLES, SIGNALS)``: the windows of a regular history ending at each second.

    Seconds outside the history are NaN, as a ring shows seconds it never received.
    """
    ends = np.asarray(ends_s, dtype=np.int64)
    out = np.full((len(ends), WINDOW_SAMPLES, rows.shape[1]), np.nan)
    if not len(seconds) or not len(ends):
        return out
    first = int(seconds[0])
    after = max(0, int(ends.max()) - (first + len(rows) - 1))
    padded = np.concatenate([np.full((WINDOW_SAMPLES - 1, rows.shape[1]), np.nan), rows,
                             np.full((after, rows.shape[1]), np.nan)])
    view = np.lib.stride_tricks.sliding_window_view(padded, WINDOW_SAMPLES, axis=0)  # (T, SIGNALS, W), no copy
    index = ends - first
    inside = (index >= 0) & (index < len(view))
    out[inside] = view[index[inside]].transpose(0, 2, 1)
    return out
