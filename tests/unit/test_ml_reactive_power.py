"""Power-factor advice: overvoltages from PV removed where reactive power can remove them, never made worse."""

from __future__ import annotations

import numpy as np

from ml.decision.reactive_power import POWER_FACTORS, optimise_power_factor
from ml.jobs.power_flow_optimisation import day_inputs
from ml.plan import SMALL

GRID = SMALL.voltage_band_codes[0]


def test_pv_overvoltage_is_pulled_into_the_band_by_absorbing_reactive_power() -> None:
    proposal = optimise_power_factor(day_inputs(GRID, 120))
    before, after = proposal.steps_outside()
    assert before > 0 and after < before
    assert (proposal.outside_after_pu <= proposal.outside_before_pu + 1e-9).all()
    fixed = proposal.outside_before_pu > proposal.outside_after_pu + 1e-9
    assert (proposal.settings[fixed] < 0).all()  # under-excited where it helped: absorbing lowers the voltage
    assert set(np.unique(proposal.settings)) <= set(POWER_FACTORS)


def test_the_job_row_says_fewer_quarter_hours_outside(tmp_path) -> None:
    from ml.jobs import reactive_power as job
    from ml.registry import Registry

    registry = Registry(tmp_path)
    job.train(registry, SMALL)
    row = job.evaluate(registry, SMALL)[0]
    assert row.beats_baseline is True, row
