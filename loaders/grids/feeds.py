"""``feedsTo`` edges of an imported grid: the normal power-flow direction, derived from its bus ends.

The topology queries (``graph.topology``: downstream, upstream, outage impact, sources) follow
FEEDS_TO from source twins.  An imported grid describes connectivity only (a line's ``fromBus``
and ``toBus``, a load's ``terminal``), so this module orients it, purely from the document's rows:

* **Breadth-first from every in-service external grid** (ExternalNetworkInjection) at once:
  injection -> its bus -> switch / line / transformer -> the next bus -> ...  A branch end with
  a switch on it goes through the switch (bus -> switch -> line); a bus-bus switch sits between
  its two buses.  One-terminal equipment (loads, generators, storage, shunts, out-of-service
  external grids) hangs below its bus (bus feedsTo load).
* **Only what conducts passes power on**: an open or out-of-service switch, an out-of-service
  branch or bus is fed from the side reached first and feeds nothing, so a normally-open point
  never closes a loop and a de-energised part is not shown as supplied through it.
* **Every shortest path is kept**: an element is fed by each neighbour one step closer to a
  source (not only the first one found).  Parallel transformers or lines between two buses then
  both feed the far bus, and opening one of them (``outage_impact``) rightly de-energises nothing.
  Edges always point one step further from the sources, so the result has no cycle; in a meshed
  grid the edge closing a mesh between two equally distant elements is left out, so there the
  topology queries see the grid as radial (the power flow, built from the bus ends, does not).
* **Islands without a source** (behind an out-of-service transformer, say) are oriented from
  their first bus in document order, so downstream traces work inside them; their root is a Bus,
  which the topology queries do not count as a source, so nothing in them is "supplied".

The edges describe the grid as imported (its normal state): an operator opening a breaker later
changes ``switchState``, which ``outage_impact`` honours, not the edges.  Measurements measure,
they carry no power, and get no edge.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from graph.bulk import RelationshipRow, TwinRow
from loaders.grids.document import GT
from loaders.grids.tables import SWITCH_MODELS

FEEDS_TO = "feedsTo"
BUS_MODEL = f"{GT}Bus;1"
SOURCE_MODELS = frozenset({f"{GT}ExternalNetworkInjection;1"})
SWITCHING_MODELS = frozenset({model for model, _ in SWITCH_MODELS.values()} | {f"{GT}SwitchingDevice;2"})
#: Relationship names that attach an element end to a bus (see docs/models.md, "Relationships to buses").
BRANCH_ENDS = ("fromBus", "toBus", "hvBus", "mvBus", "lvBus")
TERMINAL = "terminal"


@dataclass
class _Connectivity:
    """The grid as an undirected graph of twins, neighbours in document order."""

    twins: dict[str, TwinRow]
    neighbours: dict[str, list[str]] = field(default_factory=dict)

    def connect(self, a: str, b: str) -> None:
        if a != b and a in self.twins and b in self.twins:
            neighbours = self.neighbours
            if a in neighbours:
                neighbours[a].append(b)
            else:
                neighbours[a] = [b]
            if b in neighbours:
                neighbours[b].append(a)
            else:
                neighbours[b] = [a]


def _ends(relationships: Iterable[RelationshipRow]) -> dict[str, dict[str, str]]:
    """source twin -> relationship name -> target twin, for the names that connect equipment."""
    ends: dict[str, dict[str, str]] = defaultdict(dict)
    for row in relationships:
        if row.name in BRANCH_ENDS or row.name in (TERMINAL, "branch"):
            ends[row.source_id][row.name] = row.target_id
    return ends


def _connectivity(twins: Sequence[TwinRow], relationships: Iterable[RelationshipRow]) -> _Connectivity:
    graph = _Connectivity({twin.id: twin for twin in twins})
    ends = _ends(relationships)
    switched: set[tuple[str, str]] = set()  # (branch, bus) ends that a switch sits on
    for twin in twins:
        own = ends.get(twin.id, {})
        if twin.model in SWITCHING_MODELS and "fromBus" in own:
            graph.connect(own["fromBus"], twin.id)
            other = own.get("branch") or own.get("toBus")
            if other:
                graph.connect(twin.id, other)
            if "branch" in own:
                switched.add((own["branch"], own["fromBus"]))
    for twin in twins:
        own = ends.get(twin.id, {})
        if twin.model in SWITCHING_MODELS:
            continue
        if TERMINAL in own:
            graph.connect(own[TERMINAL], twin.id)
        for name in BRANCH_ENDS:
            bus = own.get(name)
            if bus and (twin.id, bus) not in switched:
                graph.connect(bus, twin.id)
    return graph


def _in_service(twin: TwinRow) -> bool:
    return twin.properties.get("status", "inService") == "inService"


def _passes_power(twin: TwinRow, one_terminal: bool) -> bool:
    """Whether power reaching this twin from one neighbour goes on to the others."""
    if not _in_service(twin) or one_terminal:
        return False  # loads and the like hang below their bus
    if twin.model in SWITCHING_MODELS:
        return twin.properties.get("switchState", "closed") == "closed"
    return True


def _orient(graph: _Connectivity, roots: Sequence[str], reached: dict[str, int],
            one_terminal: set[str]) -> list[tuple[str, str]]:
    """Level-by-level breadth-first search from ``roots``: each edge one step further from them.

    ``reached`` holds the depth of every twin oriented so far (by this or an earlier search);
    those are never entered again, so separate searches never link.
    """
    edges: list[tuple[str, str]] = []
    frontier = [root for root in dict.fromkeys(roots) if root not in reached]
    starts = set(frontier)
    ours = set(frontier)  # reached by this search: only these may get a second feeder
    for root in frontier:
        reached[root] = 0
    while frontier:
        following: list[str] = []
        for twin_id in frontier:
            twin = graph.twins[twin_id]
            if twin_id in starts:
                if not _in_service(twin):
                    continue
            elif not _passes_power(twin, twin_id in one_terminal):
                continue
            step = reached[twin_id] + 1
            for other in graph.neighbours.get(twin_id, ()):
                if other not in reached:
                    reached[other] = step
                    ours.add(other)
                    following.append(other)
                    edges.append((twin_id, other))
                elif reached[other] == step and other in ours:
                    edges.append((twin_id, other))
        frontier = following
    return edges


def feed_id(grid_id: str, source_id: str, target_id: str) -> str:
    """Relationship id of a generated feedsTo: unique per source, stable across re-imports."""
    prefix = f"{grid_id}/"
    local = target_id[len(prefix):] if target_id.startswith(prefix) else target_id
    return f"{source_id}/{FEEDS_TO}/{local}"


@dataclass(frozen=True)
class Feeds:
    """The generated edges and how deep the grid is (hops from the farthest twin to its source)."""

    relationships: list[RelationshipRow]
    depth: int
    unsupplied_roots: list[str]


def feeds_to(grid_id: str, twins: Sequence[TwinRow], relationships: Sequence[RelationshipRow]) -> Feeds:
    """The feedsTo edges of a grid's rows (see the module docstring for the rules)."""
    graph = _connectivity(twins, relationships)
    one_terminal = {row.source_id for row in relationships if row.name == TERMINAL}
    sources = [t.id for t in twins if t.model in SOURCE_MODELS and _in_service(t) and t.id in one_terminal]
    reached: dict[str, int] = {}
    edges = _orient(graph, sources, reached, one_terminal)
    depth = max(reached.values(), default=0)
    roots: list[str] = []
    for twin in twins:  # islands without a source: oriented from their first bus
        if twin.model == BUS_MODEL and twin.id not in reached:
            roots.append(twin.id)
            edges += _orient(graph, [twin.id], reached, one_terminal)
    rows = [RelationshipRow(a, FEEDS_TO, b, id=feed_id(grid_id, a, b)) for a, b in dict.fromkeys(edges)]
    return Feeds(rows, depth, roots)


def without_feeds(relationships: Iterable[RelationshipRow]) -> list[RelationshipRow]:
    """The rows other than feedsTo (to regenerate them)."""
    return [row for row in relationships if row.name != FEEDS_TO]


__all__ = ["FEEDS_TO", "Feeds", "feed_id", "feeds_to", "without_feeds"]

