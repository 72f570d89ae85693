"""Datasets from stored simulation runs: the points' telemetry from InfluxDB, labels from the run's ground truth.

What ``gridtwin ml dataset RUN_ID`` writes.  A run (``graph.simulations``) recorded its events in
Neo4j and streamed its measurement points' telemetry through the ingest into InfluxDB; this reads
both back: the points' samples over the run's period go through the same feature path as the live
engine (``history_rows`` -> ``windows_from_history`` -> ``point_features``), one row per point and
second (or ``stride_s``), and each row is labelled from the recorded events the way the simulator's
own training runs are (``ml.monitoring.voltage_anomaly``): a sag concerns every bus, an outage or a
trip the buses it de-energised.  So a model can be trained and checked on what the twin actually
stored, and the features of a stored run are, by construction, the ones the live stream computes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

from ml.features.compute import FEATURES, Windows, point_features
from ml.features.windows import history_rows, windows_from_history

#: Event labels that disturb the voltage of the buses they concern (a sag: every bus).
DISTURBING = frozenset({"voltageSag", "deenergised"})
#: Rows per feature computation (bounds the memory of one (rows, 61, 22) window array to ~100 MB).
_CHUNK = 10_000


@dataclass
class PointDataset:
    """Rows of (point, second): the 78 features, the labels, where they come from."""

    run_id: str
    grid_id: str
    twin_ids: np.ndarray                 # (rows,) the point of each row
    times_s: np.ndarray                  # (rows,) epoch second each row's window ends at
    x: np.ndarray                        # (rows, len(FEATURES))
    labels: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (rows,) bool
    features: tuple[str, ...] = FEATURES

    def save(self, path: Path) -> None:
        """An .npz of plain arrays (no pickles): x, times_s, twin_ids, one ``label_<name>`` each, and the names."""
        np.savez_compressed(path, x=self.x, times_s=self.times_s, twin_ids=self.twin_ids.astype(str),
                            features=np.array(self.features), run=np.array([self.run_id, self.grid_id]),
                            **{f"label_{name}": values for name, values in self.labels.items()})


def voltage_disturbed(events: Sequence[Any], bus_of_point: Mapping[str, str], twin_ids: np.ndarray,
                      times_s: np.ndarray) -> np.ndarray:
    """Per row: does a recorded event disturb the voltage at the row's point at the row's second?"""
    disturbed = np.zeros(len(twin_ids), dtype=bool)
    buses = np.array([bus_of_point.get(str(t), "") for t in twin_ids], dtype=object)
    for event in events:
        if event.label not in DISTURBING:
            continue
        start, end = event.start_time.timestamp(), event.end_time.timestamp()
        during = (times_s >= start) & (times_s < end)
        if event.label == "voltageSag":
            disturbed |= during
        else:
            disturbed |= during & np.isin(buses, list(event.twin_ids))
    return disturbed


def features_of(samples: Mapping[str, Sequence[tuple[int, Mapping[str, Any]]]], ends_s: np.ndarray,
                nominal_v: Mapping[str, float], nominal_hz: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(twin ids, ends, features) of every point with samples, one row per end second."""
    ids, ends, rows = [], [], []
    for twin_id, point_samples in sorted(samples.items()):
        seconds, values = history_rows([t for t, _ in point_samples], [v for _, v in point_samples])
        for first in range(0, len(ends_s), _CHUNK):
            chunk = ends_s[first:first + _CHUNK]
            windows = Windows(windows_from_history(seconds, values, chunk),
                              np.full(len(chunk), nominal_v.get(twin_id, 230.0)),
                              np.full(len(chunk), nominal_hz.get(twin_id, 50.0)), chunk)
            rows.append(point_features(windows))
            ids += [twin_id] * len(chunk)
            ends.append(chunk)
    if not rows:
        return np.array([], dtype=object), np.array([], dtype=np.int64), np.empty((0, len(FEATURES)))
    return np.array(ids, dtype=object), np.concatenate(ends), np.vstack(rows)


async def run_dataset(driver: Any, models: Any, queries: Any, run_id: str, stride_s: int = 1) -> PointDataset:
    """The dataset of a stored run (``queries``: a ``timeseries.queries.TelemetryQueries``)."""
    import asyncio

    from graph.simulations import get_run, run_events
    from loaders.simulation.run import attached_points
    from ml.inference.points import point_inputs

    run = await asyncio.to_thread(get_run, driver, run_id)
    events = await asyncio.to_thread(run_events, driver, run_id)
    points = await asyncio.to_thread(attached_points, driver, run.grid_id)
    bus_of_point = {p.point_id: p.bus_id for p in points}
    start = run.start
    stop = start + timedelta(seconds=run.steps * run.step_seconds)
    samples = await queries.samples_in(list(bus_of_point), start, stop)
    inputs = await asyncio.to_thread(point_inputs, driver, models, list(bus_of_point))
    nominal_v = {i.twin_id: i.nominal_v for i in inputs}
    nominal_hz = {i.twin_id: i.nominal_hz for i in inputs}
    first = int(start.timestamp())
    ends = np.arange(first, int(stop.timestamp()), max(1, int(stride_s)), dtype=np.int64)
    twin_ids, times_s, x = await asyncio.to_thread(features_of, samples, ends, nominal_v, nominal_hz)
    labels = {"voltage_anomaly": voltage_disturbed(events, bus_of_point, twin_ids, times_s)}
    return PointDataset(run_id, run.grid_id, twin_ids, times_s, x, labels)


def describe(dataset: PointDataset) -> dict[str, Any]:
    """What the CLI prints about a dataset."""
    return {"run": dataset.run_id, "grid": dataset.grid_id, "rows": int(len(dataset.x)),
            "points": int(len(set(dataset.twin_ids.tolist()))), "features": len(dataset.features),
            "labels": {name: int(values.sum()) for name, values in dataset.labels.items()}}


def as_json(dataset: PointDataset) -> str:
    return json.dumps(describe(dataset))
