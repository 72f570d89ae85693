"""The transformer failure-risk classifier (thermal ageing over the next day) as a risk task."""

from __future__ import annotations

from ml.jobs import risk
from ml.jobs.overload_risk import loading
from ml.maintenance import failure_risk as fr
from ml.plan import Plan
from ml.registry import Artefact, Registry

NAME = "maintenance.equipment_failure_risk"


def _samples(code: str, seed: int) -> fr.Samples:
    return fr.samples(code, loading(code, ("transformer",)), seed)


TASK = risk.RiskTask(NAME, fr.FEATURES, fr.PARAMETERS, _samples, "hot spot > 120 °C within a day", "transformer",
                     lambda plan: plan.failure_codes)


def train(registry: Registry, plan: Plan) -> Artefact:
    return risk.train(TASK, registry, plan)


def evaluate(registry: Registry, plan: Plan) -> list:
    return risk.evaluate(TASK, registry, plan)
