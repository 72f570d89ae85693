"""The OpenDSS engine (opendssdirect.py) in a process of its own: compile a circuit, solve it, read it.

OpenDSS's native library (DSS C-API, built with Free Pascal) holds one active circuit per process
and brings its own runtime.  In the test suite, after torch, XGBoost and the API had run in the
same process, it segfaulted on a plain ``Clear`` (twice, on the thread pool and on a thread of its
own), though it ran fine earlier in that process and in every smaller reproduction.  So it runs
where nothing else does: one worker process, started on first use (``spawn``: nothing inherited
but the arguments).  :func:`solve_file` and :func:`solve_script` compile and solve there and hand
the engine to a ``read`` function there (a module-level function or a ``functools.partial`` of
one: it is pickled), returning what it returns.  Calls from several threads queue.  If the worker
dies, the call that was running fails with the file named, and the next call starts a new worker.
OpenDSS moves its process's working directory to each compiled file's folder; it is moved back
after the solve.  (DSS C-API's switch against that, ``AllowChangeDir(False)``, crashed the
process in a ten-line script with dss_python_backend 0.14.5; it is not used.)
"""

from __future__ import annotations

import math
import multiprocessing
import os
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from loaders.grids.document import GridSourceError

T = TypeVar("T")
_WORKER_LOCK = threading.Lock()
_worker: ProcessPoolExecutor | None = None


def _engine_process() -> ProcessPoolExecutor:
    """The one process that runs OpenDSS (started when first needed)."""
    global _worker
    with _WORKER_LOCK:
        if _worker is None:
            _worker = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        return _worker


def _discard_engine_process() -> None:
    global _worker
    with _WORKER_LOCK:
        if _worker is not None:
            _worker.shutdown(wait=False, cancel_futures=True)
        _worker = None


def _solved(path: Path, where: str, read: Callable[[Any], T]) -> T:
    """In the engine process: compile and solve ``path`` (controls included), then ``read`` the engine."""
    if not path.is_file():
        raise GridSourceError(where, None, "no such file")
    import opendssdirect as dss

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
    where = where or str(path)
    try:
        return _engine_process().submit(_solved, Path(path).resolve(), where, read).result()
    except BrokenProcessPool as error:
        _discard_engine_process()
        raise GridSourceError(where, None, "the OpenDSS engine process died while solving it") from error


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
