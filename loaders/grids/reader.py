"""A grid read back from the twin graph as it is now, for the power-flow builders.

:func:`read_grid` returns the :class:`GridDocument` of a stored grid, so ``to_pandapower`` and
``to_power_grid_model`` build the network an operator sees: a breaker opened through
``updateTwin`` (``switchState``), a changed ``tapPosition`` or an element taken out of service
changes the next power flow.  It is two queries, each returning ONE record of lists (the driver
decodes a list far faster than a record per twin, see ``graph.twins.MODELS_OF_IDS``);
properties are decoded by the graph layer's own decoders (``graph.encoding``, through
``loaders.merge.decode_twin_maps``), so they are the documents ``getTwin`` would return.

The document holds the grid's twins (``gridId`` = the grid) and the relationships between them;
``feedsTo`` edges are left out unless asked for (``feeds=True``), as no builder needs them.
Relationship properties are not read: none of the relationships of an electrical grid declares
any.  Profiles stay in their archive (``loaders.grids.profiles.load_profiles``).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import neo4j

from dtdl.model import ModelSet
from graph.bulk import RelationshipRow
from graph.errors import NotFoundError, Problem
from loaders.grids.document import GRID_MODEL, GridDocument, check_grid_id
from loaders.grids.sink import ELEMENT_LABEL
from loaders.merge import NODE_MAP, decode_twin_maps

#: The twins of a grid, system keys blanked (their temporal values are the slowest to decode).
TWINS_OF_GRID = f"MATCH (t:{ELEMENT_LABEL} {{gridId: $grid}}) RETURN collect({NODE_MAP}) AS twins"
#: The relationships between twins of the grid as four parallel lists (the cheapest shape to send and decode).
EDGES_OF_GRID = (f"MATCH (s:{ELEMENT_LABEL} {{gridId: $grid}})-[r]->(t:{ELEMENT_LABEL} {{gridId: $grid}}) "
                 "WHERE $feeds OR NOT r:FEEDS_TO "
                 "RETURN collect(s.id) AS sources, collect(r.name) AS names, collect(t.id) AS targets, "
                 "collect(r.id) AS ids")


def _run(driver: neo4j.Driver, query: str, params: dict[str, object], database: str | None) -> neo4j.Record:
    records, _, _ = driver.execute_query(query, params, database_=database, routing_=neo4j.RoutingControl.READ)
    return records[0]


def read_grid(
    driver: neo4j.Driver, models: ModelSet, grid_id: str, *, feeds: bool = False, database: str | None = None
) -> GridDocument:
    """The stored grid's document as the graph holds it now; ``NotFoundError`` when no twin has the grid id.

    The two queries run at once (Neo4j answers both on its cores while the driver decodes), each
    an auto-commit read: an edit committed between them shows in one of them only, as it would in
    a read a moment later.
    """
    check_grid_id(grid_id)
    params = {"grid": grid_id, "feeds": feeds}
    with ThreadPoolExecutor(max_workers=1) as pool:
        edges = pool.submit(_run, driver, EDGES_OF_GRID, params, database)
        nodes = _run(driver, TWINS_OF_GRID, params, database)["twins"]
        found = edges.result()
    if not nodes:
        raise NotFoundError(f"no grid {grid_id!r}", [Problem("/gridId", "no twin has this gridId")])
    relationships = list(map(_relationship, found["sources"], found["names"], found["targets"], found["ids"]))
    rows = decode_twin_maps(models, nodes)
    grid = next((t.properties for t in rows if t.model == GRID_MODEL and t.id == grid_id), {})
    return GridDocument(grid_id, str(grid.get("source", grid_id)), rows, relationships)


def _relationship(source: str, name: str, target: str, relationship_id: str) -> RelationshipRow:
    return RelationshipRow(source, name, target, id=relationship_id)


__all__ = ["EDGES_OF_GRID", "TWINS_OF_GRID", "read_grid"]
