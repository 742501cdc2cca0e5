"""Beta Wavelet GNN (Tang, Li, Gao, Li: "Rethinking Graph Neural Networks for Anomaly Detection",
ICML 2022).

Anomalies shift a graph signal's spectral energy towards high frequencies, so BWGNN filters node
embeddings with a bank of band-pass filters: Beta-distribution wavelets, polynomials of the
symmetric normalized Laplacian ``L = I - D^-1/2 A D^-1/2`` (spectrum in [0, 2]). For order C the
filters are ``W_i = (L/2)^i (I - L/2)^(C-i) / B(i+1, C+1-i)``, i = 0..C: Beta densities over the
rescaled spectrum, each peaking in its own band, that together sum to the constant C + 1.

This follows the math of the official implementation (squareRoot3/Rethinking-Anomaly-Detection,
also used in GADBench): MLP encoder -> C+1 wavelet branches concatenated -> MLP head; the
heterogeneous version applies the filters per relation, shares the head's first layer across
relations and sums.
"""

from __future__ import annotations

from math import comb

import torch
import torch.nn.functional as F
from scipy.special import beta as beta_function
from torch import Tensor, nn

from gnn import graph_ops
from gnn.models.base import GNNModel
from gnn.registry import register_model


def beta_wavelet_coefficients(order: int) -> list[list[float]]:
    """Polynomial coefficients (in powers of L, lowest first) of the C+1 Beta wavelets of ``order``.

    Example:
        >>> beta_wavelet_coefficients(2)
        [[3.0, -3.0, 0.75], [0.0, 3.0, -1.5], [0.0, 0.0, 0.75]]
    """
    out = []
    for i in range(order + 1):
        norm = beta_function(i + 1, order + 1 - i)
        row = [0.0] * (order + 1)
        # (x/2)^i (1 - x/2)^(C-i) = sum_k C(C-i, k) (-1)^k (x/2)^(i+k)
        for k in range(order - i + 1):
            row[i + k] = comb(order - i, k) * (-1) ** k / 2 ** (i + k) / norm
        out.append([float(c) for c in row])
    return out


def wavelet_bank(h: Tensor, adj: Tensor, thetas: list[list[float]]) -> Tensor:
    """Apply every wavelet of ``thetas`` to ``h`` and concatenate: [N, H * (C + 1)].

    ``adj`` is the normalized adjacency, so ``L h = h - adj @ h``; the powers ``L^k h`` are computed
    once and shared by all wavelets (the reference recomputes them per wavelet).
    """
    powers = [h]
    for _ in range(len(thetas[0]) - 1):
        powers.append(powers[-1] - graph_ops.spmm(adj, powers[-1]))
    branches = []
    for theta in thetas:
        branch = theta[0] * powers[0]
        for coefficient, power in zip(theta[1:], powers[1:], strict=True):
            if coefficient:
                branch = branch + coefficient * power
        branches.append(branch)
    return torch.cat(branches, dim=-1)


@register_model("bwgnn")
class BWGNN(GNNModel):
    """BWGNN, homogeneous (relations merged) or heterogeneous (filters per relation).

    Args:
        in_channels: number of node features F.
        hidden: embedding width H.
        num_relations: R; used by the heterogeneous version.
        layers: the wavelet order C (C + 1 filters; receptive field C hops), as ``num_layers`` in GADBench.
        dropout: dropout on the concatenated wavelet outputs.
        hetero: filter each relation separately and sum (BWGNN-Hetero) instead of merging relations.
        self_loops: add self-loops before normalizing; default: on for homo (as the reference's
            data loader does), off for hetero.
        use_edge_weight: use evidence weights in the adjacency (weighted degrees).
    """

    def __init__(
        self,
        *args,
        hetero: bool = False,
        self_loops: bool | None = None,
        use_edge_weight: bool = True,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        hidden = self.hidden_channels
        self.thetas = beta_wavelet_coefficients(self.num_layers)
        self.lin1 = nn.Linear(self.in_channels, hidden)
        self.lin2 = nn.Linear(hidden, hidden)
        self.lin3 = nn.Linear(hidden * len(self.thetas), hidden)
        self.out = nn.Linear(hidden, 1)
        self.hetero = hetero
        self.self_loops = (not hetero) if self_loops is None else self_loops
        self.use_edge_weight = use_edge_weight

    def operators(
        self, num_nodes: int, edge_index: Tensor, edge_type: Tensor | None, edge_weight: Tensor | None
    ) -> list[Tensor]:
        """The normalized adjacency (one per relation when ``hetero``), cached per graph."""
        weight = edge_weight if self.use_edge_weight else None
        if self.hetero:
            return self.cache.get(
                (edge_index, edge_type, weight),
                "hetero",
                lambda: graph_ops.relation_adjacencies(
                    edge_index, num_nodes, edge_type, self.num_relations, weight, "sym", self.self_loops
                ),
            )
        return self.cache.get(
            (edge_index, weight),
            "homo",
            lambda: [graph_ops.adjacency(edge_index, num_nodes, weight, "sym", self.self_loops)],
        )

    def embed(self, x, edge_index, edge_type=None, edge_weight=None) -> Tensor:
        h = F.relu(self.lin1(x))
        h = F.relu(self.lin2(h))
        out = 0
        for adj in self.operators(x.size(0), edge_index, edge_type, edge_weight):
            bank = F.dropout(wavelet_bank(h, adj, self.thetas), self.dropout, self.training)
            out = out + self.lin3(bank)
        return F.relu(out)
