"""Time-series power flow: one power-grid-model batch, checked against pandapower's own power flow.

The independent check: a simbench MV grid, its profiles at a few steps of the year applied to
the pandapower net and solved with ``pp.runpp``, against the batch of the same P/Q; bus
voltages within 1e-3 p.u. (measured: 3e-7 p.u., see docs/simulation.md) and the energy
balance within 0.1 %.  Everything else runs on the small CIGRE MV grid.
"""
from __future__ import annotations

import copy
import warnings
from typing import Any

import numpy as np
import pytest

pp = pytest.importorskip("pandapower")
sb = pytest.importorskip("simbench")
import pandapower.networks as pn  # noqa: E402

from loaders.grids.from_pandapower import from_pandapower  # noqa: E402
from loaders.grids.pgm import to_power_grid_model  # noqa: E402
from physics.network import Network, PhysicsInputError  # noqa: E402
from physics.timeseries import StepInputs, apply_profiles, run_time_series  # noqa: E402

CODE = "1-MV-rural--0-sw"
STEPS = [0, 9_000, 17_500, 30_000]  # night, spring morning, summer noon, autumn


def _network(net: Any) -> Network:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pgm = to_power_grid_model(from_pandapower(copy.deepcopy(net), "g"))
    return Network.from_pgm(pgm.data, pgm.extra_info, pgm.net)


@pytest.fixture(scope="module")
def simbench_case() -> tuple[Any, dict[tuple[str, str], Any], Network]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = sb.get_simbench_net(CODE)
        absolute = sb.get_absolute_values(net, profiles_instead_of_study_cases=True)
    net.pop("profiles", None)
    sampled = {key: frame.iloc[STEPS] for key, frame in absolute.items() if len(frame.columns)}
    return net, sampled, _network(net)


@pytest.fixture(scope="module")
def cigre() -> Network:
    return _network(pn.create_cigre_network_mv(with_der="all"))


def _pandapower_at(net: Any, absolute: dict[tuple[str, str], Any], row: int) -> Any:
    stepped = copy.deepcopy(net)
    for (table, column), frame in absolute.items():
        stepped[table].loc[frame.columns, column] = frame.iloc[row].to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pp.runpp(stepped, numba=False, tolerance_mva=1e-9)
    return stepped


def test_the_batch_gives_pandapowers_voltages_flows_and_losses(simbench_case: tuple) -> None:
    net, absolute, network = simbench_case
    inputs = StepInputs(network, len(STEPS))
    apply_profiles(inputs, absolute)
    result = run_time_series(inputs)
    assert not len(result.failed_steps)
    u_pu, nodes = result.values("node", "u_pu"), {int(i): k for k, i in enumerate(result.ids("node"))}
    lines = {int(i): k for k, i in enumerate(result.ids("line"))}
    worst_vm = worst_loading = 0.0
    for row in range(len(STEPS)):
        solved = _pandapower_at(net, absolute, row)
        for bus in solved.res_bus.index[solved.res_bus.vm_pu.notna()]:
            worst_vm = max(worst_vm, abs(u_pu[row, nodes[network.bus_node(bus)]] - solved.res_bus.at[bus, "vm_pu"]))
        for line in solved.line.index[solved.line.in_service]:
            loading = result.values("line", "loading")[row, lines[network.pgm_ids(f"line/{line}")[0]]] * 100
            worst_loading = max(worst_loading, abs(loading - solved.res_line.at[line, "loading_percent"]))
        source_mw = result.values("source", "p")[row].sum() / 1e6
        assert source_mw == pytest.approx(solved.res_ext_grid.p_mw.sum(), rel=1e-4, abs=1e-4)
        losses_mw = result.energy_balance().losses_w[row] / 1e6
        assert losses_mw == pytest.approx(solved.res_line.pl_mw.sum() + solved.res_trafo.pl_mw.sum(), rel=1e-3)
    assert worst_vm <= 1e-3, worst_vm
    assert worst_loading <= 0.1, worst_loading  # percent points
    assert len(nodes) > 90 and u_pu.std(axis=0).max() > 1e-3  # a real grid, and the steps really differ


def test_energy_balance_holds_within_a_tenth_of_a_percent(simbench_case: tuple) -> None:
    _, absolute, network = simbench_case
    inputs = StepInputs(network, len(STEPS))
    apply_profiles(inputs, absolute)
    balance = run_time_series(inputs).energy_balance(step_seconds=900.0)
    assert balance.worst_relative_error() < 1e-3
    totals = balance.totals_wh()
    assert totals["injection"] == pytest.approx(totals["consumption"] + totals["losses"], rel=1e-3)
    assert totals["losses"] > 0 and totals["consumption"] > 0


