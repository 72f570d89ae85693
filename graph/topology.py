"""Grid topology over FEEDS_TO, each answer ONE Cypher query (no Python loop over hops).

Direction: ``feedsTo`` points in the normal power-flow direction (source ->
load), so *downstream* follows it and *upstream* goes against it.  A **source** is a
twin of one of the :data:`SOURCE_LABELS` with no incoming FEEDS_TO (an in-feed of the
modelled grid): a Substation of a hand-made grid, or the external grid
(ExternalNetworkInjection) of an imported one.  Every traversal has a depth limit: Cypher cannot take a variable-length
bound as a parameter, so the limit is a Python ``int`` clamped to
``[1, MAX_DEPTH]`` and formatted into the query (never caller text).

Relationship types and labels in queries come only from the models' whitelist
(``graph.cypher``); ids and lists of ids are parameters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import neo4j

from dtdl.model import ModelSet
from graph.cypher import known_labels, quote, relationship_names, resolve_label
from graph.errors import ModelError, NotFoundError, Problem, ValidationError

MAX_DEPTH = 10_000
#: Imported distribution grids are hundreds of hops deep (simbench 1-MV-semiurb: 208); bounded by MAX_DEPTH.
DEFAULT_DEPTH = 1_000
#: Relationships that carry power: used for paths and islands unless told otherwise.
ELECTRICAL = ("feedsTo", "connectedTo")
#: Interfaces whose twins are in-feeds when nothing feeds them: substations of hand-made grids,
#: external grids (the slack) of imported ones.  The one place that says what a source is.
SOURCE_LABELS = ("Substation", "ExternalNetworkInjection")


@dataclass(frozen=True)
class TraceNode:
    """One twin reached by a traversal, ``depth`` hops from where it started."""

    id: str
    model: str
    depth: int


@dataclass(frozen=True)
class Trace:
    """Result of an up/downstream trace, ordered by depth then id."""

    root_id: str
    direction: str
    nodes: list[TraceNode]
    max_depth: int

    @property
    def ids(self) -> list[str]:
        return [node.id for node in self.nodes]

    @property
    def reached_depth_limit(self) -> bool:
        """True when something sits at the limit, so more may lie beyond it."""
        return any(node.depth >= self.max_depth for node in self.nodes)


@dataclass(frozen=True)
class Path:
    """Shortest path between two twins (empty ``nodes`` when none within the limit)."""

    source_id: str
    target_id: str
    nodes: list[TraceNode]

    @property
    def found(self) -> bool:
        return bool(self.nodes)

    @property
    def length(self) -> int:
        return max(len(self.nodes) - 1, 0)


@dataclass(frozen=True)
class Component:
    """A connected component (island), keyed by the smallest twin id in it."""

    key: str
    member_ids: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.member_ids)


@dataclass(frozen=True)
class OutageImpact:
    """Twins de-energised when ``opened`` open; ``depth`` is hops from the nearest opened element."""

    opened: list[str]
    de_energised: list[TraceNode]

    @property
    def ids(self) -> list[str]:
        return [node.id for node in self.de_energised]


def _depth(max_depth: int) -> int:
    if isinstance(max_depth, bool) or not isinstance(max_depth, int):
        raise ValidationError("invalid depth", [Problem("/maxDepth", "must be an integer")])
    return max(1, min(max_depth, MAX_DEPTH))


def _types(models: ModelSet, names: Iterable[str]) -> str:
    """``FEEDS_TO|CONNECTED_TO`` from DTDL names checked against the models."""
    known = relationship_names(models)
    chosen = []
    for name in names:
        if name not in known:
            raise ModelError(f"no relationship named {name!r} in the models")
        chosen.append(quote(known[name]))
    if not chosen:
        raise ValidationError("no relationship names", [Problem("/via", "give at least one relationship name")])
    return "|".join(dict.fromkeys(chosen))


def _label_filter(models: ModelSet, label: str | None, variable: str) -> str:
    return f":{quote(resolve_label(models, label))}" if label else ""


def _source_label(models: ModelSet) -> str:
    """``Substation|ExternalNetworkInjection``: the source labels the models know (a label expression)."""
    known = [quote(resolve_label(models, name)) for name in SOURCE_LABELS if name in known_labels(models)]
    if not known:
        raise ModelError(f"the models define none of the source interfaces {', '.join(SOURCE_LABELS)}")
    return "|".join(known)


def _nodes(ids: Sequence[str], models_: Sequence[str], depths: Sequence[int]) -> list[TraceNode]:
    return [TraceNode(i, m, d) for i, m, d in zip(ids, models_, depths)]


def trace_query(models: ModelSet, *, downstream: bool, max_depth: int, label: str | None,
                collected: str = "collect(n.id) AS ids, collect(n.model) AS models") -> tuple[str, int]:
    """The trace from ``$id`` (one record, none when the twin is absent) and its clamped depth:
    ``collected`` aggregates the reached twins ``n`` (nearest first, then by id) beside their depths."""
    depth = _depth(max_depth)
    arrow = f"-[:FEEDS_TO*1..{depth}]->" if downstream else f"<-[:FEEDS_TO*1..{depth}]-"
    end_label = _label_filter(models, label, "n")
    query = (
        "MATCH (root:Twin {id: $id}) "
        f"CALL (root) {{ MATCH p = (root){arrow}(n:Twin{end_label}) "
        "  WITH n, min(length(p)) AS depth ORDER BY depth, n.id "
        f"  RETURN {collected}, collect(depth) AS depths }} "
        "RETURN *"
    )
    return query, depth


def _trace(
    driver: neo4j.Driver,
    models: ModelSet,
    twin_id: str,
    *,
    downstream: bool,
    max_depth: int,
    label: str | None,
    database: str | None,
) -> Trace:
    query, depth = trace_query(models, downstream=downstream, max_depth=max_depth, label=label)
    records, _, _ = driver.execute_query(query, id=twin_id, database_=database, routing_=neo4j.RoutingControl.READ)
    if not records:
        raise NotFoundError(f"no twin {twin_id!r}")
    record = records[0]
    return Trace(twin_id, "downstream" if downstream else "upstream", _nodes(record["ids"], record["models"], record["depths"]), depth)


def downstream(
    driver: neo4j.Driver,
    models: ModelSet,
    twin_id: str,
    *,
    max_depth: int = DEFAULT_DEPTH,
    label: str | None = None,
    database: str | None = None,
) -> Trace:
    """Twins fed (transitively) by ``twin_id``, optionally only those that are-a ``label`` (DTMI or label)."""
    return _trace(driver, models, twin_id, downstream=True, max_depth=max_depth, label=label, database=database)


def upstream(
    driver: neo4j.Driver,
    models: ModelSet,
    twin_id: str,
    *,
    max_depth: int = DEFAULT_DEPTH,
    label: str | None = None,
    database: str | None = None,
) -> Trace:
    """Twins that (transitively) feed ``twin_id``."""
    return _trace(driver, models, twin_id, downstream=False, max_depth=max_depth, label=label, database=database)


def shortest_path(
    driver: neo4j.Driver,
    models: ModelSet,
    source_id: str,
    target_id: str,
    *,
    directed: bool = False,
    via: Sequence[str] = ("feedsTo",),
    max_depth: int = DEFAULT_DEPTH,
    database: str | None = None,
) -> Path:
    """Shortest path between two twins.

    Undirected by default (how two assets are electrically linked, e.g. two loads on
    one feeder meet at their common upstream node); ``directed=True`` only follows
    the power-flow direction from ``source_id`` to ``target_id``.
    """
    depth = _depth(max_depth)
    types = _types(models, via)
    arrow = f"-[:{types}*..{depth}]->" if directed else f"-[:{types}*..{depth}]-"
    records, _, _ = driver.execute_query(
        "MATCH (a:Twin {id: $a}) MATCH (b:Twin {id: $b}) "
        f"OPTIONAL MATCH p = shortestPath((a){arrow}(b)) WHERE a <> b "
        "RETURN a.model AS amodel, [n IN nodes(p) | [n.id, n.model]] AS nodes",
        a=source_id,
        b=target_id,
        database_=database,
        routing_=neo4j.RoutingControl.READ,
    )
    if not records:
        raise NotFoundError(f"no twin {source_id!r} or {target_id!r}")
    record = records[0]
    if source_id == target_id:
        return Path(source_id, target_id, [TraceNode(source_id, record["amodel"], 0)])
    nodes = [TraceNode(i, m, d) for d, (i, m) in enumerate(record["nodes"] or [])]
    return Path(source_id, target_id, nodes)


def source_substations(
    driver: neo4j.Driver,
    models: ModelSet,
    twin_id: str,
    *,
    max_depth: int = DEFAULT_DEPTH,
    database: str | None = None,
) -> list[TraceNode]:
    """Sources (:data:`SOURCE_LABELS` twins with no incoming FEEDS_TO) that feed ``twin_id``, nearest first.

    A source asked about itself is returned at depth 0.  The name is historical: an imported
    grid's sources are its external grids.
    """
    depth = _depth(max_depth)
    source = _source_label(models)
    records, _, _ = driver.execute_query(
        "MATCH (t:Twin {id: $id}) "
        f"CALL (t) {{ MATCH p = (s:{source})-[:FEEDS_TO*0..{depth}]->(t) "
        "  WHERE NOT EXISTS { (:Twin)-[:FEEDS_TO]->(s) } "
        "  WITH s, min(length(p)) AS depth ORDER BY depth, s.id "
        "  RETURN collect(s.id) AS ids, collect(s.model) AS models, collect(depth) AS depths } "
        "RETURN ids, models, depths",
        id=twin_id,
        database_=database,
        routing_=neo4j.RoutingControl.READ,
    )
    if not records:
        raise NotFoundError(f"no twin {twin_id!r}")
    record = records[0]
    return _nodes(record["ids"], record["models"], record["depths"])


def connected_components(
    driver: neo4j.Driver,
    models: ModelSet,
    *,
    via: Sequence[str] = ELECTRICAL,
    max_depth: int = MAX_DEPTH,
    min_size: int = 1,
    database: str | None = None,
) -> list[Component]:
    """Islands of the grid: twins linked by ``via`` relationships in either direction.

    Community edition has no GDS, so this is plain Cypher: an undirected
    reachability from each *seed* (a twin no FEEDS_TO points into: every radial
    feeder has one), keyed by the smallest id reached; twins no seed reaches (e.g.
    FEEDS_TO rings) are expanded themselves.  Cost is O(seeds x component size),
    which on radial grids is O(twins).  Only twins with at least one ``via``
    relationship or that are seeds are considered, so every twin (isolated ones as
    singletons) is reported.  Sorted by size, largest first.
    """
    depth = _depth(max_depth)
    types = _types(models, via)
    query = (
        "MATCH (r:Twin) WHERE NOT EXISTS { (:Twin)-[:FEEDS_TO]->(r) } "
        f"CALL (r) {{ MATCH (r)-[:{types}*0..{depth}]-(m:Twin) WITH DISTINCT m "
        "RETURN min(m.id) AS key, collect(m.id) AS members } "
        "WITH key, head(collect(members)) AS members "
        "WITH collect({key: key, members: members}) AS seeded "
        "CALL (seeded) { UNWIND seeded AS c UNWIND c.members AS id RETURN collect(id) AS covered } "
        "CALL (covered) { MATCH (n:Twin) WHERE NOT n.id IN covered "
        f"  CALL (n) {{ MATCH (n)-[:{types}*0..{depth}]-(m:Twin) WITH DISTINCT m "
        "    RETURN min(m.id) AS key, collect(m.id) AS members } "
        "  WITH key, head(collect(members)) AS members RETURN collect({key: key, members: members}) AS rest } "
        "UNWIND seeded + rest AS c "
        "WITH c.key AS key, head(collect(c.members)) AS members WHERE size(members) >= $min "
        "RETURN key, members ORDER BY size(members) DESC, key"
    )
    records, _, _ = driver.execute_query(
        query, min=max(1, int(min_size)), database_=database, routing_=neo4j.RoutingControl.READ
    )
    return [Component(record["key"], sorted(record["members"])) for record in records]


def outage_impact(
    driver: neo4j.Driver,
    models: ModelSet,
    opened: str | Sequence[str],
    *,
    max_depth: int = DEFAULT_DEPTH,
    respect_switch_state: bool = True,
    database: str | None = None,
) -> OutageImpact:
    """Twins that lose supply when the breaker(s)/line(s) ``opened`` open.

    A twin is de-energised when it is downstream of an opened element, is supplied
    now (a FEEDS_TO path from a source exists, avoiding switching devices
    whose ``switchState`` is ``open`` when ``respect_switch_state``), and no path
    from any source remains that avoids the opened elements.  The opened
    elements themselves are not listed.  One query; the per-candidate checks are
    ``EXISTS`` subqueries that stop at the first surviving path.
    """
    ids = [opened] if isinstance(opened, str) else list(dict.fromkeys(opened))
    if not ids:
        raise ValidationError("nothing opened", [Problem("/opened", "give at least one twin id")])
    depth = _depth(max_depth)
    source = _source_label(models)
    open_state = "coalesce(x.switchState, '') = 'open'" if respect_switch_state else "false"
    sourced = f"(s:{source})-[:FEEDS_TO*0..{depth}]->(c) WHERE NOT EXISTS {{ (:Twin)-[:FEEDS_TO]->(s) }}"
    query = (
        "MATCH (e:Twin) WHERE e.id IN $opened "
        "WITH collect(e) AS elements "
        "CALL (elements) { UNWIND elements AS e "
        f"  MATCH p = (e)-[:FEEDS_TO*1..{depth}]->(c:Twin) WHERE NOT c.id IN $opened "
        "  WITH c, min(length(p)) AS depth "
        f"  WHERE EXISTS {{ MATCH q = {sourced} AND none(x IN nodes(q) WHERE {open_state}) }} "
        f"  AND NOT EXISTS {{ MATCH q = {sourced} AND none(x IN nodes(q) WHERE x.id IN $opened OR {open_state}) }} "
        "  WITH c, depth ORDER BY depth, c.id "
        "  RETURN collect(c.id) AS ids, collect(c.model) AS models, collect(depth) AS depths } "
        "RETURN size(elements) AS found, ids, models, depths"
    )
    records, _, _ = driver.execute_query(query, opened=ids, database_=database, routing_=neo4j.RoutingControl.READ)
    if not records or records[0]["found"] != len(ids):
        raise NotFoundError("an opened element is not a twin", [Problem("/opened", f"check the ids {ids}")])
    record = records[0]
    return OutageImpact(ids, _nodes(record["ids"], record["models"], record["depths"]))
