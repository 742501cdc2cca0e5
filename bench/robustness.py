"""Detection quality across regimes of generated worlds, and on the real YelpChi review log.

    python -m bench.robustness [--accounts 30000] [--seeds 2] [--regimes hours,day] [--no-yelpchi] [--loro]
                               [--detectors default,structure,reference] [--json out/robustness.json]

For every regime of :data:`graphs.synthetic.regimes.REGIMES` and every evaluation seed (9000 + i,
never used for fitting anything) it generates a world and runs each detector on the same log:

* ``default``: ``ringscope detect`` as shipped (structural evidence + the default GNN model);
* ``structure``: ``ringscope detect --structure-only``;
* ``reference``: the simple co-action detector of :mod:`bench.reference`.

With ``--loro`` a fit regime's worlds are scored by models that never saw it: the default-config GNN
trained on the other fit regimes (:mod:`bench.gnn_folds`) in place of the shipped one, and the
structural scorers fitted on the other fit regimes' tuning worlds; every regime is then a held-out
measurement ("fitted on" False everywhere).

It prints ring recall and ring precision (Jaccard >= 0.5), account ROC-AUC and AP, benign false
positives (share of benign accounts seen in the log with verdict ``ring``; and among benign
look-alikes) per regime and detector, marking the regimes used for fitting the shipped models
(:data:`graphs.synthetic.regimes.FIT_REGIMES`); then ring recall per ring kind.

The YelpChi part (``yelpchi_eventlog.zip`` in ``RINGSCOPE_DATA`` or ``../shared/data``, see
``data/README.md``; skipped with a message when absent)
runs ``detect`` unsupervised (the shipped model and structure only) against the user labels, then,
on 5 stratified 40/20/40 user splits, trains ringscope's default model and its gradient-boosted
trees on 40% of the labels next to a behaviour-feature tree baseline (review count, activity span,
products, mean size of the same-product same-day burst; and the same plus the log's ``rating``).
"""

from __future__ import annotations

import argparse
import functools
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench.reference import reference_detect
from graphs.events import EventLog
from graphs.truth import quality_report

EVAL_SEED = 9000
KEYS = [
    "ring_recall",
    "ring_precision",
    "account_roc_auc",
    "account_ap",
    "benign_fp_rate",
    "lookalike_fp_rate",
]


def benign_fp(accounts: pd.DataFrame, labels: pd.DataFrame) -> float:
    """Share of benign accounts of the log whose verdict is ``ring``."""
    y = labels["is_bot"].reindex(accounts["account_id"]).fillna(0).to_numpy(int)
    flagged = (accounts["verdict"] == "ring").to_numpy()
    return float(flagged[y == 0].mean()) if (y == 0).any() else float("nan")


@functools.cache
def left_out_models(regime: str) -> dict | None:
    """For ``--loro``: the models a fit regime's worlds are scored with when it is left out of every
    fit, namely the default-config GNN trained without it (:mod:`bench.gnn_folds`) and both scorer
    variants fitted on the other fit regimes' tuning worlds (:mod:`bench.scorer_loro`'s cross-fitted
    features, :data:`bench.calibrate.SETTINGS`). None for a held-out regime (the shipped models
    never saw it). Cached: every seed of a regime uses the same ones."""
    from bench.calibrate import fit_variant
    from bench.gnn_folds import fold_dir, fold_models
    from bench.scorer_loro import GNN_FEATURE, load_worlds
    from graphs.synthetic.regimes import FIT_REGIMES

    if regime not in FIT_REGIMES:
        return None
    fold_models()  # trains the folds that are missing
    others = [w for w in load_worlds(2, 40_000, False, "fold") if w["regime"] != regime]
    x = pd.concat([w["real"].drop(columns="size") for w in others], ignore_index=True)
    y = np.concatenate([w["y"] for w in others])
    return {
        "model": fold_dir(regime, 2, 30_000),
        "default": fit_variant("structure+gnn", x, y, {"left_out_regime": regime}),
        "structure": fit_variant("structure", x.drop(columns=GNN_FEATURE), y, {"left_out_regime": regime}),
    }


