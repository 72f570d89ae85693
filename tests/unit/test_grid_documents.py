"""Grid documents: rows valid against the models, edits that change the network, refusals that name the field."""
from __future__ import annotations

import dataclasses
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

pp = pytest.importorskip("pandapower")
import pandapower.networks as pn  # noqa: E402

from graph.bulk import TwinRow  # noqa: E402
from graph.models_store import builtin_documents, parse_models  # noqa: E402
from graph.validation import validate_twin  # noqa: E402
from loaders.grids.document import GridDocument, GridSourceError  # noqa: E402
from loaders.grids.from_pandapower import from_pandapower  # noqa: E402
from loaders.grids.sources import load_grid  # noqa: E402
from loaders.grids.to_pandapower import to_pandapower, unsupplied_islands  # noqa: E402

GT = "dtmi:gridtwin:"


def _cigre() -> GridDocument:
    return from_pandapower(pn.create_cigre_network_mv(with_der="all"), "cigre")


def _runpp(net: object) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pp.runpp(net, numba=False)


def _edit(document: GridDocument, twin_id: str, **changes: object) -> GridDocument:
    twins = [dataclasses.replace(t, properties={**t.properties, **changes}) if t.id == twin_id else t
             for t in document.twins]
    return dataclasses.replace(document, twins=twins)


def test_every_row_is_valid_against_the_model_set() -> None:
    models = parse_models(builtin_documents())
    document = from_pandapower(pn.ieee_european_lv_asymmetric(), "eu")
    for twin in _cigre().twins + document.twins:
        assert validate_twin(models, twin.model, twin.properties) == [], twin.id
    by_id = {t.id: t for t in _cigre().twins}
    for relationship in _cigre().relationships:
        content = models.interfaces[by_id[relationship.source_id].model].contents[relationship.name]
        assert models.is_a(by_id[relationship.target_id].model, content.target), relationship


def test_opening_a_switch_de_energises_what_lies_behind_it() -> None:
    document = from_pandapower(pn.create_cigre_network_mv(with_der=False), "cigre")
    closed = to_pandapower(document)
    _runpp(closed)
    assert closed.res_bus.vm_pu.notna().all()
    switch = next(r.source_id for r in document.relationships if r.name == "branch" and r.target_id == "cigre/trafo/1")
    opened = to_pandapower(_edit(document, switch, switchState="open"))
    _runpp(opened)
    dead = {f"cigre/bus/{bus}" for bus in opened.res_bus.index[opened.res_bus.vm_pu.isna()]}
    assert dead == {"cigre/bus/12", "cigre/bus/13", "cigre/bus/14"}  # the feeder behind transformer 1
    assert unsupplied_islands(opened) == [sorted(dead)]
    assert not opened.res_trafo.at[1, "loading_percent"] > 0.0  # nothing flows (pandapower: 0 or NaN)
    assert closed.res_trafo.at[1, "loading_percent"] > 1.0


def test_an_open_switch_that_cuts_off_buses_is_reported_not_crashed_on() -> None:
    net = pn.example_simple()
    document = from_pandapower(net, "simple")
    switch = next(t for t in document.twins if t.properties.get("sourceId") == "switch/1")
    built = to_pandapower(_edit(document, switch.id, switchState="open"))
    _runpp(built)
    islands = unsupplied_islands(built)
    assert islands and all(member.startswith("simple/bus/") for member in islands[0])
    dead = {f"simple/bus/{bus}" for bus in built.res_bus.index[built.res_bus.vm_pu.isna()]}
    assert dead == {member for island in islands for member in island}
    assert unsupplied_islands(to_pandapower(document)) == []


def test_out_of_service_and_tap_edits_reach_the_power_flow() -> None:
    document = _cigre()
    base = to_pandapower(document)
    _runpp(base)
    line = to_pandapower(_edit(document, "cigre/line/3", status="maintenance"))
    assert not line.line.at[3, "in_service"]
    tapped = to_pandapower(_edit(document, "cigre/trafo/0", tapPosition=2, tapSide="hv", tapNeutral=0,
                                 tapStepPercent=2.5, tapChangerType="ratio"))
    _runpp(tapped)
    assert abs(tapped.res_bus.vm_pu.mean() - base.res_bus.vm_pu.mean()) > 1e-3


