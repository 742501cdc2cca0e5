"""Evaluation metrics for imbalanced node classification."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score


def best_threshold(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """The score threshold maximizing macro-F1 (predict positive when ``p >= threshold``).

    Args:
        y: 0/1 labels.
        p: scores, higher = more likely positive.

    Returns:
        ``(threshold, macro_f1)``; ``(0.5, nan)`` when ``y`` holds a single class.
    """
    y = np.asarray(y).astype(bool)
    p = np.asarray(p, dtype=np.float64)
    pos, neg = int(y.sum()), int((~y).sum())
    if pos == 0 or neg == 0:
        return 0.5, float("nan")
    order = np.argsort(-p, kind="stable")
    ps, ys = p[order], y[order]
    tp = np.cumsum(ys)
    fp = np.cumsum(~ys)
    last = np.r_[ps[1:] != ps[:-1], True]  # cut only between distinct scores
    tp, fp, cut = tp[last], fp[last], ps[last]
    fn, tn = pos - tp, neg - fp
    f1_pos = 2 * tp / np.maximum(2 * tp + fp + fn, 1)
    f1_neg = 2 * tn / np.maximum(2 * tn + fn + fp, 1)
    macro = (f1_pos + f1_neg) / 2
    i = int(np.argmax(macro))
    return float(cut[i]), float(macro[i])


def recall_at_k(y: np.ndarray, p: np.ndarray, k: int | None = None) -> float:
    """Share of all positives found among the ``k`` highest scores (default k = number of positives)."""
    y = np.asarray(y).astype(bool)
    k = int(y.sum()) if k is None else k
    if k == 0:
        return float("nan")
    top = np.argsort(-np.asarray(p), kind="stable")[:k]
    return float(y[top].sum() / y.sum())


def evaluate(y: np.ndarray, p: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """ROC-AUC, average precision, macro-F1 at ``threshold`` and recall@k (k = #positives).

    Single-class inputs give ``nan`` for the ranking metrics rather than raising.
    """
    y = np.asarray(y).astype(int)
    p = np.asarray(p, dtype=np.float64)
    both = 0 < y.sum() < len(y)
    return {
        "roc_auc": float(roc_auc_score(y, p)) if both else float("nan"),
        "ap": float(average_precision_score(y, p)) if both else float("nan"),
        "macro_f1": float(f1_score(y, (p >= threshold).astype(int), average="macro", zero_division=0)),
        "recall_at_k": recall_at_k(y, p),
        "threshold": float(threshold),
        "positives": int(y.sum()),
        "nodes": len(y),
    }
