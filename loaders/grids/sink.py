"""The one sink of imported grids: a :class:`GridDocument` into the twin graph, and grids listed or deleted.

:func:`store_grid` validates the whole document against the stored graph before its first write
(twins against their models with the merge rules, relationships against their endpoints, the
profile tables as arrays), so a bad grid stores nothing; then it keeps the profiles (see
:mod:`loaders.grids.profiles`), writes twins and relationships with merge semantics
(:func:`loaders.merge.write_merged`, shared with the ADT importer) and removes what an earlier
import of the same grid had and the source no longer has.  Re-importing the same source
therefore updates in place and never duplicates: twin ids are ``<grid>/<table>/<index>`` and
relationship ids ``<source twin>/<name>`` (``.../feedsTo/<target>``).

Removal on re-import touches only what the importer owns: twins of the grid that carry a
``sourceId`` (twins an operator added by hand have none) and the relationships of the names the
importer writes from such a twin to another twin of the grid; a ``monitoredBy`` or ``managedBy``
an operator added stays.  Importing another source under an existing grid id is refused unless ``replace``.
"""

from __future__ import annotations

import dataclasses
import time
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import neo4j

from dtdl.model import ModelSet
from graph.bulk import DEFAULT_BATCH, TwinRow, bulk_delete_twins
from graph.errors import ConflictError, GraphError, NotFoundError, Problem, ValidationError
from gridtwin.config import Settings
from loaders.grids.document import GRID_MODEL, GridDocument, check_grid_id
from loaders.grids.profiles import delete_profiles, encode_profiles, relative_profile_file, save_profiles
from loaders.merge import CheckedRows, Progress, RowsRefused, check_rows, write_merged

#: Labels of the grid's twins (fixed by our model set: NetworkElement, ElectricalGrid, Bus).
ELEMENT_LABEL, GRID_LABEL, BUS_LABEL = "NetworkElement", "ElectricalGrid", "Bus"
#: Relationships an importer writes between the twins of a grid (re-imports replace these).
IMPORTED_RELATIONSHIPS = ("fromBus", "toBus", "hvBus", "mvBus", "lvBus", "terminal", "branch", "measuredElement",
                          "feedsTo")


class GridStoreError(ValidationError):
    """The grid is refused and nothing of it was stored; each problem names the element and field."""


@dataclass(frozen=True)
class GridImportReport:
    """What :func:`store_grid` did.  ``*_updated`` were stored already (``*_unchanged`` of them were equal to
    the source and not rewritten); ``*_deleted`` were left from an earlier import and are gone from the source
    (relationships removed with a deleted twin are not counted)."""

    grid_id: str
    source: str
    twins_created: int
    twins_updated: int
    twins_deleted: int
    relationships_created: int
    relationships_updated: int
    relationships_deleted: int
    twins_unchanged: int
    relationships_unchanged: int
    buses: int
    topology_depth: int
    profile_tables: int
    profile_file: str | None
    seconds: float


@dataclass(frozen=True)
class GridSummary:
    """One stored grid, as :func:`list_grids` lists it."""

    grid_id: str
    name: str | None
    source: str | None
    source_format: str | None
    twins: int
    buses: int
    profile_file: str | None


@dataclass(frozen=True)
class GridDeleteReport:
    """What :func:`delete_grid` removed."""

    grid_id: str
    twins: int
    relationships: int
    profiles: bool


def _element_names(twins: Sequence[TwinRow]) -> list[str]:
    """Per row index, how a problem names it: the source element when known, else the twin id."""
    return [f"{t.properties.get('sourceId')} (twin {t.id!r})" if t.properties.get("sourceId") else f"twin {t.id!r}"
            for t in twins]


def _named_problems(document: GridDocument, error: GraphError, rows: Sequence[Any], twins: bool) -> list[Problem]:
    """A bulk check's problems (pointers ``/<row>/<field>`` or ``/<twin id>``) named by element and field."""
    names = _element_names(rows) if twins else [f"relationship {r.name!r} of twin {r.source_id!r}" for r in rows]
    problems = []
    for problem in error.problems or [Problem("", str(error))]:
        head, _, rest = problem.pointer[1:].partition("/")
        where = names[int(head)] if head.isdigit() and int(head) < len(names) else problem.pointer[1:] or document.grid_id
        field = rest.replace("$sourceId", "source").replace("$targetId", "target") or None
        problems.append(Problem(f"/{where}" + (f"/{field}" if field else ""),
                                f"{where}{', field ' + repr(field) if field else ''}: {problem.message}"))
    return problems


