"""Feature-only multilayer perceptron: the no-graph baseline."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from gnn.models.base import GNNModel
from gnn.registry import register_model


@register_model("mlp")
class MLP(GNNModel):
    """``layers`` hidden ReLU layers and a one-logit output; the graph arguments are ignored.

    Args:
        in_channels: number of node features F.
        hidden: width of the hidden layers.
        num_relations: unused (kept for the shared signature).
        layers: number of hidden layers.
        dropout: dropout probability after each hidden layer.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in self.widths())
        self.out = nn.Linear(self.hidden_channels if self.num_layers else self.in_channels, 1)

    def embed(self, x, edge_index, edge_type=None, edge_weight=None) -> Tensor:
        for lin in self.hidden:
            x = F.dropout(F.relu(lin(x)), self.dropout, self.training)
        return x
