"""Inference for a batch of measurement points: features once, point models, grid models, one answer per point.

The caller gives the points' windows (from the live ring buffers or read back from InfluxDB) and
a way to get a grid's history; the engine computes the feature path once for the batch, runs the
point models on it and merges each point's grid answers (computed once per grid and quarter-hour
and kept until the next one).  Fields no model answers are named with their reason; nothing is
filled in.  Thread-safe: the API runs it off the event loop.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np

from ml.catalogue import MODELS
from ml.features.compute import Windows, point_features
from ml.inference import point
from ml.inference.grid import GRID_MODELS, GridAnswers, GridHistory, grid_answers
from ml.inference.outputs import OUTPUTS, BatchPrediction, PointInput
from ml.serving import ModelCache

#: Models a point's fields come from that the point models and grid models above do not serve.
SERVED_ELSEWHERE = {
    "energy_flow.power_flow_optimisation": "a grid's tap schedule (gridtwin ml evaluate), not a per-point value yet",
    "decision.reactive_power": "a grid's inverter power factors per step, not a per-point value yet",
    "decision.dispatch": "a grid's day schedule (an LP), not a per-point value yet",
    "decision.phase_balancing": "a grid's reconnection moves (gridtwin ml evaluate), not a per-point value yet",
    "monitoring.phase_imbalance": "a grid's worst-bus unbalance from its substation's phase currents and every "
                                  "point's unbalance (gridtwin ml evaluate); the live path does not gather a grid's "
                                  "points into one window yet",
    "maintenance.voltage_sag_prediction": "a grid's fault-position study, sag days per bus and year (gridtwin ml "
                                          "evaluate), not served per point yet",
    "energy_flow.demand_response_clusters": "a load-shape cluster per load (gridtwin ml evaluate), not a kW per "
                                            "point yet",
}
GRID_MODULES = ("maintenance", "energy", "decision")
BUILT = frozenset(model.name for model in MODELS if model.built)


@dataclass
class EngineStats:
    inferences: int = 0
    total_ms: float = 0.0

    @property
    def average_ms(self) -> float:
        return self.total_ms / self.inferences if self.inferences else 0.0


class InferenceEngine:
    def __init__(self, cache: ModelCache, history_of: Callable[[str, datetime], GridHistory]) -> None:
        self.cache = cache
        self._history_of = history_of
        self._answers: dict[str, tuple[int, GridAnswers | str]] = {}
        self._lock = threading.Lock()
        self.stats = EngineStats()

    def infer(self, points: Sequence[PointInput], samples: np.ndarray, end_s: int,
              modules: tuple[str, ...]) -> BatchPrediction:
        """The predictions of ``points`` whose windows (``(n, 61, signals)``) end at second ``end_s``."""
        started = time.perf_counter()
        batch = BatchPrediction([p.twin_id for p in points], end_s * 1_000_000_000, modules)
        if "monitoring" in modules and points:
            windows = Windows(samples, np.array([p.nominal_v for p in points], dtype=float),
                              np.array([p.nominal_hz for p in points], dtype=float), np.full(len(points), end_s))
            point.infer(self.cache, windows, point_features(windows), [p.grid_id or p.twin_id for p in points], batch)
        if any(m in modules for m in GRID_MODULES):
            now = datetime.fromtimestamp(end_s, tz=timezone.utc)
            grids = np.array([p.grid_id or "" for p in points], dtype=object)
            for grid_id in set(grids.tolist()):
                self._merge_grid(grid_id, now, batch, np.flatnonzero(grids == grid_id))
        _name_the_rest(batch)
        with self._lock:
            self.stats.inferences += len(points)
            self.stats.total_ms += (time.perf_counter() - started) * 1000.0
        return batch

    def forget(self) -> None:
        """Drop the grid answers (after a reload of the models or a change of a grid)."""
        with self._lock:
            self._answers.clear()

    def _merge_grid(self, grid_id: str, now: datetime, batch: BatchPrediction, rows: np.ndarray) -> None:
        answers = self._grid(grid_id, now) if grid_id else "the point is not connectedTo a bus of a stored grid"
        if isinstance(answers, GridAnswers):
            answers.merge_into(batch, rows)
            return
        for output in OUTPUTS:
            if output.model in GRID_MODELS and batch.asked(output) and output.model in BUILT:
                batch.missing(output, answers, rows)

    def _grid(self, grid_id: str, now: datetime) -> GridAnswers | str:
        """The grid's answers for ``now``'s quarter-hour, computed once per slot (a failure is kept as its reason)."""
        slot = int(now.timestamp()) // 900
        with self._lock:
            cached = self._answers.get(grid_id)
        if cached is not None and cached[0] == slot:
            return cached[1]
        try:
            found: GridAnswers | str = grid_answers(self.cache, self._history_of(grid_id, now))
        except (ValueError, KeyError, LookupError) as error:  # the grid cannot be read or solved: say why, per field
            found = f"grid {grid_id!r}: {error}"
        with self._lock:
            if len(self._answers) > 1024:
                self._answers.clear()
            self._answers[grid_id] = (slot, found)
        return found


def _name_the_rest(batch: BatchPrediction) -> None:
    """Every asked field that no model filled anywhere gets its reason, once for the batch."""
    for output in OUTPUTS:
        if not batch.asked(output) or output.model in batch.values or output.model in batch.reasons:
            continue
        if output.model in batch.point_reasons:
            continue
        batch.missing(output, "not built yet (docs/ml.md)" if output.model not in BUILT else
                      SERVED_ELSEWHERE.get(output.model, "not answered for this point"))
