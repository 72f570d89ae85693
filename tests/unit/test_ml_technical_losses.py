"""Technical losses: the label is the power flow's losses (checked with pandapower), the model beats the loss fit."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from ml.energy_flow import technical_losses as tl
from ml.plan import SMALL
from ml.registry import Registry

GRID = SMALL.load_codes[0]


def test_the_label_is_pandapowers_losses_at_sampled_steps() -> None:
    import pandapower as pp

    from ml.data.grids import grid_network

    year = tl.loss_year(GRID)
    network, profiles = grid_network(GRID)
    net = copy.deepcopy(network.net)
    for step in (100, 12_000, 30_000):
        for (table, column), values in profiles.items():
            if table in ("load", "sgen", "storage") and len(values.columns):
                net[table].loc[values.columns, column] = values.iloc[step].to_numpy()
        pp.runpp(net)
        losses_w = (net.res_line.pl_mw.sum() + net.res_trafo.pl_mw.sum()) * 1e6
        assert year.losses_w[step] == pytest.approx(losses_w, rel=2e-3)


def test_inputs_are_measured_not_exact() -> None:
    year = tl.loss_year(GRID)
    measured = tl.measured_inputs(year, seed=3)
    assert not np.array_equal(measured[:, 0], year.p_head_w)
    assert np.allclose(measured[:, 2], year.u_substation_pu, rtol=0.01)
    assert np.array_equal(measured, tl.measured_inputs(year, seed=3))


def test_trained_estimator_beats_the_loss_fit_on_held_out_blocks(tmp_path) -> None:
    from ml.jobs import technical_losses as job

    registry = Registry(tmp_path)
    job.train(registry, SMALL)
    row = job.evaluate(registry, SMALL)[0]
    assert row.beats_baseline is True, row
    assert row.value < 0.8 * row.baseline_value, row
