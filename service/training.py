"""Training a scorer from an event log and a labels table (what ``ringscope train`` runs).

The split keeps every ring whole: all members of one ``ring_id`` fall into the same split, so a test
ring is never half-seen in training through its own members (a random node split leaks it and
inflates every metric). Accounts without a ring are split one by one.

The split is drawn with the config's ``split_seed`` (``seed`` when unset), so the model's
initialisation can change while the split stays, and it is saved as ``split.csv`` in the model
directory; ``ringscope train --split F`` reuses a saved one exactly, so models are compared on the
same accounts.
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


def read_split(path: str | Path, account_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Masks over ``account_ids`` from a saved ``split.csv`` (``account_id, split`` with train / val /
    test); accounts it does not name are in no split.

    Raises:
        InputError: the file is unreadable, lacks a column, or names another split.
    """
    from graphs.errors import InputError
    from graphs.tables import read_table

    name = str(path)
    table = read_table(path, ["account_id", "split"]).to_pandas()
    bad = ~table["split"].isin(["train", "val", "test"])
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            name, f"{table['split'].iloc[row]!r} is not train, val or test", row=row + 1, column="split"
        )
    part = pd.Series(table["split"].to_numpy(), index=table["account_id"].astype(str)).reindex(account_ids)
    masks = tuple((part == s).to_numpy() for s in ("train", "val", "test"))
    if not masks[0].any() or not masks[2].any():
        raise InputError(name, "no train or no test account of this log: a split of another log?")
    return masks


def split_table(account_ids: np.ndarray, masks: tuple[np.ndarray, np.ndarray, np.ndarray]) -> str:
    """``split.csv`` text: one row per account in a split."""
    part = np.full(len(account_ids), "", dtype=object)
    for mask, name in zip(masks, ("train", "val", "test"), strict=True):
        part[mask] = name
    keep = part != ""
    return pd.DataFrame({"account_id": np.asarray(account_ids)[keep], "split": part[keep]}).to_csv(
        index=False
    )


def train_from_log(
    log: EventLog,
    labels: pd.DataFrame,
    accounts: pd.DataFrame | None,
    config: str | Path | dict[str, Any] | TrainConfig,
    out: str | Path,
    *,
    card: dict[str, Any] | None = None,
    graph_params=None,
    split: str | Path | None = None,
) -> dict[str, Any]:
    """Builds the graph, trains the configured model on a ring-grouped split and saves it to ``out``.

    Args:
        split: a saved ``split.csv`` to reuse; default: a ring-grouped split drawn with
            ``split_seed`` (or ``seed``).

    Returns:
        The test metrics (also written into the model card and ``metrics.json``), with
        ``test_rings``: how many rings the test positives come from.
    """
    from graphs.build import build_graph

    cfg = load_config(config) if isinstance(config, str | Path) else parse_config(config)
    t = time.perf_counter()
    graph = build_graph(log, accounts=accounts, params=graph_params)
    data = graph_data(graph, labels)
    split_seed = cfg.seed if cfg.split_seed is None else cfg.split_seed
    if split is None:
        masks = ring_split(graph.account_ids, labels, seed=split_seed)
        how = f"ring-grouped 60/20/20 (all members of a ring in one split), split seed {split_seed}"
    else:
        masks = read_split(split, graph.account_ids)
        how = f"from {split}"
    scorer, metrics = train(cfg, data, *masks)
    metrics["graph_seconds"] = round(time.perf_counter() - t - metrics.get("fit_seconds", 0.0), 2)
    lab = labels.reindex(graph.account_ids)
    test_bots = masks[2] & (lab["is_bot"].fillna(0).to_numpy() == 1)
    rings = lab["ring_id"].fillna("").astype(str).to_numpy(object)[test_bots]
    metrics["test_rings"] = int(pd.Series(rings[rings != ""]).nunique())
    info = {
        "events": f"{log.source} ({log.n_events:,} events, {log.n_accounts:,} accounts)",
        "labelled accounts": int(lab["is_bot"].notna().sum()),
        "split": how,
        "initialisation seed": cfg.seed,
    }
    info.update(card or {})
    save_model(
        scorer,
        out,
        cfg,
        metrics,
        getattr(scorer, "feature_names_", None) or list(graph.feature_names),
        info,
        extra_files={"split.csv": split_table(graph.account_ids, masks)},
    )
    return metrics
