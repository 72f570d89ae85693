"""An OpenDSS feeder as a :class:`GridDocument`, phase by phase (unbalanced feeders keep their phases).

The circuit is compiled and solved by OpenDSS itself (:mod:`loaders.grids.dss_engine`), then
read element by element through opendssdirect's API, never by parsing the script, so every
construct OpenDSS accepts (line codes, ``like=``, RPN values, redirects) arrives as OpenDSS
understood it.  What is kept, per element (docs/models.md "OpenDSS feeders"):

- buses: nominal voltage (line-to-line kV) and the phases present;
- lines: the per-km phase impedance and capacitance matrices (lower triangles), length, phases;
  lines marked ``switch=y`` become Switch twins (their state, their resistance);
- transformers (two windings, three- or single-phase): ratings, vk/vkr, losses, connections as a
  vector group, the tap position *as solved* and the regulator control (RegControl) settings;
- loads (models 1, 2, 5 and 4 with exponents 1/2: constant power, impedance, current, I/Z), capacitors (steps, state),
  the source (voltage, angle, sequence impedances).

Element phases are letters in the order of the element's conductors (``632.3.2`` -> ``cb``).
Elements this does not model (generators, PV, storage, reactors, other controls) refuse the
file with the element named rather than disappear.  Voltages given line-to-neutral by OpenDSS
(single-phase wye elements) are stored line-to-line like every other twin.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from graph.bulk import RelationshipRow, TwinRow
from loaders.grids.document import GRID_MODEL, GT, GridDocument, GridSourceError, check_grid_id, relationship_id, twin_id
from loaders.grids.dss_engine import solve_file
from loaders.grids.feeds import feeds_to

SQRT3 = math.sqrt(3.0)
PHASE_OF_NODE = {"1": "a", "2": "b", "3": "c"}
#: OpenDSS LineUnits code -> km per unit; "none" (0) is read as km (only the product with the length matters).
KM_PER_UNIT = {0: 1.0, 1: 1.609344, 2: 0.3048, 3: 1.0, 4: 0.001, 5: 0.0003048, 6: 0.0000254, 7: 0.00001}
#: OpenDSS load model -> the ZIP shares it is (1: constant P/Q, 2: constant Z, 5: constant current magnitude).
LOAD_MODELS: dict[int, dict[str, float]] = {
    1: {},
    2: {"pConstantImpedance": 100.0, "qConstantImpedance": 100.0},
    5: {"pConstantCurrent": 100.0, "qConstantCurrent": 100.0},
    4: {"pConstantCurrent": 100.0, "qConstantImpedance": 100.0},  # exponential, only with CVRwatts=1, CVRvars=2
}
#: Classes that carry no power (meters, monitors) are left out; every other one must be modelled here.
_IGNORED_CLASSES = {"EnergyMeter", "Monitor", "Sensor"}
_MODELLED_CLASSES = {"Vsource", "Line", "Transformer", "RegControl", "Load", "Capacitor"}


def lower_triangle(full: list[float], size: int) -> list[float]:
    """Row-major lower triangle (with the diagonal) of a full ``size`` x ``size`` matrix."""
    return [float(full[row * size + col]) for row in range(size) for col in range(row + 1)]


def _nodes_needed(phase_count: int, delta: bool) -> int:
    """Conductors an element's terminal uses: a single-phase delta element sits between two phases."""
    return 2 if delta and phase_count == 1 else phase_count


