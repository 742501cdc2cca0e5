"""Stable cluster ids: match a run's clusters to the previous run's by shared members."""

from __future__ import annotations

import pandas as pd

MATCH_COLUMNS = ["local_id", "stable_id", "overlap", "n_new", "n_old", "jaccard"]


def match_clusters(previous: pd.DataFrame, current: pd.DataFrame, threshold: float = 0.5) -> pd.DataFrame:
    """Pairs each new cluster with the previous cluster whose members it mostly keeps.

    Two clusters match when the Jaccard index of their member sets is at least ``threshold``;
    the pairing is one-to-one, best Jaccard first (ties: larger overlap, then smaller ids). Above
    0.5 a cluster can have at most one such partner (members of one run's clusters are disjoint),
    so the greedy pairing is exact; at exactly 0.5 ties are broken as above.

    Args:
        previous: ``account_id, cluster_id`` of the previous run's clusters (stable ids).
        current: ``account_id, cluster_id`` of the new run's clusters (run-local ids).
        threshold: the least Jaccard index that keeps a stable id.

    Returns:
        One row per matched pair: ``local_id, stable_id, overlap, n_new, n_old, jaccard``.

    Example:
        >>> prev = pd.DataFrame({"account_id": ["a", "b", "c"], "cluster_id": ["c-1"] * 3})
        >>> cur = pd.DataFrame({"account_id": ["a", "b", "d"], "cluster_id": ["x"] * 3})
        >>> match_clusters(prev, cur)[["local_id", "stable_id", "overlap"]].values.tolist()
        [['x', 'c-1', 2]]
    """
    return match_overlaps(cluster_overlaps(previous, current), threshold)


def match_overlaps(overlap: pd.DataFrame, threshold: float = 0.5) -> pd.DataFrame:
    """:func:`match_clusters` from the output of :func:`cluster_overlaps`."""
    if overlap.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in MATCH_COLUMNS})
    best = overlap[overlap["jaccard"] >= threshold].sort_values(
        ["jaccard", "overlap", "stable_id", "local_id"], ascending=[False, False, True, True]
    )
    best = best.drop_duplicates("local_id").drop_duplicates("stable_id")
    return best[MATCH_COLUMNS].reset_index(drop=True)


def cluster_overlaps(previous: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
    """Every (new, previous) pair of clusters sharing members: ``local_id, stable_id, overlap, n_new,
    n_old, jaccard`` (inputs as for :func:`match_clusters`)."""
    if previous.empty or current.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in MATCH_COLUMNS})
    n_new = current.groupby("cluster_id", sort=False).size().rename("n_new")
    n_old = previous.groupby("cluster_id", sort=False).size().rename("n_old")
    pairs = current.merge(previous, on="account_id", suffixes=("_new", "_old"))
    overlap = (
        pairs.groupby(["cluster_id_new", "cluster_id_old"], sort=False)
        .size()
        .rename("overlap")
        .reset_index()
        .rename(columns={"cluster_id_new": "local_id", "cluster_id_old": "stable_id"})
    )
    overlap = overlap.join(n_new, on="local_id").join(n_old, on="stable_id")
    overlap["jaccard"] = overlap["overlap"] / (overlap["n_new"] + overlap["n_old"] - overlap["overlap"])
    return overlap
