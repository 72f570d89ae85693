"""A measurement-point-like interface and snapshot generator for tests and bench/ingest_bench.py.

Why not the real dtdl/models GridMeasurementPoint: this interface adds telemetry of
every other kind (long, boolean, enum, string) so validation and line-protocol tests
cover them, and it needs no model files or graph. :func:`grid_measurement_point_snapshot`
is a snapshot of the real model (its 22 values). Nothing in the ingest path imports this module.
"""

from __future__ import annotations

import math
from typing import Any

from dtdl.model import Content, Interface, Schema

MEASUREMENT_POINT = "dtmi:gridtwin:GridMeasurementPoint;1"

_DOUBLE = Schema(kind="double")


def _object(*names: str) -> Schema:
    return Schema(kind="Object", fields={name: _DOUBLE for name in names})


def measurement_point_interface(dtmi: str = MEASUREMENT_POINT) -> Interface:
    """Telemetry like our GridMeasurementPoint: voltage, current, powers, frequency, quality, state."""
    phases = ("phaseA", "phaseB", "phaseC")
    contents = {
        "voltage": Content(kind="Telemetry", name="voltage", schema=_object(*phases, "average"), unit="volt"),
        "current": Content(kind="Telemetry", name="current", schema=_object(*phases, "average"), unit="ampere"),
        "activePower": Content(kind="Telemetry", name="activePower", schema=_object(*phases, "total"), unit="watt"),
        "reactivePower": Content(kind="Telemetry", name="reactivePower", schema=_object(*phases, "total")),
        "frequency": Content(kind="Telemetry", name="frequency", schema=_DOUBLE, unit="hertz"),
        "powerQuality": Content(kind="Telemetry", name="powerQuality",
                                schema=_object("imbalance", "thd", "powerFactor")),
        "sampleCount": Content(kind="Telemetry", name="sampleCount", schema=Schema(kind="long")),
        "breakerClosed": Content(kind="Telemetry", name="breakerClosed", schema=Schema(kind="boolean")),
        "status": Content(kind="Telemetry", name="status", schema=Schema(
            kind="Enum", value_schema=Schema(kind="string"),
            enum_values={"ok": "ok", "degraded": "degraded", "fault": "fault"})),
        "note": Content(kind="Telemetry", name="note", schema=Schema(kind="string")),
        "ratedVoltage": Content(kind="Property", name="ratedVoltage", schema=_DOUBLE),
    }
    return Interface(dtmi=dtmi, contents=contents, own_contents=contents)


def snapshot(i: int) -> dict[str, Any]:
    """The ``values`` of a full 3-phase snapshot (21 values), varying with ``i``."""
    wave = math.sin(i / 50.0)
    va, vb, vc = 230.0 + wave, 229.5 - wave, 230.4 + wave / 2
    ia, ib, ic = 12.0 + wave, 11.5, 12.3 - wave
    pa, pb, pc = va * ia * 0.95, vb * ib * 0.95, vc * ic * 0.95
    return {
        "voltage": {"phaseA": va, "phaseB": vb, "phaseC": vc, "average": (va + vb + vc) / 3},
        "current": {"phaseA": ia, "phaseB": ib, "phaseC": ic, "average": (ia + ib + ic) / 3},
        "activePower": {"phaseA": pa, "phaseB": pb, "phaseC": pc, "total": pa + pb + pc},
        "reactivePower": {"phaseA": pa * 0.3, "phaseB": pb * 0.3, "phaseC": pc * 0.3, "total": (pa + pb + pc) * 0.3},
        "frequency": 50.0 + wave / 100,
        "powerQuality": {"imbalance": 0.012, "thd": 0.031, "powerFactor": 0.95},
    }


def grid_measurement_point_snapshot(rng: Any) -> dict[str, Any]:
    """A whole snapshot of the shipped GridMeasurementPoint (22 values of its six telemetries), numbers
    from ``rng`` (a ``random.Random``): the largest legitimate message of the real model."""
    def fields(*names: str) -> dict[str, float]:
        return {name: rng.uniform(0.0, 1000.0) for name in names}

    return {"voltage": fields("phaseA", "phaseB", "phaseC", "average"),
            "current": fields("phaseA", "phaseB", "phaseC", "average"),
            "activePower": fields("phaseA", "phaseB", "phaseC", "total"),
            "reactivePower": fields("phaseA", "phaseB", "phaseC", "total"),
            "frequency": fields("value", "deviation"),
            "powerQuality": fields("imbalance", "thd", "powerFactor", "qualityScore")}
