"""The OpenDSS circuit of a phase-level grid document: the unbalanced network built from the twin graph.

The inverse of :mod:`loaders.grids.from_opendss`: each twin becomes one OpenDSS element with
the values the twin holds now, so an operator's edit (a switch opened, a tap moved, a load
taken out of service) is in the next solve.  Out-of-service elements and open switches are
written ``enabled=no``; regulators keep their RegControl and start from the stored tap.
Used for the fidelity check against OpenDSS's own solution of the source files and by
``gridtwin grid export opendss``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from typing import Any

from graph.bulk import TwinRow
from loaders.grids.document import GRID_MODEL, GT, GridDocument, GridSourceError

SQRT3 = math.sqrt(3.0)
NODE_OF_PHASE = {"a": "1", "b": "2", "c": "3"}
_FEEDS_TO = "feedsTo"


def _number(value: float) -> str:
    """Full precision (repr), so writing and reading the script loses nothing."""
    return repr(float(value))


def _matrix(values: Iterable[float]) -> str:
    """A lower triangle as OpenDSS reads it: rows separated by ``|``."""
    flat = [_number(v) for v in values]
    rows, start, size = [], 0, 1
    while start < len(flat):
        rows.append(" ".join(flat[start:start + size]))
        start, size = start + size, size + 1
    return "[" + " | ".join(rows) + "]"


def _name(twin: TwinRow) -> str:
    """The element name in OpenDSS: the source's own when it was imported from OpenDSS."""
    source = str(twin.properties.get("sourceId", ""))
    _, _, name = source.partition(".")
    return name or twin.id.rsplit("/", 1)[-1]


class _Circuit:
    """The document's twins by model and their bus ends, plus the lines of script written so far."""

    def __init__(self, document: GridDocument) -> None:
        self.document = document
        self.by_model: dict[str, list[TwinRow]] = {}
        for twin in document.twins:
            self.by_model.setdefault(twin.model, []).append(twin)
        self.ends = {(r.source_id, r.name): r.target_id for r in document.relationships if r.name != _FEEDS_TO}
        self.bus_names = {t.id: _name(t) for t in self.by_model.get(f"{GT}Bus;1", [])}
        self.lines: list[str] = []

    def twins(self, model: str) -> list[TwinRow]:
        return self.by_model.get(model, [])

    def bus(self, twin: TwinRow, end: str) -> str:
        """``bus.node.node`` of the twin's end ``end``, nodes from the twin's phases."""
        target = self.ends.get((twin.id, end))
        if target is None or target not in self.bus_names:
            raise GridSourceError(f"twin {twin.id!r}", end, "no bus of the grid at this end")
        phases = str(twin.properties.get("phases", "abc"))
        if not phases or any(p not in NODE_OF_PHASE for p in phases):
            raise GridSourceError(f"twin {twin.id!r}", "phases", f"{phases!r}: give phase letters a, b, c")
        return ".".join([self.bus_names[target], *(NODE_OF_PHASE[p] for p in phases)])


def _phase_count(twin: TwinRow, delta: bool = False) -> int:
    phases = str(twin.properties.get("phases", "abc"))
    return 1 if delta and len(phases) <= 2 else len(phases)  # one letter: between that phase and ground


def _enabled(twin: TwinRow) -> str:
    return "" if twin.properties.get("status", "inService") == "inService" else " enabled=no"


def _rated_kv(kv_line_to_line: float, count: int, delta: bool) -> float:
    """Twins hold line-to-line kV; OpenDSS wants single-phase wye ratings line-to-neutral."""
    return kv_line_to_line / SQRT3 if count == 1 and not delta else kv_line_to_line


def _source(circuit: _Circuit, twin: TwinRow, first: bool) -> None:
    p = twin.properties
    head = f"New Circuit.{re.sub(r'[^A-Za-z0-9_]', '_', circuit.document.grid_id)}" if first else f"New Vsource.{_name(twin)}"
    circuit.lines.append(
        f"{head} bus1={circuit.bus(twin, 'terminal')} phases={_phase_count(twin)} basekv={_number(p['ratedVoltage'])} "
        f"pu={_number(p.get('voltageSetpoint', 1.0))} angle={_number(p.get('voltageAngle', 0.0))} "
        f"Z1=[{_number(p['positiveSequenceResistance'])}, {_number(p['positiveSequenceReactance'])}] "
        f"Z0=[{_number(p['zeroSequenceResistance'])}, {_number(p['zeroSequenceReactance'])}]{_enabled(twin)}")


