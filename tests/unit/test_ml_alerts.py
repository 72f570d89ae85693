"""Alerts from predictions: limits as documented, severities ordered, nothing from empty fields."""

from __future__ import annotations

import numpy as np

from ml.inference.alerts import Severity, alerts_of
from ml.inference.outputs import OUTPUTS, BatchPrediction


def _prediction(**values: float) -> BatchPrediction:
    batch = BatchPrediction(["mp"], 1, ("monitoring", "maintenance"))
    for output in OUTPUTS:
        if output.field in values:
            batch.put(output, slice(None), np.array([values[output.field]]), 3)
    return batch


def test_probabilities_alert_at_half_and_are_critical_at_nine_tenths() -> None:
    assert list(alerts_of(_prediction(voltageAnomaly=0.49))) == []
    warning, = alerts_of(_prediction(voltageAnomaly=0.6))
    assert warning.severity is Severity.WARNING and warning.model_version == 3 and "0.60" in warning.message
    critical, = alerts_of(_prediction(overloadRisk=0.95))
    assert critical.severity is Severity.CRITICAL and critical.field == "overloadRisk"


def test_the_frequency_forecast_alerts_on_its_distance_from_nominal() -> None:
    assert list(alerts_of(_prediction(frequencyForecast=49.95))) == []
    low, = alerts_of(_prediction(frequencyForecast=49.85))
    high, = alerts_of(_prediction(frequencyForecast=60.25), nominal_hz=60.0)
    assert low.severity is Severity.WARNING and high.severity is Severity.CRITICAL
