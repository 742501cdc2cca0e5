"""Feature-only multilayer perceptron: the no-graph baseline."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from gnn.registry import register_model


@register_model("mlp")
class MLP(nn.Module):
    """``layers`` hidden ReLU layers and a one-logit output; the graph arguments are ignored.

    Args:
        in_channels: number of node features F.
        hidden: width of the hidden layers.
        num_relations: unused (kept for the shared signature).
        layers: number of hidden layers.
        dropout: dropout probability after each hidden layer.
    """

    def __init__(
        self,
        in_channels: int,
        hidden: int = 64,
        num_relations: int = 1,
        layers: int = 2,
        dropout: float = 0.0,
        **kwargs,
    ) -> None:
        super().__init__()
        dims = [in_channels] + [hidden] * layers
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:], strict=True))
        self.out = nn.Linear(dims[-1], 1)
        self.dropout = dropout

    def forward(
        self,
        x: Tensor,
        edge_index: Tensor,
        edge_type: Tensor | None = None,
        edge_weight: Tensor | None = None,
    ) -> Tensor:
        for lin in self.hidden:
            x = F.dropout(F.relu(lin(x)), self.dropout, self.training)
        return self.out(x).squeeze(-1)
