"""Alerts from predictions: which predicted value is worth an operator's attention, and how urgent it is.

One table, :data:`RULES`: a field of the MLEngine's predictions, the value at which it becomes a
warning and a critical alert, and why those limits.  Probabilities alert at 0.5 (more likely than
not) and 0.9; the frequency forecast at 100 and 200 mHz from nominal (ENTSO-E's maximum
steady-state deviation of the synchronous area is 200 mHz).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ml.inference.outputs import OUTPUTS, PointPrediction


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
    #: The quantity compared with the limits (the value itself, or its distance from nominal).
    measure: Callable[[float, float], float] = lambda value, nominal_hz: value


RULES: tuple[Rule, ...] = (
    Rule("monitoring", "voltageAnomaly", 0.5, 0.9, "voltage anomaly probability {value:.2f}"),
    Rule("monitoring", "frequencyForecast", 0.1, 0.2, "frequency forecast {value:.3f} Hz in 60 s",
         lambda value, nominal_hz: abs(value - nominal_hz)),
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


def alerts_of(prediction: PointPrediction, nominal_hz: float = 50.0) -> Iterator[Alert]:
    """The alerts a prediction raises (none below every rule's warning limit)."""
    for rule in RULES:
        module = prediction.modules.get(rule.module)
        value = module.values.get(rule.field) if module is not None else None
        if value is None:
            continue
        measured = rule.measure(value, nominal_hz)
        severity = Severity.CRITICAL if measured >= rule.critical else (
            Severity.WARNING if measured >= rule.warning else None)
        if severity is None:
            continue
        model = next(o.model for o in OUTPUTS if o.module == rule.module and o.field == rule.field)
        yield Alert(prediction.twin_id, prediction.time_ns, rule.module, rule.field, value, severity,
                    f"{prediction.twin_id}: {rule.describe.format(value=value)}", module.versions.get(model))
