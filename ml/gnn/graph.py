"""The grid as a graph for the GNN: nodes are buses, edges are branches with their electrical parameters.

Node features per sample (what the estimators know, nothing of the truth): the pseudo-load
power flow's voltage (:class:`~ml.gnn.estimators.LinearPrior`), whether the bus is measured,
the measured voltage's deviation from that prior (0 where unmeasured), the mean deviation
over all measured buses (the level the upstream grid sets), the pseudo demand P and Q, the
bus's rated voltage and whether it is the substation.  Edge features: series resistance and
reactance on a 1 MVA base (log scale, lines and transformers alike) and the branch kind.
Both directions of every closed branch are edges.

Samples of one grid share the topology, so a batch is node-major: features ``(nodes, samples,
features)`` on one edge list, and a message-passing step is one sparse matrix product over all
samples at once (no per-sample graphs, no tiled edge lists).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ml.data.grids import substation_node
from ml.gnn.cases import SeCase
from physics.network import Network
from ml.gnn.estimators import LinearPrior, node_demand

NODE_FEATURES = ("prior_deviation_pct", "measured", "residual_pct", "mean_residual_pct", "demand_p_mw",
                 "demand_q_mvar", "log_u_rated_kv", "substation")
EDGE_FEATURES = ("log_r_pu", "log_x_pu", "transformer", "link")
_BASE_VA = 1e6


@dataclass(frozen=True)
class Topology:
    """Directed edge list (both directions) and edge features of one grid, in node positions."""

    edge_index: np.ndarray   # (2, edges)
    edge_attr: np.ndarray    # (edges, len(EDGE_FEATURES))


def _impedance_pu(component: str, array: np.ndarray, u_rated_from: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if component == "line":
        base = u_rated_from ** 2 / _BASE_VA
        return array["r1"] / base, array["x1"] / base
    if component == "transformer":
        z = array["uk"] * _BASE_VA / array["sn"]
        r = array["pk"] / array["sn"] * _BASE_VA / array["sn"]
        return r, np.sqrt(np.maximum(z ** 2 - r ** 2, 0.0))
    return np.zeros(len(array)), np.zeros(len(array))


def topology(network: Network) -> Topology:
    """Closed branches of a network as a symmetric edge list with features."""
    rated = network.input_data["node"]["u_rated"]
    sources, targets, attributes = [], [], []
    for component, _ids, from_nodes, to_nodes in network.branches():
        array = network.input_data[component]
        closed = (array["from_status"] == 1) & (array["to_status"] == 1)
        frm = network.positions("node", from_nodes[closed])
        to = network.positions("node", to_nodes[closed])
        r, x = _impedance_pu(component, array[closed], rated[frm])
        kind = np.zeros((len(frm), 2))
        kind[:, 0] = component == "transformer"
        kind[:, 1] = component == "link"
        attr = np.column_stack([np.log10(1e-7 + r), np.log10(1e-7 + x), kind])
        sources += [frm, to]
        targets += [to, frm]
        attributes += [attr, attr]
    return Topology(np.vstack([np.concatenate(sources), np.concatenate(targets)]).astype(np.int64),
                    np.vstack(attributes).astype(np.float32))


@dataclass
class GraphBatch:
    """All samples of one case on the case's one edge list."""

    x: np.ndarray            # (nodes, samples, len(NODE_FEATURES))
    edge_index: np.ndarray   # (2, edges)
    edge_attr: np.ndarray    # (edges, len(EDGE_FEATURES))
    base_pu: np.ndarray      # (samples, nodes): prior + mean residual, what the GNN corrects

    @property
    def nodes(self) -> int:
        return self.x.shape[0]

    @property
    def samples(self) -> int:
        return self.x.shape[1]

    def take(self, first: int, last: int) -> GraphBatch:
        """Samples ``first .. last - 1`` (a training step's share)."""
        return GraphBatch(self.x[:, first:last], self.edge_index, self.edge_attr, self.base_pu[first:last])


def batch(case: SeCase, prior: LinearPrior, grid: Topology) -> GraphBatch:
    """The case's samples as node features on the grid's edge list."""
    p_node, q_node = node_demand(case)
    prior_u = prior.voltages(p_node, q_node)
    residual = np.zeros_like(prior_u)
    residual[:, case.measured] = case.u_measured_pu - prior_u[:, case.measured]
    mean_residual = residual[:, case.measured].mean(axis=1, keepdims=True)
    measured = np.zeros_like(prior_u)
    measured[:, case.measured] = 1.0
    rated = case.network.input_data["node"]["u_rated"]
    substation = np.zeros(case.nodes)
    substation[substation_node(case.network)] = 1.0
    x = np.empty((case.nodes, case.samples, len(NODE_FEATURES)), dtype=np.float32)
    x[:, :, 0] = ((prior_u - 1.0) * 100).T
    x[:, :, 1] = measured.T
    x[:, :, 2] = (residual * 100).T
    x[:, :, 3] = (mean_residual * 100).T
    x[:, :, 4] = (p_node / 1e6).T
    x[:, :, 5] = (q_node / 1e6).T
    x[:, :, 6] = np.log10(rated / 1e3)[:, None]
    x[:, :, 7] = substation[:, None]
    return GraphBatch(x, grid.edge_index, grid.edge_attr, prior_u + mean_residual)
