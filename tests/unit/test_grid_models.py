"""The GridTwin model set in dtdl/models/ is valid DTDL v3 and says what the docs promise."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import dtdl
from ontology import MODELS_DIR

GT = "dtmi:gridtwin:"
NAME = re.compile(r"^[A-Za-z](?:[A-Za-z0-9_]*[A-Za-z0-9])?$")


def _documents() -> dict[Path, dict]:
    return {path: json.loads(path.read_text(encoding="utf-8")) for path in sorted(MODELS_DIR.glob("*.json"))}


@pytest.fixture(scope="module")
def models() -> dtdl.ModelSet:
    result = dtdl.validate(list(_documents().values()))
    assert result.ok, [f"{p.rule} {p.pointer}: {p.message}" for p in result.problems]
    return result.models


def test_one_interface_per_file_named_after_it() -> None:
    for path, doc in _documents().items():
        assert doc["@type"] == "Interface"
        name, _, version = path.stem.partition(".v")  # a later version is Name.vN.json (no ';' in file names)
        expected = f"{name};{version or 1}"
        assert doc["@id"] == f"{GT}{expected}"
        assert doc["@context"][0] == "dtmi:dtdl:context;3"


def test_every_element_respects_v3_name_and_text_limits() -> None:
    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "name" in node and isinstance(node["name"], str):
                assert NAME.match(node["name"]) and len(node["name"]) <= 512, node["name"]
            assert len(node.get("displayName", "")) <= 64, node.get("displayName")
            assert len(node.get("description", "")) <= 512
            assert len(node.get("comment", "")) <= 512
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for doc in _documents().values():
        walk(doc)


def test_all_grid_assets_extend_grid_component(models: dtdl.ModelSet) -> None:
    assets = ["Substation", "PowerTransformer", "Line", "Busbar", "Breaker", "Switch", "CapacitorBank",
              "Meter", "Load", "RenewableSource", "PVSystem", "WindTurbine"]
    for name in assets:
        assert models.is_a(f"{GT}{name};1", f"{GT}GridComponent;1"), name
    assert models.is_a(f"{GT}PVSystem;1", f"{GT}RenewableSource;1")
    assert models.is_a(f"{GT}Breaker;1", f"{GT}SwitchingDevice;1")
    assert not models.is_a(f"{GT}GridMeasurementPoint;1", f"{GT}GridComponent;1")


def test_monitored_by_reaches_measurement_points_and_meters(models: dtdl.ModelSet) -> None:
    target = models.interfaces[f"{GT}GridComponent;1"].contents["monitoredBy"].target
    assert models.is_a(f"{GT}GridMeasurementPoint;1", target)
    assert models.is_a(f"{GT}Meter;1", target)


def test_measurement_point_telemetry_units(models: dtdl.ModelSet) -> None:
    mp = models.interfaces[f"{GT}GridMeasurementPoint;1"]
    assert set(mp.contents["voltage"].schema.fields) == {"phaseA", "phaseB", "phaseC", "average"}
    assert set(mp.contents["activePower"].schema.fields) == {"phaseA", "phaseB", "phaseC", "total"}
    assert set(mp.contents["powerQuality"].schema.fields) == {"imbalance", "thd", "powerFactor", "qualityScore"}
    assert mp.contents["mlEngine"].kind == "Component"
    assert mp.contents["mlEngine"].schema_dtmi == f"{GT}MLEngine;1"
    source = {c["name"]: c for c in mp.source["contents"]}
    units = {f["unit"] for f in source["reactivePower"]["schema"]["fields"]}
    assert units == {"voltAmpereReactive"}


def test_operator_properties_carry_units(models: dtdl.ModelSet) -> None:
    transformer = models.interfaces[f"{GT}PowerTransformer;1"].contents
    assert transformer["ratedPower"].unit.endswith("kilovoltAmpere")
    assert transformer["ratedVoltage"].unit.endswith("kilovolt")  # inherited from GridComponent
    assert transformer["oilTemperature"].kind == "Telemetry"
    assert models.interfaces[f"{GT}Line;1"].contents["length"].unit.endswith("kilometre")


def test_status_and_role_enums(models: dtdl.ModelSet) -> None:
    status = models.interfaces[f"{GT}GridComponent;1"].contents["status"].schema
    assert set(status.enum_values.values()) == {"inService", "outOfService", "maintenance", "faulted"}
    role = models.interfaces[f"{GT}User;1"].contents["role"].schema
    assert set(role.enum_values.values()) == {"admin", "operator", "analyst", "viewer"}


def test_user_has_no_credential_property(models: dtdl.ModelSet) -> None:
    names = {name.lower() for name in models.interfaces[f"{GT}User;1"].contents}
    assert not {n for n in names if "password" in n or "hash" in n}


def test_fed_by_is_not_declared(models: dtdl.ModelSet) -> None:
    for interface in models.interfaces.values():
        assert "fedBy" not in interface.contents


ELECTRICAL = ["Bus;1", "ACLineSegment;1", "PowerTransformer;2", "ThreeWindingTransformer;1", "EnergyConsumer;1",
              "StaticGenerator;1", "SynchronousMachine;1", "BatteryUnit;1", "ExternalNetworkInjection;1",
              "LinearShuntCompensator;1", "Breaker;2", "Switch;2", "Measurement;1"]


def test_electrical_twins_record_grid_source_and_assumptions(models: dtdl.ModelSet) -> None:
    for name in ELECTRICAL:
        assert models.is_a(f"{GT}{name}", f"{GT}NetworkElement;1"), name
        contents = models.interfaces[f"{GT}{name}"].contents
        assert {"gridId", "sourceId", "assumed"} <= set(contents), name
    assert not models.is_a(f"{GT}Measurement;1", f"{GT}GridComponent;1")
    assert models.is_a(f"{GT}Measurement;1", f"{GT}MeasurementDevice;1")


def test_equipment_terminals_target_buses(models: dtdl.ModelSet) -> None:
    bus = f"{GT}Bus;1"
    ends = {"ACLineSegment;1": ("fromBus", "toBus"), "PowerTransformer;2": ("hvBus", "lvBus"),
            "ThreeWindingTransformer;1": ("hvBus", "mvBus", "lvBus"), "EnergyConsumer;1": ("terminal",),
            "StaticGenerator;1": ("terminal",), "ExternalNetworkInjection;1": ("terminal",),
            "LinearShuntCompensator;1": ("terminal",), "SwitchingDevice;2": ("fromBus", "toBus")}
    for name, relationships in ends.items():
        for relationship in relationships:
            content = models.interfaces[f"{GT}{name}"].contents[relationship]
            assert content.kind == "Relationship" and content.target == bus, (name, relationship)
            assert content.max_multiplicity == 1, (name, relationship)


def test_new_versions_keep_what_version_one_had(models: dtdl.ModelSet) -> None:
    """A client's query on a version-1 field keeps working on version-2 twins."""
    for name in ("PowerTransformer", "Breaker", "Switch", "SwitchingDevice"):
        old = models.interfaces[f"{GT}{name};1"].contents
        new = models.interfaces[f"{GT}{name};2"].contents
        for field, content in old.items():
            assert field in new, (name, field)
            assert new[field].kind == content.kind, (name, field)
    state = models.interfaces[f"{GT}SwitchingDevice;2"].contents["switchState"]
    assert state.writable  # an operator's edit opens a breaker


def test_line_parameters_cover_both_sequences(models: dtdl.ModelSet) -> None:
    line = models.interfaces[f"{GT}ACLineSegment;1"].contents
    assert {"rPerKm", "xPerKm", "cPerKm", "r0PerKm", "x0PerKm", "c0PerKm", "maxCurrent", "parallel"} <= set(line)
    assert line["maxCurrent"].unit.endswith("ampere") and line["length"].unit.endswith("kilometre")
