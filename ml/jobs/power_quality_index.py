"""The power-quality index (voltage-band compliance within 4 h) as a risk task on the stressed grids' buses."""

from __future__ import annotations

from ml.data.grids import year_flow
from ml.jobs import risk
from ml.maintenance import overload_risk as ovl
from ml.maintenance import power_quality_index as pqi
from ml.plan import Plan
from ml.registry import Artefact, Registry

NAME = "maintenance.power_quality_index"


def _samples(code: str, seed: int) -> ovl.Samples:
    return pqi.samples(year_flow(code).values("node", "u_pu"), code, seed)


TASK = risk.RiskTask(NAME, pqi.FEATURES, ovl.PARAMETERS, _samples, "voltage outside ±5 % within 4 h", "bus",
                     lambda plan: plan.voltage_band_codes)


def train(registry: Registry, plan: Plan) -> Artefact:
    return risk.train(TASK, registry, plan)


def evaluate(registry: Registry, plan: Plan) -> list:
    return risk.evaluate(TASK, registry, plan)
