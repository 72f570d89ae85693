"""Dispatch LP: a feasible schedule the power flow confirms, where the network-blind merit order overloads."""

from __future__ import annotations

import numpy as np
import pytest

from ml.decision import dispatch as dp
from ml.plan import SMALL

CODE = SMALL.dispatch_codes[0]


@pytest.fixture(scope="module")
def day() -> dp.DispatchDay:
    return dp.day_data(CODE, 120)


def test_the_schedule_keeps_every_constraint(day: dp.DispatchDay) -> None:
    schedule = dp.optimise(day)
    balance = day.demand_mw - day.pv_mw + schedule.curtail_mw + schedule.charge_mw - schedule.discharge_mw
    assert np.allclose(schedule.import_mw, balance, atol=1e-6)
    assert (np.abs(schedule.import_mw) <= day.limit_mw + 1e-6).all()
    assert (schedule.curtail_mw <= day.pv_mw + 1e-6).all() and (schedule.charge_mw <= day.battery_mw + 1e-6).all()
    energy = day.battery_mwh / 2 + np.cumsum(dp.EFFICIENCY * schedule.charge_mw - schedule.discharge_mw / dp.EFFICIENCY) * dp.HOURS
    assert (energy >= -1e-6).all() and (energy <= day.battery_mwh + 1e-6).all()
    assert energy[-1] == pytest.approx(day.battery_mwh / 2, abs=1e-6)


def test_the_power_flow_confirms_the_lp_and_catches_the_merit_order(day: dp.DispatchDay) -> None:
    lp, merit = dp.optimise(day), dp.merit_order(day)
    assert dp.transformer_loading(day, lp).max() <= 1.0
    assert (dp.transformer_loading(day, merit) > 1.0).any()
    assert lp.cost_eur(day) <= merit.cost_eur(day)  # the optimum is also the cheaper of the two here


def test_an_impossible_day_is_refused_with_the_day_named(day: dp.DispatchDay) -> None:
    from dataclasses import replace

    with pytest.raises(ValueError, match=f"{CODE} day 120"):
        dp.optimise(replace(day, limit_mw=0.0, battery_mw=0.0, pv_mw=np.zeros_like(day.pv_mw)))


def test_the_job_reports_the_lp_beside_the_merit_order(tmp_path) -> None:
    from ml.jobs import dispatch as job
    from ml.registry import Registry

    registry = Registry(tmp_path)
    job.train(registry, SMALL)
    row = job.evaluate(registry, SMALL)[0]
    assert row.beats_baseline is True and "above the transformer's rating 0 vs" in row.note, row
