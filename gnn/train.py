"""Train a scorer from a config and evaluate it on a test split.

Example:
    >>> from gnn.train import load_config, train, save_model, load_model
    >>> config = load_config("gnn/configs/bwgnn.yaml")
    >>> scorer, metrics = train(config, data, train_mask, val_mask, test_mask)
    >>> save_model(scorer, "out/bwgnn", config, metrics, feature_names, {"dataset": "events 2024-05"})
    >>> load_model("out/bwgnn").score(data)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from torch import Tensor
from torch_geometric.data import Data

from gnn.artifacts import load_model, save_model
from gnn.config import ConfigError, TrainConfig, load_config, parse_config
from gnn.metrics import evaluate
from gnn.scorers import Scorer, as_mask, build_scorer, validation_score

__all__ = ["ConfigError", "TrainConfig", "load_config", "load_model", "parse_config", "save_model", "train"]


def train(
    config: TrainConfig | dict[str, Any],
    data: Data,
    train_mask: Tensor | np.ndarray,
    val_mask: Tensor | np.ndarray,
    test_mask: Tensor | np.ndarray | None = None,
) -> tuple[Scorer, dict[str, Any]]:
    """Fit the configured model and measure it.

    Args:
        config: a :class:`TrainConfig` or a mapping validated into one (raises :class:`ConfigError`).
        data: graph in the GNN input interface, with labels ``y`` (-1 = unknown, ignored).
        train_mask, val_mask, test_mask: boolean masks or index arrays over nodes; early stopping and
            the decision threshold use ``val_mask``.

    Returns:
        ``(scorer, metrics)``. ``metrics`` has test ``roc_auc``, ``ap``, ``macro_f1`` (at the
        validation-best threshold) and ``recall_at_k`` (k = test positives), plus ``val_ap``,
        ``threshold``, ``seconds_per_epoch`` (one training step; per boosting round for ``gbt``),
        ``fit_seconds``, ``epochs_run``, ``best_epoch`` and split sizes.
    """
    config = parse_config(config)
    scorer = build_scorer(config).fit(data, train_mask, val_mask)
    n = int(data.num_nodes)
    y = data.y.cpu().numpy()
    labelled = y >= 0
    val = as_mask(val_mask, n, "val_mask") & labelled
    scores = scorer.score(data)
    metrics: dict[str, Any] = {}
    if test_mask is not None:
        test = as_mask(test_mask, n, "test_mask") & labelled
        metrics.update(evaluate(y[test], scores[test], scorer.threshold_))
        metrics["test_nodes"] = metrics.pop("nodes")
        metrics["test_positives"] = metrics.pop("positives")
    metrics.update(
        {
            "val_ap": validation_score(y[val], scores[val]),
            "threshold": float(scorer.threshold_),
            "seconds_per_epoch": float(getattr(scorer, "seconds_per_epoch_", float("nan"))),
            "fit_seconds": float(getattr(scorer, "fit_seconds_", float("nan"))),
            "epochs_run": len(getattr(scorer, "history_", [])),
            "best_epoch": int(getattr(scorer, "best_epoch_", 0)),
            "train_nodes": int((as_mask(train_mask, n, "train_mask") & labelled).sum()),
            "val_nodes": int(val.sum()),
        }
    )
    return scorer, metrics
