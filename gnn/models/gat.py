"""Graph attention network (Velickovic et al., ICLR 2018) over all relations merged."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import GATConv

from gnn.models.base import GNNModel
from gnn.registry import register_model


@register_model("gat")
class GAT(GNNModel):
    """``layers`` multi-head GAT convolutions (heads concatenated, ELU) and a linear output.

    Attention needs per-edge scores, so this model uses PyG's scatter-based message passing on
    ``edge_index`` (slower on CPU than the sparse-product models). Evidence weights are ignored: the
    attention learns its own edge weighting.

    Args:
        in_channels: number of node features F.
        hidden: layer width; each of the ``heads`` heads gets ``hidden // heads`` channels.
        num_relations: unused (relations are merged).
        layers: number of GAT layers.
        dropout: dropout on layer inputs and on attention coefficients.
        heads: attention heads per layer.
    """

    def __init__(self, *args, heads: int = 4, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        per_head = max(1, self.hidden_channels // heads)
        self.convs = nn.ModuleList()
        dim = self.in_channels
        for _ in range(self.num_layers):
            self.convs.append(GATConv(dim, per_head, heads=heads, dropout=self.dropout))
            dim = per_head * heads
        self.out = nn.Linear(dim, 1)

    def embed(self, x, edge_index, edge_type=None, edge_weight=None) -> Tensor:
        for conv in self.convs:
            x = F.dropout(x, self.dropout, self.training)
            x = F.elu(conv(x, edge_index))
        return x