def _check_rows(driver: neo4j.Driver, models: ModelSet, document: GridDocument, twins: Sequence[TwinRow],
                database: str | None) -> CheckedRows:
    """Everything validated before the first write; the problems of both checks named by element."""
    try:
        return check_rows(driver, models, twins, document.relationships, database=database)
    except RowsRefused as refused:
        problems = [*(_named_problems(document, refused.twins, twins, True) if refused.twins else ()),
                    *(_named_problems(document, refused.relationships, document.relationships, False)
                      if refused.relationships else ())]
        raise GridStoreError(f"grid {document.grid_id!r} from {document.source}: {len(problems)} problem(s); "
                             "nothing was stored", problems) from refused


def _check_source(driver: neo4j.Driver, document: GridDocument, replace: bool, database: str | None) -> None:
    """Another source under a stored grid id would silently replace that grid: refused unless asked for."""
    records, _, _ = driver.execute_query(
        f"MATCH (g:{GRID_LABEL} {{id: $id}}) RETURN g.source AS source", id=document.grid_id, database_=database,
        routing_=neo4j.RoutingControl.READ)
    if records and not replace and records[0]["source"] not in (None, document.source):
        raise ConflictError(f"grid {document.grid_id!r} is stored from {records[0]['source']}, not {document.source}",
                            [Problem("/gridId", "give another id, delete the grid first, or replace it")])


def _with_profile_reference(twins: list[TwinRow], grid_id: str, steps: int | None) -> list[TwinRow]:
    """The ElectricalGrid row names the profile archive (or names none when the source has no profiles)."""
    out = []
    for twin in twins:
        if twin.model == GRID_MODEL and twin.id == grid_id:
            properties = {k: v for k, v in twin.properties.items() if k not in ("profileFile", "profileSteps")}
            if steps is not None:
                properties.update(profileFile=relative_profile_file(grid_id), profileSteps=steps)
            twin = dataclasses.replace(twin, properties=properties)
        out.append(twin)
    return out


def _stale(driver: neo4j.Driver, document: GridDocument, database: str | None) -> tuple[list[str], list[list[str]]]:
    """Imported twins and relationships of the grid that the document no longer has (after its writes).

    Two counts answer the usual case (nothing stale: the counts are the document's); only otherwise
    are the ids read and compared.
    """
    imported = {t.id for t in document.twins if t.properties.get("sourceId") is not None}
    expected_edges = sum(1 for r in document.relationships if r.name in IMPORTED_RELATIONSHIPS and r.source_id in imported)
    twins_query = f"MATCH (t:{ELEMENT_LABEL} {{gridId: $grid}}) WHERE t.sourceId IS NOT NULL "
    edges_query = (f"MATCH (s:{ELEMENT_LABEL} {{gridId: $grid}})-[r]->(:{ELEMENT_LABEL} {{gridId: $grid}}) "
                   "WHERE s.sourceId IS NOT NULL AND r.name IN $names ")
    names = list(IMPORTED_RELATIONSHIPS)
    counts = _read(driver, f"{twins_query}WITH count(t) AS twins CALL () {{ {edges_query}RETURN count(r) AS edges }} "
                           "RETURN [twins, edges] AS counts", "counts", database, grid=document.grid_id, names=names)
    twins: list[str] = []
    edges: list[list[str]] = []
    if counts[0] != len(imported):
        twins = [t for t in _read(driver, f"{twins_query}RETURN collect(t.id) AS ids", "ids", database,
                                  grid=document.grid_id) if t not in imported]
    if counts[1] != expected_edges:
        wanted = {(r.source_id, r.id) for r in document.relationships}
        gone = set(twins)
        edges = [[s, r] for s, r in _read(driver, f"{edges_query}RETURN collect([s.id, r.id]) AS edges", "edges",
                                          database, grid=document.grid_id, names=names)
                 if (s, r) not in wanted and s not in gone]
    return twins, edges


def _read(driver: neo4j.Driver, query: str, name: str, database: str | None, **params: Any) -> Any:
    records, _, _ = driver.execute_query(query, params, database_=database, routing_=neo4j.RoutingControl.READ)
    return records[0][name]


def _remove_stale(driver: neo4j.Driver, document: GridDocument, database: str | None) -> tuple[int, int]:
    twins, edges = _stale(driver, document, database)
    relationships = 0
    if edges:
        records, _, _ = driver.execute_query(
            "UNWIND $edges AS e MATCH (:Twin {id: e[0]})-[r]->() WHERE r.id = e[1] DELETE r RETURN count(*) AS n",
            edges=edges, database_=database)
        relationships = int(records[0]["n"])
    return bulk_delete_twins(driver, twins, database=database) if twins else 0, relationships


