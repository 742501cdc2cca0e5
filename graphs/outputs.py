"""The output tables of a detection built from the cluster context: ``clusters.csv`` rows and the
intra-cluster edges drawn on the investigator page (``accounts.csv`` is assembled by the pipeline)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .evidence import ClusterContext


def cluster_table(keys, ctx: ClusterContext, score, verdict, feats: pd.DataFrame, evidence) -> pd.DataFrame:
    """``clusters.csv``: one row per cluster (``cluster_id, size, verdict, score``), then flat evidence:
    shared identifiers (in all and per identifier type), the top shared identifier, synchronised
    targets, the top synchronised target, the cluster's time scale, and every cluster feature."""
    top_id, n_sync, top_target = [], [], []
    for i in range(len(keys)):
        e = evidence[i]
        ents = e.get("shared_entities", [])
        top_id.append(f"{ents[0]['type']} {ents[0]['id']}" if ents else "")
        n_sync.append(e.get("synchronised_targets", 0))
        camp = e.get("campaigns", [])
        top_target.append(f"{camp[0]['target_type']} {camp[0]['target']}" if camp else "")
    out = pd.DataFrame(
        {
            "cluster_id": keys,
            "size": ctx.size,
            "verdict": verdict,
            "score": np.round(score, 6),
            "shared_identifiers": np.bincount(
                ctx.shared["cluster"].to_numpy(np.int64), minlength=ctx.n_clusters
            ),
        }
    )
    # One count per identifier type of this log (shared_device, shared_ip, shared_phone, ...).
    for t in ctx.roles.identifiers:
        out[f"shared_{t}"] = count_shared(ctx, t)
    out["top_shared_identifier"] = top_id
    out["synchronised_targets"] = n_sync
    out["top_sync_target"] = top_target
    out["sync_window_seconds"] = ctx.window
    for col in feats.columns:
        out[col] = feats[col].to_numpy().round(6)
    return out


def count_shared(ctx: ClusterContext, type_name: str) -> np.ndarray:
    """int64 [n_clusters]: shared identifiers of one type per cluster."""
    code = ctx.log.type_code(type_name)
    df = ctx.shared[ctx.shared["etype"] == code]
    return np.bincount(df["cluster"].to_numpy(np.int64), minlength=ctx.n_clusters)


def inside_edge_counts(ctx: ClusterContext) -> np.ndarray:
    """int64 [n_clusters]: edges inside each cluster (what a drawing capped at ``cap`` may cut)."""
    e = ctx.internal
    inside = e[(e["cs"] == e["cd"]) & (e["cs"] >= 0)]
    return np.bincount(inside["cs"].to_numpy(np.int64), minlength=ctx.n_clusters)


def drawn_edges(ctx: ClusterContext, keys: np.ndarray, cap: int) -> pd.DataFrame:
    """Intra-cluster edges for drawing, the strongest ``cap`` per cluster."""
    e = ctx.internal
    e = e[(e["cs"] == e["cd"]) & (e["cs"] >= 0)]
    e = e.sort_values(["cs", "weight"], ascending=[True, False]).groupby("cs").head(cap)
    ids = ctx.log.account_ids
    return pd.DataFrame(
        {
            "cluster_id": keys[e["cs"].to_numpy(np.int64)] if len(e) else [],
            "src": ids[e["src"].to_numpy(np.int64)] if len(e) else [],
            "dst": ids[e["dst"].to_numpy(np.int64)] if len(e) else [],
            "relation": e["relation"].to_numpy() if len(e) else [],
            "weight": e["weight"].to_numpy(np.float64).round(5) if len(e) else [],
        }
    )
