"""Worst differences between two power-flow results: the fidelity measure of tests and bench/grid_fidelity_bench.py."""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np


def _worst(a: Any, b: Any) -> float:
    both = ~(np.isnan(a.to_numpy(dtype=float)) & np.isnan(b.to_numpy(dtype=float)))
    diff = np.abs(a.to_numpy(dtype=float)[both] - b.to_numpy(dtype=float)[both])
    return float(np.nanmax(diff)) if diff.size else 0.0


def worst_differences(source: Any, built: Any, *, unbalanced: bool = False) -> dict[str, float]:
    """Power flow on both nets; the largest |difference| of bus vm (pu), va (deg) and branch loading (%)."""
    import pandapower as pp

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = pp.runpp_3ph if unbalanced else pp.runpp
        run(source, numba=False)
        run(built, numba=False)
    suffix = "_3ph" if unbalanced else ""
    bus_s, bus_b = source[f"res_bus{suffix}"], built[f"res_bus{suffix}"].loc[source[f"res_bus{suffix}"].index]
    phases = ("_a", "_b", "_c") if unbalanced else ("",)
    result = {"vm_pu": max(_worst(bus_s[f"vm{p}_pu"], bus_b[f"vm{p}_pu"]) for p in phases),
              "va_degree": max(_worst(bus_s[f"va{p}_degree"], bus_b[f"va{p}_degree"]) for p in phases),
              "loading_percent": 0.0}
    for table in ("line", "trafo", "trafo3w"):
        res = f"res_{table}{suffix}"
        if res in source and len(source[res]) and "loading_percent" in source[res]:
            result["loading_percent"] = max(result["loading_percent"], _worst(
                source[res]["loading_percent"], built[res].loc[source[res].index]["loading_percent"]))
    # NaN on one side only (a bus solved in one net, dead in the other) is a difference too.
    if (bus_s[f"vm{phases[0]}_pu"].isna() != bus_b[f"vm{phases[0]}_pu"].isna()).any():
        result["vm_pu"] = float("inf")
    return result


def pgm_worst_vm(source: Any, pgm_output: Any, node_of_bus: dict[int, int], *, unbalanced: bool = False) -> float:
    """Largest |vm| difference between pandapower's result on ``source`` and PGM's node voltages (pu)."""
    node = pgm_output["node"]
    position = {int(node_id): k for k, node_id in enumerate(node["id"])}
    worst = 0.0
    if unbalanced:
        res = source.res_bus_3ph
        for bus in res.index[res.vm_a_pu.notna()]:
            for k, phase in enumerate("abc"):
                worst = max(worst, abs(float(node["u_pu"][position[node_of_bus[bus]]][k]) - float(res.at[bus, f"vm_{phase}_pu"])))
    else:
        res = source.res_bus
        for bus in res.index[res.vm_pu.notna()]:
            worst = max(worst, abs(float(node["u_pu"][position[node_of_bus[bus]]]) - float(res.at[bus, "vm_pu"])))
    return worst