def test_profiles_are_the_p_and_q_the_loads_draw(simbench_case: tuple) -> None:
    net, absolute, network = simbench_case
    inputs = StepInputs(network, len(STEPS))
    apply_profiles(inputs, absolute)
    result = run_time_series(inputs)
    load_p = result.values("sym_load", "p")
    positions = network.positions("sym_load", network.pgm_ids("load/5"))
    expected = absolute[("load", "p_mw")][5].to_numpy() * 1e6
    np.testing.assert_allclose(load_p[:, positions].sum(axis=1), expected, rtol=1e-9)


STORAGE_CODE = "1-LV-rural1--2-sw"  # five batteries beside PV and loads


def test_storage_draws_its_profile_once_as_pandapower_counts_it() -> None:
    """The converter gives a storage unit three PGM parts (like a load): only the constant-power
    part carries its profile, else the battery would charge or discharge three times over."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = sb.get_simbench_net(STORAGE_CODE)
        absolute = sb.get_absolute_values(net, profiles_instead_of_study_cases=True)
    net.pop("profiles", None)
    storage_mw = absolute[("storage", "p_mw")]
    total = storage_mw.sum(axis=1).to_numpy()
    rows = [int(np.argmin(total)), int(np.argsort(total)[len(total) // 4])]  # strongest, and a typical working step
    sampled = {key: frame.iloc[rows] for key, frame in absolute.items() if len(frame.columns)}
    network = _network(net)
    inputs = StepInputs(network, len(rows))
    apply_profiles(inputs, sampled)
    result = run_time_series(inputs)
    for row in range(len(rows)):
        battery_mw = abs(sampled[("storage", "p_mw")].iloc[row].sum())
        assert battery_mw > 1e-3  # the battery really works at this step
        solved = _pandapower_at(net, sampled, row)
        source_mw = result.values("source", "p")[row].sum() / 1e6
        # counted three times, the source would be off by twice the battery's power (measured: 0.5 % of it)
        assert abs(source_mw - solved.res_ext_grid.p_mw.sum()) < 0.05 * battery_mw


def test_asymmetric_calculation_of_balanced_loads_is_the_symmetric_one(cigre: Network) -> None:
    symmetric = run_time_series(StepInputs(cigre, 2))
    asymmetric_network = cigre.asymmetric()
    unbalanced = run_time_series(StepInputs(asymmetric_network, 2), symmetric=False)
    u_phase = unbalanced.values("node", "u_pu")
    assert u_phase.shape[-1] == 3
    np.testing.assert_allclose(u_phase, np.repeat(symmetric.values("node", "u_pu")[..., None], 3, axis=-1), atol=1e-6)
    assert unbalanced.energy_balance().worst_relative_error() < 1e-6


def test_a_step_that_cannot_converge_is_reported_and_the_others_kept(cigre: Network) -> None:
    inputs = StepInputs(cigre, 3)
    inputs.column("sym_load", "p_specified")[1] *= 1e4  # step 1: a load no voltage can feed
    result = run_time_series(inputs, max_iterations=20)
    assert list(result.failed_steps) == [1] and result.errors
    u_pu = result.values("node", "u_pu")
    assert np.isnan(u_pu[1]).all() and np.isfinite(u_pu[[0, 2]]).all()


def test_bad_inputs_name_what_is_wrong(cigre: Network) -> None:
    with pytest.raises(PhysicsInputError, match="steps"):
        StepInputs(cigre, 0)
    inputs = StepInputs(cigre, 4)
    with pytest.raises(PhysicsInputError, match=r"profiles\['load', 'p_mw'\].*3 steps"):
        apply_profiles(inputs, {("load", "p_mw"): ([0, 1], np.ones((3, 2)))})
    with pytest.raises(PhysicsInputError, match="load/999"):
        apply_profiles(inputs, {("load", "p_mw"): ([999], np.ones((4, 1)))})
    with pytest.raises(PhysicsInputError, match="finite"):
        apply_profiles(inputs, {("load", "p_mw"): ([0], np.full((4, 1), np.nan))})
    with pytest.raises(PhysicsInputError, match="source"):
        Network.from_pgm({"node": cigre.input_data["node"]})
