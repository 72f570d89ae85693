"""GNN state estimation: bus voltages from sparse voltage sensors and pseudo-loads, on grids it never saw.

The network is a small message-passing model (edge-weighted graph convolutions whose weights
come from each branch's resistance, reactance and kind) that learns the correction of a physics start: the pseudo-load power flow raised to the
measured level (:mod:`ml.gnn.graph`).  The label is the true voltage of the simulator's power
flow, a hidden state the estimators never see; the model is judged against power-grid-model's
WLS estimator on the same measurements.  Its last layer starts at zero, so an untrained model
is exactly the physics start.

Importing this module imports torch: the API and unrelated tests never do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import torch
from torch import nn

from ml.gnn.cases import SeCase
from ml.gnn.estimators import LinearPrior
from ml.gnn.graph import EDGE_FEATURES, NODE_FEATURES, GraphBatch, Topology, batch
from ml.gnn.layers import EdgeWeightedNet, load_state, state_bytes


@dataclass(frozen=True)
class TrainingSettings:
    hidden: int = 16
    layers: int = 2
    channels: int = 1
    epochs: int = 30
    samples_per_step: int = 32
    learning_rate: float = 3e-3
    seed: int = 0


class StateEstimatorNet(EdgeWeightedNet):
    """The shared edge-weighted network on the estimator's node features; its head starts at zero, so an
    untrained model is exactly the physics start (the correction in %)."""

    def __init__(self, hidden: int = 16, layers: int = 2, channels: int = 1) -> None:
        super().__init__(len(NODE_FEATURES), len(EDGE_FEATURES), hidden, layers, channels)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)


def _tensors(graph: GraphBatch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return torch.from_numpy(graph.x), torch.from_numpy(graph.edge_index), torch.from_numpy(graph.edge_attr)


def train(graphs: Sequence[GraphBatch], truths: Sequence[np.ndarray],
          settings: TrainingSettings = TrainingSettings()) -> StateEstimatorNet:
    """Fit on every sample of every training graph; L1 loss on the correction in percent of nominal."""
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    model = StateEstimatorNet(settings.hidden, settings.layers, settings.channels)
    optimiser = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=settings.epochs)
    targets = [torch.from_numpy(((truth - graph.base_pu) * 100).astype(np.float32).T.copy())
               for graph, truth in zip(graphs, truths, strict=True)]
    chunks = [(g, start) for g, graph in enumerate(graphs) for start in range(0, graph.samples, settings.samples_per_step)]
    model.train()
    for _ in range(settings.epochs):
        for index in rng.permutation(len(chunks)):
            g, start = chunks[index]
            last = min(start + settings.samples_per_step, graphs[g].samples)
            predicted = model(*_tensors(graphs[g].take(start, last)))
            loss = torch.nn.functional.l1_loss(predicted, targets[g][:, start:last])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        scheduler.step()
    model.eval()
    return model


def estimate(model: StateEstimatorNet, graph: GraphBatch) -> np.ndarray:
    """``(samples, nodes)`` estimated voltages in pu."""
    with torch.inference_mode():
        correction = model(*_tensors(graph)).numpy().T
    return graph.base_pu + correction / 100.0


def estimate_case(model: StateEstimatorNet, case: SeCase, prior: LinearPrior, grid: Topology) -> np.ndarray:
    """Features and forward pass of a case, with NumPy's BLAS on one thread meanwhile: its idle worker
    threads otherwise spin on the same two cores as torch's and double the time of a batch."""
    with _blas_threads().limit(limits=1, user_api="blas"):
        return estimate(model, batch(case, prior, grid))


@cache
def _blas_threads():  # -> threadpoolctl.ThreadpoolController: finding the loaded libraries takes ~1 ms, once
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def to_bytes(model: StateEstimatorNet) -> bytes:
    return state_bytes(model)


def from_bytes(data: bytes, settings: TrainingSettings) -> StateEstimatorNet:
    """A model from a ``state_dict`` file, read with ``weights_only=True`` (tensors only, no code)."""
    return load_state(StateEstimatorNet(settings.hidden, settings.layers, settings.channels), data)
