"""Real grids through the real Neo4j: import, re-import, read back, edit, export, delete (issue 8).

One simbench grid (1-LV-rural1--0-sw, 15 buses, loaded once per module) is stored under a
unique grid id; the power flow of the network built from the graph must equal pandapower's on
the source net, and an operator's edit through the graph layer must change it.
"""

from __future__ import annotations

import copy
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import neo4j
import pytest

pp = pytest.importorskip("pandapower")
import pandapower.networks as pn  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from dtdl.model import ModelSet  # noqa: E402
from graph import topology  # noqa: E402
from graph.bulk import TwinRow  # noqa: E402
from graph.twins import get_twin, update_twin  # noqa: E402
from gridtwin.config import Settings  # noqa: E402
from loaders.grids.compare import worst_differences  # noqa: E402
from loaders.grids.document import GridDocument  # noqa: E402
from loaders.grids.from_pandapower import from_pandapower  # noqa: E402
from loaders.grids.profiles import load_profiles  # noqa: E402
from loaders.grids.reader import read_grid  # noqa: E402
from loaders.grids.sink import GridStoreError, delete_grid, list_grids, store_grid  # noqa: E402
from loaders.grids.to_pandapower import to_pandapower  # noqa: E402

CODE = "1-LV-rural1--0-sw"
GT = "dtmi:gridtwin:"


@pytest.fixture(scope="module")
def source_net() -> Any:
    """The simbench net as simbench gives it (profiles apart), read once: its CSV set takes seconds."""
    import simbench

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = simbench.get_simbench_net(CODE)
    profiles = {name: table for name, table in net.pop("profiles").items() if len(table.columns) > 1}
    return net, profiles


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory, settings: Settings) -> Settings:
    """The profile's servers with a state folder of the module's own (the profile archives land there)."""
    return settings.model_copy(update={"state_dir": tmp_path_factory.mktemp("grid-state")})


@pytest.fixture(scope="module")
def document(source_net: Any) -> GridDocument:
    net, profiles = source_net
    grid_id = f"lv-{uuid.uuid4().hex[:8]}"
    return from_pandapower(copy.deepcopy(net), grid_id, source=f"simbench:{CODE}", source_format="simbench",
                           profiles=profiles)


@pytest.fixture(scope="module")
def stored(neo4j_driver: neo4j.Driver, models: ModelSet, document: GridDocument, state: Settings) -> Iterator[Any]:
    report = store_grid(neo4j_driver, models, document, settings=state)
    yield report
    delete_grid(neo4j_driver, document.grid_id, settings=state)


def _count(driver: neo4j.Driver, grid_id: str) -> tuple[int, int, int, int]:
    """(twins, distinct twin ids, relationships among them, distinct (source, id) pairs)."""
    records, _, _ = driver.execute_query(
        "MATCH (t:NetworkElement {gridId: $g}) WITH count(t) AS twins, count(DISTINCT t.id) AS ids "
        "CALL () { MATCH (s:NetworkElement {gridId: $g})-[r]->(:NetworkElement {gridId: $g}) "
        "RETURN count(r) AS edges, count(DISTINCT [s.id, r.id]) AS keys } RETURN twins, ids, edges, keys", g=grid_id)
    return tuple(records[0].values())  # type: ignore[return-value]