def bus_phases(spec: str, phase_count: int, delta: bool, where: str) -> tuple[str, str]:
    """(bus name, phase letters) of an OpenDSS bus spec such as ``632.3.2``.

    Nodes beyond the ones the element uses must be ground (``0``); a neutral or a fourth
    conductor is refused (this model set has no explicit neutral).  A single-phase delta
    element given one node sits between that phase and ground, as OpenDSS connects it
    (IEEE 34's distributed loads are written so): its phases are that one letter.
    """
    name, *nodes = spec.lower().split(".")
    needed = _nodes_needed(phase_count, delta)
    if not nodes:
        nodes = ["1", "2", "3"][:needed]
    if delta and phase_count == 1:
        nodes = nodes + ["0"] * (needed - len(nodes))
    used, rest = nodes[:needed], nodes[needed:]
    phase_nodes = [node for node in used if node != "0"]
    grounded_delta = delta and phase_count == 1 and used[0] != "0"
    if (len(used) < needed or any(node not in PHASE_OF_NODE for node in phase_nodes)
            or (len(phase_nodes) < needed and not grounded_delta) or any(node != "0" for node in rest)):
        raise GridSourceError(where, "bus", f"{spec!r}: only phase nodes 1, 2, 3 (then ground, 0) are modelled")
    return name, "".join(PHASE_OF_NODE[node] for node in phase_nodes)


def _line_to_line(kv: float, phase_count: int, delta: bool) -> float:
    """OpenDSS gives single-phase wye ratings line-to-neutral; twins hold line-to-line kV."""
    return kv * SQRT3 if phase_count == 1 and not delta else kv


class _Reader:
    """Walks the solved circuit and collects twin and relationship rows."""

    def __init__(self, dss: Any, grid_id: str, where: str) -> None:
        self.dss, self.grid_id, self.where = dss, grid_id, where
        self.twins: list[TwinRow] = []
        self.relationships: list[RelationshipRow] = []

    def add(self, kind: str, name: str, model: str, source_id: str, properties: dict[str, Any]) -> str:
        own = twin_id(self.grid_id, kind, name)
        properties.update(gridId=self.grid_id, sourceId=source_id)
        if "name" not in properties:
            properties["name"] = name
        self.twins.append(TwinRow(own, model, {k: v for k, v in properties.items() if v is not None}))
        return own

    def link(self, source: str, relationship: str, bus: str) -> None:
        self.relationships.append(RelationshipRow(source, relationship, twin_id(self.grid_id, "bus", bus),
                                                  id=relationship_id(source, relationship)))

    def property(self, element: str, name: str) -> str:
        self.dss.Text.Command(f"? {element}.{name}")
        return str(self.dss.Text.Result())

    def terminals(self, element: str, delta: bool = False) -> list[tuple[str, str]]:
        """(bus, phases) of each terminal of a branch."""
        count = self.dss.CktElement.NumPhases()
        return [bus_phases(spec, count, delta, f"{self.where}: {element}") for spec in self.dss.CktElement.BusNames()]

    def grounded_terminal(self, element: str, delta: bool = False) -> tuple[str, str]:
        """(bus, phases) of a shunt element, whose second terminal (if any) must be ground."""
        first, *others = self.dss.CktElement.BusNames()
        for other in others:
            elsewhere = "." not in other and other.lower() != first.lower()
            if elsewhere or any(node != "0" for node in other.split(".")[1:]):
                raise GridSourceError(f"{self.where}: {element}", "bus2", f"{other!r}: only a grounded shunt is modelled")
        return bus_phases(first, self.dss.CktElement.NumPhases(), delta, f"{self.where}: {element}")

    def status(self) -> str:
        return "inService" if self.dss.CktElement.Enabled() else "outOfService"


def _same_phases(ends: list[tuple[str, str]], where: str) -> str:
    phases = {end[1] for end in ends}
    if len(phases) != 1:
        raise GridSourceError(where, "bus", f"its terminals connect different phases ({', '.join(e[1] for e in ends)})")
    return ends[0][1]


def _buses(reader: _Reader) -> None:
    dss = reader.dss
    for name in dss.Circuit.AllBusNames():
        dss.Circuit.SetActiveBus(name)
        phases = "".join(sorted(PHASE_OF_NODE[str(n)] for n in dss.Bus.Nodes() if str(n) in PHASE_OF_NODE))
        reader.add("bus", name, f"{GT}Bus;1", f"Bus.{name}",
                   {"nominalVoltage": float(dss.Bus.kVBase()) * SQRT3, "phases": phases})


