"""The base class of the zoo's GNNs, like PyG's ``BasicGNN``: one constructor, one forward contract.

A model subclasses :class:`GNNModel`, calls ``super().__init__(*args, **kwargs)`` first, takes its own
parameters as keyword-only arguments (they become the config's ``params``), builds its layers and a
``self.out`` head, and implements :meth:`GNNModel.embed`::

    @register_model("my_gnn")
    class MyGNN(GNNModel):
        def __init__(self, *args, alpha: float = 0.5, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.lin = nn.Linear(self.in_channels, self.hidden_channels)
            self.out = nn.Linear(self.hidden_channels, 1)
            self.alpha = alpha

        def embed(self, x, edge_index, edge_type=None, edge_weight=None):
            return F.relu(self.lin(x))
"""

from __future__ import annotations

from torch import Tensor, nn

from gnn import graph_ops


class GNNModel(nn.Module):
    """Shared constructor and forward of the GNNs :class:`gnn.scorers.GNNScorer` trains.

    Args:
        in_channels: number of node features F.
        hidden: width of the hidden layers (``self.hidden_channels``).
        num_relations: R; ``edge_type`` values are in 0..R-1 (models that merge relations ignore it).
        layers: number of layers (``self.num_layers``; the receptive field in hops for most models).
        dropout: dropout probability (``self.dropout``).
        **kwargs: ignored (a config's unknown ``params`` are refused before a model is built).

    Attributes:
        out: the logit head, ``nn.Linear(width, 1)``; the subclass creates it.
        cache: per-graph cache of sparse operators (:class:`gnn.graph_ops.OperatorCache`).
    """

    out: nn.Linear

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
        self.in_channels = in_channels
        self.hidden_channels = hidden
        self.num_relations = num_relations
        self.num_layers = layers
        self.dropout = dropout
        self.cache = graph_ops.OperatorCache()

    def widths(self) -> list[tuple[int, int]]:
        """(in, out) of each of ``layers`` layers: ``in_channels`` to ``hidden``, then ``hidden``."""
        dims = [self.in_channels] + [self.hidden_channels] * self.num_layers
        return list(zip(dims[:-1], dims[1:], strict=True))

    def embed(
        self,
        x: Tensor,
        edge_index: Tensor,
        edge_type: Tensor | None = None,
        edge_weight: Tensor | None = None,
    ) -> Tensor:
        """[N, width] node representations that ``out`` turns into logits."""
        raise NotImplementedError

    def forward(
        self,
        x: Tensor,
        edge_index: Tensor,
        edge_type: Tensor | None = None,
        edge_weight: Tensor | None = None,
    ) -> Tensor:
        """One logit per node, [N]."""
        return self.out(self.embed(x, edge_index, edge_type, edge_weight)).squeeze(-1)
