"""Fault-location cases: short circuits at random buses and what a grid's sparse sensors record of them.

Per sample one fault: a random bus at or below the substation, a random kind (three-phase 20 %,
two-phase 30 %, single-phase-to-earth 50 %, roughly the share of faults in distribution grids) and
a fault resistance up to half the bus's own short-circuit impedance, solved by :func:`physics.faults.fault_study`.
A fixed set of buses carries a sensor (the substation and a seeded fraction of the rest): it
records its bus's retained phase voltages (``voltage_noise``) and the fault current through the
branch that feeds its bus (``current_noise``), as a feeder relay or a line sensor with fault
passage indication does.  The label is the faulted bus, which no sensor sees directly.

Features are phase-sorted (a fault on phase a looks like one on phase c) and relative (currents
as a share of the substation's, a bus's strength as its bolted-fault current over the
substation's), so one model serves grids of any size and voltage level.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from ml.data.grids import grid_network, substation_node
from ml.gnn.cases import choose_measured
from ml.gnn.graph import Topology, topology
from physics.faults import FAULT_KINDS, bolted_current_a, fault_study
from physics.network import Network

KIND_SHARES = {"3ph": 0.2, "2ph": 0.3, "1ph": 0.5}
FAULT_NODE_FEATURES = ("measured", "u_low_pu", "u_mid_pu", "u_high_pu", "i_low_share", "i_mid_share",
                       "i_high_share", "log_strength", "log_strength_1ph", "substation_u_low_pu", "substation_i_high_share_of_bolted",
                       "candidate", "substation", "log_u_rated_kv")


@dataclass(frozen=True)
class FaultSettings:
    measured_fraction: float = 0.2
    voltage_noise: float = 0.005
    current_noise: float = 0.01
    #: Fault resistance as a share of the faulted bus's own short-circuit impedance U_n / (√3 Ik3''), uniform 0..this.
    max_r_f_share: float = 0.5
    samples: int = 400
    seed: int = 0


@dataclass(frozen=True)
class GridTree:
    """What the grid's shape says once: candidates, sensor branches, ancestors, bolted-fault strength."""

    network: Network
    topology: Topology
    substation: int                 # node position
    candidates: np.ndarray          # node positions a fault may be at
    parent: np.ndarray              # (nodes,) position of the node feeding each node (-1 at the root)
    ancestors: np.ndarray           # (nodes, nodes) bool: [n, m] if m lies on the path from the root to n (m = n too)
    bolted_a: np.ndarray            # (kinds, nodes) Ik'' of a bolted fault of each FAULT_KINDS kind at each node
    hops: np.ndarray                # (nodes, nodes) branches between two nodes
    #: Branches into each node from its parent; for the substation every branch from the level above
    #: (parallel transformers each carry their share of the fault current).
    infeeds: dict[int, list[tuple[str, int, bool]]]

    @property
    def nodes(self) -> int:
        return len(self.parent)


@dataclass
class FaultCase:
    code: str
    tree: GridTree
    settings: FaultSettings
    measured: np.ndarray            # node positions with a sensor; [0] is the substation
    fault_node: np.ndarray          # (samples,) node position of the fault: the label
    kinds: np.ndarray               # (samples,) index into FAULT_KINDS
    u_pu: np.ndarray                # (samples, measured, 3) recorded retained voltages
    i_a: np.ndarray                 # (samples, measured, 3) recorded currents of the branch feeding each sensor's bus

    @property
    def samples(self) -> int:
        return len(self.fault_node)


def _branch_ends(network: Network) -> dict[tuple[int, int], list[tuple[str, int, bool]]]:
    """(from position, to position) -> every closed branch between them: (component, position, ``to`` end is the 2nd).

    Parallel branches (two transformers at the substation) share the fault current: a sensor at
    their common bus measures the sum.
    """
    found: dict[tuple[int, int], list[tuple[str, int, bool]]] = {}
    for component, _ids, from_nodes, to_nodes in network.branches():
        array = network.input_data[component]
        closed = np.flatnonzero((array["from_status"] == 1) & (array["to_status"] == 1))
        frm, to = network.positions("node", from_nodes[closed]), network.positions("node", to_nodes[closed])
        for position, a, b in zip(closed.tolist(), frm.tolist(), to.tolist()):
            found.setdefault((a, b), []).append((component, position, True))
            found.setdefault((b, a), []).append((component, position, False))
    return found


