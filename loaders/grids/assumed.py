"""Values a source lacks but unbalanced and short-circuit calculations need, filled by documented rules.

simbench (and many pandapower nets) carry no zero-sequence, short-circuit or vector-group
data.  Each rule below fills a property only when the source has no value for it, and the
importer lists the filled property names in the twin's ``assumed`` property, so nobody
mistakes an assumption for a measurement.  None of these values changes a balanced power
flow (it uses positive-sequence data and ``shift_degree`` only).  The rules and their sources
are listed in docs/models.md ("Assumed values").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

#: (upper bus voltage in kV, s_sc_max MVA, s_sc_min MVA): typical short-circuit power per voltage level.
SHORT_CIRCUIT_LEVELS: tuple[tuple[float, float, float], ...] = (
    (1.0, 20.0, 15.0), (36.0, 500.0, 250.0), (150.0, 5000.0, 2500.0), (float("inf"), 20000.0, 10000.0))
EXT_GRID_RATIOS: Mapping[str, float] = {"maxR1ToX1Ratio": 0.1, "minR1ToX1Ratio": 0.1, "maxR0ToX0Ratio": 0.1,
                                        "maxX0ToX1Ratio": 1.0}
#: Zero-sequence over positive-sequence factors (r0/r1, x0/x1, c0/c1) by line type.
LINE_ZERO_SEQUENCE: Mapping[str, tuple[float, float, float]] = {"cable": (4.0, 4.0, 1.0), "overhead": (3.0, 3.0, 0.6)}
#: pandapower's vector groups are letters only (the clock number is phaseShift / 30); Dyn is the usual
#: distribution transformer and one of the three groups pandapower's unbalanced power flow supports.
ASSUMED_VECTOR_GROUP = "Dyn"
TRAFO_ZERO_SEQUENCE: Mapping[str, float] = {"zeroSeqMagnetizing": 100.0, "zeroSeqMagnetizingRx": 0.0,
                                            "zeroSeqHvShare": 0.9}


def _put(properties: dict[str, Any], name: str, value: Any, filled: list[str]) -> None:
    if name not in properties and value is not None:
        properties[name] = value
        filled.append(name)


def _line(row: Mapping[str, Any], properties: dict[str, Any], net: Any) -> list[str]:
    filled: list[str] = []
    factors = LINE_ZERO_SEQUENCE.get(properties.get("lineType", "cable"), LINE_ZERO_SEQUENCE["cable"])
    for positive, zero, factor in zip(("rPerKm", "xPerKm", "cPerKm"), ("r0PerKm", "x0PerKm", "c0PerKm"), factors):
        if positive in properties:
            _put(properties, zero, properties[positive] * factor, filled)
    if "gPerKm" in properties:
        _put(properties, "g0PerKm", properties["gPerKm"], filled)
    _put(properties, "endsTemperature", LINE_END_TEMPERATURE, filled)
    return filled


def _trafo(row: Mapping[str, Any], properties: dict[str, Any], net: Any) -> list[str]:
    filled: list[str] = []
    _put(properties, "vectorGroup", ASSUMED_VECTOR_GROUP, filled)
    _put(properties, "zeroSeqImpedance", properties.get("impedance"), filled)
    _put(properties, "zeroSeqResistiveImpedance", properties.get("resistiveImpedance"), filled)
    for name, value in TRAFO_ZERO_SEQUENCE.items():
        _put(properties, name, value, filled)
    return filled


def _ext_grid(row: Mapping[str, Any], properties: dict[str, Any], net: Any) -> list[str]:
    filled: list[str] = []
    bus = row.get("bus")
    vn_kv = float(net.bus.at[bus, "vn_kv"]) if bus in net.bus.index else 0.0
    _, s_max, s_min = next(level for level in SHORT_CIRCUIT_LEVELS if vn_kv <= level[0])
    _put(properties, "maxShortCircuitPower", s_max, filled)
    _put(properties, "minShortCircuitPower", s_min, filled)
    for name, value in EXT_GRID_RATIOS.items():
        _put(properties, name, value, filled)
    return filled


#: Short-circuit current of a converter-connected generator relative to its rated current (pandapower k);
#: IEC 60909-0 leaves it to the manufacturer, 1.2 is a common planning value.
SGEN_SHORT_CIRCUIT_RATIO = 1.2
#: Conductor temperature at the end of a short circuit (IEC 60909 minimum currents), degree Celsius.
LINE_END_TEMPERATURE = 80.0


def _sgen(row: Mapping[str, Any], properties: dict[str, Any], net: Any) -> list[str]:
    filled: list[str] = []
    _put(properties, "shortCircuitCurrentRatio", SGEN_SHORT_CIRCUIT_RATIO, filled)
    return filled


RULES: Mapping[str, Callable[[Mapping[str, Any], dict[str, Any], Any], list[str]]] = {
    "line": _line, "trafo": _trafo, "ext_grid": _ext_grid, "sgen": _sgen}


def fill(table: str, row: Mapping[str, Any], properties: dict[str, Any], net: Any) -> list[str]:
    """Fill what ``table``'s rule knows into ``properties``; the names filled, in order."""
    rule = RULES.get(table)
    return rule(row, properties, net) if rule else []
