"""Models x datasets x seeds, on fixed and saved splits: one table to compare GNN variants honestly.

    python -m bench.models --models mlp,gbt,sage,rgcn --datasets minutes,camouflage,yelpchi \\
        --split-seeds 3 --init-seeds 2 --accounts 20000 --out out/models

Datasets are generated worlds of the regimes of :data:`graphs.synthetic.regimes.REGIMES` (world seed
9000: evaluation seeds, never used to fit the shipped models) and ``yelpchi`` (the real review graph,
``gnn.datasets.load_fraud_mat``; skipped with a message when ``../shared/data`` lacks it).

Splits: generated worlds use the ring-grouped 40/20/40 split of ``ringscope train`` (every member
of a ring in one part, so no test ring is half-seen in training); YelpChi uses the CARE-GNN
protocol (stratified 40/20/40 over reviews). Every split is drawn from its own *split seed*, saved
to ``OUT/splits/<dataset>-<split seed>.npz`` and read back from there on the next run (so a rerun or
a new model is measured on exactly the same nodes). Each model is trained with every *init seed* on
every split: the spread over init seeds is the model's own noise, the spread over splits the data's.

Writes ``OUT/results.json`` (one row per run) and ``OUT/results.md``: per dataset and model, mean
+- std over all runs of test ROC-AUC, AP and recall@k (GADBench's metrics), fit seconds, and how many
test positives and rings the splits hold (a test set of two rings says little: the table says so).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.realdata import CONFIG_DIR, resolve_config
from gnn.errors import GNNError
from gnn.train import train

SHARES = (0.4, 0.2)
WORLD_SEED = 9000
METRICS = ("roc_auc", "ap", "recall_at_k", "fit_seconds")


def world_dataset(regime: str, n_accounts: int) -> tuple[Any, pd.DataFrame]:
    """A generated world of ``regime`` as GNN input, with its labels table."""
    from gnn.scoring import graph_data
    from graphs.build import build_graph
    from graphs.events import EventLog
    from graphs.synthetic.regimes import generate_regime_world

    world = generate_regime_world(regime, n_accounts, WORLD_SEED)
    log = EventLog.from_frame(world.events, source=f"{regime} world {WORLD_SEED}")
    graph = build_graph(log, accounts=world.accounts.set_index("account_id"))
    labels = world.labels.set_index("account_id")
    data = graph_data(graph, labels)
    data.account_ids = graph.account_ids
    return data, labels


def load_split(
    out: Path, dataset: str, split_seed: int, data, labels: pd.DataFrame | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The saved split of ``dataset`` for ``split_seed``, drawn and saved first when absent."""
    path = out / "splits" / f"{dataset}-{split_seed}.npz"
    n = int(data.num_nodes)
    if path.is_file():
        saved = np.load(path)
        masks = tuple(saved[k] for k in ("train", "val", "test"))
        if masks[0].shape[0] != n:
            raise GNNError(f"{path}: a split of {masks[0].shape[0]} nodes for a dataset of {n}; delete it")
        return masks
    if labels is None:
        from gnn.synthetic import stratified_masks

        masks = stratified_masks(data.y, *SHARES, seed=split_seed)
    else:
        from service.training import ring_split

        masks = ring_split(data.account_ids, labels, seed=split_seed, shares=(*SHARES, 1 - sum(SHARES)))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp.npz")
    np.savez_compressed(tmp, train=masks[0], val=masks[1], test=masks[2])
    tmp.replace(path)
    return masks


def test_rings(labels: pd.DataFrame | None, data, test: np.ndarray) -> int | None:
    """Distinct rings among the test positives (None for YelpChi: no rings)."""
    if labels is None:
        return None
    lab = labels.reindex(data.account_ids)
    pos = test & (lab["is_bot"].fillna(0).to_numpy() == 1)
    rings = lab["ring_id"].fillna("").astype(str).to_numpy(object)[pos]
    return int(pd.Series(rings[rings != ""]).nunique())