def _line(circuit: _Circuit, twin: TwinRow) -> None:
    p = twin.properties
    for matrix in ("phaseResistancePerKm", "phaseReactancePerKm", "phaseCapacitancePerKm"):
        if matrix not in p:
            raise GridSourceError(f"twin {twin.id!r}", matrix, "missing: a phase-level line needs its matrices")
    circuit.lines.append(
        f"New Line.{_name(twin)} phases={_phase_count(twin)} bus1={circuit.bus(twin, 'fromBus')} "
        f"bus2={circuit.bus(twin, 'toBus')} length={_number(p['length'])} units=km "
        f"rmatrix={_matrix(p['phaseResistancePerKm'])} xmatrix={_matrix(p['phaseReactancePerKm'])} "
        f"cmatrix={_matrix(p['phaseCapacitancePerKm'])}"
        + (f" normamps={_number(p['maxCurrent'])}" if "maxCurrent" in p else "") + _enabled(twin))


def _switch(circuit: _Circuit, twin: TwinRow) -> None:
    """A switch is a short line of its resistance and reactance (OpenDSS has no separate switch element)."""
    p = twin.properties
    r, x = _number(p.get("resistance", 1e-7)), _number(p.get("reactance", 0.0))
    closed = p.get("switchState", "closed") == "closed" and p.get("status", "inService") == "inService"
    circuit.lines.append(
        f"New Line.{_name(twin)} phases={_phase_count(twin)} bus1={circuit.bus(twin, 'fromBus')} "
        f"bus2={circuit.bus(twin, 'toBus')} switch=yes length=1 units=none r1={r} r0={r} x1={x} x0={x} c1=0 c0=0"
        + (f" normamps={_number(p['ratedCurrent'])}" if "ratedCurrent" in p else "") + ("" if closed else " enabled=no"))


def _windings(vector_group: str) -> tuple[str, str]:
    group = vector_group.rstrip("0123456789")
    high, low = (group[:2], group[2:]) if group.upper().startswith("YN") else (group[:1], group[1:])
    conn = {"d": "delta", "y": "wye", "yn": "wye"}
    if high.lower() not in conn or low.lower() not in conn:
        raise GridSourceError("vectorGroup", "vectorGroup", f"{vector_group!r}: give e.g. Dyn, YNyn, Yd")
    return conn[high.lower()], conn[low.lower()]


def _transformer(circuit: _Circuit, twin: TwinRow) -> None:
    p = twin.properties
    count = _phase_count(twin)
    hv_conn, lv_conn = _windings(str(p.get("vectorGroup", "YNyn")))
    vkr = float(p.get("resistiveImpedance", 0.0))
    xhl = math.sqrt(max(float(p["impedance"]) ** 2 - vkr ** 2, 0.0))
    kva = float(p["ratedPower"])
    hv_kv = _rated_kv(float(p["primaryVoltage"]), count, hv_conn == "delta")
    lv_kv = _rated_kv(float(p["secondaryVoltage"]), count, lv_conn == "delta")
    step = float(p.get("tapStepPercent", 0.0)) / 100.0
    tapped = 1 if p.get("tapSide") == "hv" else 2
    taps = [1.0, 1.0]
    taps[tapped - 1] = 1.0 + int(p.get("tapPosition", 0)) * step
    name = _name(twin)
    circuit.lines.append(
        f"New Transformer.{name} phases={count} windings=2 XHL={_number(xhl)} "
        f"%noloadloss={_number(float(p.get('ironLosses', 0.0)) / kva * 100.0)} %imag={_number(p.get('noLoadCurrent', 0.0))} "
        f"buses=[{circuit.bus(twin, 'hvBus')} {circuit.bus(twin, 'lvBus')}] conns=[{hv_conn} {lv_conn}] "
        f"kvs=[{_number(hv_kv)} {_number(lv_kv)}] kvas=[{_number(kva)} {_number(kva)}] "
        f"%Rs=[{_number(vkr / 2)} {_number(vkr / 2)}] taps=[{_number(taps[0])} {_number(taps[1])}]{_enabled(twin)}")
    if step:
        circuit.lines.append(
            f"~ wdg={tapped} mintap={_number(1.0 + int(p['tapMin']) * step)} maxtap={_number(1.0 + int(p['tapMax']) * step)} "
            f"numtaps={int(p['tapMax']) - int(p['tapMin'])}")
    if "regulatorVoltage" in p:
        circuit.lines.append(
            f"New RegControl.{name} transformer={name} winding={tapped} vreg={_number(p['regulatorVoltage'])} "
            f"band={_number(p['regulatorBand'])} ptratio={_number(p['regulatorPtRatio'])} "
            f"ctprim={_number(p['regulatorCtPrimary'])} R={_number(p.get('lineDropR', 0.0))} X={_number(p.get('lineDropX', 0.0))}")


