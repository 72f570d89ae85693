"""The OpenDSS engine (opendssdirect.py) behind one lock: compile a circuit, solve it, read its nodes.

OpenDSS holds one active circuit per process, so every use (an import reading a feeder, a
fidelity check solving the feeder built from the graph) takes :data:`ENGINE_LOCK` for the whole
compile-solve-read sequence.  ``AllowChangeDir`` is switched off: OpenDSS would otherwise move the
process's working directory to each compiled file's folder.
"""

from __future__ import annotations

import math
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loaders.grids.document import GridSourceError

#: One OpenDSS circuit per process: whoever compiles holds this until they have read what they need.
ENGINE_LOCK = threading.RLock()


def engine() -> Any:
    """The opendssdirect module, imported on first use (it loads a native library)."""
    import opendssdirect as dss

    dss.Basic.AllowChangeDir(False)
    return dss


@contextmanager
def compiled(path: Path, *, where: str | None = None) -> Iterator[Any]:
    """The engine with ``path`` compiled and solved (controls included), held under the lock."""
    where = where or str(path)
    if not path.is_file():
        raise GridSourceError(where, None, "no such file")
    with ENGINE_LOCK:
        dss = engine()
        try:
            dss.Text.Command("Clear")
            dss.Text.Command(f'Compile "{path}"')
            dss.Solution.Solve()
        except Exception as error:  # opendssdirect raises DSSException with OpenDSS's own message
            raise GridSourceError(where, None, f"OpenDSS could not compile or solve it: {error}") from error
        if not dss.Solution.Converged():
            raise GridSourceError(where, None, "OpenDSS's power flow did not converge")
        yield dss


@contextmanager
def compiled_script(script: str, *, where: str) -> Iterator[Any]:
    """The engine with a script (the text :mod:`loaders.grids.to_opendss` writes) compiled and solved."""
    with tempfile.TemporaryDirectory(prefix="gridtwin-dss-") as folder:
        path = Path(folder) / "circuit.dss"
        path.write_text(script, encoding="utf-8")
        with compiled(path, where=where) as dss:
            yield dss


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