def evaluate_world(
    regime: str, n_accounts: int, seed: int, detectors: list[str], loro: bool = False
) -> list[dict]:
    """Every detector on one generated world of a regime (``loro``: a fit regime is scored with the
    models fitted without it, :func:`left_out_models`)."""
    from graphs.scoring import VerdictParams
    from graphs.synthetic.regimes import generate_regime_world
    from service.pipeline import LONE_GNN_SHARE, DetectParams, run_detection

    world = generate_regime_world(regime, n_accounts, seed)
    log = EventLog.from_frame(world.events, source=f"{regime} world {seed}")
    accounts = world.accounts.set_index("account_id")
    labels = world.labels.set_index("account_id")
    left_out = left_out_models(regime) if loro else None
    rows = []
    for name in detectors:
        t = time.perf_counter()
        if name == "reference":
            acc, clu = reference_detect(log)
            extra = {}
        else:
            model, kw = ("default" if name == "default" else None), {}
            if left_out is not None:
                # The fold GNN stands in for the shipped model, with the knobs the shipped model gets.
                model = left_out["model"] if name == "default" else None
                p = DetectParams(verdict=VerdictParams(lone_gnn_share=LONE_GNN_SHARE["shipped"]))
                kw = {"params": p, "scorer": left_out[name]}
            det = run_detection(log, accounts, model=model, **kw)
            acc, clu = det.accounts, det.clusters
            extra = {"expected_false_rings": det.params.get("expected_false_rings")}
        seconds = time.perf_counter() - t
        q = quality_report(acc, clu, labels)
        q["benign_fp_rate"] = benign_fp(acc, labels)
        rows.append(
            {
                "regime": regime,
                "seed": seed,
                "detector": name,
                "models": "left out" if left_out is not None else "shipped",
                "seconds": round(seconds, 2),
                "events": len(world.events),
                **{k: q.get(k) for k in KEYS},
                "true_rings": q["true_rings"],
                "ring_clusters": q["ring_clusters"],
                "recall_by_kind": q.get("ring_recall_by_kind", {}),
                "fp_by_lookalike": q.get("lookalike_fp_by_kind", {}),
                **extra,
            }
        )
        print(
            f"  {regime:<11} seed {seed} {name:<9} recall {q['ring_recall']:.3f} precision "
            f"{q['ring_precision']:.3f} AP {q['account_ap']:.3f} benign FP {100 * q['benign_fp_rate']:.3f}% "
            f"({seconds:.1f} s)",
            flush=True,
        )
    return rows


def regime_table(rows: list[dict]) -> pd.DataFrame:
    """Mean over seeds per regime and detector."""
    from graphs.synthetic.regimes import FIT_REGIMES

    df = pd.DataFrame(rows)
    out = df.groupby(["regime", "detector"], sort=False)[KEYS + ["seconds"]].mean()
    left = set(df.loc[df.get("models", pd.Series("shipped", index=df.index)) == "left out", "regime"])
    out.insert(0, "fitted on", [r in FIT_REGIMES and r not in left for r, _ in out.index])
    return out


def kind_table(rows: list[dict]) -> pd.DataFrame:
    """Ring recall per ring kind (mean over seeds) per regime and detector."""
    recs = []
    for r in rows:
        for kind, v in (r.get("recall_by_kind") or {}).items():
            recs.append({"regime": r["regime"], "detector": r["detector"], "kind": kind, "recall": v})
    if not recs:
        return pd.DataFrame()
    df = pd.DataFrame(recs)
    return df.pivot_table(index=["regime", "detector"], columns="kind", values="recall", aggfunc="mean")


# --------------------------------------------------------------------------- YelpChi


