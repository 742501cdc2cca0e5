"""Generated account graphs with planted bot rings, for tests, smoke runs and timing."""

from __future__ import annotations

import numpy as np
import torch
from torch_geometric.data import Data

RELATIONS = ("shared_device", "co_engagement", "follows")


def _undirected(src: np.ndarray, dst: np.ndarray, num_nodes: int) -> np.ndarray:
    """Deduplicated, self-loop-free pairs as two directed edges each: int64 [2, E]."""
    lo, hi = np.minimum(src, dst), np.maximum(src, dst)
    keep = lo != hi
    keys = np.unique(lo[keep].astype(np.int64) * num_nodes + hi[keep])
    lo, hi = keys // num_nodes, keys % num_nodes
    return np.stack([np.r_[lo, hi], np.r_[hi, lo]])


def ring_graph(
    num_nodes: int = 60,
    bot_share: float = 0.2,
    ring_size: int = 12,
    num_relations: int = 2,
    avg_degree: float = 4.0,
    num_features: int = 8,
    feature_shift: float = 1.5,
    camouflage: float = 0.3,
    seed: int = 0,
) -> Data:
    """A graph in the GNN input interface with bots planted as dense rings.

    Bots (``y = 1``) are split into rings of ``ring_size``; each ring is a clique in relation 0
    (``shared_device``). Every relation also gets random edges (``avg_degree`` per node) and
    ``camouflage`` of a bot's random edges go to benign accounts. Bot features are shifted by
    ``feature_shift`` standard deviations on half of the columns, so the features alone are
    informative but not decisive when the shift is small.

    Returns:
        ``Data`` with ``x`` (float32, log-normal counts), ``edge_index``, ``edge_type``,
        ``edge_weight`` in (0, 1], ``y`` and ``relation_names``.
    """
    if not 1 <= num_relations <= len(RELATIONS):
        raise ValueError(f"num_relations must be 1..{len(RELATIONS)}")
    rng = np.random.default_rng(seed)
    num_bots = max(2, int(round(bot_share * num_nodes)))
    y = np.zeros(num_nodes, dtype=np.int64)
    bots = rng.choice(num_nodes, num_bots, replace=False)
    y[bots] = 1

    z = rng.normal(size=(num_nodes, num_features))
    z[bots, : num_features // 2] += feature_shift
    x = np.expm1(np.abs(z) + 0.5 * z).astype(np.float32)  # heavy-tailed, non-negative counts

    edges, types, weights = [], [], []
    for r in range(num_relations):
        m = int(avg_degree * num_nodes / 2)
        src = rng.integers(0, num_nodes, m)
        dst = rng.integers(0, num_nodes, m)
        # Bots mostly pick other bots unless camouflaging; benign accounts pick uniformly.
        bot_src = y[src] == 1
        towards_bot = bot_src & (rng.random(m) >= camouflage)
        dst[towards_bot] = rng.choice(bots, int(towards_bot.sum()))
        if r == 0:
            order = rng.permutation(bots)
            for start in range(0, num_bots, ring_size):
                ring = order[start : start + ring_size]
                a, b = np.meshgrid(ring, ring)
                src, dst = np.r_[src, a.ravel()], np.r_[dst, b.ravel()]
        pairs = _undirected(src, dst, num_nodes)
        edges.append(pairs)
        types.append(np.full(pairs.shape[1], r, dtype=np.int64))
        w = rng.uniform(0.2, 1.0, pairs.shape[1] // 2)
        weights.append(np.r_[w, w])  # both directions of a pair carry the same evidence
    edge_index = np.concatenate(edges, axis=1)
    weight = np.concatenate(weights).astype(np.float32)
    return Data(
        x=torch.from_numpy(x),
        edge_index=torch.from_numpy(edge_index),
        edge_type=torch.from_numpy(np.concatenate(types)),
        edge_weight=torch.from_numpy(weight),
        y=torch.from_numpy(y),
        relation_names=list(RELATIONS[:num_relations]),
    )


def stratified_masks(
    y: np.ndarray | torch.Tensor, train: float = 0.4, val: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stratified boolean train/val/test masks over labelled nodes (``y >= 0``); the rest is test.

    Follows CARE-GNN / PC-GNN: ``train`` share first, then ``val`` share of all labelled nodes from
    what remains.
    """
    from sklearn.model_selection import train_test_split

    y = y.numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
    idx = np.flatnonzero(y >= 0)
    tr, rest = train_test_split(idx, train_size=train, stratify=y[idx], random_state=seed, shuffle=True)
    va, te = train_test_split(
        rest, train_size=val / (1 - train), stratify=y[rest], random_state=seed, shuffle=True
    )
    masks = []
    for part in (tr, va, te):
        m = np.zeros(len(y), dtype=bool)
        m[part] = True
        masks.append(m)
    return masks[0], masks[1], masks[2]
