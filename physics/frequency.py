"""System frequency after a power imbalance: the aggregated swing equation with governor droop.

A steady-state power flow has no frequency: its slack absorbs any imbalance.  The frequency a
measurement point sees after, say, the loss of a generator comes from the rotating masses and
the governors of the whole synchronous area, modelled here as ONE equivalent machine
(single-area, per unit on the area's online generation rating ``s_base_mw``)::

    2H * d(df)/dt = dPm - dPe - D * df                       (swing equation, df in pu of f0)
    Tg * d(dPm)/dt = -df / R - dPm + dPagc                   (first-order governor with droop R)
    d(dPagc)/dt    = -Ki * df                                (optional secondary control, Ki = 0: off)

``dPe`` is the imbalance in pu (positive: more load than generation, e.g. a lost generator).
Without secondary control the frequency settles at ``df = -dPe / (1/R + D)``; the initial rate of
change is ``-dPe / (2H)`` (times f0 for Hz/s); the nadir comes from the governor's lag ``Tg``.
The model is linear, so it is solved exactly for piecewise-constant imbalances with SciPy's LTI
simulation (``scipy.signal.lsim``), not with a hand-written integrator.

Limits: one area (no inter-area oscillations, no tie-line flows), small deviations (linear,
roughly |df| < 1 Hz), no governor dead band, rate or power limits, no under-frequency load
shedding, no synthetic inertia from converters, voltage dynamics ignored.  The inertia and droop
of the mix come from typical values per technology (:data:`TYPICAL_INERTIA_S`), not from the
grid's data, unless given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from physics.network import PhysicsInputError

#: Typical inertia constants H (s, on the unit's own rating) per technology; converters add none.
TYPICAL_INERTIA_S = {"thermal": 5.0, "nuclear": 6.0, "gas": 4.0, "hydro": 3.0, "biomass": 3.5, "wind": 0.0,
                     "pv": 0.0, "storage": 0.0, "grid": 5.0}
#: Whether a technology's units run a droop governor (primary control).
TYPICAL_GOVERNOR = {"thermal": True, "nuclear": False, "gas": True, "hydro": True, "biomass": True, "wind": False,
                    "pv": False, "storage": False, "grid": True}


@dataclass(frozen=True)
class FrequencyParameters:
    """The equivalent machine: inertia H (s), droop R (pu), damping D (pu/pu), governor lag Tg (s), AGC gain Ki."""

    h_s: float = 5.0
    r_pu: float = 0.05
    d_pu: float = 1.0
    t_gov_s: float = 0.5
    k_agc: float = 0.0
    f0_hz: float = 50.0
    s_base_mw: float = 1000.0

    def __post_init__(self) -> None:
        for name in ("h_s", "r_pu", "t_gov_s", "f0_hz", "s_base_mw"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0:
                raise PhysicsInputError(name, f"{value!r}: give a number > 0")
        for name in ("d_pu", "k_agc"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not value >= 0:
                raise PhysicsInputError(name, f"{value!r}: give a number >= 0")

    def steady_state_pu(self, imbalance_pu: float) -> float:
        """The settled deviation (pu) without secondary control: -dP / (1/R + D)."""
        return -imbalance_pu / (1.0 / self.r_pu + self.d_pu)


def from_generation_mix(capacity_mw: Mapping[str, float], *, r_pu: float = 0.05, d_pu: float = 1.0,
                        t_gov_s: float = 0.5, k_agc: float = 0.0, f0_hz: float = 50.0,
                        inertia_s: Mapping[str, float] | None = None) -> FrequencyParameters:
    """The equivalent machine of a generation mix (MW online per technology).

    H_sys = sum(H_i S_i) / sum(S_i); only governed units give droop, so the area's effective droop
    is R * S_total / S_governed (a mix of converters regulates less).
    """
    table = {**TYPICAL_INERTIA_S, **(inertia_s or {})}
    unknown = sorted(set(capacity_mw) - set(table))
    if unknown:
        raise PhysicsInputError("capacity_mw", f"unknown technology {unknown[0]!r}; known: {', '.join(sorted(table))}")
    if any(not value >= 0 for value in capacity_mw.values()):
        raise PhysicsInputError("capacity_mw", "every capacity must be >= 0 MW")
    total = float(sum(capacity_mw.values()))
    governed = float(sum(mw for kind, mw in capacity_mw.items() if TYPICAL_GOVERNOR.get(kind, False)))
    if total <= 0 or governed <= 0:
        raise PhysicsInputError("capacity_mw", "the mix needs online capacity with governors (thermal, gas, hydro ...)")
    inertia = sum(table[kind] * mw for kind, mw in capacity_mw.items()) / total
    return FrequencyParameters(h_s=max(inertia, 1e-3), r_pu=r_pu * total / governed, d_pu=d_pu, t_gov_s=t_gov_s,
                               k_agc=k_agc, f0_hz=f0_hz, s_base_mw=total)


@dataclass(frozen=True)
class FrequencyTrace:
    """Frequency (Hz) and mechanical power (pu) over time, with the figures an operator reads."""

    time_s: np.ndarray
    f_hz: np.ndarray
    p_mech_pu: np.ndarray

    @property
    def nadir_hz(self) -> float:
        """The lowest frequency reached."""
        return float(np.min(self.f_hz))

    @property
    def nadir_time_s(self) -> float:
        """When the lowest frequency is reached."""
        return float(self.time_s[int(np.argmin(self.f_hz))])

    @property
    def rocof_hz_s(self) -> np.ndarray:
        """Rate of change of frequency (Hz/s) between samples."""
        return np.gradient(self.f_hz, self.time_s)

    def at(self, times_s: np.ndarray) -> np.ndarray:
        """The frequency at other times (linear interpolation): for telemetry on the steps' clock."""
        return np.interp(times_s, self.time_s, self.f_hz)


