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
    Output("monitoring", "harmonicAnalysis", "monitoring.power_quality_disturbance", "disturbance severity, 0-1"),
    Output("monitoring", "frequencyForecast", "monitoring.frequency_forecast", "system frequency 60 s ahead, Hz"),
    Output("monitoring", "phaseImbalance", "monitoring.phase_imbalance", "phase-imbalance severity, 0-1"),
    Output("maintenance", "equipmentFailureRisk", "maintenance.equipment_failure_risk",
           "probability that the transformer supplying the point passes a 120 °C hot spot within a day, 0-1"),
    Output("maintenance", "overloadRisk", "maintenance.overload_risk",
           "highest probability of a line or transformer on the point's supply path loaded above 100 % "
           "within 4 h, 0-1"),
    Output("maintenance", "powerQualityIndex", "maintenance.power_quality_index", "EN 50160 compliance, 0-100"),
    Output("maintenance", "voltageSag", "maintenance.voltage_sag_prediction", "probability of a sag, 0-1"),
    Output("energy", "loadForecast", "energy_flow.load_forecast",
           "demand of the loads at the point's bus in the next quarter-hour, kW (day-ahead model)"),
    Output("energy", "energyLoss", "energy_flow.technical_losses",
           "technical losses of the point's grid now, kW, from its substation's P, Q and U"),
    Output("energy", "powerFlowOptimization", "energy_flow.power_flow_optimisation", "optimisation gain, 0-1"),
    Output("energy", "demandResponse", "energy_flow.demand_response_clusters", "demand-response potential, kW"),
    Output("decision", "reactivePowerCompensation", "decision.reactive_power", "recommended compensation, kvar"),
    Output("decision", "loadBalancing", "decision.phase_balancing", "load-balancing score, 0-1"),
    Output("decision", "gridStability", "decision.grid_stability", "grid stability, 0-1"),
    Output("decision", "optimalDispatch", "decision.dispatch", "recommended dispatch set-point, kW"),
)
OUTPUT_OF_MODEL = {output.model: output for output in OUTPUTS}


@dataclass
class ModulePrediction:
    """One module's answer at one point: field values, the model versions used, and what is missing why."""

    module: str
    values: dict[str, float] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)

    def put(self, output: Output, value: float, version: int) -> None:
        self.values[output.field] = float(value)
        self.versions[output.model] = version

    def missing(self, output: Output, reason: str) -> None:
        self.unavailable.setdefault(output.model, reason)


@dataclass
class PointPrediction:
    """Every requested module's answer at one point and instant."""

    twin_id: str
    time_ns: int
    modules: dict[str, ModulePrediction]

    def message(self) -> dict[str, Any] | None:
        """The MLEngine component telemetry message of this prediction (None when no field has a value)."""
        values = {TELEMETRY[name]: dict(module.values) for name, module in self.modules.items() if module.values}
        if not values:
            return None
        return {"twin": self.twin_id, "component": "mlEngine", "time": self.time_ns, "values": values}


def empty_prediction(twin_id: str, time_ns: int, modules: tuple[str, ...]) -> PointPrediction:
    return PointPrediction(twin_id, time_ns, {module: ModulePrediction(module) for module in modules})


def checked_modules(modules: tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    """The modules asked for, in the MLEngine's order (all when None); ValueError names an unknown one."""
    if modules is None:
        return tuple(MODULES)
    unknown = [m for m in modules if m not in MODULES]
    if unknown:
        raise ValueError(f"unknown module {unknown[0]!r}; the modules are {', '.join(MODULES)}")
    return tuple(m for m in MODULES if m in modules)