@cache
def grid_tree(code: str) -> GridTree:
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import breadth_first_order, shortest_path

    network, _ = grid_network(code)
    grid = topology(network)
    nodes = len(network.input_data["node"])
    adjacency = csr_matrix((np.ones(grid.edge_index.shape[1]), (grid.edge_index[0], grid.edge_index[1])),
                           shape=(nodes, nodes))
    root = int(network.positions("node", network.input_data["source"]["node"][:1])[0])
    order, parent = breadth_first_order(adjacency, root, directed=False, return_predecessors=True)
    parent = np.where(parent < 0, -1, parent)
    ancestors = np.zeros((nodes, nodes), dtype=bool)
    for node in order:
        ancestors[node, node] = True
        if parent[node] >= 0:
            ancestors[node] |= ancestors[parent[node]]
    bolted = np.vstack([bolted_current_a(network, kind) for kind in FAULT_KINDS])
    substation = substation_node(network)
    rated = network.input_data["node"]["u_rated"]
    # A second busbar fed by its own transformer (a substation with two) hangs off the level above in
    # the search tree; its feeders' fault current passes the substation's measurement all the same.
    ancestors[rated <= rated[substation], substation] = True
    reached = np.zeros(nodes, dtype=bool)
    reached[order] = True
    candidates = np.flatnonzero((rated <= rated[substation]) & reached & (bolted.min(axis=0) > 1.0))
    ends = _branch_ends(network)
    infeeds = {node: ends[(int(parent[node]), node)] for node in np.flatnonzero(parent >= 0).tolist()}
    infeeds[substation] = [end for (a, b), branches in ends.items() if rated[a] > rated[substation] >= rated[b]
                           for end in branches]
    return GridTree(network, grid, substation, candidates, parent, ancestors, bolted,
                    shortest_path(adjacency, unweighted=True, directed=False), infeeds)


def _feeding_currents(tree: GridTree, study, measured: np.ndarray) -> np.ndarray:
    """(faults, measured, 3) current magnitude over the branches from each measured bus's parent into it."""
    currents = np.empty((study.faults, len(measured), 3))
    for column, node in enumerate(measured.tolist()):
        currents[:, column] = sum((study.branch_current_to_a if at_to_end else study.branch_current_from_a)
                                  [component][:, position] for component, position, at_to_end in tree.infeeds[node])
    return currents


def _sensors(tree: GridTree, chosen: np.ndarray) -> np.ndarray:
    """The chosen buses but those fed straight from the level above (a second transformer's busbar): the
    substation's own measurement already sums every transformer's current."""
    rated = tree.network.input_data["node"]["u_rated"]
    above = rated[np.maximum(tree.parent[chosen], 0)] > rated[tree.substation]
    return chosen[(chosen == tree.substation) | ~above]


def build_fault_case(code: str, settings: FaultSettings = FaultSettings()) -> FaultCase:
    """``settings.samples`` seeded faults on grid ``code`` and their noisy sensor records."""
    tree = grid_tree(code)
    rng = np.random.default_rng([settings.seed, sum(code.encode()), 7021])
    fault_node = rng.choice(tree.candidates, size=settings.samples)
    kinds = rng.choice(len(FAULT_KINDS), size=settings.samples, p=[KIND_SHARES[k] for k in FAULT_KINDS])
    rated = tree.network.input_data["node"]["u_rated"][fault_node]
    own_impedance = rated / (np.sqrt(3) * tree.bolted_a[0, fault_node])
    r_f = rng.uniform(0.0, settings.max_r_f_share, settings.samples) * own_impedance
    study = fault_study(tree.network, fault_node, kinds, r_f)
    measured = _sensors(tree, choose_measured(tree.network, settings.measured_fraction, rng))
    u = np.nan_to_num(study.u_pu[:, measured]) * (1 + rng.normal(0, settings.voltage_noise, (settings.samples,
                                                                                              len(measured), 3)))
    i = np.nan_to_num(_feeding_currents(tree, study, measured))
    i *= 1 + rng.normal(0, settings.current_noise, i.shape)
    return FaultCase(code, tree, settings, measured, fault_node, kinds, np.abs(u), np.abs(i))