def _state_space(p: FrequencyParameters) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    two_h = 2.0 * p.h_s
    a = np.array([[-p.d_pu / two_h, 1.0 / two_h, 0.0],
                  [-1.0 / (p.r_pu * p.t_gov_s), -1.0 / p.t_gov_s, 1.0 / p.t_gov_s],
                  [-p.k_agc, 0.0, 0.0]])
    b = np.array([[-1.0 / two_h], [0.0], [0.0]])
    c = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    return a, b, c, np.zeros((2, 1))


def simulate(parameters: FrequencyParameters, event_times_s: Sequence[float], event_imbalance_mw: Sequence[float],
             *, duration_s: float, dt_s: float = 0.01) -> FrequencyTrace:
    """Frequency after imbalance steps: at ``event_times_s[k]`` the imbalance grows by ``event_imbalance_mw[k]``.

    A lost generator of 300 MW is ``(t, +300)``; its return ``(t2, -300)``.  Starts in equilibrium at f0.
    """
    from scipy.signal import lsim

    if len(event_times_s) != len(event_imbalance_mw):
        raise PhysicsInputError("event_imbalance_mw", "give one imbalance per event time")
    if not duration_s > 0 or not 0 < dt_s <= duration_s:
        raise PhysicsInputError("dt_s", f"need 0 < dt_s ({dt_s!r}) <= duration_s ({duration_s!r})")
    steps = int(round(duration_s / dt_s)) + 1
    if steps > 10_000_000:
        raise PhysicsInputError("dt_s", f"{steps} samples is too many; use a larger dt_s or a shorter duration_s")
    time = np.linspace(0.0, duration_s, steps)
    imbalance = np.zeros(steps)
    for at, mw in zip(event_times_s, event_imbalance_mw):
        if not 0 <= at <= duration_s:
            raise PhysicsInputError("event_times_s", f"{at!r} is outside 0..{duration_s} s")
        imbalance[time >= at - 1e-12] += mw / parameters.s_base_mw
    _, outputs, _ = lsim(_state_space(parameters), imbalance, time, interp=False)
    return FrequencyTrace(time, parameters.f0_hz * (1.0 + outputs[:, 0]), outputs[:, 1])


def frequency_at(parameters: FrequencyParameters, event_times_s: Sequence[float], event_imbalance_mw: Sequence[float],
                 times_s: np.ndarray, *, horizon_s: float = 900.0, dt_s: float = 0.05) -> np.ndarray:
    """Frequency (Hz) at arbitrary times (a run's step clock) after imbalance steps, by superposition.

    The model is linear: the response to one unit step is computed once over ``horizon_s`` and
    each event adds its shifted, scaled copy; after the horizon the settled value holds.  So a
    year of 15-minute steps costs one short simulation, not a year at ``dt_s``.
    """
    if len(event_times_s) != len(event_imbalance_mw):
        raise PhysicsInputError("event_imbalance_mw", "give one imbalance per event time")
    times = np.asarray(times_s, dtype=float)
    unit = simulate(parameters, [0.0], [parameters.s_base_mw], duration_s=horizon_s, dt_s=dt_s)
    deviation_pu = unit.f_hz / parameters.f0_hz - 1.0
    total = np.zeros(times.shape)
    for at, mw in zip(event_times_s, event_imbalance_mw):
        since = times - at
        response = np.interp(since, unit.time_s, deviation_pu, left=0.0, right=deviation_pu[-1])
        total += np.where(since >= 0, response, 0.0) * (mw / parameters.s_base_mw)
    return parameters.f0_hz * (1.0 + total)


__all__ = ["FrequencyParameters", "FrequencyTrace", "TYPICAL_GOVERNOR", "TYPICAL_INERTIA_S", "frequency_at",
           "from_generation_mix", "simulate"]