def test_simbench_gaps_are_filled_and_flagged_and_profiles_kept() -> None:
    document = load_grid("simbench:1-LV-rural1--0-sw")
    trafo = next(t for t in document.twins if t.model == f"{GT}PowerTransformer;2")
    assert {"vectorGroup", "zeroSeqImpedance"} <= set(trafo.properties["assumed"])
    grid = next(t for t in document.twins if t.model == f"{GT}ExternalNetworkInjection;1")
    assert "maxShortCircuitPower" in grid.properties["assumed"]
    loads = document.twins_of(f"{GT}EnergyConsumer;1")
    assert loads and all(f"{t.properties['profile']}_pload" in document.profiles["load"].columns for t in loads)
    assert len(document.profiles["load"]) == 35136  # a year of 15-minute steps, as a table, not twin properties
    built = to_pandapower(document)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pp.runpp_3ph(built, numba=False)
        import pandapower.shortcircuit as sc

        sc.calc_sc(built, case="max")
    assert built.res_bus_3ph.vm_a_pu.notna().all() and built.res_bus_sc.ikss_ka.notna().all()


def test_pandapower_json_file_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "case33.json"
    pp.to_json(pn.case33bw(), str(path))
    document = load_grid(str(path))
    assert document.grid_id == "case33" and len(document.twins_of(f"{GT}Bus;1")) == 33


@pytest.mark.parametrize("source, named", [
    ("simbench:1-LV-nowhere--0-sw", "simbench:1-LV-nowhere--0-sw"), ("pandapower:case33", "did you mean case33bw"),
    ("grid.csv", "give simbench:<code>"), ("grid.xml", "grid.xml: no such file"),
])
def test_bad_sources_are_refused_by_name(source: str, named: str) -> None:
    with pytest.raises(GridSourceError, match=named.replace("<", ".").replace(">", ".")):
        load_grid(source)


def test_bad_file_and_bad_element_name_where_and_what(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(GridSourceError, match="bad.json"):
        load_grid(str(bad))
    net = pn.case33bw()
    net.line.at[4, "to_bus"] = 999
    with pytest.raises(GridSourceError, match=r"line 4, field 'toBus': bus 999 does not exist"):
        from_pandapower(net, "x")
    net = pn.case33bw()
    net.line["parallel"] = net.line["parallel"].astype(float)
    net.line.at[2, "parallel"] = 1.5
    with pytest.raises(GridSourceError, match=r"line 2, field 'parallel'"):
        from_pandapower(net, "x")


def test_a_document_without_a_bus_end_names_the_twin() -> None:
    document = from_pandapower(pn.case33bw(), "c")
    broken = dataclasses.replace(document, relationships=[
        r for r in document.relationships if not (r.source_id == "c/line/5" and r.name == "toBus")])
    with pytest.raises(GridSourceError, match=r"twin 'c/line/5', field 'toBus': relationship missing"):
        to_pandapower(broken)
    extra = dataclasses.replace(document, twins=document.twins + [TwinRow("c/new", f"{GT}Bus;1", {"nominalVoltage": 12.66})])
    assert len(to_pandapower(extra).bus) == 34  # a twin created by hand gets the next free index


def test_api_start_up_does_not_import_the_power_flow_stack() -> None:
    code = "import sys, api.app, loaders.grids; print('pandapower' in sys.modules or 'power_grid_model' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "False"


def test_relationship_types_name_the_relationships_unless_two_names_share_one() -> None:
    """read_grid reads an edge's type, not its stored name; a model set where two names map to one type
    (``fromBus``, ``from_bus``) is read by name instead."""
    from types import MappingProxyType

    from api.app import _shipped_models
    from dtdl.model import Content, Interface, ModelSet
    from loaders.grids.reader import _names_of_types

    shipped = _shipped_models()
    names = _names_of_types(shipped)
    assert names is not None and names["TERMINAL"] == "terminal" and "FEEDS_TO" in names
    clash = Interface(dtmi="dtmi:test:Clash;1", contents=MappingProxyType({
        name: Content(kind="Relationship", name=name) for name in ("fromBus", "from_bus")}))
    assert _names_of_types(ModelSet(interfaces=MappingProxyType({clash.dtmi: clash}))) is None
