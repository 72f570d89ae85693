"""A grid read back from the twin graph as it is now, for the power-flow builders.

:func:`read_grid` returns the :class:`GridDocument` of a stored grid, so ``to_pandapower`` and
``to_power_grid_model`` build the network an operator sees: a breaker opened through
``updateTwin`` (``switchState``), a changed ``tapPosition`` or an element taken out of service
changes the next power flow.  It is two queries, each returning ONE record of lists (the driver
decodes a list far faster than a record per twin, see ``graph.twins.MODELS_OF_IDS``);
properties are decoded by the graph layer's own decoders (``graph.encoding``, through
``loaders.merge.decode_twin_maps``), so they are the documents ``getTwin`` would return.

The document holds the grid's twins (``gridId`` = the grid) and the relationships between them;
``feedsTo`` edges are left out: they are topology, which no builder needs.
Relationship properties are not read: none of the relationships of an electrical grid declares
any; a relationship's id is the one the grid importer gives it (``document.relationship_id``).  Profiles stay in their archive (``loaders.grids.profiles.load_profiles``).
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

import neo4j

from dtdl.model import Interface, ModelSet
from graph.bulk import RelationshipRow
from graph.compiled import memoised
from graph.cypher import relationship_type
from graph.errors import NotFoundError, Problem
from loaders.grids.document import GRID_MODEL, GridDocument, check_grid_id, relationship_id
from loaders.grids.sink import ELEMENT_LABEL
from loaders.merge import NODE_MAP, decode_twin_maps

#: The twins of a grid, system keys blanked (their temporal values are the slowest to decode).
TWINS_OF_GRID = f"MATCH (t:{ELEMENT_LABEL} {{gridId: $grid}}) RETURN collect({NODE_MAP}) AS twins"
#: The relationships between twins of the grid as parallel lists (the cheapest shape to send and decode): the
#: relationship's type, not its stored name and id, as a relationship property costs the server a record
#: read per edge (a third of the query) and the type names the relationship (:func:`_names_of_types`).
EDGES_OF_GRID = (f"MATCH (s:{ELEMENT_LABEL} {{gridId: $grid}})-[r]->(t:{ELEMENT_LABEL} {{gridId: $grid}}) "
                 "WHERE NOT r:FEEDS_TO "
                 "RETURN collect(s.id) AS sources, collect(type(r)) AS types, collect(t.id) AS targets")
#: The same with the stored names, for a model set where two relationship names share a type.
EDGES_BY_NAME = EDGES_OF_GRID.replace("collect(type(r)) AS types", "collect(r.name) AS names")


def _run(driver: neo4j.Driver, query: str, params: dict[str, object], database: str | None) -> neo4j.Record:
    records, _, _ = driver.execute_query(query, params, database_=database, routing_=neo4j.RoutingControl.READ)
    return records[0]


def read_grid(driver: neo4j.Driver, models: ModelSet, grid_id: str, *, database: str | None = None) -> GridDocument:
    """The stored grid's document as the graph holds it now; ``NotFoundError`` when no twin has the grid id.

    The two queries run at once (Neo4j answers both on its cores), each an auto-commit read: an edit
    committed between them shows in one of them only, as it would in a read a moment later. The twins
    are decoded after both arrived: decoding beside the other query's unpacking only contends for the GIL.
    """
    check_grid_id(grid_id)
    params = {"grid": grid_id}
    with ThreadPoolExecutor(max_workers=1) as pool:
        edges = pool.submit(_relationships, driver, models, grid_id, database)
        nodes = _run(driver, TWINS_OF_GRID, params, database)["twins"]
        relationships = edges.result()
    if not nodes:
        raise NotFoundError(f"no grid {grid_id!r}", [Problem("/gridId", "no twin has this gridId")])
    rows = decode_twin_maps(models, nodes)
    grid = next((t.properties for t in rows if t.model == GRID_MODEL and t.id == grid_id), {})
    return GridDocument(grid_id, str(grid.get("source", grid_id)), rows, relationships)


def _relationships(driver: neo4j.Driver, models: ModelSet, grid_id: str, database: str | None) -> list[RelationshipRow]:
    names = _names_of_types(models)
    if names is None:
        found = _run(driver, EDGES_BY_NAME, {"grid": grid_id}, database)
        return list(map(_relationship, found["sources"], found["names"], found["targets"]))
    found = _run(driver, EDGES_OF_GRID, {"grid": grid_id}, database)
    try:
        return list(map(_relationship, found["sources"], map(names.__getitem__, found["types"]), found["targets"]))
    except KeyError as error:
        raise NotFoundError(f"grid {grid_id!r} holds a relationship of type {error} that no model declares",
                            [Problem("/gridId", "relationship types outside the models")]) from error


def _relationship(source: str, name: str, target: str) -> RelationshipRow:
    return RelationshipRow(source, name, target, id=relationship_id(source, name))


def _names_of_types(models: ModelSet) -> dict[str, str] | None:
    """Relationship type -> the relationship name stored with it (``TERMINAL`` -> ``terminal``), once per
    model set; None when two names share a type (``fromBus``, ``from_bus``): their edges are read by name."""
    return memoised("relationship names", models, models.interfaces, "", _type_names)


def _type_names(models: ModelSet, interfaces: Mapping[str, Interface], _variant: str) -> dict[str, str] | None:
    found: dict[str, str] = {}
    for interface in interfaces.values():
        for content in interface.contents.values():
            if content.kind == "Relationship" and found.setdefault(relationship_type(content.name),
                                                                   content.name) != content.name:
                return None
    return found


__all__ = ["EDGES_BY_NAME", "EDGES_OF_GRID", "TWINS_OF_GRID", "read_grid"]
