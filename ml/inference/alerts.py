"""Alerts from predictions: which predicted value is worth an operator's attention, and how urgent it is.

One table, :data:`RULES`: a field of the MLEngine's predictions, the value at which it becomes a
warning and a critical alert, and why those limits.  Probabilities alert at 0.5 (more likely than
not) and 0.9; the frequency forecast at 100 and 200 mHz from nominal (ENTSO-E's maximum
steady-state deviation of the synchronous area is 200 mHz).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ml.inference.outputs import OUTPUTS, BatchPrediction


class Severity(enum.IntEnum):
    INFO = 0
    WARNING = 1
    CRITICAL = 2


@dataclass(frozen=True)
class Rule:
    module: str
    field: str
    warning: float
    critical: float
    describe: str
    #: The quantity compared with the limits (the value itself, or its distance from nominal), per array.
    measure: Callable[[np.ndarray, np.ndarray], np.ndarray] = lambda value, nominal_hz: value


RULES: tuple[Rule, ...] = (
    Rule("monitoring", "voltageAnomaly", 0.5, 0.9, "voltage anomaly probability {value:.2f}"),
    Rule("monitoring", "frequencyForecast", 0.1, 0.2, "frequency forecast {value:.3f} Hz in 60 s",
         lambda value, nominal_hz: np.abs(value - nominal_hz)),
    Rule("maintenance", "overloadRisk", 0.5, 0.9, "overload within 4 h on the supply path, probability {value:.2f}"),
    Rule("maintenance", "equipmentFailureRisk", 0.5, 0.9,
         "supplying transformer's hot spot above 120 °C within a day, probability {value:.2f}"),
)


@dataclass(frozen=True)
class Alert:
    twin_id: str
    time_ns: int
    module: str
    field: str
    value: float
    severity: Severity
    message: str
    model_version: int | None


def alerts_of(batch: BatchPrediction, nominal_hz: np.ndarray | float = 50.0) -> list[Alert]:
    """The alerts a batch of predictions raises (none below every rule's warning limit)."""
    raised = []
    for rule in RULES:
        output = next(o for o in OUTPUTS if o.module == rule.module and o.field == rule.field)
        values = batch.values.get(output.model)
        if values is None or not batch.asked(output):
            continue
        with np.errstate(invalid="ignore"):
            measured = np.nan_to_num(rule.measure(values, np.asarray(nominal_hz, dtype=float)), nan=-np.inf)
        for row in np.flatnonzero(measured >= rule.warning):
            severity = Severity.CRITICAL if measured[row] >= rule.critical else Severity.WARNING
            value = float(values[row])
            twin_id = batch.twin_ids[row]
            raised.append(Alert(twin_id, batch.time_ns, rule.module, rule.field, value, severity,
                                f"{twin_id}: {rule.describe.format(value=value)}", batch.versions.get(output.model)))
    return raised
