"""Which model fills which field of the MLEngine's predictions, and what a point's prediction holds.

The MLEngine component (``dtdl/models/MLEngine.json``) declares one Object telemetry per module
(``monitoringPredictions`` ...) with four fields, one per catalogue model: :data:`OUTPUTS` is that
mapping, the only place it is written.  A field whose model is not built, not trained or cannot be
answered for this point is left out of the telemetry (never filled with a made-up number) and
named with its reason in :attr:`ModulePrediction.unavailable`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: The MLEngine's module names (its ``runInference`` command's enum) and the catalogue's.
MODULES = {"monitoring": "monitoring", "maintenance": "maintenance", "energy": "energy_flow", "decision": "decision"}
TELEMETRY = {module: f"{module}Predictions" for module in MODULES}


@dataclass(frozen=True)
class Output:
    module: str       # MLEngine module
    field: str        # field of its predictions Object
    model: str        # catalogue name
    meaning: str


OUTPUTS: tuple[Output, ...] = (
    Output("monitoring", "voltageAnomaly", "monitoring.voltage_anomaly",
           "probability that the point's voltage is disturbed now (sag, outage), 0-1"),
    Output("monitoring", "harmonicAnalysis", "monitoring.power_quality_disturbance",
           "probability that the grid is in a harmonic disturbance now, from the point's THD and its peers', 0-1"),
    Output("monitoring", "frequencyForecast", "monitoring.frequency_forecast", "system frequency 60 s ahead, Hz"),
    Output("monitoring", "phaseImbalance", "monitoring.phase_imbalance", "phase-imbalance severity, 0-1"),
    Output("maintenance", "equipmentFailureRisk", "maintenance.equipment_failure_risk",
           "probability that the transformer supplying the point passes a 120 °C hot spot within a day, 0-1"),
    Output("maintenance", "overloadRisk", "maintenance.overload_risk",
           "highest probability of a line or transformer on the point's supply path loaded above 100 % "
           "within 4 h, 0-1"),
    Output("maintenance", "powerQualityIndex", "maintenance.power_quality_index",
           "100 × probability that the point's bus stays inside the ±5 % voltage band for the next 4 h, 0-100"),
    Output("maintenance", "voltageSag", "maintenance.voltage_sag_prediction", "probability of a sag, 0-1"),
    Output("energy", "loadForecast", "energy_flow.load_forecast",
           "demand of the loads at the point's bus in the next quarter-hour, kW (day-ahead model)"),
    Output("energy", "energyLoss", "energy_flow.technical_losses",
           "technical losses of the point's grid now, kW, from its substation's P, Q and U"),
    Output("energy", "powerFlowOptimization", "energy_flow.power_flow_optimisation", "optimisation gain, 0-1"),
    Output("energy", "demandResponse", "energy_flow.demand_response_clusters", "demand-response potential, kW"),
    Output("decision", "reactivePowerCompensation", "decision.reactive_power", "recommended compensation, kvar"),
    Output("decision", "loadBalancing", "decision.phase_balancing", "load-balancing score, 0-1"),
    Output("decision", "gridStability", "decision.grid_stability",
           "loading margin of the point's grid as 1 − 1/λ*, λ* the factor its demand can grow by before a bus "
           "falls below 0.9 pu (0 at the limit now), 0-1; for grids the margin estimator was trained on"),
    Output("decision", "optimalDispatch", "decision.dispatch", "recommended dispatch set-point, kW"),
)
OUTPUT_OF_MODEL = {output.model: output for output in OUTPUTS}


@dataclass(frozen=True)
class PointInput:
    """A point to infer: the grid it measures in (None when not attached) and its nominal values."""

    twin_id: str
    grid_id: str | None
    nominal_v: float = 230.0
    nominal_hz: float = 50.0


class NotAPoint(ValueError):
    """A twin asked for inference is unknown or not a measurement point (it has no MLEngine)."""

    def __init__(self, twin_id: str, why: str) -> None:
        super().__init__(f"{twin_id!r} {why}")
        self.twin_id = twin_id


@dataclass(slots=True)
class ModulePrediction:
    """One module's answer at one point: field values, the model versions used, and what is missing why."""

    module: str
    values: dict[str, float] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class PointPrediction:
    """Every requested module's answer at one point and instant."""

    twin_id: str
    time_ns: int
    modules: dict[str, ModulePrediction]


