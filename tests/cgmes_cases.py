"""CGMES test grids written by pypowsybl (RTE's power-system library, independent of pandapower): its IEEE 9
and 57 bus and Eurostag tutorial networks, solved by its OpenLoadFlow and saved as CGMES 2.4.15 (EQ, SSH, TP,
SV), so the SV profile holds powsybl's own solution. Run as a process of its own (``python -m
tests.cgmes_cases OUT``; pypowsybl is a native library, kept out of the test process):
one folder per case and a .zip of each.

The solution is a single-slack one (no distributed slack, no reactive limits) unless the case's only
generator is the slack anyway (Eurostag, where powsybl's slack bus has no generator of its own).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

CASES = {"ieee9": ("create_ieee9", False), "ieee57": ("create_ieee57", False),
         "eurostag": ("create_eurostag_tutorial_example1_network", True), "ieee14": ("create_ieee14", False)}


def write_cases(out: Path) -> None:
    import pypowsybl.loadflow as loadflow
    import pypowsybl.network as networks

    for name, (factory, distributed) in CASES.items():
        network = getattr(networks, factory)()
        parameters = loadflow.Parameters(distributed_slack=distributed, use_reactive_limits=False,
                                         provider_parameters={"newtonRaphsonConvEpsPerEq": "1e-12"})
        [result, *_] = loadflow.run_ac(network, parameters)
        assert result.status.name == "CONVERGED", (name, result.status_text)
        folder = out / name
        folder.mkdir(parents=True, exist_ok=True)
        network.save(str(folder / name), format="CGMES")
        shutil.make_archive(str(out / name), "zip", folder)


if __name__ == "__main__":
    write_cases(Path(sys.argv[1]))
