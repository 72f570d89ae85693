"""CIM / CGMES grids (IEC 61970-552 RDF/XML: EQ, SSH, TP and SV profiles) as pandapower nets.

A converter in pandapower's sense: files in, an in-memory net out; :mod:`loaders.grids.sources`
turns the net into a grid document like every other source. :mod:`loaders.grids.cim_profiles` parses
the RDF/XML profiles (rdflib) into one graph.

What becomes what (bus-branch: buses are the TP profile's TopologicalNodes, or the EQ profile's
ConnectivityNodes when there is no TP profile; retained switches between two buses are
pandapower bus-bus switches, open as SSH says):

* ACLineSegment -> line (r, x, bch, gch are the whole segment's; per km over ``length``, 1 km when
  the file gives none); PATL CurrentLimit on a terminal -> max_i_ka, else 1 kA (flagged ``assumed``).
* PowerTransformer with two ends -> trafo: both ends' r, x referred to the first end, ratedS
  (100 MVA when absent), magnetising g, b -> pfe_kw, i0_percent; a RatioTapChanger -> tap data
  and its SSH step. Three ends, PhaseTapChangers and DC equipment are refused by name.
* EnergyConsumer (Conform-, NonConformLoad) -> load with its SSH p, q.
* The slack (SSH referencePriority > 0, else the SV profile's angle reference, else an
  ExternalNetworkInjection, else the largest machine: :func:`_slack`) -> ext_grid, at the voltage its
  RegulatingControl targets; other machines
  -> gen (PV, voltage control enabled) or sgen (PQ), the generator sign of CGMES's load-sign p, q.
* ExternalNetworkInjection (not the slack) -> sgen; LinearShuntCompensator -> shunt (sections).
* Equipment whose terminal SSH marks disconnected is out of service.

The SV profile's solved voltages (``SvVoltage``) are the source's own power flow;
``cim_profiles.solved_voltages`` reads them for the fidelity test.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rdflib import RDF
from rdflib.term import Node

from loaders.grids.cim_profiles import CimModel, parse
from loaders.grids.document import GridSourceError

DEFAULT_RATED_S_MVA = 100.0
DEFAULT_MAX_I_KA = 1.0
#: The net's line column that says max_i_ka is DEFAULT_MAX_I_KA, not the file's (sources names it in ``assumed``).
ASSUMED_MAX_I = "assumed_max_i"
_SWITCHES = ("Switch", "Breaker", "Disconnector", "LoadBreakSwitch", "Fuse", "Jumper", "GroundDisconnector")
_REFUSED = ("PhaseTapChangerLinear", "PhaseTapChangerSymmetrical", "PhaseTapChangerAsymmetrical",
            "PhaseTapChangerTabular", "DCLineSegment", "ACDCConverter", "DanglingLine", "SeriesCompensator")


def from_cgmes(source: Path | str, f_hz: float = 50.0) -> Any:
    """The pandapower net of a CGMES source (see the module text for what becomes what)."""
    import pandapower as pp

    model = parse(source)
    for kind in _REFUSED:
        if found := model.of_type(kind):
            raise GridSourceError(model.element(found[0]), None, f"{kind} is not imported yet")
    net = pp.create_empty_network(name=Path(source).stem, f_hz=f_hz)
    _buses(model, net)
    _lines(model, net, f_hz)
    _transformers(model, net)
    _loads(model, net)
    _sources(model, net)
    _shunts(model, net)
    _switches(model, net)
    if net.ext_grid.empty:
        raise GridSourceError(model.where, None, "no slack: no SynchronousMachine with a referencePriority and no "
                                                 "ExternalNetworkInjection")
    return net


def _nominal_kv(model: CimModel, holder: Node, attribute: str) -> float:
    base = model.value(holder, attribute)
    if base is None:
        raise GridSourceError(model.element(holder), attribute, "missing")
    return model.number(base, "BaseVoltage.nominalVoltage")


def _buses(model: CimModel, net: Any) -> None:
    import pandapower as pp

    nodes = model.of_type("TopologicalNode")
    if nodes:
        kv = {node: _nominal_kv(model, node, "TopologicalNode.BaseVoltage") for node in nodes}
    else:
        nodes = model.of_type("ConnectivityNode")
        kv = {node: _container_kv(model, node) for node in nodes}
    for node in nodes:
        model.buses[node] = pp.create_bus(net, vn_kv=kv[node], name=model.name(node), origin_id=model.mrid(node))


def _container_kv(model: CimModel, node: Node) -> float:
    container = model.value(node, "ConnectivityNode.ConnectivityNodeContainer")
    if container is None:
        raise GridSourceError(model.element(node), "ConnectivityNode.ConnectivityNodeContainer", "missing")
    return _nominal_kv(model, container, "VoltageLevel.BaseVoltage")


def _in_service(model: CimModel, terminals: Sequence[Node]) -> bool:
    return all(model.flag(terminal, "ACDCTerminal.connected", True) for terminal in terminals)


def _two_ends(model: CimModel, equipment: Node) -> tuple[list[Node], int, int]:
    terminals = model.terminals(equipment)
    if len(terminals) != 2:
        raise GridSourceError(model.element(equipment), "Terminal", f"has {len(terminals)} terminals, not 2")
    return terminals, model.bus_of(terminals[0], equipment), model.bus_of(terminals[1], equipment)


def _lines(model: CimModel, net: Any, f_hz: float) -> None:
    import pandapower as pp

    for segment in model.of_type("ACLineSegment"):
        terminals, from_bus, to_bus = _two_ends(model, segment)
        ends_kv = float(net.bus.at[from_bus, "vn_kv"]), float(net.bus.at[to_bus, "vn_kv"])
        if ends_kv[0] != ends_kv[1]:  # powsybl writes IEEE CDF transformers so: no ratio, compensating bch
            raise GridSourceError(model.element(segment), "Terminal.TopologicalNode",
                                  f"a line between {ends_kv[0]:g} kV and {ends_kv[1]:g} kV nodes: a line has one "
                                  "voltage (a transformer written as a line is not imported)")
        length = model.number(segment, "Conductor.length", 1.0) or 1.0
        max_i_ka = _current_limit_ka(model, terminals)
        pp.create_line_from_parameters(
            net, from_bus, to_bus, length_km=length, name=model.name(segment), origin_id=model.mrid(segment),
            r_ohm_per_km=model.number(segment, "ACLineSegment.r") / length,
            x_ohm_per_km=model.number(segment, "ACLineSegment.x") / length,
            c_nf_per_km=model.number(segment, "ACLineSegment.bch", 0.0) / (2 * math.pi * f_hz) * 1e9 / length,
            g_us_per_km=model.number(segment, "ACLineSegment.gch", 0.0) * 1e6 / length,
            max_i_ka=DEFAULT_MAX_I_KA if max_i_ka is None else max_i_ka,
            in_service=_in_service(model, terminals), **{ASSUMED_MAX_I: max_i_ka is None})


def _current_limit_ka(model: CimModel, terminals: Sequence[Node]) -> float | None:
    """The smallest permanent (PATL) current limit on the terminals, in kA; None when there is none."""
    found = []
    for terminal in terminals:
        for limit_set in model.graph.subjects(model.cim["OperationalLimitSet.Terminal"], terminal):
            for limit in model.graph.subjects(model.cim["OperationalLimit.OperationalLimitSet"], limit_set):
                if (limit, RDF.type, model.cim["CurrentLimit"]) in model.graph:
                    value = model.value(limit, "CurrentLimit.value") or model.value(limit, "CurrentLimit.normalValue")
                    if value is not None:
                        found.append(float(value) / 1000.0)
    return min(found) if found else None


def _transformer_ends(model: CimModel, transformer: Node) -> list[Node]:
    ends = list(model.graph.subjects(model.cim["PowerTransformerEnd.PowerTransformer"], transformer))
    return sorted(ends, key=lambda end: model.number(end, "TransformerEnd.endNumber", 1.0))


def _transformers(model: CimModel, net: Any) -> None:
    import pandapower as pp

    for transformer in model.of_type("PowerTransformer"):
        ends = _transformer_ends(model, transformer)
        if len(ends) != 2:
            raise GridSourceError(model.element(transformer), "PowerTransformerEnd",
                                  f"{len(ends)} ends: only two-winding transformers are imported yet")
        terminals = [model.value(end, "TransformerEnd.Terminal") for end in ends]
        if any(terminal is None for terminal in terminals):
            raise GridSourceError(model.element(transformer), "TransformerEnd.Terminal", "an end has no terminal")
        high, low = ends
        u_high, u_low = model.number(high, "PowerTransformerEnd.ratedU"), model.number(low, "PowerTransformerEnd.ratedU")
        if u_low > u_high:  # pandapower's first side is the high-voltage one
            high, low, u_high, u_low, terminals = low, high, u_low, u_high, terminals[::-1]
        rated_s = model.number(high, "PowerTransformerEnd.ratedS", 0.0) or DEFAULT_RATED_S_MVA
        tap = _ratio_tap(model, ends, high)
        series = _referred(model, high, low, u_high / u_low, "r", "x")
        series = complex(series.real * tap.impedance_factor.real, series.imag * tap.impedance_factor.imag)
        magnetising = _referred(model, high, low, u_low / u_high, "g", "b")
        u_high, u_low = (u_high * tap.ratio, u_low) if tap.side == "hv" else (u_high, u_low * tap.ratio)
        z_base = u_high ** 2 / rated_s
        pp.create_transformer_from_parameters(
            net, model.bus_of(terminals[0], transformer), model.bus_of(terminals[1], transformer), sn_mva=rated_s,
            vn_hv_kv=u_high, vn_lv_kv=u_low, vk_percent=abs(series) / z_base * 100,
            vkr_percent=series.real / z_base * 100, pfe_kw=magnetising.real * u_high ** 2 * 1000,
            i0_percent=abs(magnetising) * z_base * 100, name=model.name(transformer),
            origin_id=model.mrid(transformer), in_service=_in_service(model, terminals), **tap.columns)


def _referred(model: CimModel, high: Node, low: Node, factor: float, real: str, imaginary: str) -> complex:
    """An end quantity of both ends seen from the high-voltage end: the series impedance (r, x; the low end's
    times ratio²) or the magnetising admittance (g, b; the low end's divided by ratio²)."""
    def of(end: Node) -> complex:
        return complex(model.number(end, f"PowerTransformerEnd.{real}", 0.0),
                       model.number(end, f"PowerTransformerEnd.{imaginary}", 0.0))

    return of(high) + of(low) * factor ** 2


@dataclass(frozen=True)
class _Tap:
    """pandapower's tap columns of a ratio tap changer, and what its table says at the present step: the
    ratio to fold into the tapped side's rated voltage and the factor on the series impedance."""

    columns: dict[str, Any]
    side: str | None = None
    ratio: float = 1.0
    impedance_factor: complex = complex(1.0, 1.0)


def _ratio_tap(model: CimModel, ends: Sequence[Node], high: Node) -> _Tap:
    """The RatioTapChanger of either end (none: no tap changer). With a RatioTapChangerTable the table's
    point at the present step holds: its neutral becomes that step and its ratio the rated voltage's."""
    for end in ends:
        for changer in model.graph.subjects(model.cim["RatioTapChanger.TransformerEnd"], end):
            step_value = model.value(changer, "TapChanger.step") or model.value(changer, "TapChanger.normalStep")
            neutral = model.number(changer, "TapChanger.neutralStep")
            step = float(step_value) if step_value is not None else neutral
            side = "hv" if end == high else "lv"
            columns = {"tap_side": side, "tap_neutral": neutral, "tap_pos": step,
                       "tap_min": model.number(changer, "TapChanger.lowStep"),
                       "tap_max": model.number(changer, "TapChanger.highStep"),
                       "tap_step_percent": model.number(changer, "RatioTapChanger.stepVoltageIncrement")}
            point = _table_point(model, changer, step)
            if point is None:
                return _Tap(columns)
            columns["tap_neutral"] = step  # the table is exact here; away from it the linear steps hold
            factor = complex(1 + model.number(point, "TapChangerTablePoint.r", 0.0) / 100,
                             1 + model.number(point, "TapChangerTablePoint.x", 0.0) / 100)
            return _Tap(columns, side, model.number(point, "TapChangerTablePoint.ratio", 1.0), factor)
    return _Tap({})


def _table_point(model: CimModel, changer: Node, step: float) -> Node | None:
    table = model.value(changer, "RatioTapChanger.RatioTapChangerTable")
    if table is None:
        return None
    for point in model.graph.subjects(model.cim["RatioTapChangerTablePoint.RatioTapChangerTable"], table):
        if model.number(point, "TapChangerTablePoint.step", math.nan) == step:
            return point
    raise GridSourceError(model.element(changer), "RatioTapChanger.RatioTapChangerTable", f"no point for step {step:g}")


def _one_terminal(model: CimModel, equipment: Node) -> tuple[int, bool]:
    terminals = model.terminals(equipment)
    if not terminals:
        raise GridSourceError(model.element(equipment), "Terminal", "has no terminal")
    return model.bus_of(terminals[0], equipment), _in_service(model, terminals[:1])


def _loads(model: CimModel, net: Any) -> None:
    import pandapower as pp

    for kind in ("EnergyConsumer", "ConformLoad", "NonConformLoad"):
        for consumer in model.of_type(kind):
            bus, in_service = _one_terminal(model, consumer)
            pp.create_load(net, bus, p_mw=model.number(consumer, "EnergyConsumer.p", 0.0),
                           q_mvar=model.number(consumer, "EnergyConsumer.q", 0.0), name=model.name(consumer),
                           origin_id=model.mrid(consumer), in_service=in_service)


@dataclass(frozen=True)
class _Source:
    """A machine or an external injection: where, how much (generator sign), what voltage it holds."""

    node: Node
    bus: int
    in_service: bool
    p_mw: float
    q_mvar: float
    vm_pu: float | None
    priority: float


def _source_of(model: CimModel, net: Any, node: Node, p_name: str, q_name: str, priority_name: str) -> _Source:
    bus, in_service = _one_terminal(model, node)
    return _Source(node, bus, in_service, -model.number(node, p_name, 0.0), -model.number(node, q_name, 0.0),
                   _target_pu(model, net, node), model.number(node, priority_name, 0.0))


def _target_pu(model: CimModel, net: Any, equipment: Node) -> float | None:
    """The voltage (pu of its bus) a regulating control holds, if enabled for this equipment."""
    control = model.value(equipment, "RegulatingCondEq.RegulatingControl")
    if control is None or not model.flag(equipment, "RegulatingCondEq.controlEnabled", True):
        return None
    if not model.flag(control, "RegulatingControl.enabled", True):
        return None
    mode = str(model.value(control, "RegulatingControl.mode") or "voltage")
    if not mode.endswith("voltage"):
        return None
    terminal = model.value(control, "RegulatingControl.Terminal")
    bus = model.bus_of(terminal, equipment) if terminal is not None else _one_terminal(model, equipment)[0]
    return model.number(control, "RegulatingControl.targetValue") / float(net.bus.at[bus, "vn_kv"])


def _sources(model: CimModel, net: Any) -> None:
    import pandapower as pp

    machines = [_source_of(model, net, m, "RotatingMachine.p", "RotatingMachine.q", "SynchronousMachine.referencePriority")
                for m in model.of_type("SynchronousMachine")]
    injections = [_source_of(model, net, i, "ExternalNetworkInjection.p", "ExternalNetworkInjection.q",
                             "ExternalNetworkInjection.referencePriority")
                  for i in model.of_type("ExternalNetworkInjection")]
    slack = _slack(model, machines, injections)
    for source in machines + injections:
        name, origin = model.name(source.node), model.mrid(source.node)
        if source is slack:
            pp.create_ext_grid(net, source.bus, vm_pu=source.vm_pu or 1.0, name=name, origin_id=origin)
        elif source.vm_pu is not None and source in machines:
            pp.create_gen(net, source.bus, p_mw=source.p_mw, vm_pu=source.vm_pu, name=name, origin_id=origin,
                          in_service=source.in_service)
        else:
            pp.create_sgen(net, source.bus, p_mw=source.p_mw, q_mvar=source.q_mvar, name=name, origin_id=origin,
                           in_service=source.in_service)


def _slack(model: CimModel, machines: Sequence[_Source], injections: Sequence[_Source]) -> _Source | None:
    """The source that holds the angle: the smallest positive referencePriority (SSH); else a machine at the
    SV profile's angle reference node (the solved case's slack); else an external injection; else the
    machine of the largest output."""
    candidates = [source for source in (*machines, *injections) if source.in_service]
    ranked = sorted((source for source in candidates if source.priority > 0), key=lambda source: source.priority)
    if ranked:
        return ranked[0]
    references = {model.buses[node] for node in model.graph.objects(None, model.cim["TopologicalIsland.AngleRefTopologicalNode"])
                  if node in model.buses}
    at_reference = [source for source in candidates if source.bus in references]
    in_service_injections = [source for source in injections if source.in_service]
    if at_reference or in_service_injections:
        return (at_reference or in_service_injections)[0]
    return max(candidates, key=lambda source: abs(source.p_mw), default=None)


def _shunts(model: CimModel, net: Any) -> None:
    import pandapower as pp

    for shunt in model.of_type("LinearShuntCompensator"):
        bus, in_service = _one_terminal(model, shunt)
        nominal = model.number(shunt, "ShuntCompensator.nomU", float(net.bus.at[bus, "vn_kv"]))
        sections = model.number(shunt, "ShuntCompensator.sections",
                                model.number(shunt, "ShuntCompensator.normalSections", 1.0))
        pp.create_shunt(net, bus, vn_kv=nominal, step=int(sections),
                        max_step=int(model.number(shunt, "ShuntCompensator.maximumSections", max(sections, 1.0))),
                        q_mvar=-model.number(shunt, "LinearShuntCompensator.bPerSection") * nominal ** 2,
                        p_mw=model.number(shunt, "LinearShuntCompensator.gPerSection", 0.0) * nominal ** 2,
                        name=model.name(shunt), origin_id=model.mrid(shunt), in_service=in_service)


def _switches(model: CimModel, net: Any) -> None:
    import pandapower as pp

    for kind in _SWITCHES:
        for switch in model.of_type(kind):
            terminals, bus, other = _two_ends(model, switch)
            if bus == other:
                continue  # inside one topological node: the TP profile has already merged it
            closed = not model.flag(switch, "Switch.open", model.flag(switch, "Switch.normalOpen", False))
            pp.create_switch(net, bus, other, et="b", closed=closed, type="CB" if kind == "Breaker" else "LS",
                             name=model.name(switch), origin_id=model.mrid(switch))
