"""feedsTo of imported grids: oriented from the external grids, through what conducts, without cycles."""
from __future__ import annotations

from collections import defaultdict

import pytest

pp = pytest.importorskip("pandapower")
import pandapower.networks as pn  # noqa: E402

from loaders.grids.document import GridDocument  # noqa: E402
from loaders.grids.feeds import FEEDS_TO, feeds_to, without_feeds  # noqa: E402
from loaders.grids.from_pandapower import from_pandapower  # noqa: E402


def _edges(document: GridDocument) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for row in document.relationships:
        if row.name == FEEDS_TO:
            out[row.source_id].append(row.target_id)
    return out


def _reached(edges: dict[str, list[str]], start: str) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for other in edges.get(todo.pop(), []):
            if other not in seen:
                seen.add(other)
                todo.append(other)
    return seen


def _has_cycle(edges: dict[str, list[str]]) -> bool:
    state: dict[str, int] = {}

    def visit(node: str) -> bool:
        state[node] = 1
        for other in edges.get(node, []):
            if state.get(other) == 1 or (other not in state and visit(other)):
                return True
        state[node] = 2
        return False

    return any(node not in state and visit(node) for node in list(edges))


def _feeder() -> object:
    """ext grid - b0 -(trafo, trafo)- b1 -line- b2 -line+open switch- b3; b3 -bus switch- b4 (load); b5 via an
    out-of-service line, b6 behind an out-of-service trafo with a load."""
    net = pp.create_empty_network()
    b = [pp.create_bus(net, vn_kv=20.0 if i == 0 else 0.4) for i in range(7)]
    pp.create_ext_grid(net, b[0])
    for _ in range(2):
        pp.create_transformer(net, b[0], b[1], std_type="0.4 MVA 20/0.4 kV")
    l1 = pp.create_line(net, b[1], b[2], 0.1, std_type="NAYY 4x50 SE")
    l2 = pp.create_line(net, b[2], b[3], 0.1, std_type="NAYY 4x50 SE")
    pp.create_switch(net, b[3], l2, et="l", closed=False, type="LBS")
    pp.create_switch(net, b[1], l1, et="l", closed=True, type="CB")
    pp.create_switch(net, b[3], b[4], et="b", closed=True, type="CB")
    pp.create_line(net, b[2], b[5], 0.1, std_type="NAYY 4x50 SE", in_service=False)
    pp.create_transformer(net, b[0], b[6], std_type="0.4 MVA 20/0.4 kV", in_service=False)
    pp.create_load(net, b[4], p_mw=0.01)
    pp.create_load(net, b[6], p_mw=0.01)
    pp.create_load(net, b[2], p_mw=0.01)
    return net


def test_the_feeder_is_oriented_from_its_external_grid_through_what_conducts() -> None:
    document = from_pandapower(_feeder(), "f")
    edges = _edges(document)
    assert not _has_cycle(edges)
    assert edges["f/ext_grid/0"] == ["f/bus/0"]
    assert {"f/trafo/0", "f/trafo/1"} <= set(edges["f/bus/0"])
    assert sorted(t for t, targets in edges.items() if "f/bus/1" in targets) == ["f/trafo/0", "f/trafo/1"]
    assert edges["f/bus/1"] == ["f/switch/1"] and edges["f/switch/1"] == ["f/line/0"]  # bus -> switch -> line
    assert "f/switch/0" in edges["f/line/1"] and "f/switch/0" not in edges  # the open switch feeds nothing
    assert "f/load/2" in edges["f/bus/2"] and "f/load/2" not in edges  # loads hang below their bus
    supplied = _reached(edges, "f/ext_grid/0")
    assert {"f/bus/3", "f/bus/4", "f/load/0", "f/bus/5", "f/bus/6", "f/load/1"}.isdisjoint(supplied)
    assert "f/line/2" in supplied and "f/line/2" not in edges  # out of service: fed, feeds nothing
    # ext 0, bus0 1, trafo 2, bus1 3, switch1 4, line0 5, bus2 6, line1 7, the open switch 8
    assert document.twin("f").properties["topologyDepth"] == 8


def test_islands_without_a_source_are_oriented_from_their_first_bus() -> None:
    document = from_pandapower(_feeder(), "f")
    result = feeds_to("f", document.twins, without_feeds(document.relationships))
    assert result.unsupplied_roots == ["f/bus/3", "f/bus/5", "f/bus/6"]
    edges = _edges(GridDocument("f", "x", document.twins, result.relationships))
    assert _reached(edges, "f/bus/3") == {"f/bus/3", "f/switch/2", "f/bus/4", "f/load/0"}  # not the open switch
    assert "f/load/1" in edges["f/bus/6"]
    assert result.relationships == [r for r in document.relationships if r.name == FEEDS_TO]


def test_rings_with_normally_open_points_stay_acyclic_and_every_element_is_fed() -> None:
    net = pn.create_cigre_network_mv(with_der="all")
    document = from_pandapower(net, "c")
    edges = _edges(document)
    assert not _has_cycle(edges)
    fed = {row.target_id for row in document.relationships if row.name == FEEDS_TO}
    electrical = {t.id for t in document.twins if t.id != "c" and not t.id.startswith("c/measurement/")}
    assert electrical - fed == {"c/ext_grid/0"}
    ids = {r.id for r in document.relationships}
    assert len(ids) == len(document.relationships)  # ids unique: a re-import matches each edge
