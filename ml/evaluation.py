"""Rows of the evaluation table: one per model and data set, the model's metric beside its baseline's.

A row says plainly whether the model beat its baseline; a catalogue model that is not built
gets a row that says so instead of a number.  The same rows print in the CLI and are what
docs/ml.md records.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ml.catalogue import MODELS


@dataclass(frozen=True)
class Row:
    model: str
    data: str
    metric: str
    value: float | None
    baseline: str
    baseline_value: float | None
    lower_is_better: bool = True
    latency: str = ""
    note: str = ""

    @property
    def beats_baseline(self) -> bool | None:
        if self.value is None or self.baseline_value is None:
            return None
        return self.value < self.baseline_value if self.lower_is_better else self.value > self.baseline_value

    def cells(self) -> list[str]:
        verdict = {True: "yes", False: "**no**", None: "—"}[self.beats_baseline]
        return [self.model, self.data, self.metric, _number(self.value), self.baseline, _number(self.baseline_value),
                verdict, self.latency, self.note]


HEADER = ["model", "data (held out)", "metric", "model", "baseline", "baseline value", "beats it", "latency", "note"]


def _number(value: float | None) -> str:
    if value is None:
        return "not built"
    return f"{value:.4g}"


def not_built_rows() -> list[Row]:
    """One row per catalogue model that has no implementation yet."""
    return [Row(m.name, "—", m.metric, None, m.baseline, None, note=f"planned: {m.task}")
            for m in MODELS if not m.built]


def markdown(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)


def percentile_ms(call: Callable[[], object], repeats: int, percentile: float = 95.0) -> float:
    """The ``percentile`` of ``repeats`` timed calls, in milliseconds (after one warm-up call)."""
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return float(np.percentile(times, percentile) * 1000.0)
