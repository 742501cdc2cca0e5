"""Relation-aware GNN: one SAGE-style mean aggregator per relation, summed (R-GCN style)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from gnn import graph_ops
from gnn.models.base import GNNModel
from gnn.registry import register_model


class RelationalSAGEConv(nn.Module):
    """``h_i' = W_root h_i + sum_r W_r mean_{j in N_r(i)} h_j`` (Schlichtkrull et al., ESWC 2018,
    with mean instead of fixed 1/c normalization, i.e. a per-relation GraphSAGE).
    """

    def __init__(self, in_channels: int, out_channels: int, num_relations: int) -> None:
        super().__init__()
        self.root = nn.Linear(in_channels, out_channels)
        self.rel = nn.ModuleList(
            nn.Linear(in_channels, out_channels, bias=False) for _ in range(num_relations)
        )
        # Project first when that shrinks the sparse product (A (x W) == (A x) W).
        self.project_first = out_channels < in_channels

    def forward(self, x: Tensor, operators: list[Tensor]) -> Tensor:
        out = self.root(x)
        for lin, adj in zip(self.rel, operators, strict=True):
            out = out + (graph_ops.spmm(adj, lin(x)) if self.project_first else lin(graph_ops.spmm(adj, x)))
        return out


@register_model("rgcn")
class RGCN(GNNModel):
    """``layers`` relational SAGE layers and a linear output; works with a single relation too.

    Args:
        in_channels: number of node features F.
        hidden: width of every layer.
        num_relations: R; ``edge_type`` values must be in 0..R-1.
        layers: number of layers.
        dropout: dropout probability on each layer's input.
        use_edge_weight: weight each relation's neighbour mean by evidence weight.
    """

    def __init__(self, *args, use_edge_weight: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.convs = nn.ModuleList(RelationalSAGEConv(a, b, self.num_relations) for a, b in self.widths())
        self.out = nn.Linear(self.hidden_channels, 1)
        self.use_edge_weight = use_edge_weight

    def embed(self, x, edge_index, edge_type=None, edge_weight=None) -> Tensor:
        weight = edge_weight if self.use_edge_weight else None
        operators = self.cache.get(
            (edge_index, edge_type, weight),
            "mean",
            lambda: graph_ops.relation_adjacencies(
                edge_index, x.size(0), edge_type, self.num_relations, weight, norm="mean"
            ),
        )
        for conv in self.convs:
            x = F.dropout(x, self.dropout, self.training)
            x = F.relu(conv(x, operators))
        return x
