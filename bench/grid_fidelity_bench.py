"""Round trip of every simbench grid up to 10,000 buses: source net -> GridDocument -> pandapower net.

Prints, per grid, the worst bus-voltage, angle and loading difference between the power flow
of the source net and of the net built from the twin rows, and the time of import and build.
Usage: ``.venv/bin/python bench/grid_fidelity_bench.py [--max-buses N] [CODE ...]``
"""
from __future__ import annotations

import argparse
import time
import warnings

from loaders.grids.compare import worst_differences
from loaders.grids.from_pandapower import from_pandapower
from loaders.grids.sources import simbench_codes
from loaders.grids.to_pandapower import to_pandapower


def run(code: str, max_buses: int) -> dict[str, float] | None:
    """One grid's numbers, or None when it has more than ``max_buses`` buses."""
    import simbench

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = simbench.get_simbench_net(code)
    if len(net.bus) > max_buses:
        return None
    net.pop("profiles", None)
    start = time.perf_counter()
    document = from_pandapower(net, code)
    imported = time.perf_counter()
    built = to_pandapower(document)
    done = time.perf_counter()
    worst = worst_differences(net, built)
    return {"buses": len(net.bus), "twins": len(document.twins), "import_s": imported - start,
            "build_s": done - imported, **worst}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("codes", nargs="*", help="simbench codes (default: all)")
    parser.add_argument("--max-buses", type=int, default=10_000)
    args = parser.parse_args()
    codes = args.codes or [c for c in simbench_codes() if "complete_data" not in c]
    worst = {"vm_pu": 0.0, "va_degree": 0.0, "loading_percent": 0.0}
    print(f"{'code':34} {'buses':>6} {'twins':>6} {'import s':>8} {'build s':>7} {'vm pu':>9} {'va deg':>9} {'load %':>9}")
    for code in codes:
        try:
            result = run(code, args.max_buses)
        except Exception as error:  # a bench reports every grid; the error is the result for this one
            print(f"{code:34} FAILED {type(error).__name__}: {error}")
            continue
        if result is None:
            continue
        for key in worst:
            worst[key] = max(worst[key], result[key])
        print(f"{code:34} {result['buses']:6d} {result['twins']:6d} {result['import_s']:8.2f} {result['build_s']:7.2f} "
              f"{result['vm_pu']:9.2e} {result['va_degree']:9.2e} {result['loading_percent']:9.2e}", flush=True)
    print(f"worst: vm {worst['vm_pu']:.2e} pu, va {worst['va_degree']:.2e} deg, loading {worst['loading_percent']:.2e} %")


if __name__ == "__main__":
    main()
