"""Graph attention network (Velickovic et al., ICLR 2018) over all relations merged."""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import GATConv
from torch_geometric.utils import softmax

from gnn.models.base import GNNModel
from gnn.registry import register_model


class AttentionGraph:
    """A graph prepared for :func:`sparse_gat`: every node's self-loop added (existing ones dropped,
    as ``GATConv(add_self_loops=True)`` does), edges sorted by target then source, CSR row pointers.

    Attention dropout then drops a merged duplicate edge as one (PyG drops each copy apart): the
    same in expectation."""

    def __init__(self, edge_index: Tensor, num_nodes: int) -> None:
        src, dst = edge_index[0], edge_index[1]
        keep = src != dst
        loop = torch.arange(num_nodes, device=edge_index.device)
        src = torch.cat([src[keep], loop])
        dst = torch.cat([dst[keep], loop])
        # Duplicate edges (a pair in several relations) merge into one entry that carries its
        # multiplicity: softmax(e + log k) gives it k times the weight, as k separate edges would get.
        keys, multiplicity = torch.unique_consecutive(
            torch.sort(dst * num_nodes + src).values, return_counts=True
        )
        self.src, self.dst = keys % num_nodes, keys // num_nodes
        self.log_multiplicity = multiplicity.to(torch.float32).log().unsqueeze(1)
        counts = torch.bincount(self.dst, minlength=num_nodes)
        self.crow = torch.cat([counts.new_zeros(1), counts.cumsum(0)])
        self.num_nodes = num_nodes


def sparse_gat(conv: GATConv, x: Tensor, graph: AttentionGraph) -> Tensor:
    """``conv(x, edge_index)`` for a ``GATConv`` with concatenated heads, computed with one sparse CSR
    product per head instead of PyG's per-edge messages.

    Same parameters and the same math (``lin``, ``att_src``/``att_dst``, LeakyReLU, softmax over each
    target's in-edges, attention dropout, ``bias``); written here because the scatter path holds an
    ``[E, heads, channels]`` message tensor (2 GB per layer on YelpChi's 8M edges) and took more than
    24 minutes for one training run on this CPU. ``tests/gnn/test_gnn_models.py`` checks both agree.
    """
    n, heads, channels = x.size(0), conv.heads, conv.out_channels
    h = conv.lin(x).view(n, heads, channels)
    a_src = (h * conv.att_src).sum(-1)
    a_dst = (h * conv.att_dst).sum(-1)
    logits = F.leaky_relu(a_src[graph.src] + a_dst[graph.dst], conv.negative_slope)
    alpha = softmax(logits + graph.log_multiplicity, graph.dst, num_nodes=n)
    alpha = F.dropout(alpha, conv.dropout, conv.training)
    outs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "sparse CSR support is in beta"
        for k in range(heads):
            adj = torch.sparse_csr_tensor(graph.crow, graph.src, alpha[:, k], (n, n))
            outs.append(torch.sparse.mm(adj, h[:, k, :]))
    out = torch.cat(outs, dim=-1)
    return out if conv.bias is None else out + conv.bias


@register_model("gat")
class GAT(GNNModel):
    """``layers`` multi-head GAT convolutions (heads concatenated, ELU) and a linear output.

    The layers are PyG's ``GATConv`` (parameters, initialisation, saved weights); the attention is
    aggregated with sparse products (:func:`sparse_gat`). Evidence weights are ignored: the attention
    learns its own edge weighting.

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
        graph = self.cache.get((edge_index,), "attention", lambda: AttentionGraph(edge_index, x.size(0)))
        for conv in self.convs:
            x = F.dropout(x, self.dropout, self.training)
            x = F.elu(sparse_gat(conv, x, graph))
        return x