def yelpchi_log(data_dir: Path | None) -> tuple[EventLog, pd.DataFrame] | None:
    """The YelpChi event log and user labels (``graphs.public_data.load_yelpchi``; None when absent)."""
    from graphs.errors import InputError
    from graphs.public_data import load_yelpchi

    try:
        return load_yelpchi(data_dir)
    except InputError as exc:
        print(f"YelpChi: {exc}; skipped")
        return None


def behaviour_features(log: EventLog, with_rating: bool) -> pd.DataFrame:
    """The baseline's per-user behaviour: review count, activity span, products, same-day burst size."""
    df = pd.DataFrame(
        {"user": log.account, "product": log.entity, "day": log.timestamp // 86400, "t": log.timestamp}
    )
    df["burst"] = df.groupby(["product", "day"])["user"].transform("size")
    g = df.groupby("user")
    out = pd.DataFrame(
        {
            "reviews": g.size(),
            "span_days": (g["t"].max() - g["t"].min()) / 86400,
            "products": g["product"].nunique(),
            "burst": g["burst"].mean(),
        }
    )
    if with_rating:
        df["rating"] = pd.to_numeric(pd.Series(log.attributes["rating"]), errors="coerce")
        g = df.groupby("user")
        out["rating_mean"] = g["rating"].mean()
        out["rating_extreme"] = g["rating"].apply(lambda r: ((r == 1) | (r == 5)).mean())
    return out.reindex(range(log.n_accounts)).fillna(0)


def tree_baseline(
    x: pd.DataFrame, y: np.ndarray, train: np.ndarray, test: np.ndarray, seed: int
) -> np.ndarray:
    """The fifteen-line gradient-boosted tree on behaviour features."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    model = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, random_state=seed)
    model.fit(x.to_numpy()[train], y[train])
    return model.predict_proba(x.to_numpy()[test])[:, 1]


def user_split(y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stratified 40% train / 20% validation / 40% test masks over labelled users."""
    rng = np.random.default_rng(seed)
    masks = [np.zeros(y.size, dtype=bool) for _ in range(3)]
    for cls in (0, 1):
        idx = np.flatnonzero(y == cls)
        idx = idx[rng.permutation(idx.size)]
        a, b = int(0.4 * idx.size), int(0.6 * idx.size)
        masks[0][idx[:a]], masks[1][idx[a:b]], masks[2][idx[b:]] = True, True, True
    return masks[0], masks[1], masks[2]


def yelpchi(seeds: int, data_dir: Path | None) -> dict | None:
    """YelpChi end to end: unsupervised detect, then trained on 40% of the user labels."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    from gnn.config import load_config
    from gnn.scoring import graph_data
    from gnn.train import train
    from graphs.attributes import AttributeParams
    from graphs.build import build_graph
    from graphs.params import GraphParams
    from service.pipeline import DetectParams, run_detection

    loaded = yelpchi_log(data_dir)
    if loaded is None:
        return None
    log, labels = loaded
    # in_caregnn_subset is an artefact of the CARE-GNN conversion, not platform data: switched off.
    gp = GraphParams(attributes=AttributeParams(ignore=("in_caregnn_subset",)))
    y = labels["is_bot"].reindex(log.account_ids).to_numpy(int)
    out: dict = {"users": int(y.size), "spammers": int(y.sum())}
    for name, model in (("default", "default"), ("structure", None)):
        t = time.perf_counter()
        det = run_detection(log, model=model, params=DetectParams(graph=gp))
        s = det.accounts["score"].to_numpy(float)
        out[f"unsupervised_{name}"] = {
            "roc_auc": float(roc_auc_score(y, s)),
            "ap": float(average_precision_score(y, s)),
            "seconds": round(time.perf_counter() - t, 1),
        }
        print(f"YelpChi unsupervised detect ({name}): ROC-AUC {out[f'unsupervised_{name}']['roc_auc']:.3f}")
    graph = build_graph(log, params=gp)
    data = graph_data(graph, labels)
    configs = Path(__file__).resolve().parents[1] / "gnn" / "configs"
    runs = []
    base = {False: behaviour_features(log, False), True: behaviour_features(log, True)}
    for seed in range(seeds):
        tr, va, te = user_split(y, seed)
        row = {"seed": seed}
        for tag, cfg_name in (("ringscope_default", "default"), ("ringscope_gbt", "gbt")):
            cfg = load_config(configs / f"{cfg_name}.yaml").model_copy(update={"seed": seed})
            scorer, _ = train(cfg, data, tr, va, te)
            p = scorer.score(data)
            row[tag] = (float(roc_auc_score(y[te], p[te])), float(average_precision_score(y[te], p[te])))
        for with_rating in (False, True):
            p = tree_baseline(base[with_rating], y, tr | va, te, seed)
            tag = "baseline_rating" if with_rating else "baseline"
            row[tag] = (float(roc_auc_score(y[te], p)), float(average_precision_score(y[te], p)))
        runs.append(row)
        print("YelpChi seed", seed, {k: tuple(round(v, 3) for v in x) for k, x in row.items() if k != "seed"})
    summary = {}
    for tag in ("ringscope_default", "ringscope_gbt", "baseline", "baseline_rating"):
        vals = np.array([r[tag] for r in runs])
        summary[tag] = {
            "roc_auc": f"{vals[:, 0].mean():.3f} ± {vals[:, 0].std():.3f}",
            "ap": f"{vals[:, 1].mean():.3f} ± {vals[:, 1].std():.3f}",
        }
    out["trained"] = summary
    out["runs"] = runs
    return out


def main(argv: list[str] | None = None) -> None:
    from graphs.synthetic.regimes import REGIMES

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--accounts", type=int, default=30_000)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument(
        "--seed-base",
        type=int,
        default=EVAL_SEED,
        help="first world seed (default 9000, never used for fitting; use e.g. 3000 while tuning)",
    )
    ap.add_argument("--regimes", default="all", help="comma-separated regime names, or all")
    ap.add_argument("--detectors", default="default,structure,reference")
    ap.add_argument("--yelpchi-seeds", type=int, default=5)
    ap.add_argument("--no-yelpchi", action="store_true")
    ap.add_argument("--no-worlds", action="store_true", help="YelpChi only")
    ap.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="folder of yelpchi_eventlog.zip (default: RINGSCOPE_DATA, then ../shared/data)",
    )
    ap.add_argument(
        "--loro",
        action="store_true",
        help="score each fit regime with the GNN and scorers fitted without it (bench.gnn_folds, "
        "bench.scorer_loro): every regime then measures models that never saw it",
    )
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    regimes = list(REGIMES) if args.regimes == "all" else args.regimes.split(",")
    detectors = args.detectors.split(",")
    result: dict = {"accounts": args.accounts, "seeds": args.seeds}
    rows: list[dict] = []
    if not args.no_worlds:
        for regime in regimes:
            for i in range(args.seeds):
                rows += evaluate_world(regime, args.accounts, args.seed_base + i, detectors, args.loro)
        pd.set_option("display.width", 220)
        pd.set_option("display.max_columns", 30)
        table = regime_table(rows)
        print("\nper regime (mean over seeds; benign FP as a share of benign accounts):")
        print(table.round(4).to_string())
        print("\nring recall per ring kind:")
        print(kind_table(rows).round(3).to_string())
        result["worlds"] = rows
    if not args.no_yelpchi:
        result["yelpchi"] = yelpchi(args.yelpchi_seeds, args.data_dir)
        if result["yelpchi"]:
            print("\nYelpChi trained on 40% of user labels (test ROC-AUC, AP; mean ± std over splits):")
            for tag, v in result["yelpchi"]["trained"].items():
                print(f"  {tag:<18} ROC-AUC {v['roc_auc']}  AP {v['ap']}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1, default=float))


if __name__ == "__main__":
    main()
