"""Source net -> GridDocument -> pandapower net built from the rows: the power flow is the source's.

Acceptance of issue 8 on a representative set (no servers): bus voltage magnitude within
1e-6 p.u., angle within 1e-4 degrees, line/transformer loading within 1e-4 %; power-grid-model
on the same rows within 1e-3 p.u. of pandapower.  All simbench codes run in
bench/grid_fidelity_bench.py.
"""
from __future__ import annotations

import copy
import warnings
from typing import Any

import pytest

pp = pytest.importorskip("pandapower")

from loaders.grids.compare import pgm_worst_vm, worst_differences  # noqa: E402
from loaders.grids.from_pandapower import from_pandapower  # noqa: E402
from loaders.grids.pgm import run_power_flow, to_power_grid_model  # noqa: E402
from loaders.grids.sources import pandapower_net  # noqa: E402
from loaders.grids.to_pandapower import to_pandapower  # noqa: E402

BALANCED = ["simbench:1-LV-rural1--0-sw", "simbench:1-MV-semiurb--0-sw", "pandapower:case33bw",
            "pandapower:create_cigre_network_mv"]
UNBALANCED = "pandapower:ieee_european_lv_asymmetric"
_NETS: dict[str, Any] = {}


def source_net(source: str) -> Any:
    """A fresh deep copy of the source net (loaded once per session: simbench reads its CSV set)."""
    if source not in _NETS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            net = pandapower_net(source)
            if source.endswith("cigre_network_mv"):
                import pandapower.networks as pn

                net = pn.create_cigre_network_mv(with_der="all")  # sgen and storage too
        net.pop("profiles", None)
        _NETS[source] = net
    return copy.deepcopy(_NETS[source])


@pytest.mark.parametrize("source", BALANCED)
def test_balanced_power_flow_survives_the_round_trip(source: str) -> None:
    net = source_net(source)
    built = to_pandapower(from_pandapower(net, "g"))
    worst = worst_differences(net, built)
    assert worst["vm_pu"] <= 1e-6 and worst["va_degree"] <= 1e-4 and worst["loading_percent"] <= 1e-4, worst
    assert net.res_bus.vm_pu.notna().sum() > 10  # the comparison compared something


def test_unbalanced_power_flow_survives_the_round_trip() -> None:
    net = source_net(UNBALANCED)
    built = to_pandapower(from_pandapower(net, "eu"))
    assert len(built.asymmetric_load) == len(net.asymmetric_load) > 0
    worst = worst_differences(net, built, unbalanced=True)
    assert worst["vm_pu"] <= 1e-6 and worst["va_degree"] <= 1e-4 and worst["loading_percent"] <= 1e-4, worst


@pytest.mark.parametrize("source", ["pandapower:case33bw", "pandapower:create_cigre_network_mv",
                                    "simbench:1-LV-rural1--0-sw"])
def test_power_grid_model_agrees_with_pandapower(source: str) -> None:
    net = source_net(source)
    pgm = to_power_grid_model(from_pandapower(net, "g"), symmetric=True)
    output = run_power_flow(pgm, symmetric=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pp.runpp(net, numba=False)
    assert pgm_worst_vm(net, output, pgm.node_ids_of_buses()) <= 1e-3


def test_power_grid_model_unbalanced_agrees_with_pandapower() -> None:
    net = source_net(UNBALANCED)
    pgm = to_power_grid_model(from_pandapower(net, "eu"), symmetric=False)
    output = run_power_flow(pgm, symmetric=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pp.runpp_3ph(net, numba=False)
    assert pgm_worst_vm(net, output, pgm.node_ids_of_buses(), unbalanced=True) <= 1e-3
