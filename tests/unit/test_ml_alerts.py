"""Alerts from predictions: limits as documented, severities ordered, nothing from empty fields."""

from __future__ import annotations

from ml.inference.alerts import Severity, alerts_of
from ml.inference.outputs import ModulePrediction, PointPrediction


def _prediction(**values: float) -> PointPrediction:
    monitoring = ModulePrediction("monitoring", {k: v for k, v in values.items() if k in ("voltageAnomaly",
                                                                                        "frequencyForecast")},
                                  {"monitoring.voltage_anomaly": 3})
    maintenance = ModulePrediction("maintenance", {k: v for k, v in values.items() if k == "overloadRisk"})
    return PointPrediction("mp", 1, {"monitoring": monitoring, "maintenance": maintenance})


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