_SHARES = ("pConstantImpedance", "pConstantCurrent", "qConstantImpedance", "qConstantCurrent")
#: ZIP shares -> the OpenDSS load model that is exactly them (model 4 with its default exponents 1 and 2).
_LOAD_MODELS = {(0.0, 0.0, 0.0, 0.0): "model=1", (100.0, 0.0, 100.0, 0.0): "model=2",
                (0.0, 100.0, 0.0, 100.0): "model=5", (0.0, 100.0, 100.0, 0.0): "model=4 CVRwatts=1 CVRvars=2"}


def _load_model(p: dict[str, Any]) -> str:
    """The model of a load's voltage dependence; any other mix of shares is OpenDSS's ZIP model 8."""
    shares = tuple(float(p.get(name, 0.0)) for name in _SHARES)
    if shares in _LOAD_MODELS:
        return _LOAD_MODELS[shares]
    zp, ip, zq, iq = (share / 100.0 for share in shares)
    zipv = [zp, ip, 1.0 - zp - ip, zq, iq, 1.0 - zq - iq, 0.0]
    return f"model=8 ZIPV=[{' '.join(_number(v) for v in zipv)}]"


def _shunt(circuit: _Circuit, twin: TwinRow, kind: str) -> str:
    """``New <kind>.<name>`` with the terminal, phases, connection and rated kV a load and a capacitor share."""
    delta = twin.properties.get("connection", "wye") == "delta"
    count = _phase_count(twin, delta)
    kv = _rated_kv(float(twin.properties["ratedVoltage"]), count, delta)
    return (f"New {kind}.{_name(twin)} bus1={circuit.bus(twin, 'terminal')} phases={count} "
            f"conn={'delta' if delta else 'wye'} kV={_number(kv)}")


def _load(circuit: _Circuit, twin: TwinRow) -> None:
    p = twin.properties
    circuit.lines.append(
        f"{_shunt(circuit, twin, 'Load')} {_load_model(p)} "
        f"kW={_number(p.get('activePower', 0.0))} kvar={_number(p.get('reactivePower', 0.0))} "
        f"vminpu={_number(p.get('voltageModelMinPu', 0.95))} vmaxpu={_number(p.get('voltageModelMaxPu', 1.05))}{_enabled(twin)}")


def _capacitor(circuit: _Circuit, twin: TwinRow) -> None:
    p = twin.properties
    steps = int(p.get("maximumSections", 1))
    closed = int(p.get("sections", steps))
    states = " ".join(["1"] * closed + ["0"] * (steps - closed))
    circuit.lines.append(
        f"{_shunt(circuit, twin, 'Capacitor')} kvar={_number(-float(p['reactivePowerPerSection']) * steps)} "
        f"numsteps={steps} states=[{states}]{_enabled(twin)}")


_ELEMENTS: tuple[tuple[str, Callable[[_Circuit, TwinRow], None]], ...] = (
    (f"{GT}ACLineSegment;1", _line), (f"{GT}Switch;2", _switch), (f"{GT}Breaker;2", _switch),
    (f"{GT}PowerTransformer;2", _transformer), (f"{GT}EnergyConsumer;1", _load),
    (f"{GT}LinearShuntCompensator;1", _capacitor))
_WRITTEN = {model for model, _ in _ELEMENTS} | {f"{GT}Bus;1", f"{GT}ExternalNetworkInjection;1", GRID_MODEL}


def to_opendss(document: GridDocument) -> str:
    """The OpenDSS script of the document (compile it, then ``Solve``); errors name the twin and field."""
    circuit = _Circuit(document)
    unknown = sorted({t.model for t in document.twins if t.model.startswith(GT) and t.model not in _WRITTEN})
    if unknown:
        raise GridSourceError(f"grid {document.grid_id!r}", None, f"no OpenDSS element for {', '.join(unknown)}")
    grid = next((t.properties for t in document.twins if t.model == GRID_MODEL), {})
    sources = circuit.twins(f"{GT}ExternalNetworkInjection;1")
    if not sources:
        raise GridSourceError(f"grid {document.grid_id!r}", None, "no ExternalNetworkInjection: OpenDSS needs a source")
    circuit.lines += ["Clear", f"Set DefaultBaseFrequency={_number(grid.get('nominalFrequency', 50.0))}"]
    for index, twin in enumerate(sources):
        _source(circuit, twin, index == 0)
    for model, write in _ELEMENTS:
        for twin in circuit.twins(model):
            write(circuit, twin)
    circuit.lines.append("MakeBusList")
    for twin in circuit.twins(f"{GT}Bus;1"):
        circuit.lines.append(f"SetkVBase bus={_name(twin)} kVLL={_number(twin.properties['nominalVoltage'])}")
    circuit.lines.append("Solve")
    return "\n".join(circuit.lines) + "\n"
