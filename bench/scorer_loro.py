"""Leave-one-regime-out choice of the structural scorer's settings (regularisation, feature set).

For every candidate setting and every fit regime R (:data:`graphs.synthetic.regimes.FIT_REGIMES`),
the scorer is fitted on the tuning worlds of the *other* fit regimes and measured on R's: each
world's clusters and its null copy's (:mod:`graphs.null`) are scored, the ring threshold is
calibrated against the null at the shipped FDR, and ring recall and precision (Jaccard >= 0.5) are
counted on the clusters as communities left them (before the membership refinements, which depend
on the scorer; ``bench.robustness`` measures the whole pipeline). The held-out regimes are never
loaded. The setting with the best mean ring F1 over the left-out regimes wins (:func:`choose`
breaks ties); ``bench.calibrate`` then fits it on every fit regime. The GNN feature of the
``structure+gnn`` variant is cross-fitted (``--gnn-scores fold``, the default): each regime's worlds
are scored by the GNN trained on the other fit regimes (:mod:`bench.gnn_folds`), so the scorer learns
what a GNN's score is worth on a platform the GNN has not seen. ``--gnn-scores shipped`` uses the
shipped GNN (trained on every fit regime) instead, as before 2026-12-03.

    python -m bench.scorer_loro --worlds 2 --accounts 40000

Per-world features are cached under ``out/scorer_loro`` (``--fresh`` recomputes them).
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import numpy as np
import pandas as pd

from graphs.null import fdr_threshold, null_log
from graphs.scoring import StructuralScorer, VerdictParams, with_mean_model_score
from graphs.synthetic.regimes import FIT_REGIMES, generate_regime_world
from graphs.truth import best_jaccard, cluster_truth
from service.pipeline import DetectParams, prepare

TUNING_SEED = 1000
CACHE = Path("out/scorer_loro")

#: Features measured in the platform's own absolute units (account age in days, events per member,
#: the spread of creation times in hours, the synchrony window in seconds): their scale is a
#: property of the platform, not of coordination, so they are the candidates to leave out.
ABSOLUTE = {
    "age": ("log_age_at_first_action_days",),
    "activity": ("log_events_per_member",),
    "creation": ("creation_span_log_hours",),
    "window": ("log_sync_window",),
}
STRUCTURE_SETS: dict[str, tuple[str, ...]] = {
    "all": (),
    "-age,activity": ABSOLUTE["age"] + ABSOLUTE["activity"],
    "-age,activity,creation": ABSOLUTE["age"] + ABSOLUTE["activity"] + ABSOLUTE["creation"],
    "-absolute": sum(ABSOLUTE.values(), ()),
}
#: The ``structure+gnn`` variant's candidates also leave out the members' mean GNN score: whether the
#: GNN's score helps the ring verdict on a platform the GNN has not seen is a choice like the others.
GNN_FEATURE = "mean_gnn_score"
FEATURE_SETS: dict[str, tuple[str, ...]] = {
    **STRUCTURE_SETS,
    **{("-gnn" if k == "all" else f"{k},gnn"): v + (GNN_FEATURE,) for k, v in STRUCTURE_SETS.items()},
}
REGULARISATIONS = (0.1, 1.0)


def world_record(regime: str, seed: int, n_accounts: int, gnn) -> dict:
    """Cluster features of one tuning world and of its null copy, with the truth to score them."""
    from graphs.events import EventLog

    world = generate_regime_world(regime, n_accounts, seed)
    log = EventLog.from_frame(world.events, source=f"tuning world {regime} {seed}")
    accounts = world.accounts.set_index("account_id")
    p = DetectParams()
    rec: dict = {"regime": regime, "seed": seed}
    for part, (lg, acc) in {"real": (log, accounts), "null": null_log(log, accounts, seed=0)}.items():
        prep = prepare(lg, acc, p)
        feats = with_mean_model_score(prep.features, prep.labels, np.asarray(gnn.score_graph(prep.graph)))
        rec[part] = feats.assign(size=prep.ctx.size)
        if part == "real":
            truth = world.labels.set_index("account_id").reindex(log.account_ids)
            rec["labels"] = prep.labels
            rec["ring"] = truth["ring_id"].fillna("").to_numpy(object)
            y = cluster_truth(prep.labels, truth["is_bot"].fillna(0).to_numpy())
            rec["y"] = y.reindex(feats.index).fillna(0).to_numpy(int)
    return rec


def regime_gnns(gnn_scores: str):
    """Fit regime -> the GNN whose scores its tuning worlds get: the one trained without it
    (``fold``) or the shipped default (``shipped``)."""
    if gnn_scores == "fold":
        from bench.gnn_folds import fold_models

        return fold_models()
    if gnn_scores == "shipped":
        from gnn.scoring import load_default_model

        model = load_default_model()
        return dict.fromkeys(FIT_REGIMES, model)
    raise ValueError(f"gnn_scores must be 'fold' or 'shipped', not {gnn_scores!r}")


def load_worlds(n_worlds: int, n_accounts: int, fresh: bool, gnn_scores: str = "fold") -> list[dict]:
    gnns = None
    CACHE.mkdir(parents=True, exist_ok=True)
    out = []
    suffix = "" if gnn_scores == "shipped" else f"_{gnn_scores}"
    for regime, i in itertools.product(FIT_REGIMES, range(n_worlds)):
        path = CACHE / f"{regime}_{TUNING_SEED + i}_{n_accounts}{suffix}.pkl"
        if path.exists() and not fresh:
            out.append(pd.read_pickle(path))
            continue
        t = time.perf_counter()
        gnns = gnns or regime_gnns(gnn_scores)
        rec = world_record(regime, TUNING_SEED + i, n_accounts, gnns[regime])
        pd.to_pickle(rec, path)
        out.append(rec)
        took = time.perf_counter() - t
        print(f"world {regime} {TUNING_SEED + i}: {len(rec['real'])} clusters, {took:.0f}s", flush=True)
    return out


def ring_quality(rec: dict, score: np.ndarray, null_score: np.ndarray, v: VerdictParams) -> tuple[int, ...]:
    """True rings found, true rings, ring clusters matching a ring and ring clusters, at the
    threshold calibrated against the world's null copy."""
    size = rec["real"]["size"].to_numpy()
    big = size >= v.min_ring_size
    null_big = null_score[rec["null"]["size"].to_numpy() >= v.min_ring_size]
    tau = fdr_threshold(score[big], null_big, v.fdr, v.ring, 1)
    flagged = np.flatnonzero(big & (score >= tau))
    labels = rec["labels"]
    cl = np.where(np.isin(labels, flagged), labels, -1)
    pairs = best_jaccard(cl, rec["ring"])
    good = pairs[pairs["jaccard"] >= 0.5]
    n_rings = len(set(rec["ring"]) - {""})
    return good["r"].nunique(), n_rings, good["c"].nunique(), flagged.size


