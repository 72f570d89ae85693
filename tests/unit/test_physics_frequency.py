"""The aggregated swing equation: settled deviation, initial RoCoF and nadir against closed forms.

Without secondary control the deviation after an imbalance step dP (pu) is the second-order
response of  df/dPe = -(1 + s Tg) / (2H Tg s^2 + (2H + D Tg) s + (D + 1/R)):
    df(t) = -dP / (2H Tg) * [ (1 - e^{-a t} (cos w t + a/w sin w t)) / wn^2 + Tg e^{-a t} sin(w t) / w ]
with wn^2 = (D + 1/R) / (2H Tg), a = (2H + D Tg) / (4H Tg), w = sqrt(wn^2 - a^2).
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from physics.frequency import FrequencyParameters, frequency_at, from_generation_mix, simulate
from physics.network import PhysicsInputError

AREA = FrequencyParameters(h_s=4.0, r_pu=0.05, d_pu=1.0, t_gov_s=0.5, f0_hz=50.0, s_base_mw=10_000.0)
LOST_MW = 500.0


def _closed_form(p: FrequencyParameters, dp_pu: float, t: np.ndarray) -> np.ndarray:
    wn2 = (p.d_pu + 1 / p.r_pu) / (2 * p.h_s * p.t_gov_s)
    a = (2 * p.h_s + p.d_pu * p.t_gov_s) / (4 * p.h_s * p.t_gov_s)
    w = math.sqrt(wn2 - a * a)
    decay = np.exp(-a * t)
    return -dp_pu / (2 * p.h_s * p.t_gov_s) * ((1 - decay * (np.cos(w * t) + a / w * np.sin(w * t))) / wn2
                                                 + p.t_gov_s * decay * np.sin(w * t) / w)


def test_the_frequency_settles_at_minus_dp_over_one_over_r_plus_d() -> None:
    trace = simulate(AREA, [1.0], [LOST_MW], duration_s=120.0)
    expected = AREA.f0_hz * (1 - (LOST_MW / AREA.s_base_mw) / (1 / AREA.r_pu + AREA.d_pu))
    assert trace.f_hz[-1] == pytest.approx(expected, abs=1e-6)
    assert AREA.steady_state_pu(0.05) == pytest.approx(-0.05 / 21.0)


def test_the_whole_excursion_nadir_and_rocof_are_the_closed_forms() -> None:
    trace = simulate(AREA, [0.0], [LOST_MW], duration_s=20.0, dt_s=0.001)
    exact = AREA.f0_hz * (1 + _closed_form(AREA, LOST_MW / AREA.s_base_mw, trace.time_s))
    assert np.max(np.abs(trace.f_hz - exact)) < 1e-4
    assert trace.nadir_hz == pytest.approx(exact.min(), abs=1e-5)
    assert trace.nadir_time_s == pytest.approx(trace.time_s[np.argmin(exact)], abs=0.01)
    assert trace.nadir_hz < trace.f_hz[-1] < AREA.f0_hz  # it overshoots below the settled value
    rocof = -(LOST_MW / AREA.s_base_mw) * AREA.f0_hz / (2 * AREA.h_s)
    assert trace.rocof_hz_s[1] == pytest.approx(rocof, rel=1e-2)


def test_secondary_control_brings_the_frequency_back() -> None:
    with_agc = FrequencyParameters(h_s=4.0, r_pu=0.05, d_pu=1.0, t_gov_s=0.5, k_agc=0.5, s_base_mw=10_000.0)
    trace = simulate(with_agc, [1.0], [LOST_MW], duration_s=300.0, dt_s=0.05)
    assert abs(trace.f_hz[-1] - 50.0) < 1e-3 < 50.0 - trace.nadir_hz


def test_superposition_on_the_step_clock_matches_a_direct_simulation() -> None:
    times = np.arange(0.0, 400.0, 1.0)
    events = ([10.0, 200.0], [LOST_MW, -LOST_MW])
    direct = simulate(AREA, *events, duration_s=400.0, dt_s=0.01)
    np.testing.assert_allclose(frequency_at(AREA, *events, times, horizon_s=150.0, dt_s=0.01), direct.at(times),
                               atol=1e-6)


def test_the_generation_mix_sets_inertia_and_effective_droop() -> None:
    area = from_generation_mix({"thermal": 600.0, "wind": 300.0, "pv": 100.0}, r_pu=0.05)
    assert area.h_s == pytest.approx(5.0 * 600 / 1000)
    assert area.r_pu == pytest.approx(0.05 * 1000 / 600)  # converters do not regulate
    assert area.s_base_mw == 1000.0


@pytest.mark.parametrize(("call", "field"), [
    (lambda: FrequencyParameters(h_s=0.0), "h_s"), (lambda: FrequencyParameters(d_pu=-1.0), "d_pu"),
    (lambda: from_generation_mix({"coal?": 10.0}), "capacity_mw"),
    (lambda: from_generation_mix({"pv": 10.0}), "capacity_mw"),
    (lambda: simulate(AREA, [1.0], [1.0, 2.0], duration_s=10.0), "event_imbalance_mw"),
    (lambda: simulate(AREA, [20.0], [1.0], duration_s=10.0), "event_times_s")])
def test_bad_parameters_name_the_field(call: object, field: str) -> None:
    with pytest.raises(PhysicsInputError, match=f"^{field}:"):
        call()  # type: ignore[operator]
