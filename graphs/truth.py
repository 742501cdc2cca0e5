"""Scoring a detection against ground truth (generated worlds, or a labelled log).

Ring recall: share of true rings matched by a cluster with verdict ``ring`` at Jaccard >= 0.5.
Ring precision: share of ``ring`` clusters that match a true ring at Jaccard >= 0.5.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score


def best_jaccard(cluster: np.ndarray, ring: np.ndarray) -> pd.DataFrame:
    """Every (true ring, cluster) pair that shares members, with its Jaccard index.

    Args:
        cluster: cluster key per account ("" or -1 for none).
        ring: true ring id per account ("" for none).
    """
    df = pd.DataFrame({"c": cluster, "r": ring})
    has_c = (df["c"] != "") & (df["c"] != -1) & df["c"].notna()
    has_r = (df["r"] != "") & df["r"].notna()
    size_c = df[has_c].groupby("c").size()
    size_r = df[has_r].groupby("r").size()
    both = df[has_c & has_r].groupby(["r", "c"]).size().rename("inter").reset_index()
    both["jaccard"] = both["inter"] / (
        size_r.reindex(both["r"]).to_numpy() + size_c.reindex(both["c"]).to_numpy() - both["inter"]
    )
    return both


def cluster_truth(cluster: np.ndarray, is_bot: np.ndarray) -> pd.Series:
    """Per cluster key: 1 when most members are bots (the label the structural scorer learns)."""
    df = pd.DataFrame({"c": cluster, "b": is_bot})
    df = df[(df["c"] != "") & (df["c"] != -1)]
    return (df.groupby("c")["b"].mean() > 0.5).astype(int)


def quality_report(accounts: pd.DataFrame, clusters: pd.DataFrame, labels: pd.DataFrame) -> dict:
    """Account- and ring-level quality of one detection.

    Args:
        accounts: ``account_id, score, cluster_id, verdict`` (a Detection's accounts table).
        clusters: ``cluster_id, verdict`` (a Detection's clusters table).
        labels: ground truth indexed by ``account_id`` with ``is_bot``, ``ring_id`` and optionally
            ``lookalike`` (benign look-alike group).
    """
    lab = labels.reindex(accounts["account_id"])
    y = lab["is_bot"].fillna(0).to_numpy(int)
    ring = lab["ring_id"].fillna("").to_numpy(object)
    score = accounts["score"].to_numpy(float)
    flagged = (accounts["verdict"] == "ring").to_numpy()
    out: dict = {
        "accounts": int(len(y)),
        "bots": int(y.sum()),
        "true_rings": int(pd.Series(ring[ring != ""]).nunique()),
        "account_roc_auc": float(roc_auc_score(y, score)) if 0 < y.sum() < len(y) else float("nan"),
        "account_ap": float(average_precision_score(y, score)) if y.sum() else float("nan"),
        "account_precision": float(y[flagged].mean()) if flagged.any() else float("nan"),
        "account_recall": float(flagged[y == 1].mean()) if y.sum() else float("nan"),
    }
    ring_clusters = set(clusters.loc[clusters["verdict"] == "ring", "cluster_id"])
    cl = accounts["cluster_id"].to_numpy(object)
    cl_ring = np.where(np.isin(cl, list(ring_clusters)), cl, "")
    pairs = best_jaccard(cl_ring, ring)
    good = pairs[pairs["jaccard"] >= 0.5]
    out["ring_clusters"] = len(ring_clusters)
    out["ring_recall"] = good["r"].nunique() / out["true_rings"] if out["true_rings"] else float("nan")
    out["ring_precision"] = good["c"].nunique() / len(ring_clusters) if ring_clusters else float("nan")
    if "ring_kind" in lab:
        kinds = lab["ring_kind"].fillna("").to_numpy(object)
        per_kind = {}
        ring_kind = pd.Series(kinds[ring != ""], index=ring[ring != ""]).groupby(level=0).first()
        found = set(good["r"])
        for k, rings in ring_kind.groupby(ring_kind):
            per_kind[k] = round(float(np.mean([r in found for r in rings.index])), 3)
        out["ring_recall_by_kind"] = per_kind
    if "lookalike" in lab:
        look = lab["lookalike"].fillna("").to_numpy(object)
        benign_look = (y == 0) & (look != "")
        out["lookalike_accounts"] = int(benign_look.sum())
        out["lookalike_fp_rate"] = float(flagged[benign_look].mean()) if benign_look.any() else float("nan")
        by = pd.Series(flagged[benign_look]).groupby(look[benign_look]).mean()
        out["lookalike_fp_by_kind"] = {k: round(float(v), 4) for k, v in by.items()}
    return out


def run_agreement(a: pd.DataFrame, b: pd.DataFrame, min_jaccard: float = 0.9) -> dict:
    """How far two runs over the same accounts agree (an incremental run against a full one).

    Args:
        a, b: ``accounts`` tables (``account_id, cluster_id, verdict``) of the two runs; cluster ids
            need not match (each run's ``ring`` clusters are matched by members).
        min_jaccard: a ``ring`` cluster of ``a`` is matched when a ``ring`` cluster of ``b`` has at least
            this Jaccard index with it.

    Returns:
        ``accounts`` (in both), ``verdict_agreement`` (share of them with the same verdict),
        ``rings_a``, ``rings_b``, ``rings_matched`` (rings of ``a`` matched in ``b``), ``ring_match``
        (matched share of the larger ring count; 1.0 when neither has rings), ``only_a`` / ``only_b``
        (accounts in just one run).
    """
    a = a.set_index("account_id") if "account_id" in a.columns else a
    b = b.set_index("account_id") if "account_id" in b.columns else b
    common = a.index.intersection(b.index)
    va, vb = a.loc[common, "verdict"].to_numpy(), b.loc[common, "verdict"].to_numpy()

    def rings(t: pd.DataFrame) -> np.ndarray:
        c = t.loc[common, "cluster_id"].fillna("").astype(str).to_numpy().copy()
        c[t.loc[common, "verdict"].to_numpy() != "ring"] = ""
        return c

    ca, cb = rings(a), rings(b)
    pairs = best_jaccard(cb, ca)  # "ring" = a's clusters, "cluster" = b's
    n_a = len(set(ca) - {""})
    n_b = len(set(cb) - {""})
    matched = int(pairs.loc[pairs["jaccard"] >= min_jaccard, "r"].nunique()) if len(pairs) else 0
    return {
        "accounts": int(len(common)),
        "verdict_agreement": float(np.mean(va == vb)) if len(common) else 1.0,
        "rings_a": n_a,
        "rings_b": n_b,
        "rings_matched": matched,
        "ring_match": matched / max(n_a, n_b) if max(n_a, n_b) else 1.0,
        "only_a": int(len(a.index.difference(b.index))),
        "only_b": int(len(b.index.difference(a.index))),
    }