def store_grid(
    driver: neo4j.Driver,
    models: ModelSet,
    document: GridDocument,
    *,
    settings: Settings,
    replace: bool = False,
    batch_size: int = DEFAULT_BATCH,
    database: str | None = None,
    progress: Progress | None = None,
) -> GridImportReport:
    """Store (or update in place) one grid; :class:`GridStoreError` or ``ConflictError`` store nothing."""
    start = time.perf_counter()
    grid_id = check_grid_id(document.grid_id)
    arrays = encode_profiles(document.profiles, document.study_cases) if document.profiles else None
    steps = max((len(t) for t in document.profiles.values()), default=0) if arrays is not None else None
    twins = _with_profile_reference(list(document.twins), grid_id, steps)
    _check_source(driver, document, replace, database)
    checked = _check_rows(driver, models, document, twins, database)
    if progress:
        progress("checked", len(twins) + len(document.relationships), len(twins) + len(document.relationships))
    with ThreadPoolExecutor(max_workers=1) as pool:  # compressing the profiles overlaps the graph writes
        kept = pool.submit(save_profiles, settings, grid_id, arrays) if arrays is not None else None
        if kept is None:
            delete_profiles(settings, grid_id)
        counts = write_merged(driver, models, checked, batch_size=batch_size, database=database, progress=progress)
        twins_deleted, relationships_deleted = _remove_stale(driver, document, database)
        if kept is not None:
            kept.result()
    grid = next((t.properties for t in twins if t.model == GRID_MODEL), {})
    return GridImportReport(
        grid_id=grid_id, source=document.source, twins_created=counts.twins_created,
        twins_updated=counts.twins_updated, twins_deleted=twins_deleted,
        relationships_created=counts.relationships_created, relationships_updated=counts.relationships_updated,
        relationships_deleted=relationships_deleted, twins_unchanged=counts.twins_unchanged,
        relationships_unchanged=counts.relationships_unchanged, buses=sum(1 for t in twins if t.model.endswith(":Bus;1")),
        topology_depth=int(grid.get("topologyDepth", 0)), profile_tables=len(document.profiles),
        profile_file=grid.get("profileFile"), seconds=time.perf_counter() - start)


def list_grids(driver: neo4j.Driver, *, database: str | None = None) -> list[GridSummary]:
    """Every stored grid (an ElectricalGrid twin) with its twin and bus counts, by id."""
    records, _, _ = driver.execute_query(
        f"MATCH (g:{GRID_LABEL}) CALL (g) {{ MATCH (t:{ELEMENT_LABEL} {{gridId: g.id}}) "
        f"RETURN count(t) AS twins, count(CASE WHEN t:{BUS_LABEL} THEN 1 END) AS buses }} "
        "WITH g, twins, buses ORDER BY g.id "
        "RETURN collect([g.id, g.name, g.source, g.sourceFormat, twins, buses, g.profileFile]) AS grids",
        database_=database, routing_=neo4j.RoutingControl.READ)
    return [GridSummary(*row) for row in records[0]["grids"]]


def grid_twin_ids(driver: neo4j.Driver, grid_id: str, *, database: str | None = None) -> list[str]:
    """Ids of every twin of the grid (for exports); ``NotFoundError`` when there is none."""
    records, _, _ = driver.execute_query(
        f"MATCH (t:{ELEMENT_LABEL} {{gridId: $grid}}) RETURN collect(t.id) AS ids", grid=check_grid_id(grid_id),
        database_=database, routing_=neo4j.RoutingControl.READ)
    if not records[0]["ids"]:
        raise NotFoundError(f"no grid {grid_id!r}", [Problem("/gridId", "no twin has this gridId")])
    return list(records[0]["ids"])


def delete_grid(driver: neo4j.Driver, grid_id: str, *, settings: Settings, database: str | None = None) -> GridDeleteReport:
    """Remove every twin whose ``gridId`` is ``grid_id`` (with its relationships) and the grid's profiles."""
    check_grid_id(grid_id)
    records, _, _ = driver.execute_query(
        f"MATCH (t:{ELEMENT_LABEL} {{gridId: $grid}}) WITH collect(t) AS twins "
        "CALL (twins) { UNWIND twins AS t MATCH (t)-[r]-() RETURN count(DISTINCT r) AS edges } "
        "RETURN [t IN twins | t.id] AS ids, edges", grid=grid_id, database_=database,
        routing_=neo4j.RoutingControl.READ)
    ids, edges = records[0]["ids"], records[0]["edges"]
    profiles = delete_profiles(settings, grid_id)
    if not ids and not profiles:
        raise NotFoundError(f"no grid {grid_id!r}", [Problem("/gridId", "no twin has this gridId")])
    deleted = bulk_delete_twins(driver, ids, database=database)
    return GridDeleteReport(grid_id, deleted, int(edges), profiles)

