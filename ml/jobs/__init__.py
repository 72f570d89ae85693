"""Training and evaluation jobs of the built models, by registry name.

Each job module has ``train(registry, plan, ...)`` and ``evaluate(registry, plan, ...)``; they
are imported only when run, so listing the jobs imports neither xgboost nor torch.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from ml.evaluation import Row
from ml.plan import Plan
from ml.registry import Artefact, Registry

#: Registry name -> the job module that trains and evaluates it (every built catalogue model has one).
JOBS = {"monitoring.voltage_anomaly": "ml.jobs.voltage_anomaly",
        "monitoring.power_quality_disturbance": "ml.jobs.power_quality_disturbance",
        "monitoring.frequency_forecast": "ml.jobs.frequency_forecast",
        "monitoring.phase_imbalance": "ml.jobs.phase_imbalance",
        "energy_flow.load_forecast": "ml.jobs.load_forecast",
        "energy_flow.power_flow_optimisation": "ml.jobs.power_flow_optimisation",
        "energy_flow.technical_losses": "ml.jobs.technical_losses",
        "energy_flow.demand_response_clusters": "ml.jobs.demand_response_clusters",
        "maintenance.overload_risk": "ml.jobs.overload_risk",
        "maintenance.equipment_failure_risk": "ml.jobs.failure_risk",
        "maintenance.power_quality_index": "ml.jobs.power_quality_index",
        "maintenance.voltage_sag_prediction": "ml.jobs.voltage_sag",
        "decision.reactive_power": "ml.jobs.reactive_power",
        "decision.dispatch": "ml.jobs.dispatch",
        "decision.phase_balancing": "ml.jobs.phase_balancing",
        "decision.grid_stability": "ml.jobs.grid_stability",
        "gnn.state_estimation": "ml.jobs.state_estimation",
        "gnn.fault_location": "ml.jobs.fault_location"}
#: Jobs that read the grids' profile cache.
_CACHED = {"energy_flow.load_forecast"}

def _arguments(name: str, cache_dir: Path | None) -> tuple[object, ...]:
    return (cache_dir,) if name in _CACHED else ()


def train(name: str, registry: Registry, plan: Plan, cache_dir: Path | None) -> Artefact:
    return importlib.import_module(JOBS[name]).train(registry, plan, *_arguments(name, cache_dir))


def evaluate(name: str, registry: Registry, plan: Plan, cache_dir: Path | None) -> list[Row]:
    return importlib.import_module(JOBS[name]).evaluate(registry, plan, *_arguments(name, cache_dir))
