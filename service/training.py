"""Training a scorer from an event log and a labels table (what ``ringscope train`` runs).

The split keeps every ring whole: all members of one ``ring_id`` fall into the same split, so a test
ring is never half-seen in training through its own members (a random node split leaks it and
inflates every metric). Accounts without a ring are split one by one.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gnn.config import TrainConfig, load_config, parse_config
from gnn.scoring import graph_data
from gnn.train import save_model, train
from graphs.events import EventLog

SPLIT = (0.6, 0.2, 0.2)


def ring_split(
    account_ids: np.ndarray, labels: pd.DataFrame, seed: int = 0, shares=SPLIT
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boolean train / validation / test masks over ``account_ids``, whole rings per split.

    Labelled accounts only; stratified by drawing bots and benign groups separately.
    """
    lab = labels.reindex(account_ids)
    known = lab["is_bot"].notna().to_numpy()
    ring = lab["ring_id"].fillna("").astype(str).to_numpy(object)
    group = np.where(ring != "", "ring:" + ring, "acc:" + pd.Index(account_ids).astype(str).to_numpy(object))
    codes, uniq = pd.factorize(group)
    is_bot_group = pd.Series(lab["is_bot"].fillna(0).to_numpy()).groupby(codes).max().to_numpy() > 0
    rng = np.random.default_rng(seed)
    part = np.empty(len(uniq), dtype=np.int8)
    for flag in (True, False):  # stratify: bot groups and benign groups split separately
        idx = np.flatnonzero(is_bot_group == flag)
        idx = idx[rng.permutation(idx.size)]
        cut1 = int(round(shares[0] * idx.size))
        cut2 = cut1 + int(round(shares[1] * idx.size))
        part[idx[:cut1]], part[idx[cut1:cut2]], part[idx[cut2:]] = 0, 1, 2
    p = part[codes]
    return (p == 0) & known, (p == 1) & known, (p == 2) & known


def train_from_log(
    log: EventLog,
    labels: pd.DataFrame,
    accounts: pd.DataFrame | None,
    config: str | Path | dict[str, Any] | TrainConfig,
    out: str | Path,
    *,
    card: dict[str, Any] | None = None,
    graph_params=None,
) -> dict[str, Any]:
    """Builds the graph, trains the configured model on a ring-grouped split and saves it to ``out``.

    Returns:
        The test metrics (also written into the model card).
    """
    from graphs.build import build_graph

    cfg = load_config(config) if isinstance(config, str | Path) else parse_config(config)
    t = time.perf_counter()
    graph = build_graph(log, accounts=accounts, params=graph_params)
    data = graph_data(graph, labels)
    train_mask, val_mask, test_mask = ring_split(graph.account_ids, labels, seed=cfg.seed)
    scorer, metrics = train(cfg, data, train_mask, val_mask, test_mask)
    metrics["graph_seconds"] = round(time.perf_counter() - t - metrics.get("fit_seconds", 0.0), 2)
    info = {
        "events": f"{log.source} ({log.n_events:,} events, {log.n_accounts:,} accounts)",
        "labelled accounts": int(labels["is_bot"].reindex(graph.account_ids).notna().sum()),
        "split": "ring-grouped 60/20/20 (all members of a ring in one split), seed " + str(cfg.seed),
    }
    info.update(card or {})
    save_model(scorer, out, cfg, metrics, list(graph.feature_names), info)
    return metrics
