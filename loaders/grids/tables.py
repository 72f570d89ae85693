"""Which pandapower column becomes which twin property, in both directions, per element table.

One declarative table serves the importer and the builder, so a column mapped one way is
mapped back the same way (the round trip cannot drift).  Powers are stored in kW / kvar /
kVA and currents in A (the model set's units); pandapower uses MW / Mvar / MVA and kA, so
those columns scale by 1000.  Bus references are relationships, not properties.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from loaders.grids.document import GT


@dataclass(frozen=True)
class Column:
    """One pandapower column <-> one twin property; ``codes`` maps source values to enum values."""

    column: str
    prop: str
    kind: str = "float"  # float | kilo (x1000) | int | bool | str | enum
    codes: Mapping[Any, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Table:
    """A pandapower element table: its model, property columns and bus relationships."""

    name: str
    model: str
    columns: tuple[Column, ...]
    buses: Mapping[str, str]  # pandapower column -> relationship name
    defaults: Mapping[str, Any] = field(default_factory=dict)


STATUS = Column("in_service", "status", "enum", {True: "inService", False: "outOfService"})
NAME = Column("name", "name", "str")


def _c(column: str, prop: str, kind: str = "float", codes: Mapping[Any, str] | None = None) -> Column:
    return Column(column, prop, kind, codes or {})


def _powers(p: str = "activePower", q: str = "reactivePower") -> tuple[Column, ...]:
    return (_c("p_mw", p, "kilo"), _c("q_mvar", q, "kilo"), _c("sn_mva", "ratedApparentPower", "kilo"),
            _c("scaling", "scaling"))


def _phases() -> tuple[Column, ...]:
    out = tuple(_c(f"p_{ph}_mw", f"activePower{ph.upper()}", "kilo") for ph in "abc")
    out += tuple(_c(f"q_{ph}_mvar", f"reactivePower{ph.upper()}", "kilo") for ph in "abc")
    return out + (_c("type", "connection", "enum", {"wye": "wye", "delta": "delta"}),
                  _c("sn_mva", "ratedApparentPower", "kilo"), _c("scaling", "scaling"))


def _taps(sides: tuple[str, ...]) -> tuple[Column, ...]:
    return (_c("tap_side", "tapSide", "enum", {s: s for s in sides}), _c("tap_neutral", "tapNeutral", "int"),
            _c("tap_min", "tapMin", "int"), _c("tap_max", "tapMax", "int"), _c("tap_pos", "tapPosition", "int"),
            _c("tap_step_percent", "tapStepPercent"), _c("tap_step_degree", "tapStepDegree"),
            _c("tap_changer_type", "tapChangerType", "enum",
               {"Ratio": "ratio", "Symmetrical": "symmetrical", "Ideal": "ideal", "Tabular": "tabular"}))


_RATINGS = (_c("std_type", "standardType", "str"), _c("max_loading_percent", "maxLoadingPercent"))
_BRANCH = (_c("parallel", "parallel", "int"), _c("df", "deratingFactor"))

_W3 = tuple(c for side in ("hv", "mv", "lv") for c in (
    _c(f"sn_{side}_mva", f"ratedPower{side.capitalize()}", "kilo"), _c(f"vn_{side}_kv", f"ratedVoltage{side.capitalize()}"),
    _c(f"vk_{side}_percent", f"impedance{side.capitalize()}"), _c(f"vkr_{side}_percent", f"resistiveImpedance{side.capitalize()}"),
    _c(f"vk0_{side}_percent", f"zeroSeqImpedance{side.capitalize()}"),
    _c(f"vkr0_{side}_percent", f"zeroSeqResistiveImpedance{side.capitalize()}")))

TABLES: tuple[Table, ...] = (
    Table("bus", f"{GT}Bus;1", (NAME, STATUS, _c("vn_kv", "nominalVoltage"),
                                _c("type", "busType", "str"),
                                _c("zone", "zone", "str"), _c("max_vm_pu", "maxVoltagePu"), _c("min_vm_pu", "minVoltagePu")),
          {}, {"in_service": True, "type": "b"}),
    Table("line", f"{GT}ACLineSegment;1", (
        NAME, STATUS, *_RATINGS, *_BRANCH, _c("length_km", "length"), _c("type", "lineType", "enum", {"ol": "overhead", "cs": "cable"}),
        _c("r_ohm_per_km", "rPerKm"), _c("x_ohm_per_km", "xPerKm"), _c("c_nf_per_km", "cPerKm"), _c("g_us_per_km", "gPerKm"),
        _c("r0_ohm_per_km", "r0PerKm"), _c("x0_ohm_per_km", "x0PerKm"), _c("c0_nf_per_km", "c0PerKm"),
        _c("g0_us_per_km", "g0PerKm"), _c("max_i_ka", "maxCurrent", "kilo"), _c("endtemp_degree", "endsTemperature")),
          {"from_bus": "fromBus", "to_bus": "toBus"}, {"in_service": True, "parallel": 1, "df": 1.0, "g_us_per_km": 0.0}),
    Table("trafo", f"{GT}PowerTransformer;2", (
        NAME, STATUS, *_RATINGS, *_BRANCH, _c("sn_mva", "ratedPower", "kilo"), _c("vn_hv_kv", "primaryVoltage"),
        _c("vn_lv_kv", "secondaryVoltage"), _c("vk_percent", "impedance"), _c("vkr_percent", "resistiveImpedance"),
        _c("pfe_kw", "ironLosses"), _c("i0_percent", "noLoadCurrent"), _c("shift_degree", "phaseShift"),
        _c("vector_group", "vectorGroup", "str"), _c("vk0_percent", "zeroSeqImpedance"),
        _c("vkr0_percent", "zeroSeqResistiveImpedance"), _c("mag0_percent", "zeroSeqMagnetizing"),
        _c("mag0_rx", "zeroSeqMagnetizingRx"), _c("si0_hv_partial", "zeroSeqHvShare"), *_taps(("hv", "lv"))),
          {"hv_bus": "hvBus", "lv_bus": "lvBus"},
          {"in_service": True, "parallel": 1, "df": 1.0, "shift_degree": 0.0, "tap_dependency_table": False}),
    Table("trafo3w", f"{GT}ThreeWindingTransformer;1", (
        NAME, STATUS, *_RATINGS, *_W3, _c("pfe_kw", "ironLosses"), _c("i0_percent", "noLoadCurrent"),
        _c("shift_mv_degree", "phaseShiftMv"), _c("shift_lv_degree", "phaseShiftLv"), _c("vector_group", "vectorGroup", "str"),
        *_taps(("hv", "mv", "lv")), _c("tap_at_star_point", "tapAtStarPoint", "bool")),
          {"hv_bus": "hvBus", "mv_bus": "mvBus", "lv_bus": "lvBus"},
          {"in_service": True, "shift_mv_degree": 0.0, "shift_lv_degree": 0.0, "tap_at_star_point": False,
           "tap_dependency_table": False}),
    Table("load", f"{GT}EnergyConsumer;1", (
        NAME, STATUS, *_powers(), _c("const_z_p_percent", "pConstantImpedance"), _c("const_i_p_percent", "pConstantCurrent"),
        _c("const_z_q_percent", "qConstantImpedance"), _c("const_i_q_percent", "qConstantCurrent"),
        _c("type", "loadType", "str"), _c("profile", "profile", "str")),
          {"bus": "terminal"}, {"in_service": True, "scaling": 1.0, "q_mvar": 0.0, "const_z_p_percent": 0.0,
                                "const_i_p_percent": 0.0, "const_z_q_percent": 0.0, "const_i_q_percent": 0.0}),
    Table("asymmetric_load", f"{GT}EnergyConsumer;1", (NAME, STATUS, *_phases(), _c("profile", "profile", "str")),
          {"bus": "terminal"}, {"in_service": True, "scaling": 1.0, "type": "wye", **{f"{q}_{ph}_{u}": 0.0 for q, u in
                                (("p", "mw"), ("q", "mvar")) for ph in "abc"}}),
    Table("sgen", f"{GT}StaticGenerator;1", (
        NAME, STATUS, *_powers(), _c("type", "generatorType", "str"), _c("k", "shortCircuitCurrentRatio"),
        _c("rx", "shortCircuitRx"), _c("profile", "profile", "str")),
          {"bus": "terminal"}, {"in_service": True, "scaling": 1.0, "q_mvar": 0.0, "controllable": False,
                                "current_source": True, "reactive_capability_curve": False}),
    Table("asymmetric_sgen", f"{GT}StaticGenerator;1", (NAME, STATUS, *_phases(), _c("profile", "profile", "str")),
          {"bus": "terminal"}, {"in_service": True, "scaling": 1.0, "type": "wye", "current_source": True,
                                **{f"{q}_{ph}_{u}": 0.0 for q, u in (("p", "mw"), ("q", "mvar")) for ph in "abc"}}),
    Table("gen", f"{GT}SynchronousMachine;1", (
        NAME, STATUS, _c("p_mw", "activePower", "kilo"), _c("vm_pu", "voltageSetpoint"), _c("sn_mva", "ratedApparentPower", "kilo"),
        _c("min_q_mvar", "minReactivePower", "kilo"), _c("max_q_mvar", "maxReactivePower", "kilo"), _c("scaling", "scaling"),
        _c("slack", "slack", "bool"), _c("slack_weight", "slackWeight"), _c("cos_phi", "powerFactor"),
        _c("vn_kv", "ratedVoltage"), _c("xdss_pu", "subtransientReactance"), _c("rdss_ohm", "subtransientResistance"),
        _c("type", "generatorType", "str"), _c("profile", "profile", "str")),
          {"bus": "terminal"}, {"in_service": True, "scaling": 1.0, "vm_pu": 1.0, "slack": False, "slack_weight": 0.0,
                                "controllable": False, "reactive_capability_curve": False}),
    Table("storage", f"{GT}BatteryUnit;1", (
        NAME, STATUS, *_powers(), _c("max_e_mwh", "maxEnergy", "kilo"), _c("min_e_mwh", "minEnergy", "kilo"),
        _c("soc_percent", "stateOfCharge"), _c("type", "storageType", "str"), _c("profile", "profile", "str")),
          {"bus": "terminal"}, {"in_service": True, "scaling": 1.0, "q_mvar": 0.0}),
    Table("ext_grid", f"{GT}ExternalNetworkInjection;1", (
        NAME, STATUS, _c("vm_pu", "voltageSetpoint"), _c("va_degree", "voltageAngle"), _c("s_sc_max_mva", "maxShortCircuitPower"),
        _c("s_sc_min_mva", "minShortCircuitPower"), _c("rx_max", "maxR1ToX1Ratio"), _c("rx_min", "minR1ToX1Ratio"),
        _c("r0x0_max", "maxR0ToX0Ratio"), _c("x0x_max", "maxX0ToX1Ratio"), _c("slack_weight", "slackWeight"),
        _c("profile", "profile", "str")),
          {"bus": "terminal"}, {"in_service": True, "vm_pu": 1.0, "va_degree": 0.0, "slack_weight": 1.0, "controllable": False}),
    Table("dcline", f"{GT}DCLine;1", (
        NAME, STATUS, _c("std_type", "standardType", "str"), _c("max_loading_percent", "maxLoadingPercent"),
        _c("p_mw", "activePower", "kilo"), _c("loss_percent", "lossPercent"), _c("loss_mw", "lossActivePower", "kilo"),
        _c("vm_from_pu", "voltageSetpointFrom"), _c("vm_to_pu", "voltageSetpointTo"), _c("max_p_mw", "maxActivePower", "kilo"),
        _c("min_q_from_mvar", "minReactivePowerFrom", "kilo"), _c("max_q_from_mvar", "maxReactivePowerFrom", "kilo"),
        _c("min_q_to_mvar", "minReactivePowerTo", "kilo"), _c("max_q_to_mvar", "maxReactivePowerTo", "kilo"),
        _c("length_km", "length")),
          {"from_bus": "fromBus", "to_bus": "toBus"}, {"in_service": True, "loss_percent": 0.0, "loss_mw": 0.0}),
    Table("shunt", f"{GT}LinearShuntCompensator;1", (
        NAME, STATUS, _c("p_mw", "activePowerPerSection", "kilo"), _c("q_mvar", "reactivePowerPerSection", "kilo"),
        _c("vn_kv", "ratedVoltage"), _c("step", "sections", "int"), _c("max_step", "maximumSections", "int")),
          {"bus": "terminal"}, {"in_service": True, "p_mw": 0.0, "step": 1, "max_step": 1, "step_dependency_table": False}),
)

BY_NAME: Mapping[str, Table] = {table.name: table for table in TABLES}

#: pandapower switch type -> (model, switchType); the inverse picks the type back.
SWITCH_MODELS: Mapping[Any, tuple[str, str | None]] = {
    "CB": (f"{GT}Breaker;2", None), "DS": (f"{GT}Switch;2", "disconnector"), "LS": (f"{GT}Switch;2", "loadSwitch"),
    "LBS": (f"{GT}Switch;2", "loadBreak"), None: (f"{GT}Switch;2", None),
}
SWITCH_COLUMNS = (NAME, _c("z_ohm", "resistance"), _c("in_ka", "ratedCurrent", "kilo"))
SWITCH_BRANCHES: Mapping[str, str] = {"l": "line", "t": "trafo", "t3": "trafo3w"}
MEASUREMENT_TYPES: Mapping[str, str] = {"v": "voltage", "p": "activePower", "q": "reactivePower", "i": "current",
                                        "va": "voltageAngle", "ia": "currentAngle"}

Encoder = Callable[[Any], Any]
