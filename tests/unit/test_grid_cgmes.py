"""CIM / CGMES import (loaders/grids/from_cgmes.py) against pypowsybl's own solution of the same files.

tests/cgmes_cases.py writes the grids with pypowsybl in a process of its own; each file's SV profile is
powsybl's power flow. The net read from the files, and the net built back from the grid document, must
solve to those voltages: IEEE 9 and 57 within 1e-6 pu and 1e-4 degrees (angles relative to the SV's
reference). The Eurostag case within 2e-4 pu: powsybl's export refers the transformer impedance to the
tapped end without the tap's ratio (measured 9.4e-5 pu).
"""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from loaders.grids.compare import worst_differences
from loaders.grids.document import GRID_MODEL, GT, GridSourceError
from loaders.grids.cim_profiles import solved_voltages
from loaders.grids.from_cgmes import from_cgmes
from loaders.grids.sources import load_grid
from loaders.grids.to_pandapower import to_pandapower

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cgmes")
    subprocess.run([sys.executable, "-m", "tests.cgmes_cases", str(out)], cwd=ROOT, check=True, timeout=300,
                   capture_output=True)
    return out


def _worst_against_sv(net: object, folder: Path) -> tuple[float, float]:
    """The largest |V| (pu) and angle (degrees) difference of the net's power flow from the SV profile's."""
    import pandapower as pp

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pp.runpp(net, calculate_voltage_angles=True, numba=False)
    solved = {name: (kv, angle) for name, kv, angle in solved_voltages(folder)}
    buses = net.bus  # type: ignore[attr-defined]
    results = net.res_bus  # type: ignore[attr-defined]
    reference = min(solved, key=lambda name: abs(solved[name][1]))
    offset = float(results.va_degree[buses.index[buses.name == reference][0]]) - solved[reference][1]
    assert set(buses.name) == set(solved)
    worst_vm = max(abs(results.vm_pu[i] - solved[name][0] / buses.vn_kv[i]) for i, name in buses.name.items())
    worst_va = max(abs(results.va_degree[i] - offset - solved[name][1]) for i, name in buses.name.items())
    return float(worst_vm), float(worst_va)


@pytest.mark.parametrize(("case", "vm_pu", "va_degree"), [("ieee9", 1e-6, 1e-4), ("ieee57", 1e-6, 1e-4),
                                                           ("eurostag", 2e-4, 2e-2)])
def test_the_imported_grid_solves_to_powsybls_solution(cases: Path, case: str, vm_pu: float, va_degree: float) -> None:
    worst_vm, worst_va = _worst_against_sv(from_cgmes(cases / case), cases / case)
    assert worst_vm < vm_pu and worst_va < va_degree, (worst_vm, worst_va)


def test_the_grid_document_keeps_the_network(cases: Path) -> None:
    """.zip in, twins out, the network built from the twins solves as the read net does."""
    document = load_grid(str(cases / "ieee57.zip"), "cgmes-57")
    [grid] = document.twins_of(GRID_MODEL)
    assert grid.properties["sourceFormat"] == "cgmes"
    bus_ids = {twin.properties["sourceId"] for twin in document.twins_of(f"{GT}Bus;1")}
    assert len(bus_ids) == 57 and all(not source_id.startswith("bus/") for source_id in bus_ids)  # CIM mRIDs
    lines = document.twins_of(f"{GT}ACLineSegment;1")
    assert lines and all("maxCurrent" in line.properties["assumed"] for line in lines)  # powsybl writes no limits
    built = to_pandapower(document)
    assert len(built.trafo) == 17 and len(built.gen) + len(built.ext_grid) == 7
    worst = worst_differences(from_cgmes(cases / "ieee57.zip"), built)
    assert worst["vm_pu"] < 1e-9 and worst["va_degree"] < 1e-7, worst
    assert _worst_against_sv(built, cases / "ieee57")[0] < 1e-6


def test_taps_and_their_table_are_read(cases: Path) -> None:
    nine = from_cgmes(cases / "ieee9")
    assert nine.trafo.tap_pos.notna().all()
    eurostag = from_cgmes(cases / "eurostag")
    tapped = eurostag.trafo[eurostag.trafo.tap_pos.notna()].iloc[0]
    assert tapped.tap_side == "hv" and tapped.tap_pos == tapped.tap_neutral == 1  # the table's step holds
    assert tapped.vn_hv_kv == pytest.approx(400 * 0.99933377748168)


def test_what_cannot_be_imported_is_refused_by_name(cases: Path, tmp_path: Path) -> None:
    with pytest.raises(GridSourceError, match=r"ACLineSegment 'L7-8-1'.*line between 14 kV and 20 kV"):
        from_cgmes(cases / "ieee14")  # a transformer written as a line
    broken = tmp_path / "broken_EQ.xml"
    broken.write_text('<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
                      "  <unclosed>\n</rdf:RDF>\n")
    with pytest.raises(GridSourceError, match=r"broken_EQ\.xml: not CIM RDF/XML .*:4:"):
        from_cgmes(broken)
    with pytest.raises(GridSourceError, match="no such file"):
        from_cgmes(tmp_path / "missing.zip")
    (tmp_path / "fake.zip").write_text("not a zip")
    with pytest.raises(GridSourceError, match=r"fake\.zip: not a \.zip archive"):
        from_cgmes(tmp_path / "fake.zip")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(GridSourceError, match=r"no \.xml files"):
        from_cgmes(empty)


def test_a_zip_that_unpacks_too_far_is_refused_before_it_is_unpacked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import zipfile

    from loaders.grids import cim_profiles

    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("grid_EQ.xml", b" " * 4096)
    monkeypatch.setattr(cim_profiles, "MAX_UNPACKED_BYTES", 1024)
    with pytest.raises(GridSourceError, match="unpack to 4096 bytes, more than 1024"):
        from_cgmes(bomb)