@dataclass
class BatchPrediction:
    """The answers of a batch of points at one instant, one array per field (NaN: not answered).

    Columnar because a batch holds up to 10,000 points and most of what is said about them is said
    once (which model version answered; why a field is empty for all of them); a point's own reason
    (no recent sample) is kept per row.  :meth:`point` and :meth:`messages` give per-point views.
    """

    twin_ids: list[str]
    time_ns: int
    modules: tuple[str, ...]
    values: dict[str, np.ndarray] = field(default_factory=dict)         # model -> (n,)
    versions: dict[str, int] = field(default_factory=dict)              # model -> version that answered
    reasons: dict[str, str] = field(default_factory=dict)               # model -> why its empty rows are empty
    point_reasons: dict[str, dict[int, str]] = field(default_factory=dict)  # model -> row -> reason

    def column(self, output: Output) -> np.ndarray:
        found = self.values.get(output.model)
        if found is None:
            found = self.values[output.model] = np.full(len(self.twin_ids), np.nan)
        return found

    def put(self, output: Output, rows: Any, values: np.ndarray, version: int) -> None:
        """Values of ``output`` at ``rows`` (an index array or a slice), from model ``version``."""
        self.column(output)[rows] = values
        self.versions[output.model] = version

    def missing(self, output: Output, reason: str, rows: Any = None) -> None:
        """Why ``output`` is empty: at ``rows`` only (a point's own reason), or wherever it is (None)."""
        if rows is None:
            self.reasons.setdefault(output.model, reason)
            return
        per_row = self.point_reasons.setdefault(output.model, {})
        for row in np.atleast_1d(np.arange(len(self.twin_ids))[rows]):
            per_row.setdefault(int(row), reason)

    def asked(self, output: Output) -> bool:
        return output.module in self.modules

    def point(self, row: int) -> PointPrediction:
        modules = {name: ModulePrediction(name) for name in self.modules}
        for output in OUTPUTS:
            module = modules.get(output.module)
            if module is None:
                continue
            values = self.values.get(output.model)
            if values is not None and np.isfinite(values[row]):
                module.values[output.field] = float(values[row])
                module.versions[output.model] = self.versions[output.model]
                continue
            reason = self.point_reasons.get(output.model, {}).get(row) or self.reasons.get(output.model)
            module.unavailable[output.model] = reason or "not answered for this point"
        return PointPrediction(self.twin_ids[row], self.time_ns, modules)

    def points(self) -> list[PointPrediction]:
        return [self.point(row) for row in range(len(self.twin_ids))]

    def messages(self) -> list[dict[str, Any]]:
        """The MLEngine component telemetry messages of the batch (a point with no value has none)."""
        columns = [(TELEMETRY[o.module], o.field, self.values[o.model]) for o in OUTPUTS if o.model in self.values]
        found = []
        for row, twin_id in enumerate(self.twin_ids):
            values: dict[str, dict[str, float]] = {}
            for telemetry, name, column in columns:
                value = column[row]
                if value == value:  # not NaN
                    values.setdefault(telemetry, {})[name] = float(value)
            if values:
                found.append({"twin": twin_id, "component": "mlEngine", "time": self.time_ns, "values": values})
        return found


def checked_modules(modules: tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    """The modules asked for, in the MLEngine's order (all when None); ValueError names an unknown one."""
    if modules is None:
        return tuple(MODULES)
    unknown = [m for m in modules if m not in MODULES]
    if unknown:
        raise ValueError(f"unknown module {unknown[0]!r}; the modules are {', '.join(MODULES)}")
    return tuple(m for m in MODULES if m in modules)
