"""GNN fault location: which bus faulted, from sparse sensors' retained voltages and fault currents.

The shared edge-weighted network (:mod:`ml.gnn.layers`) scores every bus; a softmax over the
grid's candidate buses is the answer's distribution, trained with cross-entropy on the faulted
bus of simulated faults (:mod:`ml.gnn.fault_cases`).  Edges carry the branch's impedance and
kind and, beyond what the state estimator uses, whether they point away from the substation:
fault current flows from the source towards the fault, so a sensor's reading means different
things to the buses above and below it.

Importing this module imports torch: the API and unrelated tests never do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ml.gnn.fault_cases import FAULT_NODE_FEATURES, FaultCase, GridTree, node_features
from ml.gnn.graph import EDGE_FEATURES
from ml.gnn.layers import EdgeWeightedNet, load_state, state_bytes

FAULT_EDGE_FEATURES = (*EDGE_FEATURES, "away_from_substation")


@dataclass(frozen=True)
class LocatorSettings:
    hidden: int = 32
    layers: int = 6
    channels: int = 2
    epochs: int = 40
    samples_per_step: int = 64
    learning_rate: float = 3e-3
    seed: int = 0


class FaultLocatorNet(EdgeWeightedNet):
    def __init__(self, settings: LocatorSettings) -> None:
        super().__init__(len(FAULT_NODE_FEATURES), len(FAULT_EDGE_FEATURES), settings.hidden, settings.layers,
                         settings.channels)


def edge_attributes(tree: GridTree) -> np.ndarray:
    """The topology's edge features and +1 / -1 for an edge leaving / entering the substation's side."""
    source, target = tree.topology.edge_index
    direction = np.where(tree.parent[target] == source, 1.0, np.where(tree.parent[source] == target, -1.0, 0.0))
    return np.column_stack([tree.topology.edge_attr, direction]).astype(np.float32)


@dataclass
class LocatorBatch:
    x: torch.Tensor              # (nodes, samples, features)
    edge_index: torch.Tensor
    edge_attr: torch.Tensor
    mask: torch.Tensor           # (nodes,) True where a fault may be
    label: torch.Tensor          # (samples,) faulted node position

    def take(self, first: int, last: int) -> LocatorBatch:
        return LocatorBatch(self.x[:, first:last], self.edge_index, self.edge_attr, self.mask, self.label[first:last])


def locator_batch(case: FaultCase) -> LocatorBatch:
    mask = np.zeros(case.tree.nodes, dtype=bool)
    mask[case.tree.candidates] = True
    return LocatorBatch(torch.from_numpy(node_features(case)), torch.from_numpy(case.tree.topology.edge_index),
                        torch.from_numpy(edge_attributes(case.tree)), torch.from_numpy(mask),
                        torch.from_numpy(case.fault_node.astype(np.int64)))


def _logits(model: FaultLocatorNet, graph: LocatorBatch) -> torch.Tensor:
    """(samples, nodes) scores, -inf where no fault can be."""
    scores = model(graph.x, graph.edge_index, graph.edge_attr).T
    return scores.masked_fill(~graph.mask[None, :], float("-inf"))


def train(cases: Sequence[FaultCase], settings: LocatorSettings = LocatorSettings()) -> FaultLocatorNet:
    """Cross-entropy over each grid's candidate buses, all training grids' samples shuffled in chunks."""
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    model = FaultLocatorNet(settings)
    optimiser = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=settings.epochs)
    graphs = [locator_batch(case) for case in cases]
    chunks = [(g, start) for g, graph in enumerate(graphs) for start in range(0, len(graph.label),
                                                                              settings.samples_per_step)]
    model.train()
    for _ in range(settings.epochs):
        for index in rng.permutation(len(chunks)):
            g, start = chunks[index]
            part = graphs[g].take(start, start + settings.samples_per_step)
            loss = torch.nn.functional.cross_entropy(_logits(model, part), part.label)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        scheduler.step()
    model.eval()
    return model


def ranked(model: FaultLocatorNet, case: FaultCase, top: int = 3) -> np.ndarray:
    """(samples, top) node positions, most likely faulted bus first."""
    with torch.inference_mode():
        logits = _logits(model, locator_batch(case))
    return torch.topk(logits, k=min(top, len(case.tree.candidates)), dim=1).indices.numpy()


def to_bytes(model: FaultLocatorNet) -> bytes:
    return state_bytes(model)


def from_bytes(data: bytes, settings: LocatorSettings) -> FaultLocatorNet:
    return load_state(FaultLocatorNet(settings), data)
