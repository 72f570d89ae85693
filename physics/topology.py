"""Which nodes a source still reaches when branches open: islands and the branch that feeds a node.

Scenarios need this before any power flow: an N-1 outage names the islands it leaves, a
protection trip opens the branch that feeds the faulted node and labels what goes dark.  The
graph is the PGM input's (nodes, closed branches); connectivity is SciPy's ``csgraph``.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from physics.network import Network, PhysicsInputError


def _edges(network: Network, opened: set[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(from node, to node, branch id) of every closed branch not in ``opened``; three-winding as two edges."""
    sources, targets, branch_ids = [], [], []
    for component, ids, from_nodes, to_nodes in network.branches():
        array = network.input_data[component]
        closed = (array["from_status"] == 1) & (array["to_status"] == 1)
        keep = closed & ~np.isin(ids, list(opened))
        sources.append(from_nodes[keep]); targets.append(to_nodes[keep]); branch_ids.append(ids[keep])
    three = network.input_data.get("three_winding_transformer")
    if three is not None and len(three):
        for other in ("2", "3"):
            keep = (three["status_1"] == 1) & (three[f"status_{other}"] == 1) & ~np.isin(three["id"], list(opened))
            sources.append(three["node_1"][keep]); targets.append(three[f"node_{other}"][keep])
            branch_ids.append(three["id"][keep])
    if not sources:
        return np.zeros(0, int), np.zeros(0, int), np.zeros(0, int)
    return np.concatenate(sources), np.concatenate(targets), np.concatenate(branch_ids)


def _graph(network: Network, opened: set[int]) -> tuple[object, dict[int, int], np.ndarray]:
    from scipy.sparse import coo_matrix

    nodes = network.input_data["node"]["id"]
    position = {int(node): k for k, node in enumerate(nodes)}
    a, b, _ = _edges(network, opened)
    rows = np.array([position[int(n)] for n in a], dtype=np.int64)
    cols = np.array([position[int(n)] for n in b], dtype=np.int64)
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(nodes), len(nodes))).tocsr()
    return graph, position, nodes


def energised_nodes(network: Network, opened: Iterable[int] = ()) -> np.ndarray:
    """PGM ids of the nodes a source in service reaches with the ``opened`` branches (PGM ids) open."""
    from scipy.sparse.csgraph import connected_components

    graph, position, nodes = _graph(network, set(int(i) for i in opened))
    _, labels = connected_components(graph, directed=False)
    source = network.input_data["source"]
    live = {labels[position[int(n)]] for n, status in zip(source["node"], source["status"]) if status == 1}
    return nodes[np.isin(labels, list(live))]


def islands(network: Network, opened: Iterable[int]) -> list[np.ndarray]:
    """The node sets (PGM ids) that opening ``opened`` cuts off from every source, one array per island."""
    from scipy.sparse.csgraph import connected_components

    opened = set(int(i) for i in opened)
    before = set(int(n) for n in energised_nodes(network))
    after = set(int(n) for n in energised_nodes(network, opened))
    graph, position, nodes = _graph(network, opened)
    _, labels = connected_components(graph, directed=False)
    dark = sorted(before - after)
    groups: dict[int, list[int]] = {}
    for node in dark:
        groups.setdefault(int(labels[position[node]]), []).append(node)
    return [np.array(group) for group in groups.values()]


def supply_paths(network: Network, nodes: Iterable[int]) -> dict[int, list[int]]:
    """PGM ids of the branches over which the source reaches each of ``nodes``, from the source to the node.

    Breadth first from the first source in service, once for all nodes: in a radial feeder the one
    path, in a meshed one the path of fewest branches.  Why: what loads a node's supply (overload or
    failure risk of a point) is every branch on this path, and the last one is the branch whose
    opening isolates it.  A node the source does not reach, or the source's own node, raises.
    """
    from scipy.sparse.csgraph import breadth_first_order

    graph, position, node_ids = _graph(network, set())
    source = network.input_data["source"]
    start = [position[int(n)] for n, status in zip(source["node"], source["status"]) if status == 1]
    if not start:
        raise PhysicsInputError("source", "no source is in service")
    _, predecessors = breadth_first_order(graph, start[0], directed=False, return_predecessors=True)
    a, b, ids = _edges(network, set())
    branch_of = {}
    for from_node, to_node, branch in zip(a.tolist(), b.tolist(), ids.tolist()):
        branch_of.setdefault((from_node, to_node), branch)
        branch_of.setdefault((to_node, from_node), branch)
    paths: dict[int, list[int]] = {}
    for node in nodes:
        if int(node) not in position:
            raise PhysicsInputError("node", f"{node!r} is not a node of the network")
        target = position[int(node)]
        if predecessors[target] < 0:
            raise PhysicsInputError("node", f"{node!r} is the source's node or not reached from it")
        path: list[int] = []
        while predecessors[target] >= 0:
            parent = predecessors[target]
            path.append(branch_of[(int(node_ids[parent]), int(node_ids[target]))])
            target = parent
        paths[int(node)] = path[::-1]
    return paths


def supply_path(network: Network, node: int) -> list[int]:
    """:func:`supply_paths` of one node."""
    return supply_paths(network, [node])[int(node)]


def feeding_branch(network: Network, node: int) -> int:
    """The PGM id of the branch over which the source reaches ``node`` last (breadth first from the source).

    In a radial feeder that is the branch whose opening isolates the node and everything behind it.
    """
    return supply_path(network, node)[-1]


__all__ = ["energised_nodes", "feeding_branch", "islands", "supply_path", "supply_paths"]