def run(
    models: list[str],
    datasets: list[str],
    split_seeds: int,
    init_seeds: int,
    n_accounts: int,
    out: Path,
    epochs: int | None = None,
    config_dir: Path = CONFIG_DIR,
) -> list[dict[str, Any]]:
    """Every model x dataset x split seed x init seed; returns one row per run."""
    from gnn.datasets import load_fraud_mat
    from graphs.synthetic.regimes import REGIMES

    unknown = [d for d in datasets if d != "yelpchi" and d not in REGIMES]
    if unknown:
        raise GNNError(f"unknown dataset(s) {', '.join(unknown)}; known: yelpchi, {', '.join(REGIMES)}")
    overrides: dict[str, Any] = {} if epochs is None else {"epochs": epochs}
    configs = {m: resolve_config(m, config_dir, overrides) for m in models}
    rows: list[dict[str, Any]] = []
    for dataset in datasets:
        if dataset == "yelpchi":
            try:
                data, labels = load_fraud_mat("yelpchi"), None
            except GNNError as exc:
                print(f"yelpchi: skipped ({exc})", file=sys.stderr)
                continue
        else:
            data, labels = world_dataset(dataset, n_accounts)
        for split_seed in range(split_seeds):
            masks = load_split(out, dataset, split_seed, data, labels)
            y = data.y.numpy()
            n_pos = int((masks[2] & (y == 1)).sum())
            rings = test_rings(labels, data, masks[2])
            for name in models:
                for init_seed in range(init_seeds):
                    t = time.perf_counter()
                    _, metrics = train({**configs[name], "seed": init_seed}, data, *masks)
                    row = {
                        "dataset": dataset,
                        "model": name,
                        "split_seed": split_seed,
                        "init_seed": init_seed,
                        "test_positives": n_pos,
                        "test_rings": rings,
                        "seconds": round(time.perf_counter() - t, 2),
                        **{k: metrics.get(k) for k in (*METRICS, "best_epoch", "epochs_run")},
                    }
                    rows.append(row)
                    print(
                        f"  {dataset:<10} split {split_seed} init {init_seed} {name:<12} "
                        f"AUC {row['roc_auc']:.4f} AP {row['ap']:.4f} ({row['seconds']:.1f} s)",
                        file=sys.stderr,
                        flush=True,
                    )
    return rows


def summary_table(rows: list[dict[str, Any]]) -> str:
    """Markdown: per dataset and model, mean +- std over every run."""
    if not rows:
        return "(no runs)"
    df = pd.DataFrame(rows)
    lines = [
        "| dataset | model | runs | ROC-AUC | AP | recall@k | fit s | test positives / rings |",
        "| --- | --- | ---: | --- | --- | --- | ---: | --- |",
    ]
    for (dataset, model), g in df.groupby(["dataset", "model"], sort=False):
        cell = {k: f"{g[k].mean():.4f} ± {g[k].std(ddof=0):.4f}" for k in ("roc_auc", "ap", "recall_at_k")}
        rings = g["test_rings"].dropna()
        held = f"{g['test_positives'].mean():.0f}" + (f" / {rings.mean():.1f}" if len(rings) else "")
        if len(rings) and rings.min() < 5:
            held += " (few rings: read with care)"
        lines.append(
            f"| {dataset} | {model} | {len(g)} | {cell['roc_auc']} | {cell['ap']} | {cell['recall_at_k']} "
            f"| {g['fit_seconds'].mean():.1f} | {held} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.models", description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="mlp,gbt,sage,rgcn,bwgnn")
    ap.add_argument("--datasets", default="minutes,hours,camouflage,yelpchi")
    ap.add_argument("--split-seeds", type=int, default=3)
    ap.add_argument("--init-seeds", type=int, default=2)
    ap.add_argument("--accounts", type=int, default=20000, help="accounts per generated world")
    ap.add_argument("--epochs", type=int, help="override every config's epochs (quick runs)")
    ap.add_argument("--out", type=Path, default=Path("out/models"))
    ap.add_argument("--config-dir", type=Path, default=CONFIG_DIR)
    args = ap.parse_args(argv)
    split = lambda text: [x.strip() for x in text.split(",") if x.strip()]  # noqa: E731
    try:
        rows = run(
            split(args.models),
            split(args.datasets),
            args.split_seeds,
            args.init_seeds,
            args.accounts,
            args.out,
            args.epochs,
            args.config_dir,
        )
    except GNNError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    table = summary_table(rows)
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(rows, indent=1, default=float) + "\n")
    (args.out / "results.md").write_text(table + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