def node_features(case: FaultCase) -> np.ndarray:
    """(nodes, samples, len(FAULT_NODE_FEATURES)) of a case; 0 where a bus has no sensor."""
    tree, measured = case.tree, case.measured
    u = np.sort(case.u_pu, axis=2)
    substation_i = np.maximum(case.i_a[:, 0].max(axis=1), 1.0)            # (samples,)
    share = np.sort(case.i_a, axis=2) / substation_i[:, None, None]
    x = np.zeros((tree.nodes, case.samples, len(FAULT_NODE_FEATURES)), dtype=np.float32)
    x[measured, :, 0] = 1.0
    x[measured, :, 1:4] = u.transpose(1, 0, 2)
    x[measured, :, 4:7] = share.transpose(1, 0, 2)
    three, one = FAULT_KINDS.index("3ph"), FAULT_KINDS.index("1ph")
    reference = tree.bolted_a[three, tree.substation]
    x[:, :, 7] = np.log10(np.maximum(tree.bolted_a[three], 1.0) / reference)[:, None]
    x[:, :, 8] = np.log10(np.maximum(tree.bolted_a[one], 1.0) / reference)[:, None]
    x[:, :, 9] = u[:, 0, 0][None, :]
    x[:, :, 10] = np.log10(substation_i / reference)[None, :]
    x[tree.candidates, :, 11] = 1.0
    x[tree.substation, :, 12] = 1.0
    x[:, :, 13] = np.log10(tree.network.input_data["node"]["u_rated"] / 1e3)[:, None]
    return x


def indicator_rule(case: FaultCase, flag_share: float = 0.5) -> np.ndarray:
    """The classical locator: fault passage indicators narrow the buses, the substation's current picks one.

    A sensor that saw more than ``flag_share`` of the substation's fault current lies upstream of
    the fault; the buses whose upstream sensors are exactly the flagged ones are consistent, and
    among them the one whose bolted-fault current of the same kind is closest to the current the
    substation saw (the one-ended impedance method; the kind from how many phases carry fault
    current, as a relay's loop selection finds it).  (samples,) node positions.
    """
    tree = case.tree
    substation = case.i_a[:, 0]
    substation_i = np.maximum(substation.max(axis=1), 1.0)
    faulted_phases = (substation > flag_share * substation_i[:, None]).sum(axis=1)
    kind = np.array([FAULT_KINDS.index(k) for k in ("1ph", "2ph", "3ph")])[np.clip(faulted_phases, 1, 3) - 1]
    flagged = case.i_a.max(axis=2) > flag_share * substation_i[:, None]         # (samples, measured)
    upstream = tree.ancestors[np.ix_(tree.candidates, case.measured)]          # (candidates, measured)
    consistent = (upstream[None, :, :] == flagged[:, None, :]).all(axis=2)      # (samples, candidates)
    consistent[~consistent.any(axis=1)] = True
    bolted = np.maximum(tree.bolted_a[:, tree.candidates], 1.0)[kind]                # (samples, candidates)
    distance = np.abs(np.log(bolted) - np.log(substation_i)[:, None])
    return tree.candidates[np.where(consistent, distance, np.inf).argmin(axis=1)]


def deepest_sag_rule(case: FaultCase) -> np.ndarray:
    """The naive locator: the sensor bus with the lowest retained phase voltage."""
    return case.measured[case.u_pu.min(axis=2).argmin(axis=1)]
