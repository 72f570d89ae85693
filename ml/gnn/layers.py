"""The message-passing network both GNNs share: node encoder, edge-weighted graph convolutions, a linear head.

Samples of one grid share the topology, so features are node-major ``(nodes, samples, features)``
on one edge list, and each convolution is one sparse matrix product over all samples at once.
The state estimator reads the head as a voltage correction, the fault locator as a score per bus.
"""

from __future__ import annotations

import io
import warnings

import torch
from torch import nn
from torch_geometric.utils import spmm, to_torch_csr_tensor

# torch marks CSR tensors "beta" on every construction; the products used here are plain spmm.
warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")


class EdgeWeightedConv(nn.Module):
    """h' = h + relu(W_root h + Σ_k W_k (A_k h)): ``channels`` adjacencies weighted from the edge features.

    The edge weights come from a small MLP of each branch's features, once per forward pass;
    the aggregation is torch-geometric's ``spmm`` of a CSR adjacency with the node-major
    features of all samples at once.
    """

    def __init__(self, hidden: int, channels: int) -> None:
        super().__init__()
        self.root = nn.Linear(hidden, hidden)
        self.relations = nn.Linear(hidden * channels, hidden, bias=False)

    def forward(self, h: torch.Tensor, adjacencies: list[torch.Tensor]) -> torch.Tensor:
        nodes, samples, hidden = h.shape
        flat = h.reshape(nodes, samples * hidden)
        gathered = torch.cat([spmm(adjacency, flat).view(nodes, samples, hidden) for adjacency in adjacencies], dim=-1)
        return h + torch.relu(self.root(h) + self.relations(gathered))


class EdgeWeightedNet(nn.Module):
    """Node encoder, ``layers`` edge-weighted convolutions, one output per node and sample."""

    def __init__(self, node_features: int, edge_features: int, hidden: int, layers: int, channels: int) -> None:
        super().__init__()
        self.encode = nn.Sequential(nn.Linear(node_features, hidden), nn.ReLU())
        self.edge_weights = nn.Sequential(nn.Linear(edge_features, hidden), nn.ReLU(), nn.Linear(hidden, channels))
        self.convolutions = nn.ModuleList(EdgeWeightedConv(hidden, channels) for _ in range(layers))
        self.head = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor) -> torch.Tensor:
        """``x`` (nodes, samples, features) -> (nodes, samples)."""
        weights = self.edge_weights(edge_attr)
        nodes = x.shape[0]
        adjacencies = [to_torch_csr_tensor(edge_index, weights[:, k], size=(nodes, nodes))
                       for k in range(weights.shape[1])]
        h = self.encode(x)
        for convolution in self.convolutions:
            h = convolution(h, adjacencies)
        return self.head(h).squeeze(-1)


def state_bytes(model: nn.Module) -> bytes:
    """The model's ``state_dict`` as a torch file (tensors only)."""
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getvalue()


def load_state(model: nn.Module, data: bytes) -> nn.Module:
    """``model`` with the weights of a :func:`state_bytes` file, read with ``weights_only=True`` (no code runs)."""
    model.load_state_dict(torch.load(io.BytesIO(data), weights_only=True))
    model.eval()
    return model
