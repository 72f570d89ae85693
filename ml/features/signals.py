"""The measurement-point telemetry the feature path reads, flattened as the ingest stores it.

A point reports Objects (``voltage`` with ``phaseA..C`` and ``average``, ...); the feature path
works on one column per field, in the order of :data:`SIGNALS`, so a window is a plain
``(seconds, signals)`` array and a batch of windows ``(n, seconds, signals)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

PHASES = ("phaseA", "phaseB", "phaseC")
SIGNALS: tuple[str, ...] = (
    *(f"voltage.{p}" for p in PHASES), "voltage.average",
    *(f"current.{p}" for p in PHASES), "current.average",
    *(f"activePower.{p}" for p in PHASES), "activePower.total",
    *(f"reactivePower.{p}" for p in PHASES), "reactivePower.total",
    "frequency.value", "frequency.deviation",
    "powerQuality.imbalance", "powerQuality.thd", "powerQuality.powerFactor", "powerQuality.qualityScore",
)
COLUMN: Mapping[str, int] = {name: index for index, name in enumerate(SIGNALS)}
#: The point telemetry names the feature path needs (what a history query reads).
TELEMETRY: tuple[str, ...] = tuple(dict.fromkeys(name.split(".", 1)[0] for name in SIGNALS))


def flattened(values: Mapping[str, Any]) -> Iterator[tuple[int, float]]:
    """``(column, value)`` of a message's numeric fields that the feature path reads."""
    for name, value in values.items():
        if isinstance(value, dict):
            for field, item in value.items():
                column = COLUMN.get(f"{name}.{field}")
                if column is not None and isinstance(item, (int, float)) and not isinstance(item, bool):
                    yield column, float(item)
        else:
            column = COLUMN.get(name)
            if column is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
                yield column, float(value)
