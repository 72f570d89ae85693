"""A simulated year of 15-minute steps (35,040) of a ~100-bus simbench MV grid: power-grid-model batch vs pandapower.

Prints the grid's size, the time to build the step inputs from the profiles, the wall and CPU time of ONE
power-grid-model batch over the whole year (with every output the simulator keeps, and with
voltages only), a plain pandapower ``runpp`` loop on the same grid for a sample of steps
(extrapolated to the year), their ratio, and the worst voltage difference between the two on
the sampled steps.  Target (issue 9): the year in < 10 s.
Usage: ``.venv/bin/python bench/physics_year_bench.py [--code 1-MV-rural--0-sw] [--sample 100]``
"""
from __future__ import annotations

import argparse
import copy
import importlib.util
import os
import time
import warnings
from typing import Any

import numpy as np

from loaders.grids.from_pandapower import from_pandapower
from loaders.grids.pgm import to_power_grid_model
from physics.network import Network
from physics.timeseries import StepInputs, apply_profiles, run_time_series

YEAR = 35_040


def _load(code: str) -> tuple[Any, dict[tuple[str, str], Any], Network]:
    import simbench

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = simbench.get_simbench_net(code)
        absolute = simbench.get_absolute_values(net, profiles_instead_of_study_cases=True)
        net.pop("profiles", None)
        pgm = to_power_grid_model(from_pandapower(copy.deepcopy(net), code))
    absolute = {key: frame.iloc[:YEAR] for key, frame in absolute.items() if len(frame.columns)}
    return net, absolute, Network.from_pgm(pgm.data, pgm.extra_info, pgm.net)


def _pandapower_loop(net: Any, absolute: dict[tuple[str, str], Any], steps: np.ndarray) -> tuple[float, dict]:
    """Seconds per step of set-P/Q-then-runpp, and each step's bus voltages (for the comparison)."""
    import pandapower as pp

    work = copy.deepcopy(net)
    voltages = {}
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for step in steps:
            for (table, column), frame in absolute.items():
                work[table].loc[frame.columns, column] = frame.iloc[int(step)].to_numpy()
            pp.runpp(work, tolerance_mva=1e-9)
            voltages[int(step)] = work.res_bus.vm_pu.copy()
    return (time.perf_counter() - start) / len(steps), voltages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--code", default="1-MV-rural--0-sw")
    parser.add_argument("--sample", type=int, default=100, help="pandapower steps to time (spread over the year)")
    args = parser.parse_args()
    net, absolute, network = _load(args.code)
    print(f"grid {args.code}: {len(net.bus)} buses, {len(net.line)} lines, {len(net.trafo)} transformers, "
          f"{len(net.load)} loads, {len(net.sgen)} generators; {YEAR} steps; load average {os.getloadavg()[0]:.1f}, "
          f"numba for pandapower: {'yes' if importlib.util.find_spec('numba') else 'no'}")
    start = time.perf_counter()
    inputs = StepInputs(network, YEAR)
    apply_profiles(inputs, absolute)
    built, cpu = time.perf_counter(), time.process_time()
    result = run_time_series(inputs)
    solved, cpu = time.perf_counter(), time.process_time() - cpu
    run_time_series(inputs, outputs={"node": ["u_pu"]})
    voltages_only = time.perf_counter() - solved
    print(f"step inputs from the profiles: {built - start:.2f} s")
    print(f"power-grid-model batch, all outputs: {solved - built:.2f} s wall, {cpu:.2f} s CPU on all threads "
          f"({(solved - built) / YEAR * 1e6:.0f} us/step wall), failed steps {len(result.failed_steps)}, "
          f"energy balance worst {result.energy_balance().worst_relative_error():.1e}")
    print(f"power-grid-model batch, voltages only: {voltages_only:.2f} s")
    sample = np.linspace(0, YEAR - 1, args.sample).astype(int)
    per_step, pp_voltages = _pandapower_loop(net, absolute, sample)
    nodes = {int(i): k for k, i in enumerate(result.ids("node"))}
    u_pu = result.values("node", "u_pu")
    worst = max(abs(u_pu[step, nodes[network.bus_node(bus)]] - vm) for step, vm_of in pp_voltages.items()
                for bus, vm in vm_of.dropna().items())
    year_pp = per_step * YEAR
    print(f"pandapower runpp loop: {per_step * 1e3:.1f} ms/step over {args.sample} steps -> {year_pp:.0f} s "
          "for the year")
    print(f"ratio pandapower loop / PGM batch: {year_pp / (solved - built):.0f}x; worst |vm| difference on the "
          f"sampled steps {worst:.1e} pu")
    print(f"target: the year in < 10 s: {'met' if solved - built < 10 else 'MISSED'} (wall; a shared machine's load "
          f"average above its 2 cores stretches wall time, the CPU figure does not)")


if __name__ == "__main__":
    main()
