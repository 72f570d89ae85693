"""IEC 60909 short-circuit currents at a bus, computed by pandapower's ``calc_sc``.

Why pandapower: it implements the equivalent-voltage-source method of IEC 60909-0 (voltage
factor c, impedance correction factors K_T for network transformers, peak current i_p with the
kappa method, thermal equivalent I_th) for three-phase, two-phase and single-phase-to-earth
faults, and it works on the same net the grid converters build.  power-grid-model has a short
circuit calculation too, but only with the IEC 60909 c factor and without K_T, i_p and I_th.

Limits (those of the standard's method): no pre-fault load flow unless asked for
(``use_pre_fault_voltage``), no decaying DC component beyond what i_p expresses, and
single-phase faults need zero-sequence data (``x0x_max`` / ``r0x0_max`` of the external grid,
``vk0_percent`` and the vector group of transformers, ``r0`` / ``x0`` / ``c0`` of lines).
Every input is checked before pandapower runs, so a bad request names its field.
"""

from __future__ import annotations

import copy
import numbers
import warnings
from dataclasses import dataclass, field
from typing import Any

from physics.network import PhysicsInputError

FAULTS = ("3ph", "2ph", "1ph")
CASES = ("max", "min")


@dataclass(frozen=True)
class ShortCircuit:
    """The currents of one fault: at the faulted bus and, per branch, what flows to it (kA)."""

    bus: int
    fault: str
    case: str
    ikss_ka: float
    skss_mw: float
    ip_ka: float
    ith_ka: float
    branch_ikss_ka: dict[str, float] = field(default_factory=dict)


def _check(net: Any, bus: int, fault: str, case: str, r_fault_ohm: float, x_fault_ohm: float) -> None:
    if fault not in FAULTS:
        raise PhysicsInputError("fault", f"{fault!r} is not one of {', '.join(FAULTS)}")
    if case not in CASES:
        raise PhysicsInputError("case", f"{case!r} is not one of {', '.join(CASES)}")
    if isinstance(bus, bool) or not isinstance(bus, numbers.Integral) or int(bus) not in net.bus.index:
        raise PhysicsInputError("bus", f"{bus!r} is not a bus of the net")
    for name, value in (("r_fault_ohm", r_fault_ohm), ("x_fault_ohm", x_fault_ohm)):
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not value >= 0:
            raise PhysicsInputError(name, f"{value!r}: give a number >= 0")
    if not len(net.ext_grid) or "s_sc_max_mva" not in net.ext_grid or net.ext_grid.s_sc_max_mva.isna().any():
        raise PhysicsInputError("ext_grid.s_sc_max_mva", "every external grid needs its short-circuit power")
    if fault == "1ph" and ("x0x_max" not in net.ext_grid or net.ext_grid.x0x_max.isna().any()):
        raise PhysicsInputError("ext_grid.x0x_max", "a single-phase fault needs the zero-sequence ratio X0/X")


def _branch_currents(net: Any) -> dict[str, float]:
    currents: dict[str, float] = {}
    for table in ("line", "trafo", "trafo3w"):
        result = net.get(f"res_{table}_sc")
        if result is None or not len(result):
            continue
        column = "ikss_ka" if "ikss_ka" in result else "ikss_hv_ka"
        for index, value in result[column].items():
            if value == value:
                currents[f"{table}/{index}"] = float(value)
    return currents


def short_circuit(net: Any, bus: int, *, fault: str = "3ph", case: str = "max", r_fault_ohm: float = 0.0,
                  x_fault_ohm: float = 0.0, tk_s: float = 1.0, branch_results: bool = True) -> ShortCircuit:
    """IEC 60909 initial symmetrical current Ik", peak i_p and thermal I_th of a fault at ``bus``.

    The net is copied: pandapower writes its result tables into the net it is given, and the
    caller's net stays as it was.
    """
    import pandapower.shortcircuit as sc

    _check(net, bus, fault, case, r_fault_ohm, x_fault_ohm)
    bus = int(bus)
    if not tk_s > 0:
        raise PhysicsInputError("tk_s", f"{tk_s!r}: the fault duration must be > 0 s")
    work = copy.deepcopy(net)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sc.calc_sc(work, bus=bus, fault=fault, case=case, ip=True, ith=True, tk_s=tk_s, r_fault_ohm=r_fault_ohm,
                   x_fault_ohm=x_fault_ohm, branch_results=branch_results)
    row = work.res_bus_sc.loc[bus]
    return ShortCircuit(bus, fault, case, float(row["ikss_ka"]), float(row.get("skss_mw", float("nan"))),
                        float(row.get("ip_ka", float("nan"))), float(row.get("ith_ka", float("nan"))),
                        _branch_currents(work) if branch_results else {})


__all__ = ["CASES", "FAULTS", "ShortCircuit", "short_circuit"]