def loro(worlds: list[dict], columns: list[str], c: float) -> dict[str, tuple[float, float]]:
    """Ring recall and precision of each left-out fit regime, fitted on the others."""
    v = VerdictParams()
    out = {}
    for held in FIT_REGIMES:
        train = [w for w in worlds if w["regime"] != held]
        x = pd.concat([w["real"][columns] for w in train], ignore_index=True)
        y = np.concatenate([w["y"] for w in train])
        scorer = StructuralScorer.fit(x, y, c=c)
        found = rings = hits = flagged = 0
        for w in (w for w in worlds if w["regime"] == held):
            f, r, h, n = ring_quality(w, scorer.score(w["real"]), scorer.score(w["null"]), v)
            found, rings, hits, flagged = found + f, rings + r, hits + h, flagged + n
        out[held] = (found / max(rings, 1), hits / flagged if flagged else float("nan"))
    return out


def f1(recall: float, precision: float) -> float:
    if not np.isfinite(precision) or recall + precision == 0:
        return 0.0
    return 2 * recall * precision / (recall + precision)


def choose(table: pd.DataFrame, tol: float = 0.005) -> pd.Series:
    """The best mean F1; within ``tol`` of it the best worst regime; within ``tol`` of that the
    setting that leaves out the most features (:data:`FEATURE_SETS`), then the stronger
    regularisation."""
    near = table[table["mean_f1"] >= table["mean_f1"].max() - tol]
    near = near[near["worst_f1"] >= near["worst_f1"].max() - tol]
    return (
        near.assign(_k=near["features"].map(lambda k: len(FEATURE_SETS[k])), _c=near["C"])
        .sort_values(["_k", "_c"], ascending=[False, True], kind="stable")
        .iloc[0]
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--worlds", type=int, default=2, help="tuning worlds per fit regime")
    ap.add_argument("--accounts", type=int, default=40_000)
    ap.add_argument("--fresh", action="store_true", help="recompute the cached world features")
    ap.add_argument(
        "--gnn-scores",
        choices=("fold", "shipped"),
        default="fold",
        help="the GNN feature from the GNN trained without the world's regime (default) or the shipped one",
    )
    args = ap.parse_args(argv)
    worlds = load_worlds(args.worlds, args.accounts, args.fresh, args.gnn_scores)
    every = [c for c in worlds[0]["real"].columns if c != "size"]
    for variant in ("structure", "structure+gnn"):
        base = [c for c in every if variant == "structure+gnn" or c != GNN_FEATURE]
        sets = FEATURE_SETS if variant == "structure+gnn" else STRUCTURE_SETS
        rows = []
        for (name, drop), c in itertools.product(sets.items(), REGULARISATIONS):
            res = loro(worlds, [k for k in base if k not in drop], c)
            f = [f1(*res[r]) for r in FIT_REGIMES]
            row = {"features": name, "C": c, "mean_f1": np.mean(f), "worst_f1": np.min(f)}
            row.update({r: f"{res[r][0]:.2f}/{res[r][1]:.2f}" for r in FIT_REGIMES})
            rows.append(row)
        table = pd.DataFrame(rows)
        pick = choose(table)
        print(f"\n{variant}: left-out ring recall/precision per fit regime (before refinements)")
        print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
        print(f"chosen: features {pick['features']}, C {pick['C']}")


if __name__ == "__main__":
    main()