def _sources(reader: _Reader) -> None:
    dss = reader.dss
    for name in dss.Vsources.AllNames():
        element = f"Vsource.{name}"
        dss.Circuit.SetActiveElement(element)
        bus, phases = reader.grounded_terminal(element)
        r1, x1 = (float(v) for v in reader.property(element, "Z1").strip("[] ").split(","))
        r0, x0 = (float(v) for v in reader.property(element, "Z0").strip("[] ").split(","))
        own = reader.add("source", name, f"{GT}ExternalNetworkInjection;1", element, {
            "status": reader.status(), "phases": phases, "ratedVoltage": float(dss.Vsources.BasekV()),
            "voltageSetpoint": float(dss.Vsources.PU()), "voltageAngle": float(dss.Vsources.AngleDeg()),
            "positiveSequenceResistance": r1, "positiveSequenceReactance": x1,
            "zeroSequenceResistance": r0, "zeroSequenceReactance": x0})
        reader.link(own, "terminal", bus)


def _lines(reader: _Reader) -> None:
    dss = reader.dss
    for name in dss.Lines.AllNames():
        element = f"Line.{name}"
        dss.Lines.Name(name)
        ends = reader.terminals(element)
        phases = _same_phases(ends, f"{reader.where}: {element}")
        size = len(phases)
        km = float(dss.Lines.Length()) * KM_PER_UNIT.get(int(dss.Lines.Units()), 1.0)
        per_unit_to_km = float(dss.Lines.Length()) / km if km else 1.0
        if dss.Lines.IsSwitch():
            closed = dss.CktElement.Enabled() and not dss.CktElement.IsOpen(1, 0)
            state = "closed" if closed else "open"
            own = reader.add("switch", name, f"{GT}Switch;2", element, {
                "phases": phases, "switchState": state, "normalState": state,
                "resistance": float(dss.Lines.RMatrix()[0]) * float(dss.Lines.Length()),
                "reactance": float(dss.Lines.XMatrix()[0]) * float(dss.Lines.Length()),
                "ratedCurrent": float(dss.Lines.NormAmps())})
        else:
            own = reader.add("line", name, f"{GT}ACLineSegment;1", element, {
                "status": reader.status(), "phases": phases, "length": km,
                "phaseResistancePerKm": [v * per_unit_to_km for v in lower_triangle(dss.Lines.RMatrix(), size)],
                "phaseReactancePerKm": [v * per_unit_to_km for v in lower_triangle(dss.Lines.XMatrix(), size)],
                "phaseCapacitancePerKm": [v * per_unit_to_km for v in lower_triangle(dss.Lines.CMatrix(), size)],
                "maxCurrent": float(dss.Lines.NormAmps()), "standardType": dss.Lines.LineCode() or None})
        reader.link(own, "fromBus", ends[0][0])
        reader.link(own, "toBus", ends[1][0])


def _regulators(reader: _Reader) -> dict[str, dict[str, Any]]:
    """RegControl settings by transformer name (what the tap changer's controller holds)."""
    dss = reader.dss
    found: dict[str, dict[str, Any]] = {}
    for name in dss.RegControls.AllNames():
        dss.RegControls.Name(name)
        transformer = dss.RegControls.Transformer().lower()
        if transformer in found:
            raise GridSourceError(f"{reader.where}: RegControl.{name}", "transformer",
                                  f"{transformer!r} has a second regulator control")
        found[transformer] = {
            "tapSide": "lv" if dss.RegControls.Winding() == 2 else "hv",
            "regulatorVoltage": float(dss.RegControls.ForwardVreg()), "regulatorBand": float(dss.RegControls.ForwardBand()),
            "regulatorPtRatio": float(dss.RegControls.PTRatio()), "regulatorCtPrimary": float(dss.RegControls.CTPrimary()),
            "lineDropR": float(dss.RegControls.ForwardR()), "lineDropX": float(dss.RegControls.ForwardX())}
    return found


