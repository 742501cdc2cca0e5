"""Leave-one-regime-out choice of the default GNN's input features.

For every candidate feature set and every fit regime R (:data:`graphs.synthetic.regimes.FIT_REGIMES`),
the default GNN config is trained on the tuning worlds of the *other* fit regimes (seeds 2000+, the
GNN's own tuning seeds, the ring-grouped split of ``bench.train_default`` inside each world) and
measured on R's worlds: account ROC-AUC and AP over every labelled account. The held-out regimes are
never loaded. The set with the best mean left-out AP wins; within 0.005 of it the best worst regime,
then the set that leaves out more platform-unit features (:func:`choose`, fixed before the run).

    python -m bench.gnn_loro --worlds 2 --accounts 30000

Per-world inputs are cached under ``out/gnn_loro`` (``--fresh`` rebuilds them).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import average_precision_score, roc_auc_score

from gnn.config import load_config
from gnn.scoring import disjoint_union, graph_data
from gnn.train import train
from graphs.synthetic.regimes import FIT_REGIMES

TRAIN_SEED = 2000
ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "out" / "gnn_loro"

#: Account features measured in the platform's own units (days, events, targets and identifiers
#: per account): their scale is a property of the platform, not of coordination.
AGE_ACTIVITY = (
    "log_account_age_days",
    "log_events",
    "log_events_per_day",
    "log_active_days",
    "log_span_days",
)
FEATURE_SETS: dict[str, tuple[str, ...]] = {
    "all": (),
    "-age,activity": AGE_ACTIVITY,
    "-age,activity,breadth": AGE_ACTIVITY + ("log_targets", "log_identifiers"),
}


def world_inputs(regime: str, seed: int, n_accounts: int, fresh: bool) -> dict:
    """GNN input, labels and ring-grouped masks of one tuning world (cached)."""
    path = CACHE / f"{regime}_{seed}_{n_accounts}.pt"
    if path.exists() and not fresh:
        rec = torch.load(path, weights_only=False)
        rec["data"].feature_names = rec["names"]  # caches written before graph_data named them
        return rec
    from graphs.build import build_graph
    from graphs.events import EventLog
    from graphs.synthetic.regimes import generate_regime_world
    from service.training import ring_split

    world = generate_regime_world(regime, n_accounts, seed)
    log = EventLog.from_frame(world.events, source=f"{regime} world {seed}")
    labels = world.labels.set_index("account_id")
    graph = build_graph(log, world.accounts.set_index("account_id"))
    tr, va, _ = ring_split(graph.account_ids, labels, seed=0)
    rec = {"data": graph_data(graph, labels), "names": list(graph.feature_names), "train": tr, "val": va}
    CACHE.mkdir(parents=True, exist_ok=True)
    torch.save(rec, path)
    return rec


def relative(rec: dict) -> dict:
    """``rec`` with every feature as its percentile among the world's own accounts (ties averaged):
    the log-relative candidate of ``--relative``."""
    from scipy.stats import rankdata

    x = rec["data"].x.numpy()
    ranks = rankdata(x, axis=0) / max(x.shape[0], 1)
    data = rec["data"].clone()
    data.x = torch.from_numpy(ranks.astype(np.float32))
    return {**rec, "data": data}


def train_without(records: dict, left_out: str, cfg):
    """The config trained on the records ``(regime, seed) -> world inputs`` of every regime but
    ``left_out`` (their ring-grouped train / validation masks): ``(scorer, metrics, feature names)``."""
    train_recs = [r for (regime, _), r in records.items() if regime != left_out]
    if not train_recs:
        raise ValueError(f"no training worlds left without {left_out!r}")
    data = disjoint_union([r["data"] for r in train_recs])
    tr = torch.from_numpy(np.concatenate([r["train"] for r in train_recs]))
    va = torch.from_numpy(np.concatenate([r["val"] for r in train_recs]))
    scorer, metrics = train(cfg, data, tr, va)
    return scorer, metrics, scorer.feature_names_ or list(train_recs[0]["names"])


def fold(records: dict, left_out: str, drop: tuple[str, ...], cfg) -> dict:
    """Train on every regime but ``left_out`` (the config's ``exclude_features`` set to ``drop``),
    score ``left_out``'s worlds."""
    test_recs = [r for (reg, _), r in records.items() if reg == left_out]
    scorer, _, _ = train_without(records, left_out, cfg.model_copy(update={"exclude_features": list(drop)}))
    ys, ss = [], []
    for r in test_recs:
        y = r["data"].y.numpy()
        s = np.asarray(scorer.score(r["data"]))
        ys.append(y[y >= 0])
        ss.append(s[y >= 0])
    y, s = np.concatenate(ys), np.concatenate(ss)
    return {"roc_auc": float(roc_auc_score(y, s)), "ap": float(average_precision_score(y, s))}


def choose(table: dict[str, dict[str, dict]]) -> str:
    """Best mean left-out AP; within 0.005 the best worst regime; then more features left out."""
    mean = {k: float(np.mean([v["ap"] for v in folds.values()])) for k, folds in table.items()}
    worst = {k: float(np.min([v["ap"] for v in folds.values()])) for k, folds in table.items()}
    best = max(mean.values())
    near = [k for k in table if mean[k] >= best - 0.005]
    top = max(worst[k] for k in near)
    near = [k for k in near if worst[k] >= top - 0.005]
    return max(near, key=lambda k: len(FEATURE_SETS[k]))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--worlds", type=int, default=2, help="tuning worlds per fit regime")
    ap.add_argument("--accounts", type=int, default=30_000)
    ap.add_argument("--config", type=Path, default=ROOT / "gnn" / "configs" / "default.yaml")
    ap.add_argument("--sets", default=";".join(FEATURE_SETS), help="candidate feature sets, ';'-separated")
    ap.add_argument("--fresh", action="store_true", help="rebuild the cached per-world inputs")
    ap.add_argument(
        "--relative", action="store_true", help="features as percentiles among each world's own accounts"
    )
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    cfg = load_config(args.config)
    records = {}
    for regime in FIT_REGIMES:
        for i in range(args.worlds):
            seed = TRAIN_SEED + i
            records[(regime, seed)] = world_inputs(regime, seed, args.accounts, args.fresh)
    if args.relative:
        records = {k: relative(r) for k, r in records.items()}
    # Fold results are cached too (a fold trains for minutes): keyed by config, worlds, set and regime.
    done_path = CACHE / f"folds_{args.config.stem}_{args.worlds}x{args.accounts}.json"
    done = json.loads(done_path.read_text()) if done_path.exists() and not args.fresh else {}
    table: dict[str, dict[str, dict]] = {}
    for name in args.sets.split(";"):
        table[name] = {}
        for regime in FIT_REGIMES:
            t = time.perf_counter()
            key = f"{'relative:' if args.relative else ''}{name}|{regime}"
            if key not in done:
                done[key] = fold(records, regime, FEATURE_SETS[name], cfg)
                done_path.write_text(json.dumps(done, indent=1))
            table[name][regime] = m = done[key]
            print(
                f"{name:<24} left out {regime:<11} ROC-AUC {m['roc_auc']:.3f} AP {m['ap']:.3f} "
                f"({time.perf_counter() - t:.0f} s)",
                flush=True,
            )
    head = " ".join(f"{r:>11}" for r in FIT_REGIMES)
    print(f"\n{'features left out':<24} {'mean AP':>8} {'worst AP':>8} {head}")
    for name, folds in table.items():
        aps = [folds[r]["ap"] for r in FIT_REGIMES]
        print(f"{name:<24} {np.mean(aps):8.3f} {np.min(aps):8.3f} " + " ".join(f"{a:11.3f}" for a in aps))
    chosen = choose(table)
    print(f"\nchosen: {chosen}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"table": table, "chosen": chosen}, indent=1))


if __name__ == "__main__":
    main()