def _quiet(run: Any, net: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run(net, numba=False)


def test_the_network_built_from_the_graph_has_the_source_power_flow(
    neo4j_driver: neo4j.Driver, models: ModelSet, source_net: Any, document: GridDocument, stored: Any
) -> None:
    assert stored.twins_created == len(document.twins) and stored.twins_updated == 0
    assert stored.relationships_created == len(document.relationships) and stored.buses == 15
    built = to_pandapower(read_grid(neo4j_driver, models, document.grid_id))
    worst = worst_differences(copy.deepcopy(source_net[0]), built)
    assert worst["vm_pu"] <= 1e-6 and worst["va_degree"] <= 1e-4 and worst["loading_percent"] <= 1e-4, worst
    assert built.res_bus.vm_pu.notna().sum() == 15


def test_reimport_updates_in_place_and_never_duplicates(
    neo4j_driver: neo4j.Driver, models: ModelSet, document: GridDocument, stored: Any, state: Settings
) -> None:
    before = _count(neo4j_driver, document.grid_id)
    again = store_grid(neo4j_driver, models, document, settings=state)
    assert (again.twins_created, again.twins_updated) == (0, len(document.twins))
    assert (again.relationships_created, again.relationships_updated) == (0, len(document.relationships))
    assert again.twins_deleted == again.relationships_deleted == 0
    assert _count(neo4j_driver, document.grid_id) == before == (len(document.twins),) * 2 + (
        len(document.relationships),) * 2


def test_reimport_removes_what_the_source_no_longer_has(
    neo4j_driver: neo4j.Driver, models: ModelSet, document: GridDocument, stored: Any, state: Settings
) -> None:
    load = next(t.id for t in document.twins if t.model == f"{GT}EnergyConsumer;1")
    sgen_feed = next(r for r in document.relationships if r.name == "feedsTo" and "/sgen/" in r.target_id)
    smaller = GridDocument(document.grid_id, document.source, [t for t in document.twins if t.id != load],
                           [r for r in document.relationships
                            if load not in (r.source_id, r.target_id) and r is not sgen_feed],
                           document.profiles, document.study_cases)
    try:
        report = store_grid(neo4j_driver, models, smaller, settings=state)
        # the load goes with its terminal; its bus's feedsTo and the dropped sgen feed are removed explicitly
        assert (report.twins_deleted, report.relationships_deleted) == (1, 2)
        twins, _, edges, _ = _count(neo4j_driver, document.grid_id)
        assert (twins, edges) == (len(smaller.twins), len(smaller.relationships))
    finally:
        restored = store_grid(neo4j_driver, models, document, settings=state)
    assert (restored.twins_created, restored.relationships_created) == (1, 3)
    assert _count(neo4j_driver, document.grid_id)[::2] == (len(document.twins), len(document.relationships))


def test_profiles_are_kept_with_the_grid_for_the_simulator(
    neo4j_driver: neo4j.Driver, models: ModelSet, document: GridDocument, stored: Any, state: Settings
) -> None:
    grid = get_twin(neo4j_driver, models, document.grid_id).properties
    assert grid["profileFile"] == f"grids/{document.grid_id}/profiles.npz" and grid["profileSteps"] == 35136
    assert (state.state_path / grid["profileFile"]).is_file()
    kept = load_profiles(state, document.grid_id)
    assert kept is not None and set(kept.tables) == set(document.profiles) == {"load", "renewables"}
    for name, table in document.profiles.items():
        assert kept.tables[name].equals(table), name
    assert kept.study_cases.equals(document.study_cases)
    summary = next(g for g in list_grids(neo4j_driver) if g.grid_id == document.grid_id)
    assert (summary.source, summary.twins, summary.buses) == (f"simbench:{CODE}", len(document.twins), 15)


def test_the_external_grid_is_the_source_of_every_twin(
    neo4j_driver: neo4j.Driver, models: ModelSet, document: GridDocument, stored: Any
) -> None:
    ext_grid = f"{document.grid_id}/ext_grid/0"
    depth = stored.topology_depth
    load = next(t.id for t in document.twins if t.model == f"{GT}EnergyConsumer;1")
    sources = topology.source_substations(neo4j_driver, models, load, max_depth=depth)
    assert [node.id for node in sources] == [ext_grid]
    below = set(topology.downstream(neo4j_driver, models, ext_grid, max_depth=depth).ids)
    electrical = {t.id for t in document.twins if t.model not in (f"{GT}ElectricalGrid;1", f"{GT}Measurement;1")}
    assert below == electrical - {ext_grid}


def _dead_buses(net: Any) -> set[str]:
    _quiet(pp.runpp, net)
    return {str(net.bus.at[bus, "twin_id"]) for bus in net.res_bus.index[net.res_bus.vm_pu.isna()]}


def test_opening_a_switch_through_the_graph_de_energises_what_outage_impact_says(
    neo4j_driver: neo4j.Driver, models: ModelSet, document: GridDocument, stored: Any
) -> None:
    depth = stored.topology_depth
    buses = {t.id for t in document.twins if t.model == f"{GT}Bus;1"}
    impacts = {}
    for switch in (t.id for t in document.twins if t.model.startswith(f"{GT}Switch;")):
        impacts[switch] = topology.outage_impact(neo4j_driver, models, switch, max_depth=depth).ids
    # the switch cutting off most buses, short of the whole low-voltage grid
    switch, impact = max(((s, i) for s, i in impacts.items() if 1 < len(buses & set(i)) < len(buses) - 1),
                         key=lambda item: (len(buses & set(item[1])), item[0]))
    expected = buses & set(impact)
    update_twin(neo4j_driver, models, switch, [{"op": "replace", "path": "/switchState", "value": "open"}])
    try:
        opened = to_pandapower(read_grid(neo4j_driver, models, document.grid_id))
        assert _dead_buses(opened) == expected
        loads = {t.id for t in document.twins if t.model == f"{GT}EnergyConsumer;1"}
        dead_loads = {str(opened.load.at[i, "twin_id"]) for i in opened.load.index
                      if f"{document.grid_id}/bus/{opened.load.at[i, 'bus']}" in expected}
        assert dead_loads == loads & set(impact) and dead_loads
        assert topology.outage_impact(neo4j_driver, models, switch, max_depth=depth).ids == []  # already open
    finally:
        update_twin(neo4j_driver, models, switch, [{"op": "replace", "path": "/switchState", "value": "closed"}])
    assert _dead_buses(to_pandapower(read_grid(neo4j_driver, models, document.grid_id))) == set()


def _mean_vm(driver: neo4j.Driver, models: ModelSet, grid_id: str) -> float:
    net = to_pandapower(read_grid(driver, models, grid_id))
    _quiet(pp.runpp, net)
    return float(net.res_bus.vm_pu.mean())


def test_a_tap_change_through_the_graph_reaches_the_power_flow(
    neo4j_driver: neo4j.Driver, models: ModelSet, document: GridDocument, stored: Any
) -> None:
    trafo = next(t for t in document.twins if t.model == f"{GT}PowerTransformer;2")
    assert "tapChangerType" not in trafo.properties  # simbench gives tap data, pandapower 3 then ignores it
    base = _mean_vm(neo4j_driver, models, document.grid_id)
    position = int(trafo.properties["tapPosition"])
    update_twin(neo4j_driver, models, trafo.id, [{"op": "add", "path": "/tapChangerType", "value": "ratio"}])
    try:
        assert abs(_mean_vm(neo4j_driver, models, document.grid_id) - base) < 1e-9  # at the neutral position
        update_twin(neo4j_driver, models, trafo.id, [{"op": "replace", "path": "/tapPosition", "value": position + 2}])
        assert abs(_mean_vm(neo4j_driver, models, document.grid_id) - base) > 1e-3
    finally:
        update_twin(neo4j_driver, models, trafo.id, [{"op": "remove", "path": "/tapChangerType"},
                                                     {"op": "replace", "path": "/tapPosition", "value": position}])


def test_cli_export_pandapower_round_trips(source_net: Any, document: GridDocument, stored: Any,
                                           tmp_path: Path) -> None:
    from cli.main import app

    target = tmp_path / "exported.json"
    result = CliRunner().invoke(app, ["grid", "export", "pandapower", document.grid_id, "-o", str(target)])
    assert result.exit_code == 0, result.output
    worst = worst_differences(copy.deepcopy(source_net[0]), pp.from_json(str(target)))
    assert worst["vm_pu"] <= 1e-6 and worst["va_degree"] <= 1e-4 and worst["loading_percent"] <= 1e-4, worst


def test_cli_adt_export_imports_back_unchanged(document: GridDocument, stored: Any, tmp_path: Path) -> None:
    from cli.main import app

    target = tmp_path / "grid.ndjson"
    runner = CliRunner()
    exported = runner.invoke(app, ["grid", "export", "adt", document.grid_id, "-o", str(target)])
    assert exported.exit_code == 0, exported.output
    lines = target.read_text().splitlines()
    assert sum(1 for line in lines if f'"$dtId":"{document.grid_id}' in line.replace(" ", "")) == (
        len(document.twins) + len(document.relationships))
    imported = runner.invoke(app, ["grid", "import", f"adt:{target}"])
    assert imported.exit_code == 0, imported.output
    assert f"0 twin(s) created, {len(document.twins)} updated" in imported.output
    assert f"0 relationship(s) created, {len(document.relationships)} updated" in imported.output


def test_a_bad_grid_stores_nothing_and_names_the_element(
    neo4j_driver: neo4j.Driver, models: ModelSet, source_net: Any, state: Settings, tmp_path: Path
) -> None:
    from cli.main import app

    net = pn.case33bw()
    net.line.at[4, "to_bus"] = 999
    path = tmp_path / "broken.json"
    pp.to_json(net, str(path))
    bad_id = f"bad-{uuid.uuid4().hex[:8]}"
    result = CliRunner().invoke(app, ["grid", "import", str(path), "--id", bad_id])
    assert result.exit_code == 1
    assert f"{path}: line 4, field 'toBus': bus 999 does not exist" in result.output
    assert _count(neo4j_driver, bad_id)[0] == 0
    # a document the converter accepts but the models refuse: nothing of it is stored, profiles included
    document = from_pandapower(copy.deepcopy(source_net[0]), bad_id, profiles=source_net[1])
    line = f"{bad_id}/line/3"
    refused = GridDocument(bad_id, document.source, [
        TwinRow(t.id, t.model, {**t.properties, "length": "long"}) if t.id == line else t for t in document.twins],
        document.relationships, document.profiles, document.study_cases)
    with pytest.raises(GridStoreError, match=r"line/3 \(twin '[^']+'\), field 'length'"):
        store_grid(neo4j_driver, models, refused, settings=state)
    assert _count(neo4j_driver, bad_id)[0] == 0 and not (state.state_path / "grids" / bad_id).exists()


def test_cli_imports_lists_and_deletes_a_pandapower_network(neo4j_driver: neo4j.Driver) -> None:
    from cli.main import app

    grid_id = f"simple-{uuid.uuid4().hex[:8]}"
    runner = CliRunner()
    imported = runner.invoke(app, ["grid", "import", "pandapower:example_simple", "--id", grid_id])
    assert imported.exit_code == 0, imported.output
    try:
        assert grid_id in runner.invoke(app, ["grid", "list"]).output
        twins = _count(neo4j_driver, grid_id)[0]
        assert twins > 10
        again = runner.invoke(app, ["grid", "import", "pandapower:case33bw", "--id", grid_id])
        assert again.exit_code == 1 and "is stored from pandapower:example_simple" in again.output
    finally:
        deleted = runner.invoke(app, ["grid", "delete", grid_id])
    assert deleted.exit_code == 0 and f"{twins} twins" in deleted.output
    assert _count(neo4j_driver, grid_id)[0] == 0
    assert runner.invoke(app, ["grid", "delete", grid_id]).exit_code == 1
