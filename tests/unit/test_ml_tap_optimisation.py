"""Tap optimisation: proposals within the tap range, never worse than unchanged taps, checked by pandapower."""

from __future__ import annotations

import copy

import pytest

from ml.energy_flow.tap_optimisation import optimise_taps, parallel_groups
from ml.optimisation import VoltageBand
from ml.jobs.power_flow_optimisation import day_inputs

GRID = "1-LV-rural1--0-sw"
DAY = 120


@pytest.fixture(scope="module")
def proposal():
    return optimise_taps(day_inputs(GRID, DAY))


def test_proposals_stay_in_range_and_never_make_things_worse(proposal) -> None:
    transformers = day_inputs(GRID, DAY).network.input_data["transformer"]
    assert (proposal.settings >= transformers["tap_min"]).all() and (proposal.settings <= transformers["tap_max"]).all()
    assert (proposal.outside_after_pu <= proposal.outside_before_pu + 1e-9).all()
    same_band = proposal.outside_after_pu <= 1e-9
    assert (proposal.losses_after_w[same_band] <= proposal.losses_before_w[same_band] + 1e-6).all()
    assert proposal.loss_reduction() > 0.01  # moving taps saves energy on this day


def test_a_narrow_band_is_met_where_taps_can_meet_it() -> None:
    inputs = day_inputs(GRID, DAY)
    narrow = optimise_taps(inputs, VoltageBand(0.99, 1.01))
    assert narrow.outside_after_pu.sum() < 0.5 * narrow.outside_before_pu.sum()


def test_the_reported_losses_are_pandapowers_for_the_proposed_taps(proposal) -> None:
    import pandapower as pp
    from ml.data.grids import grid_network

    network, profiles = grid_network(GRID)
    net = copy.deepcopy(network.net)
    # simbench leaves tap_changer_type empty, which pandapower 3 reads as "no tap changer"; power-grid-model
    # applies the taps, and a ratio tap changer is what tap_step_percent describes
    net.trafo["tap_changer_type"] = "Ratio"
    for step in (10, 50, 80):
        row = DAY * 96 + step
        for (table, column), values in profiles.items():
            if table in ("load", "sgen", "storage") and len(values.columns):
                net[table].loc[values.columns, column] = values.iloc[row].to_numpy()
        net.trafo["tap_pos"] = proposal.settings[step]
        pp.runpp(net)
        losses_w = (net.res_line.pl_mw.sum() + net.res_trafo.pl_mw.sum()) * 1e6
        assert losses_w == pytest.approx(proposal.losses_after_w[step], rel=2e-3)


def test_parallel_transformers_move_together() -> None:
    from ml.data.grids import grid_network

    network, _ = grid_network("1-LV-rural1--0-sw")
    assert parallel_groups(network) == [[0]]
