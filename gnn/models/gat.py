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
        self.crow = _row_pointers(self.dst, num_nodes)
        # The transpose (sorted by source), for the backward pass: A^T @ grad.
        self.t_order = torch.argsort(self.src * num_nodes + self.dst)
        self.t_col = self.dst[self.t_order]
        self.t_crow = _row_pointers(self.src, num_nodes)
        self.num_nodes = num_nodes

    def operator(self, values: Tensor, transpose: bool = False) -> Tensor:
        """The sparse CSR matrix ``A[dst, src] = values`` (or its transpose)."""
        n = self.num_nodes
        if transpose:
            return torch.sparse_csr_tensor(self.t_crow, self.t_col, values[self.t_order], (n, n))
        return torch.sparse_csr_tensor(self.crow, self.src, values, (n, n))


def _row_pointers(rows: Tensor, num_nodes: int) -> Tensor:
    counts = torch.bincount(rows, minlength=num_nodes)
    return torch.cat([counts.new_zeros(1), counts.cumsum(0)])


class _AttentionProduct(torch.autograd.Function):
    """``A(values) @ h`` with gradients for both: the gradient of the values is a sampled product
    (``torch.sparse.sampled_addmm``, ``(grad @ h^T)`` at the edges only), that of ``h`` is
    ``A^T @ grad``. torch's own backward through a CSR tensor's values was ~30x slower and
    materialised gigabytes on YelpChi."""

    @staticmethod
    def forward(ctx, values: Tensor, h: Tensor, graph: AttentionGraph) -> Tensor:  # type: ignore[override]
        ctx.graph = graph
        ctx.save_for_backward(values, h)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "sparse CSR support is in beta"
            return torch.sparse.mm(graph.operator(values), h)

    @staticmethod
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        values, h = ctx.saved_tensors
        graph: AttentionGraph = ctx.graph
        grad = grad.contiguous()
        grad_values = grad_h = None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            if ctx.needs_input_grad[0]:
                pattern = graph.operator(values.detach())
                grad_values = torch.sparse.sampled_addmm(pattern, grad, h.detach().t(), beta=0.0).values()
            if ctx.needs_input_grad[1]:
                grad_h = torch.sparse.mm(graph.operator(values.detach(), transpose=True), grad)
        return grad_values, grad_h, None


def sparse_gat(conv: GATConv, x: Tensor, graph: AttentionGraph) -> Tensor:
    """``conv(x, edge_index)`` for a ``GATConv`` with concatenated heads, computed with one sparse CSR
    product per head instead of PyG's per-edge messages.

    Same parameters and the same math (``lin``, ``att_src``/``att_dst``, LeakyReLU, softmax over each
    target's in-edges, attention dropout, ``bias``); written here because PyG's scatter path builds
    an ``[E, heads, channels]`` message tensor per layer (2 GB on YelpChi's 8M edges): one layer's
    forward and backward on 2M random edges took 3.0-5.3 s that way and 0.7 s this way, one thread
    (2026-12-01). ``tests/gnn/test_gnn_models.py`` checks that both agree, gradients included.
    """
    n, heads, channels = x.size(0), conv.heads, conv.out_channels
    h = conv.lin(x).view(n, heads, channels)
    a_src = (h * conv.att_src).sum(-1)
    a_dst = (h * conv.att_dst).sum(-1)
    logits = F.leaky_relu(a_src[graph.src] + a_dst[graph.dst], conv.negative_slope)
    alpha = softmax(logits + graph.log_multiplicity, graph.dst, num_nodes=n)
    alpha = F.dropout(alpha, conv.dropout, conv.training)
    out = torch.cat(
        [
            _AttentionProduct.apply(alpha[:, k].contiguous(), h[:, k, :].contiguous(), graph)
            for k in range(heads)
        ],
        dim=-1,
    )
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
