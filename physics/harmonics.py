"""Harmonic voltage distortion from non-linear loads, solved on the network impedance per order.

A steady-state power flow is at the fundamental only.  Here each non-linear load injects a
current at the characteristic orders h (6k +/- 1 for six-pulse converters: 5, 7, 11, 13 ...),
``I_h = I_1 * spectrum[h] / 100`` with ``I_1 = S / V_1`` of the load, and the network answers with
``V_h = Y_h^{-1} I_h`` (positive sequence, per unit on the net's base).  ``Y_h`` is the network's
nodal admittance at h * f: pandapower's own branch model of the net (lines' and transformers' R,
X and B after its switch handling, ``net._ppc`` after a power flow) with every reactance
multiplied by h and every capacitive susceptance by h (inductive shunts divided by h); the
external grid is its short-circuit impedance ``Z_Q = (R/X + j h) X_Q``, ``X_Q = S_base / S_k"``;
linear loads, when included, are their fundamental admittance ``(P - j Q / h) / V_1^2``.
Voltage THD per bus: ``sqrt(sum_h |V_h|^2) / |V_1|``.

Limits: balanced positive-sequence network, so triplen orders (3, 9 ...) which are zero sequence
in a balanced three-phase system are not modelled, and neither is the phase shift of Dy
transformers; injections of all sources are added in phase (worst case) unless a phase angle is
given; no skin effect (R constant with h); converters of generators inject nothing; resonance
with the cables' capacitance is modelled, damping by motor loads is not.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from physics.network import PhysicsInputError

#: A typical six-pulse drive's current spectrum (% of the fundamental), non-triplen characteristic orders.
SIX_PULSE_SPECTRUM = {5: 17.5, 7: 11.0, 11: 4.5, 13: 2.9, 17: 1.5, 19: 1.0, 23: 0.9, 25: 0.8}
MAX_ORDER = 50


@dataclass(frozen=True)
class HarmonicSource:
    """A non-linear load at a pandapower bus: its fundamental apparent power and current spectrum."""

    bus: int
    s_mva: float
    spectrum: Mapping[int, float] = field(default_factory=lambda: dict(SIX_PULSE_SPECTRUM))
    phase_deg: Mapping[int, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.s_mva, (int, float)) or isinstance(self.s_mva, bool) or not self.s_mva >= 0:
            raise PhysicsInputError("s_mva", f"{self.s_mva!r}: give the load's apparent power >= 0 MVA")
        for order, percent in self.spectrum.items():
            if not isinstance(order, int) or not 2 <= order <= MAX_ORDER:
                raise PhysicsInputError("spectrum", f"order {order!r}: give whole orders from 2 to {MAX_ORDER}")
            if not 0 <= percent <= 100:
                raise PhysicsInputError("spectrum", f"order {order}: {percent!r} % is not within 0..100")


@dataclass(frozen=True)
class HarmonicResult:
    """Per order and bus the harmonic voltage (pu), and the voltage THD (%) per bus."""

    buses: np.ndarray
    orders: tuple[int, ...]
    v_h_pu: np.ndarray
    v1_pu: np.ndarray

    @property
    def thd_percent(self) -> np.ndarray:
        """sqrt(sum_h V_h^2) / V_1 per bus, in %."""
        return 100.0 * np.sqrt(np.sum(self.v_h_pu ** 2, axis=0)) / self.v1_pu

    def thd_of(self, bus: int) -> float:
        """THD (%) at one pandapower bus."""
        found = np.flatnonzero(self.buses == bus)
        if not len(found):
            raise PhysicsInputError("bus", f"{bus!r} is not an energised bus of the result")
        return float(self.thd_percent[found[0]])


def _fundamental(net: Any) -> Any:
    import pandapower as pp

    work = copy.deepcopy(net)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            pp.runpp(work, numba=False)
        except pp.LoadflowNotConverged as error:
            raise PhysicsInputError("net", "the fundamental power flow does not converge") from error
    return work


def _admittance(ppc: Any, order: int) -> Any:
    from pandapower.pypower.idx_brch import BR_B, BR_X
    from pandapower.pypower.idx_bus import BS
    from pandapower.pypower.makeYbus import makeYbus

    bus, branch = ppc["bus"].copy(), ppc["branch"].copy()
    branch[:, BR_X] = branch[:, BR_X] * order
    branch[:, BR_B] = branch[:, BR_B] * order
    bus[:, BS] = np.where(bus[:, BS] > 0, bus[:, BS] * order, bus[:, BS] / order)
    y_bus, _, _ = makeYbus(ppc["baseMVA"], bus, branch)
    return y_bus.tolil()


def _add_shunts(y: Any, work: Any, lookup: np.ndarray, order: int, v1: np.ndarray, include_loads: bool) -> None:
    base = float(work._ppc["baseMVA"])
    for _, grid in work.ext_grid[work.ext_grid.in_service].iterrows():
        if not grid.get("s_sc_max_mva", 0) > 0:
            raise PhysicsInputError("ext_grid.s_sc_max_mva", "every external grid needs its short-circuit power")
        rx = float(grid.get("rx_max", 0.1))
        rx = 0.1 if rx != rx else rx  # a typical R/X where the net leaves it empty (NaN)
        x_q = base / float(grid["s_sc_max_mva"]) / np.sqrt(1 + rx * rx)
        k = lookup[int(grid["bus"])]
        y[k, k] += 1.0 / complex(rx * x_q, order * x_q)
    if include_loads:
        for _, load in work.res_load.join(work.load[["bus", "in_service"]]).iterrows():
            k = lookup[int(load["bus"])]
            if load["in_service"] and load["p_mw"] == load["p_mw"] and v1[k] > 0:
                y[k, k] += complex(load["p_mw"], -load["q_mvar"] / order) / base / v1[k] ** 2


def harmonic_voltages(net: Any, sources: Sequence[HarmonicSource], *, include_loads: bool = True,
                      orders: Sequence[int] | None = None) -> HarmonicResult:
    """Harmonic voltages and THD at every energised bus for the given non-linear loads."""
    from scipy.sparse.linalg import spsolve

    if not sources:
        raise PhysicsInputError("sources", "give at least one non-linear load")
    for source in sources:
        if int(source.bus) not in net.bus.index:
            raise PhysicsInputError("sources.bus", f"{source.bus!r} is not a bus of the net")
    work = _fundamental(net)
    lookup = work._pd2ppc_lookups["bus"]
    wanted = tuple(sorted(set(orders) if orders else {h for s in sources for h in s.spectrum}))
    if any(not isinstance(h, int) or not 2 <= h <= MAX_ORDER for h in wanted):
        raise PhysicsInputError("orders", f"give whole orders from 2 to {MAX_ORDER}")
    energised = work.res_bus.index[work.res_bus.vm_pu.notna()].to_numpy()
    v1 = np.zeros(len(work._ppc["bus"]))
    v1[lookup[energised]] = work.res_bus.vm_pu.loc[energised].to_numpy()
    rows = np.unique(lookup[energised])
    position = {int(r): k for k, r in enumerate(rows)}
    base = float(work._ppc["baseMVA"])
    v_h = np.zeros((len(wanted), len(energised)))
    for i, order in enumerate(wanted):
        y = _admittance(work._ppc, order)
        _add_shunts(y, work, lookup, order, v1, include_loads)
        current = np.zeros(len(rows), dtype=complex)
        for source in sources:
            row = int(lookup[int(source.bus)])
            if row not in position:
                continue
            magnitude = source.s_mva / base / v1[row] * source.spectrum.get(order, 0.0) / 100.0
            current[position[row]] += magnitude * np.exp(1j * np.radians(source.phase_deg.get(order, 0.0)))
        solved = spsolve(y.tocsr()[rows][:, rows].tocsc(), current)
        v_h[i] = np.abs(solved[[position[int(lookup[b])] for b in energised]])
    return HarmonicResult(energised, wanted, v_h, v1[lookup[energised]])


__all__ = ["HarmonicResult", "HarmonicSource", "MAX_ORDER", "SIX_PULSE_SPECTRUM", "harmonic_voltages"]
