"""Voltage-sag prediction: the fault-position study, the simulated years, and the method against its baselines."""

from __future__ import annotations

import numpy as np
import pytest

from ml.data.grids import grid_network
from ml.maintenance import voltage_sag as vs
from ml.plan import SMALL
from ml.registry import Registry
from physics.faults import FAULT_KINDS

CODE = SMALL.sag_test_codes[0]


def test_every_lines_faults_are_counted_once_at_the_generic_rate() -> None:
    study = vs.grid_study(CODE)
    net = grid_network(CODE)[0].net
    lines = net.line[net.line.in_service]
    expected = sum(vs.FAULTS_PER_KM_YEAR[t] * km for t, km in zip(lines.type, lines.length_km))
    assert study.generic_per_year.sum() == pytest.approx(expected, rel=1e-9)
    assert sum(vs.KIND_SHARES.values()) == pytest.approx(1.0)


def test_a_bolted_fault_sags_its_own_bus_and_not_every_bus() -> None:
    study = vs.grid_study(CODE)
    column = {int(node): k for k, node in enumerate(study.buses)}
    bolted = np.flatnonzero((study.kind == FAULT_KINDS.index("3ph")) & (study.r_f_ohm == 0) &
                            np.isin(study.node, study.buses))
    assert len(bolted) > 50
    assert all(study.sagged[s, column[int(study.node[s])]] for s in bolted)
    assert 0.1 < study.sagged.mean() < 0.9  # a fault sags part of the grid, not all of it, not nothing


def test_sag_days_follow_the_true_rates_and_never_the_generic_ones() -> None:
    run = vs.simulate(CODE, seed=5, years=12)
    assert run.sag.shape == run.true_expected.shape == run.generic_expected.shape
    # a sag day is one or more faults that sag the bus: P = 1 - exp(-λ) per day
    expected_days = (1 - np.exp(-run.true_expected)).sum()
    # one fault sags many buses at once: the total varies like the number of faults (~80 here), 3 σ
    faults = vs.grid_study(CODE).generic_per_year.sum() * 12
    assert run.sag.sum() == pytest.approx(expected_days, rel=3 / np.sqrt(faults))
    assert not np.allclose(run.true_expected, run.generic_expected)  # the lines' own rates differ
    again = vs.simulate(CODE, seed=5, years=12)
    assert np.array_equal(run.sag, again.sag)  # seeded


def test_the_outlook_looks_ahead_and_the_history_looks_back() -> None:
    run = vs.simulate(CODE, seed=6, years=3)
    outlook = vs.outlook(run)
    buses = run.sag.shape[1]
    first_day = vs.HISTORY_DAYS
    assert outlook.actual[:buses] == pytest.approx(run.sag[first_day:first_day + vs.HORIZON_DAYS].sum(axis=0))
    assert outlook.history[:buses] * vs.HISTORY_DAYS / vs.HORIZON_DAYS == pytest.approx(
        run.sag[:first_day].sum(axis=0))


def test_the_method_beats_both_baselines_on_an_unseen_grid(tmp_path) -> None:
    from ml.jobs import voltage_sag as job

    registry = Registry(tmp_path)
    job.train(registry, SMALL)
    row = job.evaluate(registry, SMALL)[0]
    assert row.beats_baseline is True and row.value < 0.9 * row.baseline_value, row
