"""The OpenDSS engine (opendssdirect.py) on one thread of its own: compile a circuit, solve it, read it.

OpenDSS holds one active circuit per process, so every use runs on one dedicated thread:
:func:`solve_file` and :func:`solve_script` compile, solve and hand the engine to a ``read``
function there, returning what it returns; calls from several threads queue.  OpenDSS moves the
process's working directory to each compiled file's folder; it is moved back right after the
solve.  (DSS C-API's own switch against that, ``AllowChangeDir(False)`` or
``DSS_CAPI_ALLOW_CHANGE_DIR=0``, crashed the process with a segfault in dss_python_backend 0.14.5,
in the test suite and in a ten-line script; it is not used.)
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from loaders.grids.document import GridSourceError

T = TypeVar("T")
#: The one thread that touches OpenDSS.
_ENGINE_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="opendss-engine")


def _engine() -> Any:
    """The opendssdirect module (it loads a native library on first import)."""
    import opendssdirect as dss

    return dss


def _solved(path: Path, where: str, read: Callable[[Any], T]) -> T:
    """On the engine thread: compile and solve ``path`` (controls included), then ``read`` the engine."""
    if not path.is_file():
        raise GridSourceError(where, None, "no such file")
    dss = _engine()
    working_directory = os.getcwd()
    try:
        dss.Text.Command("Clear")
        dss.Text.Command(f'Compile "{path.resolve()}"')
        dss.Solution.Solve()
    except Exception as error:  # opendssdirect raises DSSException with OpenDSS's own message
        raise GridSourceError(where, None, f"OpenDSS could not compile or solve it: {error}") from error
    finally:
        os.chdir(working_directory)
    if not dss.Solution.Converged():
        raise GridSourceError(where, None, "OpenDSS's power flow did not converge")
    return read(dss)


def solve_file(path: Path, read: Callable[[Any], T], *, where: str | None = None) -> T:
    """``read(engine)`` after OpenDSS compiled and solved the master file ``path``."""
    return _ENGINE_THREAD.submit(_solved, path, where or str(path), read).result()


def solve_script(script: str, read: Callable[[Any], T], *, where: str) -> T:
    """``read(engine)`` after OpenDSS compiled and solved a script (what :mod:`loaders.grids.to_opendss` writes)."""
    with tempfile.TemporaryDirectory(prefix="gridtwin-dss-") as folder:
        path = Path(folder) / "circuit.dss"
        path.write_text(script, encoding="utf-8")
        return solve_file(path, read, where=where)


@dataclass(frozen=True)
class NodeVoltage:
    """One solved node: magnitude in p.u. of its bus's base and angle in degrees."""

    magnitude_pu: float
    angle_degree: float


def node_voltages(dss: Any) -> dict[str, NodeVoltage]:
    """Every node of the solved circuit (``bus.node``, OpenDSS's names) with its voltage."""
    names = dss.Circuit.AllNodeNames()
    magnitudes = dss.Circuit.AllBusMagPu()
    volts = dss.Circuit.AllBusVolts()
    angles = [math.degrees(math.atan2(volts[2 * i + 1], volts[2 * i])) for i in range(len(names))]
    return {name: NodeVoltage(float(m), a) for name, m, a in zip(names, magnitudes, angles)}


def worst_node_differences(source: dict[str, NodeVoltage], built: dict[str, NodeVoltage]) -> dict[str, float]:
    """Largest magnitude (p.u.) and angle (degrees) difference over the nodes both circuits have.

    A node in only one of them is a difference in itself: it is counted in ``missing_nodes``.
    """
    common = source.keys() & built.keys()
    worst_vm = max((abs(source[n].magnitude_pu - built[n].magnitude_pu) for n in common), default=0.0)
    worst_va = max((abs((source[n].angle_degree - built[n].angle_degree + 180.0) % 360.0 - 180.0) for n in common),
                   default=0.0)
    return {"vm_pu": worst_vm, "va_degree": worst_va, "nodes": float(len(common)),
            "missing_nodes": float(len(source.keys() ^ built.keys()))}
