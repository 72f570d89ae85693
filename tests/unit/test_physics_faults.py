"""Fault studies in one power-grid-model batch, checked against pandapower's IEC 60909 calculation."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest

from ml.data.grids import grid_network
from physics.faults import FAULT_KINDS, bolted_current_a, fault_study
from physics.network import PhysicsInputError

CODE = "1-LV-rural1--0-sw"


def _pandapower_fault(net, bus: int, fault: str):
    import pandapower.shortcircuit as sc

    work = copy.deepcopy(net)
    work.sgen["in_service"] = False  # IEC 60909's equivalent source only: generators do not feed the fault
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sc.calc_sc(work, bus=bus, fault=fault, case="max", branch_results=True)
    return work


@pytest.mark.parametrize("fault", ["3ph", "1ph"])
def test_fault_currents_and_retained_voltages_agree_with_pandapower(fault: str) -> None:
    network, _ = grid_network(CODE)
    net = network.net
    node_ids = network.input_data["node"]["id"]
    buses = [int(b) for b in net.bus.index[net.bus.vn_kv < 1.0][[1, 5, 12]]]
    positions = np.array([int(np.flatnonzero(node_ids == network.bus_node(b))[0]) for b in buses])
    study = fault_study(network, positions, np.full(3, FAULT_KINDS.index(fault)), np.zeros(3))
    for row, bus in enumerate(buses):
        solved = _pandapower_fault(net, bus, fault)
        ikss_a = solved.res_bus_sc.at[bus, "ikss_ka"] * 1e3
        assert study.fault_current_a[row].max() == pytest.approx(ikss_a, rel=0.03), f"fault current at bus {bus}"
        if fault == "3ph":
            lines = solved.res_line_sc
            for line, result in lines.iterrows():
                node = int(np.flatnonzero(node_ids == network.bus_node(int(net.line.at[line, "from_bus"])))[0])
                assert study.u_pu[row, node, 0] == pytest.approx(result["vm_from_pu"], abs=0.02), f"line {line}"


def test_a_bolted_fault_far_out_draws_less_current_than_at_the_substation() -> None:
    network, _ = grid_network(CODE)
    current = bolted_current_a(network)
    rated = network.input_data["node"]["u_rated"]
    low = np.flatnonzero(rated < 1e3)
    assert current[low].max() > 1.5 * current[low].min()


def test_bad_fault_positions_are_named() -> None:
    network, _ = grid_network(CODE)
    with pytest.raises(PhysicsInputError, match="nodes"):
        fault_study(network, np.array([10_000]), np.array([0]), np.array([0.0]))
    with pytest.raises(PhysicsInputError, match="r_f_ohm"):
        fault_study(network, np.array([1]), np.array([0]), np.array([-1.0]))
