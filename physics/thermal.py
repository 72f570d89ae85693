"""Thermal state of transformers (IEC 60076-7) and of cables and conductors, driven by loading.

**Transformer** (IEC 60076-7:2018, clause 8.2.3, the difference-equation form of the exponential
model), with K the load factor (current / rated current), theta_a the ambient::

    D(theta_o)  = Dt / (k11 tau_o) * ( [(1 + K^2 R) / (1 + R)]^x * dtheta_or - (theta_o - theta_a) )
    D(dtheta_h1) = Dt / (k22 tau_w) * ( k21 Hg_r K^y - dtheta_h1 )
    D(dtheta_h2) = Dt / (tau_o / k22) * ( (k21 - 1) Hg_r K^y - dtheta_h2 )
    theta_h = theta_o + dtheta_h1 - dtheta_h2

Steady state: ``theta_h = theta_a + dtheta_or [(1 + K^2 R)/(1 + R)]^x + Hg_r K^y``.  The standard asks
for Dt at most half the smallest time constant, so every step is cut into sub-steps of at most
that.  Relative ageing of non-upgraded paper ``V = 2^((theta_h - 98)/6)`` (thermally upgraded:
``exp(15000/383 - 15000/(theta_h + 273))``); loss of life is the integral of V over time.
Defaults are the standard's ONAN distribution-transformer constants (Table 5: x 0.8, y 1.6,
k11 1.0, k21 1.0, k22 2.0, tau_o 180 min, tau_w 4 min) and typical rated rises (dtheta_or 55 K,
Hg_r 23 K, R 6): a transformer at rated load in 20 degC ambient then has its hot spot at 98 degC.

**Cable / conductor**: one first-order body, ``tau d(theta)/dt = theta_ss - theta`` with
``theta_ss = theta_amb + dtheta_rated (I / I_r)^2``, solved exactly per step for a constant
current (``theta_n = theta_ss + (theta_{n-1} - theta_ss) e^{-Dt/tau}``).  Defaults: XLPE at 90 degC
with 20 degC ambient (dtheta_rated 70 K), tau 30 min.

Limits: constant ambient per step; no dependence of the losses on temperature (R at the rated
temperature); the transformer model is the standard's, without the oil-viscosity correction or
cooling-stage switching (ONAF fans); one lumped body per cable, no soil drying or mutual heating.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from physics.network import PhysicsInputError


def _positive(owner: object, names: tuple[str, ...]) -> None:
    for name in names:
        value = getattr(owner, name)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0:
            raise PhysicsInputError(name, f"{value!r}: give a number > 0")


@dataclass(frozen=True)
class TransformerThermal:
    """IEC 60076-7 constants of one transformer (temperatures in degC and K, times in minutes)."""

    dtheta_or_k: float = 55.0
    hg_r_k: float = 23.0
    loss_ratio: float = 6.0
    x: float = 0.8
    y: float = 1.6
    k11: float = 1.0
    k21: float = 1.0
    k22: float = 2.0
    tau_o_min: float = 180.0
    tau_w_min: float = 4.0
    upgraded_paper: bool = False

    def __post_init__(self) -> None:
        _positive(self, ("dtheta_or_k", "hg_r_k", "loss_ratio", "x", "y", "k11", "k21", "k22", "tau_o_min",
                         "tau_w_min"))

    def steady_hot_spot(self, k: float, theta_a: float) -> float:
        """The standard's steady-state hot spot at load factor K and ambient theta_a."""
        top_oil = self.dtheta_or_k * ((1 + k * k * self.loss_ratio) / (1 + self.loss_ratio)) ** self.x
        return theta_a + top_oil + self.hg_r_k * k ** self.y

    def ageing_rate(self, theta_h: np.ndarray) -> np.ndarray:
        """Relative ageing rate V (1 at 98 degC for normal paper, at 110 degC for upgraded paper)."""
        theta_h = np.asarray(theta_h, dtype=float)
        if self.upgraded_paper:
            return np.exp(15000.0 / (110.0 + 273.0) - 15000.0 / (theta_h + 273.0))
        return np.power(2.0, (theta_h - 98.0) / 6.0)


@dataclass(frozen=True)
class TransformerState:
    """Per step: top oil and hot spot (degC), ageing rate V and cumulative loss of life (hours)."""

    top_oil_c: np.ndarray
    hot_spot_c: np.ndarray
    ageing_rate: np.ndarray
    loss_of_life_h: np.ndarray


def _check_series(load_factor: np.ndarray, ambient_c: np.ndarray | float,
                  step_s: float) -> tuple[np.ndarray, np.ndarray]:
    k = np.asarray(load_factor, dtype=float)
    if k.ndim != 1 or not len(k):
        raise PhysicsInputError("load_factor", "give a one-dimensional series with at least one step")
    if not np.isfinite(k).all() or (k < 0).any():
        raise PhysicsInputError("load_factor", "every value must be a finite number >= 0")
    ambient = np.broadcast_to(np.asarray(ambient_c, dtype=float), k.shape)
    if not np.isfinite(ambient).all():
        raise PhysicsInputError("ambient_c", "every value must be a finite number")
    if not step_s > 0:
        raise PhysicsInputError("step_s", f"{step_s!r}: give a step length > 0 s")
    return k, ambient