def _winding(dss: Any, number: int) -> dict[str, Any]:
    dss.Transformers.Wdg(number)
    return {"kv": float(dss.Transformers.kV()), "kva": float(dss.Transformers.kVA()), "r": float(dss.Transformers.R()),
            "tap": float(dss.Transformers.Tap()), "delta": bool(dss.Transformers.IsDelta()),
            "min": float(dss.Transformers.MinTap()), "max": float(dss.Transformers.MaxTap()),
            "steps": int(dss.Transformers.NumTaps())}


def _tap(windings: list[dict[str, Any]], control: dict[str, Any], where: str) -> dict[str, Any]:
    """Tap changer properties: the controlled winding, else the one off nominal (positions in steps)."""
    side = control.get("tapSide") or ("hv" if windings[0]["tap"] != 1.0 else "lv")
    tapped = windings[0 if side == "hv" else 1]
    other = windings[1 if side == "hv" else 0]
    if other["tap"] != 1.0:
        raise GridSourceError(where, "taps", "both windings are off their nominal tap")
    step = (tapped["max"] - tapped["min"]) / tapped["steps"]

    def position(ratio: float) -> int:
        steps = (ratio - 1.0) / step
        if abs(steps - round(steps)) > 1e-6:
            raise GridSourceError(where, "tap", f"{ratio} is not a whole number of {step} steps from 1.0")
        return round(steps)

    return {"tapSide": side, "tapNeutral": 0, "tapStepPercent": step * 100.0, "tapPosition": position(tapped["tap"]),
            "tapMin": position(tapped["min"]), "tapMax": position(tapped["max"]), "tapChangerType": "ratio"}


def _transformers(reader: _Reader) -> None:
    dss = reader.dss
    controls = _regulators(reader)
    for name in dss.Transformers.AllNames():
        element = f"Transformer.{name}"
        dss.Transformers.Name(name)
        where = f"{reader.where}: {element}"
        if dss.Transformers.NumWindings() != 2:
            raise GridSourceError(where, "windings", f"{dss.Transformers.NumWindings()} windings: only two are modelled")
        windings = [_winding(dss, 1), _winding(dss, 2)]
        if windings[0]["kva"] != windings[1]["kva"]:
            raise GridSourceError(where, "kVAs", "windings of different ratings are not modelled")
        count = dss.CktElement.NumPhases()
        ends = [bus_phases(spec, count, w["delta"], where) for spec, w in zip(dss.CktElement.BusNames(), windings)]
        vkr = windings[0]["r"] + windings[1]["r"]
        xhl = float(dss.Transformers.Xhl())
        kva = windings[0]["kva"]
        properties = {
            "status": reader.status(), "phases": _same_phases(ends, where), "ratedPower": kva,
            "primaryVoltage": _line_to_line(windings[0]["kv"], count, windings[0]["delta"]),
            "secondaryVoltage": _line_to_line(windings[1]["kv"], count, windings[1]["delta"]),
            "vectorGroup": ("D" if windings[0]["delta"] else "YN") + ("d" if windings[1]["delta"] else "yn"),
            "impedance": math.hypot(vkr, xhl), "resistiveImpedance": vkr,
            "ironLosses": float(reader.property(element, "%noloadloss")) / 100.0 * kva,
            "noLoadCurrent": float(reader.property(element, "%imag"))}
        control = controls.pop(name, {})
        properties.update(_tap(windings, control, where), **control)
        own = reader.add("transformer", name, f"{GT}PowerTransformer;2", element, properties)
        reader.link(own, "hvBus", ends[0][0])
        reader.link(own, "lvBus", ends[1][0])
    if controls:
        raise GridSourceError(reader.where, "RegControl", f"controls of unknown transformers: {', '.join(sorted(controls))}")


def _shunt(reader: _Reader, element: str, delta: bool, kv: float) -> tuple[str, dict[str, Any]]:
    """The bus and the properties a load and a capacitor share: service, phases, connection, rated kV."""
    bus, phases = reader.grounded_terminal(element, delta)
    return bus, {"status": reader.status(), "phases": phases, "connection": "delta" if delta else "wye",
                 "ratedVoltage": _line_to_line(kv, reader.dss.CktElement.NumPhases(), delta)}


