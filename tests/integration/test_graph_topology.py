"""Topology queries on a small hand-made radial grid with breakers, against the real Neo4j.

    S1 -> T1 -> BB1 -> BR1 -> L1 -> LD1
                          \\        L1 -> L2 -> LD2
                           BR2 -> L3 -> LD3
    S2 -> BR3 (open) -> L2                 (normally-open back-feed)
    S3 -> LD9                              (a separate island)
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import neo4j
import pytest

from dtdl.model import ModelSet
from graph import topology
from graph.bulk import RelationshipRow, TwinRow, bulk_create_relationships, bulk_create_twins, bulk_delete_twins
from graph.errors import ModelError, NotFoundError

G = "dtmi:gridtwin:"
TWINS = {
    "S1": ("Substation", {}), "S2": ("Substation", {}), "S3": ("Substation", {}),
    "T1": ("PowerTransformer", {}), "BB1": ("Busbar", {}),
    "BR1": ("Breaker", {"switchState": "closed"}), "BR2": ("Breaker", {"switchState": "closed"}),
    "BR3": ("Breaker", {"switchState": "open"}),
    "L1": ("Line", {}), "L2": ("Line", {}), "L3": ("Line", {}),
    "LD1": ("Load", {}), "LD2": ("Load", {}), "LD3": ("Load", {}), "LD9": ("Load", {}),
}
FEEDS = [
    ("S1", "T1"), ("T1", "BB1"), ("BB1", "BR1"), ("BB1", "BR2"), ("BR1", "L1"), ("L1", "LD1"), ("L1", "L2"),
    ("L2", "LD2"), ("BR2", "L3"), ("L3", "LD3"), ("S2", "BR3"), ("BR3", "L2"), ("S3", "LD9"),
]


@pytest.fixture(scope="module")
def g(neo4j_driver: neo4j.Driver, models: ModelSet) -> Iterator[dict[str, str]]:
    prefix = f"topo-{uuid.uuid4().hex[:10]}-"
    ids = {name: prefix + name for name in TWINS}
    bulk_create_twins(neo4j_driver, models, [TwinRow(ids[n], f"{G}{k};1", p) for n, (k, p) in TWINS.items()])
    bulk_create_relationships(neo4j_driver, models, [RelationshipRow(ids[a], "feedsTo", ids[b]) for a, b in FEEDS])
    yield ids
    bulk_delete_twins(neo4j_driver, list(ids.values()))


def names(g: dict[str, str], nodes) -> list[tuple[str, int]]:
    back = {v: k for k, v in g.items()}
    return [(back[n.id], n.depth) for n in nodes]


def test_downstream_with_depth_and_label(neo4j_driver: neo4j.Driver, models: ModelSet, g: dict[str, str]) -> None:
    trace = topology.downstream(neo4j_driver, models, g["S1"])
    assert names(g, trace.nodes) == [
        ("T1", 1), ("BB1", 2), ("BR1", 3), ("BR2", 3), ("L1", 4), ("L3", 4), ("L2", 5), ("LD1", 5), ("LD3", 5), ("LD2", 6)
    ]
    assert trace.nodes[0].model == G + "PowerTransformer;1"
    loads = topology.downstream(neo4j_driver, models, g["S1"], label=G + "Load;1")
    assert names(g, loads.nodes) == [("LD1", 5), ("LD3", 5), ("LD2", 6)]
    assert names(g, topology.downstream(neo4j_driver, models, g["S1"], label="Breaker", max_depth=3).nodes) == [("BR1", 3), ("BR2", 3)]
    shallow = topology.downstream(neo4j_driver, models, g["S1"], max_depth=2)
    assert names(g, shallow.nodes) == [("T1", 1), ("BB1", 2)] and shallow.reached_depth_limit
    assert topology.downstream(neo4j_driver, models, g["LD1"]).nodes == []
    with pytest.raises(NotFoundError):
        topology.downstream(neo4j_driver, models, g["S1"] + "-nope")
    with pytest.raises(ModelError):
        topology.downstream(neo4j_driver, models, g["S1"], label="Twin`) DETACH DELETE (n")


def test_upstream_and_source_substations(neo4j_driver: neo4j.Driver, models: ModelSet, g: dict[str, str]) -> None:
    up = topology.upstream(neo4j_driver, models, g["LD2"])
    assert names(g, up.nodes) == [("L2", 1), ("BR3", 2), ("L1", 2), ("BR1", 3), ("S2", 3), ("BB1", 4), ("T1", 5), ("S1", 6)]
    assert names(g, topology.source_substations(neo4j_driver, models, g["LD2"])) == [("S2", 3), ("S1", 6)]
    assert names(g, topology.source_substations(neo4j_driver, models, g["LD9"])) == [("S3", 1)]
    assert names(g, topology.source_substations(neo4j_driver, models, g["S1"])) == [("S1", 0)]


def test_shortest_path(neo4j_driver: neo4j.Driver, models: ModelSet, g: dict[str, str]) -> None:
    path = topology.shortest_path(neo4j_driver, models, g["LD1"], g["LD3"])
    assert [n for n, _ in names(g, path.nodes)] == ["LD1", "L1", "BR1", "BB1", "BR2", "L3", "LD3"]
    assert path.length == 6
    assert not topology.shortest_path(neo4j_driver, models, g["LD1"], g["LD3"], directed=True).found
    directed = topology.shortest_path(neo4j_driver, models, g["S1"], g["LD3"], directed=True)
    assert [n for n, _ in names(g, directed.nodes)] == ["S1", "T1", "BB1", "BR2", "L3", "LD3"]
    assert not topology.shortest_path(neo4j_driver, models, g["LD1"], g["LD9"]).found
    assert topology.shortest_path(neo4j_driver, models, g["LD1"], g["LD1"]).length == 0


def test_connected_components(neo4j_driver: neo4j.Driver, models: ModelSet, g: dict[str, str]) -> None:
    ours = set(g.values())
    components = [c for c in topology.connected_components(neo4j_driver, models) if ours & set(c.member_ids)]
    assert sorted(c.size for c in components) == [2, 13]
    island = next(c for c in components if c.size == 2)
    assert island.member_ids == sorted([g["LD9"], g["S3"]]) and island.key == min(island.member_ids)
    main = next(c for c in components if c.size == 13)
    assert set(main.member_ids) == ours - {g["LD9"], g["S3"]}


def test_outage_impact(neo4j_driver: neo4j.Driver, models: ModelSet, g: dict[str, str]) -> None:
    impact = topology.outage_impact(neo4j_driver, models, g["BR1"])
    assert names(g, impact.de_energised) == [("L1", 1), ("L2", 2), ("LD1", 2), ("LD2", 3)]
    # if the back-feed breaker BR3 were closed, L2/LD2 would stay supplied from S2
    ignoring = topology.outage_impact(neo4j_driver, models, g["BR1"], respect_switch_state=False)
    assert names(g, ignoring.de_energised) == [("L1", 1), ("LD1", 2)]
    assert names(g, topology.outage_impact(neo4j_driver, models, g["L3"]).de_energised) == [("LD3", 1)]
    both = topology.outage_impact(neo4j_driver, models, [g["BR1"], g["BR2"]])
    assert {n for n, _ in names(g, both.de_energised)} == {"L1", "L2", "L3", "LD1", "LD2", "LD3"}
    # opening an already-open breaker changes nothing
    assert topology.outage_impact(neo4j_driver, models, g["BR3"]).de_energised == []
    with pytest.raises(NotFoundError):
        topology.outage_impact(neo4j_driver, models, [g["BR1"], g["BR1"] + "-nope"])
