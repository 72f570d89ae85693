"""Validation of telemetry batches against the twins' interfaces (pure, no servers)."""

from __future__ import annotations

from timeseries.directory import TwinInfo
from timeseries.samples import MEASUREMENT_POINT, measurement_point_interface, snapshot
from timeseries.validation import validate_batch

IFACE = measurement_point_interface()
TWINS = {"mp-1": TwinInfo("mp-1", MEASUREMENT_POINT, IFACE, {"feeder": "F1", "substation": "S 1"})}
T0 = 1_700_000_000_000


def message(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {"twin": "mp-1", "time": T0, "values": snapshot(1)}
    base.update(overrides)
    return base


def test_full_snapshot_becomes_one_line_with_all_tags() -> None:
    result = validate_batch([message()], TWINS, "ms")
    assert not result.rejections and result.indexes == [0]
    line = result.lines[0]
    assert line.startswith("dtmi:gridtwin:GridMeasurementPoint,feeder=F1,model=dtmi:gridtwin:GridMeasurementPoint;1,"
                           r"substation=S\ 1,twin=mp-1 ")
    assert "voltage.phaseA=" in line and "powerQuality.powerFactor=0.95" in line and "frequency=" in line
    assert line.endswith(f" {T0 * 1_000_000}")
    assert line.count("=") == 20 + 4  # 20 values + 4 tags
    assert result.samples[0].twin == "mp-1" and result.samples[0].time_ns == T0 * 1_000_000


def test_each_bad_message_is_rejected_with_index_and_the_rest_pass() -> None:
    batch = [
        message(),
        message(twin="nope"),
        message(values={"temperature": 3.0}),
        message(values={"voltage": {"phaseA": "230"}}),
        message(values={"voltage": {"phaseD": 1.0}}),
        message(values={"frequency": True}),
        message(values={"status": "broken"}),
        message(values={"breakerClosed": "yes"}),
        message(values={"sampleCount": 1.5}),
        message(time="not a time"),
        message(time=None),
        "not an object",
        message(values={"ratedVoltage": 230.0}),  # a Property, not telemetry
        message(values={}),
        {"time": T0, "values": {"frequency": 50.0}},
        message(values={"status": "ok", "breakerClosed": False, "sampleCount": 12, "note": 'a "b"'}),
    ]
    result = validate_batch(batch, TWINS, "ms")
    assert result.indexes == [0, 15]
    reasons = {r.index: r.reason for r in result.rejections}
    assert sorted(reasons) == list(range(1, 15))
    assert "unknown twin" in reasons[1]
    assert "unknown telemetry 'temperature'" in reasons[2]
    assert "voltage.phaseA" in reasons[3] and "number" in reasons[3]
    assert "phaseD" in reasons[4]
    assert "boolean" in reasons[5]
    assert "broken" in reasons[6]
    assert "boolean" in reasons[7]
    assert "integer" in reasons[8]
    assert "timestamp" in reasons[9] and "timestamp" in reasons[10]
    assert "object" in reasons[11]
    assert "ratedVoltage" in reasons[12]
    assert "missing twin" in reasons[14]
    assert 'status="ok",breakerClosed=false,sampleCount=12i,note="a \\"b\\""' in result.lines[1]


def test_unrepresentable_twin_id_is_a_rejection_not_a_crash() -> None:
    twins = {"bad\n": TwinInfo("bad\n", MEASUREMENT_POINT, IFACE)}
    result = validate_batch([{"twin": "bad\n", "time": T0, "values": {"frequency": 50.0}}], twins, "ms")
    assert not result.lines and "line break" in result.rejections[0].reason


def _with_ml_engine() -> dict[str, TwinInfo]:
    """The measurement point as the graph directory describes it: with its mlEngine component's interface."""
    from graph.models_store import builtin_documents, parse_models

    engine = parse_models(builtin_documents()).interfaces["dtmi:gridtwin:MLEngine;1"]
    return {"mp-1": TwinInfo("mp-1", MEASUREMENT_POINT, IFACE, {"feeder": "F1"}, components={"mlEngine": engine})}


def test_a_components_telemetry_is_checked_against_its_interface_and_tagged_with_its_name() -> None:
    twins = _with_ml_engine()
    prediction = {"twin": "mp-1", "component": "mlEngine", "time": T0,
                  "values": {"monitoringPredictions": {"voltageAnomaly": 0.25, "frequencyForecast": 49.98}}}
    result = validate_batch([prediction, message(),
                             {**prediction, "component": "engine"},
                             {**prediction, "values": {"voltage": {"phaseA": 230.0}}},
                             {**message(), "component": "mlEngine"}], twins, "ms")
    assert result.indexes == [0, 1] and result.with_components
    assert result.lines[0].startswith("dtmi:gridtwin:MLEngine,component=mlEngine,feeder=F1,"
                                      "model=dtmi:gridtwin:MLEngine;1,twin=mp-1 ")
    assert "monitoringPredictions.voltageAnomaly=0.25" in result.lines[0]
    assert result.samples[0].component == "mlEngine" and result.samples[1].component is None
    reasons = {r.index: r.reason for r in result.rejections}
    assert reasons[2] == "twin 'mp-1' has no component 'engine'"
    assert "unknown telemetry 'voltage'" in reasons[3] and "unknown telemetry" in reasons[4]


def test_a_batch_of_own_telemetry_has_no_components() -> None:
    assert not validate_batch([message()], _with_ml_engine(), "ms").with_components
