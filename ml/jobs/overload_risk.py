"""The overload classifier as a risk task: lines and transformers of the plan's stressed grids."""

from __future__ import annotations

import numpy as np

from ml.data.grids import year_flow
from ml.jobs import risk
from ml.maintenance import overload_risk as ovl
from ml.plan import Plan
from ml.registry import Artefact, Registry

NAME = "maintenance.overload_risk"


def loading(code: str, components: tuple[str, ...] = ("line", "transformer")) -> np.ndarray:
    """``(steps, elements)`` loading over the grid's year of power flows."""
    result = year_flow(code)
    return np.hstack([result.output[name]["loading"] for name in components if name in result.output])


def _samples(code: str, seed: int) -> ovl.Samples:
    values = loading(code)
    return ovl.samples(values, ovl.measured_loading(values, code, seed))


TASK = risk.RiskTask(NAME, ovl.FEATURES, ovl.PARAMETERS, _samples, "overload within 4 h", "element",
                     lambda plan: plan.overload_codes)


def train(registry: Registry, plan: Plan) -> Artefact:
    return risk.train(TASK, registry, plan)


def evaluate(registry: Registry, plan: Plan) -> list:
    return risk.evaluate(TASK, registry, plan)
