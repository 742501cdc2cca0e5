"""Graph Heterophily Resistant Network (Gao, Wang, He, Liu, Feng, Zhang: "Addressing Heterophily in
Graph Anomaly Detection: A Perspective of Graph Spectrum", WWW 2023).

Bots connect mostly to benign accounts (heterophily); those inter-class edges push the label
signal's spectral energy to high frequencies. GHRN estimates a per-edge high-frequency indicator from
predicted labels ``Y``: with ``Z = Y - A_sym Y`` (the Laplacian applied to ``Y``, self-loops added),
edge ``(i, j)`` gets ``z_i . z_j``; inter-class edges score lowest, and the lowest ``drop_rate``
share of edges is pruned before a BWGNN runs on the cleaned graph.

The paper trains a BWGNN, prunes with its saved predictions and trains again. Here one model does
both in each forward pass: the indicator comes from the same network's detached predictions on the
full graph, then the network runs on the pruned graph. Scoring new graphs therefore needs no
separate first-stage model, and the pruning sharpens as training improves the predictions.
"""

from __future__ import annotations

import torch
from torch import Tensor

from gnn import graph_ops
from gnn.models.bwgnn import BWGNN
from gnn.registry import register_model


def heterophily_indicator(edge_index: Tensor, probs: Tensor, adj: Tensor) -> Tensor:
    """``z_src . z_dst`` per edge with ``Z = (I - adj) [1 - p, p]``; low = likely inter-class.

    ``adj`` is the symmetric-normalized adjacency with self-loops of the merged graph.
    """
    y = torch.stack([1 - probs, probs], dim=1)
    z = y - graph_ops.spmm(adj, y)
    return (z[edge_index[0]] * z[edge_index[1]]).sum(dim=1)


def prune_mask(scores: Tensor, drop_rate: float) -> Tensor:
    """Keep-mask dropping the ``drop_rate`` share of edges with the lowest score (ties dropped together,
    so both directions of an undirected edge share a fate)."""
    k = int(drop_rate * scores.numel())
    if k <= 0:
        return torch.ones_like(scores, dtype=torch.bool)
    cutoff = torch.kthvalue(scores, k).values
    return scores > cutoff


@register_model("ghrn")
class GHRN(BWGNN):
    """BWGNN on a graph pruned of its likely inter-class edges.

    Args:
        in_channels, hidden, num_relations, layers, dropout, hetero, self_loops, use_edge_weight:
            as :class:`gnn.models.bwgnn.BWGNN`.
        drop_rate: share of edges to prune (the paper's deletion ratio).
    """

    def __init__(self, *args, drop_rate: float = 0.1, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not 0 <= drop_rate < 1:
            raise ValueError(f"ghrn drop_rate must be in [0, 1), got {drop_rate}")
        self.drop_rate = drop_rate
        self.cache = graph_ops.OperatorCache(size=3)

    def forward(
        self,
        x: Tensor,
        edge_index: Tensor,
        edge_type: Tensor | None = None,
        edge_weight: Tensor | None = None,
    ) -> Tensor:
        if self.drop_rate == 0 or edge_index.size(1) == 0:
            return super().forward(x, edge_index, edge_type, edge_weight)
        with torch.no_grad():
            probs = torch.sigmoid(super().forward(x, edge_index, edge_type, edge_weight))
            adj = self.cache.get(
                (edge_index,),
                "indicator",
                lambda: graph_ops.adjacency(edge_index, x.size(0), None, "sym", self_loops=True),
            )
            keep = prune_mask(heterophily_indicator(edge_index, probs, adj), self.drop_rate)
        return super().forward(
            x,
            edge_index[:, keep],
            None if edge_type is None else edge_type[keep],
            None if edge_weight is None else edge_weight[keep],
        )
