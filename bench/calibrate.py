"""Fits the shipped structural cluster scorer on generated tuning worlds of the fit regimes.

Tuning worlds are drawn from every regime of :data:`graphs.synthetic.regimes.FIT_REGIMES` with
seeds 1000+; ``bench.quality`` and ``bench.robustness`` evaluate on seeds 9000+, never used here,
and on the held-out regimes, never used for fitting anything.

    python -m bench.calibrate --worlds 2 --accounts 40000

writes ``graphs/structural_model.json`` with two variants: ``structure`` (evidence features alone) and
``structure+gnn`` (for the shipped default model; with the members' mean GNN score as a candidate
input, cross-fitted: each fit regime's worlds are scored by the default-config GNN trained on the
other fit regimes, :mod:`bench.gnn_folds`, so the scorer weighs a GNN's score as it is worth on a
platform the GNN has not seen) and ``structure+trained`` (for a model trained on the platform's own
labels: the shipped GNN's scores of its own training regimes stand in for a model scoring its own
distribution).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench.scorer_loro import FEATURE_SETS, regime_gnns
from graphs.events import EventLog
from graphs.scoring import StructuralScorer, with_mean_model_score
from graphs.synthetic.regimes import FIT_REGIMES, generate_regime_world
from graphs.truth import cluster_truth
from service.pipeline import DetectParams, prepare

TUNING_SEED = 1000
#: Per variant: the features left out (a :data:`bench.scorer_loro.FEATURE_SETS` key) and the inverse
#: L2 strength of the logistic regression, chosen leave-one-regime-out over the fit regimes by
#: ``python -m bench.scorer_loro`` (docs/detection.md, "Choosing the scorer's settings"). Before it:
#: every feature at C 1.0 (0.3 and a mix of world sizes were tried: ring precision fell on the tuning
#: seeds; ``--worlds 6`` instead of 2 moved the coefficients a lot and, on tuning seeds 3004-3009, cut
#: big_rings ring recall from 0.87 to 0.64, 2026-12-01).
SETTINGS: dict[str, tuple[str, float]] = {
    "structure": ("-age,activity", 0.1),
    # Chosen with cross-fitted GNN scores (bench.gnn_folds): the GNN feature left out (2026-12-03).
    "structure+gnn": ("-age,activity,gnn", 0.1),
    # A model trained on the platform's own labels scores its own distribution: chosen with the
    # shipped GNN's scores of its own training regimes (`bench.scorer_loro --gnn-scores shipped`).
    "structure+trained": ("-absolute", 0.1),
}
#: Where each variant's GNN feature comes from (``bench.scorer_loro.regime_gnns``).
GNN_SCORES = {"structure+gnn": "fold", "structure+trained": "shipped"}
OUT = Path(__file__).resolve().parents[1] / "graphs" / "structural_model.json"


def tuning_features(
    n_worlds: int, n_accounts: int, gnn_scores: tuple[str, ...] = ("fold", "shipped")
) -> tuple[dict[str, pd.DataFrame], np.ndarray]:
    """Cluster features over the tuning worlds, ``""`` without the GNN feature and one frame per GNN
    source of ``gnn_scores`` with it, and the clusters' truth."""
    frames: dict[str, list] = {"": [], **{k: [] for k in gnn_scores}}
    ys = []
    gnns = {k: regime_gnns(k) for k in gnn_scores}
    worlds = [(r, TUNING_SEED + i, n_accounts) for r in FIT_REGIMES for i in range(n_worlds)]
    for regime, seed, size in worlds:
        t = time.perf_counter()
        world = generate_regime_world(regime, size, seed)
        log = EventLog.from_frame(world.events, source=f"tuning world {regime} {seed}")
        accounts = world.accounts.set_index("account_id")
        prep = prepare(log, accounts, DetectParams())
        truth = world.labels.set_index("account_id").reindex(log.account_ids)
        y = cluster_truth(prep.labels, truth["is_bot"].fillna(0).to_numpy()).reindex(prep.features.index)
        frames[""].append(prep.features)
        for k, models in gnns.items():
            own = np.asarray(models[regime].score_graph(prep.graph))
            frames[k].append(with_mean_model_score(prep.features, prep.labels, own))
        ys.append(y.fillna(0).to_numpy(int))
        print(
            f"world {regime} {seed}: {len(prep.features)} clusters, {int(ys[-1].sum())} ring-like, "
            f"{time.perf_counter() - t:.1f}s"
        )
    return {k: pd.concat(v, ignore_index=True) for k, v in frames.items()}, np.concatenate(ys)


def fit_variant(variant: str, features: pd.DataFrame, y: np.ndarray, meta: dict) -> StructuralScorer:
    """The scorer of one variant with its chosen settings (:data:`SETTINGS`)."""
    name, c = SETTINGS[variant]
    drop = [k for k in FEATURE_SETS[name] if k in features.columns]
    meta = {**meta, "left_out_features": drop, "C": c}
    return StructuralScorer.fit(features.drop(columns=drop), y, c=c, meta=meta)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--worlds", type=int, default=2, help="worlds per fit regime")
    ap.add_argument("--accounts", type=int, default=40_000)
    ap.add_argument("--no-gnn", action="store_true", help="fit the structure-only variant alone")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    variants = ["structure"] if args.no_gnn else list(SETTINGS)
    sources = tuple(dict.fromkeys(GNN_SCORES[v] for v in variants if v in GNN_SCORES))
    frames, y = tuning_features(args.worlds, args.accounts, sources)
    meta = {
        "regimes": list(FIT_REGIMES),
        "tuning_seeds": [TUNING_SEED + i for i in range(args.worlds)],
        "accounts": args.accounts,
    }
    # Without --no-gnn every variant is refitted; with it the GNN variants of the old file are kept.
    models = json.loads(args.out.read_text()) if args.no_gnn and args.out.exists() else {}
    for v in variants:
        source = GNN_SCORES.get(v)
        extra = {"gnn_scores": source} if source else {}
        models[v] = fit_variant(v, frames[source or ""], y, {**meta, **extra}).to_json()
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(models, indent=1))
    tmp.replace(args.out)
    for name, m in models.items():
        coefs = sorted(zip(m["feature_names"], m["coef"], strict=True), key=lambda kv: -abs(kv[1]))
        print(name, ", ".join(f"{k} {v:+.2f}" for k, v in coefs[:8]))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
