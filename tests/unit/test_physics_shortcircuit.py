"""IEC 60909 short circuits against a hand calculation of the simplest grid: a network feeder and a transformer.

IEC 60909-0 for a fault on the LV side of a network transformer fed from a network of S"kQ:
    Z_Q = c U_n^2 / S"kQ (referred to the LV side), R_Q = (R/X)_Q X_Q
    Z_T = u_k U_rT^2 / S_rT, R_T = u_kR U_rT^2 / S_rT, corrected by K_T = 0.95 c_max / (1 + 0.6 x_T)
    I"k3 = c U_n / (sqrt(3) |Z_Q + K_T Z_T|),  I"k2 = c U_n / (2 |Z_Q + K_T Z_T|)
    I"k1 = sqrt(3) c U_n / |2 (Z_Q + K_T Z_T) + K_T Z_0T|  (Dyn: the LV zero sequence sees only the transformer)
    i_p = kappa sqrt(2) I"k3, kappa = 1.02 + 0.98 e^(-3 R/X)
"""
from __future__ import annotations

import math

import pytest

pp = pytest.importorskip("pandapower")

from physics.network import PhysicsInputError  # noqa: E402
from physics.shortcircuit import short_circuit  # noqa: E402

S_KQ, RX_Q, S_RT, U_LV, UK, UKR, C_MAX = 1000e6, 0.1, 40e6, 20e3, 0.12, 0.004, 1.1


@pytest.fixture(scope="module")
def feeder() -> tuple[object, int]:
    net = pp.create_empty_network(sn_mva=1.0)
    hv, lv = pp.create_bus(net, 110.0), pp.create_bus(net, 20.0)
    pp.create_ext_grid(net, hv, s_sc_max_mva=S_KQ / 1e6, rx_max=RX_Q, x0x_max=1.0, r0x0_max=0.1)
    pp.create_transformer_from_parameters(net, hv, lv, sn_mva=S_RT / 1e6, vn_hv_kv=110.0, vn_lv_kv=20.0,
                                          vkr_percent=UKR * 100, vk_percent=UK * 100, pfe_kw=0.0, i0_percent=0.0,
                                          vk0_percent=UK * 100, vkr0_percent=UKR * 100, mag0_percent=100.0,
                                          mag0_rx=0.0, si0_hv_partial=0.9, vector_group="Dyn")
    return net, int(lv)


def _impedances() -> tuple[complex, complex]:
    z_q = C_MAX * U_LV ** 2 / S_KQ
    x_q = z_q / math.sqrt(1 + RX_Q ** 2)
    base = U_LV ** 2 / S_RT
    r_t, z_t = UKR * base, UK * base
    x_t = math.sqrt(z_t ** 2 - r_t ** 2)
    k_t = 0.95 * C_MAX / (1 + 0.6 * x_t / base)
    return complex(RX_Q * x_q, x_q), k_t * complex(r_t, x_t)


def test_three_phase_current_and_peak_are_the_standards(feeder: tuple) -> None:
    net, lv = feeder
    z_q, z_t = _impedances()
    ik3 = C_MAX * U_LV / (math.sqrt(3) * abs(z_q + z_t)) / 1e3
    z = z_q + z_t
    kappa = 1.02 + 0.98 * math.exp(-3 * z.real / z.imag)
    result = short_circuit(net, lv, fault="3ph")
    assert result.ikss_ka == pytest.approx(ik3, rel=1e-6)
    assert result.ip_ka == pytest.approx(kappa * math.sqrt(2) * ik3, rel=1e-3)
    assert result.branch_ikss_ka["trafo/0"] == pytest.approx(ik3 * 20 / 110, rel=1e-3)  # the HV side's share


def test_two_phase_and_single_phase_currents_are_the_standards(feeder: tuple) -> None:
    net, lv = feeder
    z_q, z_t = _impedances()
    assert short_circuit(net, lv, fault="2ph").ikss_ka == pytest.approx(C_MAX * U_LV / (2 * abs(z_q + z_t)) / 1e3,
                                                                         rel=1e-6)
    ik1 = math.sqrt(3) * C_MAX * U_LV / abs(2 * (z_q + z_t) + z_t) / 1e3
    assert short_circuit(net, lv, fault="1ph").ikss_ka == pytest.approx(ik1, rel=1e-3)


def test_the_callers_net_is_left_as_it_was(feeder: tuple) -> None:
    net, lv = feeder
    short_circuit(net, lv)
    assert "res_bus_sc" not in net or not len(net.res_bus_sc)


@pytest.mark.parametrize(("arguments", "field"), [({"fault": "4ph"}, "fault"), ({"case": "mid"}, "case"),
                                                   ({"r_fault_ohm": -1.0}, "r_fault_ohm"), ({"bus": 99}, "bus")])
def test_bad_requests_name_the_field(feeder: tuple, arguments: dict, field: str) -> None:
    net, lv = feeder
    with pytest.raises(PhysicsInputError, match=f"^{field}:"):
        short_circuit(net, arguments.pop("bus", lv), **arguments)