def transformer_thermal(load_factor: np.ndarray, ambient_c: np.ndarray | float, step_s: float,
                        model: TransformerThermal | None = None, *, initial: str = "steady") -> TransformerState:
    """Top oil and hot spot over a series of steps of constant load factor K and ambient.

    ``initial="steady"`` starts in the steady state of the first step (no warm-up transient);
    ``"ambient"`` starts cold (oil and windings at ambient), for step-response studies.
    """
    m = model or TransformerThermal()
    k, ambient = _check_series(load_factor, ambient_c, step_s)
    if initial not in ("steady", "ambient"):
        raise PhysicsInputError("initial", f"{initial!r} is not 'steady' or 'ambient'")
    dt_max_min = 0.5 * min(m.k11 * m.tau_o_min, m.k22 * m.tau_w_min, m.tau_o_min / m.k22)
    substeps = max(1, int(np.ceil(step_s / 60.0 / dt_max_min)))
    dt = step_s / 60.0 / substeps
    oil_rise = lambda kk: m.dtheta_or_k * ((1 + kk * kk * m.loss_ratio) / (1 + m.loss_ratio)) ** m.x  # noqa: E731
    if initial == "steady":
        theta_o = ambient[0] + oil_rise(k[0])
        h1, h2 = m.k21 * m.hg_r_k * k[0] ** m.y, (m.k21 - 1) * m.hg_r_k * k[0] ** m.y
    else:
        theta_o, h1, h2 = ambient[0], 0.0, 0.0
    top_oil, hot_spot = np.empty(len(k)), np.empty(len(k))
    for n in range(len(k)):
        target_oil, winding = oil_rise(k[n]), m.hg_r_k * k[n] ** m.y
        for _ in range(substeps):
            theta_o += dt / (m.k11 * m.tau_o_min) * (target_oil - (theta_o - ambient[n]))
            h1 += dt / (m.k22 * m.tau_w_min) * (m.k21 * winding - h1)
            h2 += dt / (m.tau_o_min / m.k22) * ((m.k21 - 1) * winding - h2)
        top_oil[n], hot_spot[n] = theta_o, theta_o + h1 - h2
    ageing = m.ageing_rate(hot_spot)
    return TransformerState(top_oil, hot_spot, ageing, np.cumsum(ageing) * step_s / 3600.0)


@dataclass(frozen=True)
class ConductorThermal:
    """A cable or overhead conductor as one thermal body: rated rise (K) at rated current, time constant (min)."""

    dtheta_rated_k: float = 70.0
    tau_min: float = 30.0
    max_temperature_c: float = 90.0

    def __post_init__(self) -> None:
        _positive(self, ("dtheta_rated_k", "tau_min", "max_temperature_c"))

    def steady(self, current_ratio: np.ndarray, ambient_c: np.ndarray | float) -> np.ndarray:
        """theta_amb + dtheta_rated (I/Ir)^2."""
        ratio = np.asarray(current_ratio, dtype=float)
        return np.asarray(ambient_c, dtype=float) + self.dtheta_rated_k * ratio * ratio


def conductor_temperature(current_ratio: np.ndarray, ambient_c: np.ndarray | float, step_s: float,
                          model: ConductorThermal | None = None, *, initial_c: float | None = None) -> np.ndarray:
    """Conductor temperature per step (degC) for a current ratio I/Ir constant within each step.

    ``current_ratio`` may be ``(steps,)`` or ``(steps, conductors)``; starts at the first step's
    steady state unless ``initial_c`` is given.
    """
    m = model or ConductorThermal()
    ratio = np.asarray(current_ratio, dtype=float)
    if ratio.ndim not in (1, 2) or not len(ratio) or not np.isfinite(ratio).all() or (ratio < 0).any():
        raise PhysicsInputError("current_ratio", "give finite values >= 0, shaped (steps,) or (steps, conductors)")
    if not step_s > 0:
        raise PhysicsInputError("step_s", f"{step_s!r}: give a step length > 0 s")
    target = m.steady(ratio, np.broadcast_to(np.asarray(ambient_c, dtype=float).T, ratio.T.shape).T)
    decay = np.exp(-step_s / 60.0 / m.tau_min)
    theta = np.empty_like(target)
    previous = target[0] if initial_c is None else np.full(target.shape[1:], float(initial_c))
    for n in range(len(target)):
        previous = target[n] + (previous - target[n]) * decay
        theta[n] = previous
    return theta


__all__ = ["ConductorThermal", "TransformerState", "TransformerThermal", "conductor_temperature",
           "transformer_thermal"]
