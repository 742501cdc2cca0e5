"""Graph attention network (Velickovic et al., ICLR 2018) over all relations merged."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import GATConv

from gnn.registry import register_model


@register_model("gat")
class GAT(nn.Module):
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

    def __init__(
        self,
        in_channels: int,
        hidden: int = 64,
        num_relations: int = 1,
        layers: int = 2,
        dropout: float = 0.0,
        heads: int = 4,
        **kwargs,
    ) -> None:
        super().__init__()
        per_head = max(1, hidden // heads)
        self.convs = nn.ModuleList()
        dim = in_channels
        for _ in range(layers):
            self.convs.append(GATConv(dim, per_head, heads=heads, dropout=dropout))
            dim = per_head * heads
        self.out = nn.Linear(dim, 1)
        self.dropout = dropout

    def forward(
        self,
        x: Tensor,
        edge_index: Tensor,
        edge_type: Tensor | None = None,
        edge_weight: Tensor | None = None,
    ) -> Tensor:
        for conv in self.convs:
            x = F.dropout(x, self.dropout, self.training)
            x = F.elu(conv(x, edge_index))
        return self.out(x).squeeze(-1)
