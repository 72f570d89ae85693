"""Thermal models: the IEC 60076-7 difference equations reach the standard's steady state; time constants hold.

Steady state (IEC 60076-7, eq. for constant load):
    theta_h = theta_a + dtheta_or [(1 + K^2 R) / (1 + R)]^x + Hg_r K^y
and the top oil follows a first-order lag of k11 tau_o, so a cold start at constant K reaches
1 - 1/e = 63.2 % of its rise after k11 tau_o.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from physics.network import PhysicsInputError
from physics.thermal import ConductorThermal, TransformerThermal, conductor_temperature, transformer_thermal

ONAN = TransformerThermal()


def _standard_hot_spot(k: float, ambient: float) -> float:
    return ambient + 55.0 * ((1 + 6.0 * k * k) / 7.0) ** 0.8 + 23.0 * k ** 1.6


@pytest.mark.parametrize("k", [0.5, 1.0, 1.3])
def test_a_long_constant_load_reaches_the_standards_steady_state(k: float) -> None:
    state = transformer_thermal(np.full(24 * 4 * 3, k), 25.0, 900.0, initial="ambient")  # three days
    assert state.hot_spot_c[-1] == pytest.approx(_standard_hot_spot(k, 25.0), abs=0.01)
    assert ONAN.steady_hot_spot(k, 25.0) == pytest.approx(_standard_hot_spot(k, 25.0))


def test_rated_load_at_twenty_degrees_ages_at_the_normal_rate() -> None:
    state = transformer_thermal(np.ones(96), 20.0, 900.0)
    assert state.hot_spot_c[-1] == pytest.approx(98.0)
    assert state.ageing_rate[-1] == pytest.approx(1.0)
    assert state.loss_of_life_h[-1] == pytest.approx(24.0)  # one day at V = 1: one day of life
    assert ONAN.ageing_rate(np.array([104.0]))[0] == pytest.approx(2.0)  # every 6 K doubles it


def test_top_oil_rises_with_the_time_constant_k11_tau_o() -> None:
    step_s = 60.0
    state = transformer_thermal(np.ones(600), 20.0, step_s, initial="ambient")
    rise = state.top_oil_c - 20.0
    at_tau = rise[int(ONAN.k11 * ONAN.tau_o_min) - 1]  # after 180 one-minute steps
    assert at_tau / 55.0 == pytest.approx(1 - math.exp(-1), abs=0.01)


def test_hot_spot_gradient_overshoots_with_power_transformer_constants() -> None:
    """k21 > 1 (large ONAN units) makes the hot-spot gradient overshoot after a load step, then settle."""
    large = TransformerThermal(y=1.3, k11=0.5, k21=2.0, k22=2.0, tau_o_min=210.0, tau_w_min=10.0)
    load = np.concatenate([np.full(60, 0.5), np.full(2000, 1.2)])  # one-minute steps
    state = transformer_thermal(load, 20.0, 60.0, large)
    gradient = state.hot_spot_c - state.top_oil_c
    settled = 23.0 * 1.2 ** 1.3
    assert gradient.max() > settled + 2.0
    assert gradient[-1] == pytest.approx(settled, abs=0.01)
    assert state.hot_spot_c[-1] == pytest.approx(large.steady_hot_spot(1.2, 20.0), abs=0.01)
    flat = transformer_thermal(load, 20.0, 60.0)  # k21 = 1: no overshoot
    assert (flat.hot_spot_c - flat.top_oil_c).max() <= 23.0 * 1.2 ** 1.6 + 1e-9


def test_conductor_reaches_its_steady_state_with_its_time_constant() -> None:
    cable = ConductorThermal(dtheta_rated_k=70.0, tau_min=30.0)
    theta = conductor_temperature(np.full(600, 1.0), 20.0, 60.0, cable, initial_c=20.0)
    assert theta[29] - 20.0 == pytest.approx(70.0 * (1 - math.exp(-1)), rel=1e-9)
    assert theta[-1] == pytest.approx(90.0, abs=0.01)
    two = conductor_temperature(np.array([[0.5, 1.2]] * 400), 15.0, 60.0, cable)
    np.testing.assert_allclose(two[-1], 15.0 + 70.0 * np.array([0.25, 1.44]))


@pytest.mark.parametrize(("call", "field"), [
    (lambda: transformer_thermal(np.array([1.0, -0.1]), 20.0, 900.0), "load_factor"),
    (lambda: transformer_thermal(np.ones(3), 20.0, 0.0), "step_s"),
    (lambda: transformer_thermal(np.ones(3), 20.0, 60.0, initial="warm"), "initial"),
    (lambda: TransformerThermal(tau_o_min=0.0), "tau_o_min"),
    (lambda: conductor_temperature(np.array([np.nan]), 20.0, 60.0), "current_ratio")])
def test_bad_inputs_name_the_field(call: object, field: str) -> None:
    with pytest.raises(PhysicsInputError, match=f"^{field}:"):
        call()  # type: ignore[operator]
