"""Fits the shipped structural cluster scorer on generated tuning worlds of the fit regimes.

Tuning worlds are drawn from every regime of :data:`graphs.synthetic.regimes.FIT_REGIMES` with
seeds 1000+; ``bench.quality`` and ``bench.robustness`` evaluate on seeds 9000+, never used here,
and on the held-out regimes, never used for fitting anything.

    python -m bench.calibrate --worlds 2 --accounts 40000

writes ``graphs/structural_model.json`` with two variants: ``structure`` (evidence features alone) and
``structure+gnn`` (plus the members' mean GNN score). That GNN feature is cross-fitted
(``--gnn-scores fold``, the default): each fit regime's worlds are scored by the default-config GNN
trained on the other fit regimes (:mod:`bench.gnn_folds`), so the scorer weighs a GNN's score as it
is worth on a platform the GNN has not seen, not as it is on the GNN's own training regimes.
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
}
OUT = Path(__file__).resolve().parents[1] / "graphs" / "structural_model.json"


def tuning_features(
    n_worlds: int, n_accounts: int, gnn_scores: str | None = "fold"
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Cluster features (without and with the GNN feature; ``gnn_scores`` None: without) and truth
    over the tuning worlds."""
    plain, gnn, ys = [], [], []
    gnns = regime_gnns(gnn_scores) if gnn_scores else None
    worlds = [(r, TUNING_SEED + i, n_accounts) for r in FIT_REGIMES for i in range(n_worlds)]
    for regime, seed, size in worlds:
        t = time.perf_counter()
        world = generate_regime_world(regime, size, seed)
        log = EventLog.from_frame(world.events, source=f"tuning world {regime} {seed}")
        accounts = world.accounts.set_index("account_id")
        prep = prepare(log, accounts, DetectParams())
        truth = world.labels.set_index("account_id").reindex(log.account_ids)
        y = cluster_truth(prep.labels, truth["is_bot"].fillna(0).to_numpy()).reindex(prep.features.index)
        plain.append(prep.features)
        if gnns is not None:
            own = np.asarray(gnns[regime].score_graph(prep.graph))
            gnn.append(with_mean_model_score(prep.features, prep.labels, own))
        ys.append(y.fillna(0).to_numpy(int))
        print(
            f"world {regime} {seed}: {len(prep.features)} clusters, {int(ys[-1].sum())} ring-like, "
            f"{time.perf_counter() - t:.1f}s"
        )
    y = np.concatenate(ys)
    return pd.concat(plain, ignore_index=True), (pd.concat(gnn, ignore_index=True) if gnn else None), y


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
    ap.add_argument(
        "--gnn-scores",
        choices=("fold", "shipped"),
        default="fold",
        help="the GNN feature from the GNN trained without the world's regime (default) or the shipped one",
    )
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    plain, gnn, y = tuning_features(args.worlds, args.accounts, None if args.no_gnn else args.gnn_scores)
    meta = {
        "regimes": list(FIT_REGIMES),
        "tuning_seeds": [TUNING_SEED + i for i in range(args.worlds)],
        "accounts": args.accounts,
    }
    models = {"structure": fit_variant("structure", plain, y, meta).to_json()}
    if gnn is not None:
        models["structure+gnn"] = fit_variant(
            "structure+gnn", gnn, y, {**meta, "gnn_scores": args.gnn_scores}
        ).to_json()
    elif args.out.exists():  # keep a previously fitted GNN variant
        old = json.loads(args.out.read_text())
        if "structure+gnn" in old:
            models["structure+gnn"] = old["structure+gnn"]
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(models, indent=1))
    tmp.replace(args.out)
    for name, m in models.items():
        coefs = sorted(zip(m["feature_names"], m["coef"], strict=True), key=lambda kv: -abs(kv[1]))
        print(name, ", ".join(f"{k} {v:+.2f}" for k, v in coefs[:8]))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
