"""Harmonic voltages against a hand calculation on one bus fed by a network of known short-circuit power.

One 20 kV bus, external grid S"k = 100 MVA with R/X = 0.1, a non-linear load of S = 1 MVA (base
1 MVA, V1 = 1 pu so I1 = 1 pu):
    X_Q = (S_base / S"k) / sqrt(1 + (R/X)^2),  Z_Q(h) = X_Q (R/X + j h)
    V_h = I1 * spectrum_h / 100 * |Z_Q(h)|          (network alone)
    V_h = I_h / |1 / Z_Q(h) + (P - jQ/h) / V1^2|    (with the linear load in parallel)
    THD = sqrt(sum V_h^2) / V1
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

pp = pytest.importorskip("pandapower")
import pandapower.networks as pn  # noqa: E402

from physics.harmonics import SIX_PULSE_SPECTRUM, HarmonicSource, harmonic_voltages  # noqa: E402
from physics.network import PhysicsInputError  # noqa: E402

X_Q = 0.01 / math.sqrt(1.01)


@pytest.fixture(scope="module")
def one_bus() -> tuple[object, int]:
    net = pp.create_empty_network(sn_mva=1.0)
    bus = int(pp.create_bus(net, 20.0))
    pp.create_ext_grid(net, bus, s_sc_max_mva=100.0, rx_max=0.1)
    pp.create_load(net, bus, p_mw=0.8, q_mvar=0.3)
    return net, bus


def test_the_network_alone_gives_i_h_times_z_q_at_each_order(one_bus: tuple) -> None:
    net, bus = one_bus
    result = harmonic_voltages(net, [HarmonicSource(bus, 1.0)], include_loads=False)
    expected = np.array([SIX_PULSE_SPECTRUM[h] / 100 * abs(complex(0.1 * X_Q, h * X_Q)) for h in result.orders])
    np.testing.assert_allclose(result.v_h_pu[:, 0], expected, rtol=1e-9)
    assert result.thd_of(bus) == pytest.approx(100 * math.sqrt(float(np.sum(expected ** 2))), rel=1e-9)


def test_the_linear_load_damps_in_parallel(one_bus: tuple) -> None:
    net, bus = one_bus
    result = harmonic_voltages(net, [HarmonicSource(bus, 1.0, {5: 20.0, 7: 14.0})])
    for i, h in enumerate(result.orders):
        admittance = 1 / complex(0.1 * X_Q, h * X_Q) + complex(0.8, -0.3 / h)
        assert result.v_h_pu[i, 0] == pytest.approx({5: 0.2, 7: 0.14}[h] / abs(admittance), rel=1e-9)


def test_distortion_is_worst_where_the_converter_is_and_scales_with_it() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = pn.create_cigre_network_mv(with_der="all")
    small = harmonic_voltages(net, [HarmonicSource(14, 1.0)])
    large = harmonic_voltages(net, [HarmonicSource(14, 2.0)])
    assert int(small.buses[np.argmax(small.thd_percent)]) == 14
    np.testing.assert_allclose(large.thd_percent, 2 * small.thd_percent, rtol=1e-9)  # linear in the injection
    assert small.thd_of(0) < small.thd_of(14) / 10  # the 110 kV side barely sees it


@pytest.mark.parametrize(("make", "field"), [
    (lambda bus: HarmonicSource(bus, -1.0), "s_mva"), (lambda bus: HarmonicSource(bus, 1.0, {1: 5.0}), "spectrum"),
    (lambda bus: HarmonicSource(bus, 1.0, {5: 150.0}), "spectrum")])
def test_bad_sources_name_the_field(one_bus: tuple, make: object, field: str) -> None:
    with pytest.raises(PhysicsInputError, match=f"^{field}:"):
        make(one_bus[1])  # type: ignore[operator]


def test_bad_requests_name_the_field(one_bus: tuple) -> None:
    net, bus = one_bus
    with pytest.raises(PhysicsInputError, match="^sources.bus:"):
        harmonic_voltages(net, [HarmonicSource(bus + 7, 1.0)])
    with pytest.raises(PhysicsInputError, match="^sources:"):
        harmonic_voltages(net, [])
