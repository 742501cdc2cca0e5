"""GraphSAGE (Hamilton et al., NeurIPS 2017) with mean aggregation over all relations merged."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import SAGEConv

from gnn import graph_ops
from gnn.models.base import GNNModel
from gnn.registry import register_model


@register_model("sage")
class GraphSAGE(GNNModel):
    """``layers`` SAGE convolutions (``W_root h_i + W_nbr mean_j h_j``) and a linear output.

    Relations are merged into one graph. The mean is weighted by ``edge_weight`` when
    ``use_edge_weight`` is true. Aggregation runs as a CSR sparse product (PyG's ``SAGEConv`` accepts a
    torch sparse operator), several times faster on CPU than scatter-based message passing.

    Args:
        in_channels: number of node features F.
        hidden: width of every layer.
        num_relations: unused (relations are merged).
        layers: number of SAGE layers (the receptive field in hops).
        dropout: dropout probability on each layer's input.
        use_edge_weight: weight the neighbour mean by evidence weight.
    """

    def __init__(self, *args, use_edge_weight: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # aggr="sum" over a row-normalized operator is the (weighted) mean.
        self.convs = nn.ModuleList(SAGEConv(a, b, aggr="sum") for a, b in self.widths())
        self.out = nn.Linear(self.hidden_channels, 1)
        self.use_edge_weight = use_edge_weight

    def embed(self, x, edge_index, edge_type=None, edge_weight=None) -> Tensor:
        weight = edge_weight if self.use_edge_weight else None
        adj = self.cache.get(
            (edge_index, weight),
            "mean",
            lambda: graph_ops.adjacency(edge_index, x.size(0), weight, norm="mean"),
        )
        for conv in self.convs:
            x = F.dropout(x, self.dropout, self.training)
            x = F.relu(conv(x, adj))
        return x