def _loads(reader: _Reader) -> None:
    dss = reader.dss
    for name in dss.Loads.AllNames():
        element = f"Load.{name}"
        dss.Loads.Name(name)
        model = int(dss.Loads.Model())
        exponents = (float(reader.property(element, "CVRwatts")), float(reader.property(element, "CVRvars")))
        if model not in LOAD_MODELS or model == 4 and exponents != (1.0, 2.0):
            raise GridSourceError(f"{reader.where}: {element}", "model",
                                  f"{model}: only models 1, 2, 5 and 4 with CVRwatts=1, CVRvars=2 are modelled")
        delta = bool(dss.Loads.IsDelta())
        bus, shared = _shunt(reader, element, delta, float(dss.Loads.kV()))
        own = reader.add("load", name, f"{GT}EnergyConsumer;1", element, {
            **shared, "activePower": float(dss.Loads.kW()), "reactivePower": float(dss.Loads.kvar()),
            "voltageModelMinPu": float(dss.Loads.Vminpu()), "voltageModelMaxPu": float(dss.Loads.Vmaxpu()),
            **LOAD_MODELS[model]})
        reader.link(own, "terminal", bus)


def _capacitors(reader: _Reader) -> None:
    dss = reader.dss
    for name in dss.Capacitors.AllNames():
        element = f"Capacitor.{name}"
        dss.Capacitors.Name(name)
        delta = bool(dss.Capacitors.IsDelta())
        bus, shared = _shunt(reader, element, delta, float(dss.Capacitors.kV()))
        steps = int(dss.Capacitors.NumSteps())
        own = reader.add("capacitor", name, f"{GT}LinearShuntCompensator;1", element, {
            **shared,
            "reactivePowerPerSection": -float(dss.Capacitors.kvar()) / steps,
            "sections": int(sum(dss.Capacitors.States())), "maximumSections": steps})
        reader.link(own, "terminal", bus)


def _unmodelled(dss: Any) -> list[str]:
    counts: dict[str, int] = {}
    for full in dss.Circuit.AllElementNames():
        kind = full.split(".", 1)[0]
        if kind not in _MODELLED_CLASSES and kind not in _IGNORED_CLASSES:
            counts[kind] = counts.get(kind, 0) + 1
    return [f"{kind} ({count})" for kind, count in sorted(counts.items())]


_STEPS: tuple[Callable[[_Reader], None], ...] = (_buses, _sources, _lines, _transformers, _loads, _capacitors)


def from_opendss(path: Path, grid_id: str, *, source: str | None = None) -> GridDocument:
    """The grid document of the OpenDSS feeder whose master file is ``path``.

    A :class:`GridSourceError` names the file, the element (``Load.671``) and the field.
    """
    check_grid_id(grid_id)
    where = source or str(path)
    twins, relationships = solve_file(path, functools.partial(_read_circuit, grid_id=grid_id, where=where),
                                      where=where)
    grid = twins[0].properties
    feeds = feeds_to(grid_id, twins, relationships)
    grid["topologyDepth"] = feeds.depth
    return GridDocument(grid_id, where, twins, relationships + feeds.relationships)


def _read_circuit(dss: Any, grid_id: str, where: str) -> tuple[list[TwinRow], list[RelationshipRow]]:
    """In the engine process: every element of the solved circuit as rows (the grid's twin first)."""
    unknown = _unmodelled(dss)
    if unknown:
        raise GridSourceError(where, None, f"element classes not modelled yet: {', '.join(unknown)}")
    reader = _Reader(dss, grid_id, where)
    grid = {"gridId": grid_id, "sourceId": f"Circuit.{dss.Circuit.Name()}", "name": dss.Circuit.Name(),
            "nominalFrequency": float(dss.Solution.Frequency()), "sourceFormat": "openDss", "source": where}
    reader.twins.append(TwinRow(grid_id, GRID_MODEL, grid))
    for step in _STEPS:
        step(reader)
    return reader.twins, reader.relationships
