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

``--transfer`` measures what a shipped model faces instead: each model is trained once per init
seed on the disjoint union of worlds of the training regimes (``--train-regimes``, default the fit
regimes but reviews; seeds 2000+, ring-grouped 80/20 train/validation inside every world, saved to
``OUT/splits/transfer-<split seed>.npz``) and then scores every dataset's evaluation world whole
(seed 9000; held-out regimes were never trained on). ``--split-seeds N`` repeats that N times, each
repeat on new training worlds, a new split and new evaluation worlds (seed 9000 + repeat).
``yelpchi`` has other features and is skipped there.

``--loro`` (leave one regime out) runs that once per regime of ``--train-regimes``, trained on the
others and scored on the one left out: a way to choose among models on regimes they were not fitted
on without using the held-out regimes for the choice.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.realdata import CONFIG_DIR, resolve_config
from gnn.errors import GNNError
from gnn.train import train
from graphs.files import atomic_write

SHARES = (0.4, 0.2)
WORLD_SEED = 9000
METRICS = ("roc_auc", "ap", "recall_at_k", "fit_seconds")


def world_dataset(regime: str, n_accounts: int, seed: int = WORLD_SEED) -> tuple[Any, pd.DataFrame]:
    """A generated world of ``regime`` as GNN input, with its labels table."""
    from gnn.scoring import graph_data
    from graphs.build import build_graph
    from graphs.events import EventLog
    from graphs.synthetic.regimes import generate_regime_world

    world = generate_regime_world(regime, n_accounts, seed)
    log = EventLog.from_frame(world.events, source=f"{regime} world {seed}")
    graph = build_graph(log, accounts=world.accounts.set_index("account_id"))
    labels = world.labels.set_index("account_id")
    data = graph_data(graph, labels)
    data.account_ids = graph.account_ids
    return data, labels


def saved_masks(path: Path, n_nodes: int, names: tuple[str, ...], draw) -> tuple[np.ndarray, ...]:
    """The boolean masks saved at ``path`` (one per name), or ``draw()``'s, saved there first.

    Raises:
        GNNError: the saved masks are for a graph of another size.
    """
    if path.is_file():
        saved = np.load(path)
        masks = tuple(saved[k] for k in names)
        if masks[0].shape[0] != n_nodes:
            raise GNNError(
                f"{path}: a split of {masks[0].shape[0]} nodes for a graph of {n_nodes}; delete it"
            )
        return masks
    masks = tuple(draw())
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:  # a file object: np.savez would add ".npz" to a name
            np.savez_compressed(fh, **dict(zip(names, masks, strict=True)))

    atomic_write(path, write)
    return masks


def load_split(
    out: Path, dataset: str, split_seed: int, data, labels: pd.DataFrame | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The saved split of ``dataset`` for ``split_seed``, drawn and saved first when absent."""

    def draw():
        if labels is None:
            from gnn.synthetic import stratified_masks

            return stratified_masks(data.y, *SHARES, seed=split_seed)
        from service.training import ring_split

        return ring_split(data.account_ids, labels, seed=split_seed, shares=(*SHARES, 1 - sum(SHARES)))

    path = out / "splits" / f"{dataset}-{split_seed}.npz"
    return saved_masks(path, int(data.num_nodes), ("train", "val", "test"), draw)


def model_configs(models: list[str], config_dir: Path, epochs: int | None) -> dict[str, dict[str, Any]]:
    """Each model's config (``bench.realdata.resolve_config``), with ``epochs`` overridden when given."""
    overrides: dict[str, Any] = {} if epochs is None else {"epochs": epochs}
    return {m: resolve_config(m, config_dir, overrides) for m in models}


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
    on_trained: Callable[..., None] | None = None,
) -> list[dict[str, Any]]:
    """Every model x dataset x split seed x init seed; returns one row per run.

    ``on_trained(dataset=, model=, split_seed=, init_seed=, scorer=, data=, masks=)``, when given, is
    called after each fit (to keep test scores for curves, say, without training again).
    """
    from gnn.datasets import load_fraud_mat
    from graphs.synthetic.regimes import REGIMES

    unknown = [d for d in datasets if d != "yelpchi" and d not in REGIMES]
    if unknown:
        raise GNNError(f"unknown dataset(s) {', '.join(unknown)}; known: yelpchi, {', '.join(REGIMES)}")
    configs = model_configs(models, config_dir, epochs)
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
                    scorer, metrics = train({**configs[name], "seed": init_seed}, data, *masks)
                    if on_trained is not None:
                        on_trained(
                            dataset=dataset,
                            model=name,
                            split_seed=split_seed,
                            init_seed=init_seed,
                            scorer=scorer,
                            data=data,
                            masks=masks,
                        )
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


def run_transfer(
    models: list[str],
    datasets: list[str],
    train_regimes: list[str],
    train_worlds: int,
    init_seeds: int,
    n_accounts: int,
    out: Path,
    epochs: int | None = None,
    config_dir: Path = CONFIG_DIR,
    repeats: int = 1,
) -> list[dict[str, Any]]:
    """Trained on worlds of ``train_regimes``, scored on each dataset's evaluation world.

    Repeat ``r`` (``0 .. repeats-1``) draws its own data: training worlds with seeds ``2000 + r *
    train_worlds + i``, its own train/validation split (split seed ``r``) and evaluation worlds with
    seed ``9000 + r``; every model is trained with each init seed on it. So the spread over repeats
    is the data's (which worlds, which rings), the spread over init seeds the model's own; tree
    models are deterministic given their data, and only repeats move them.
    """
    from graphs.synthetic.regimes import REGIMES

    unknown = [d for d in [*datasets, *train_regimes] if d not in REGIMES]
    if unknown:
        raise GNNError(f"unknown regime(s) {', '.join(unknown)}; known: {', '.join(REGIMES)}")
    configs = model_configs(models, config_dir, epochs)
    rows: list[dict[str, Any]] = []
    for repeat in range(repeats):
        rows += _transfer_repeat(
            models, configs, datasets, train_regimes, train_worlds, init_seeds, n_accounts, out, repeat
        )
    return rows


def run_loro(
    models: list[str],
    regimes: list[str],
    train_worlds: int,
    init_seeds: int,
    n_accounts: int,
    out: Path,
    epochs: int | None = None,
    config_dir: Path = CONFIG_DIR,
    repeats: int = 1,
) -> list[dict[str, Any]]:
    """Leave one regime out: for each of ``regimes``, :func:`run_transfer` trained on the others and
    scored on its evaluation worlds (splits under ``OUT/loro-<regime>/``). This is how to choose among
    models on regimes they were not fitted on without touching the held-out regimes."""
    rows: list[dict[str, Any]] = []
    for left_out in regimes:
        others = [r for r in regimes if r != left_out]
        rows += run_transfer(
            models,
            [left_out],
            others,
            train_worlds,
            init_seeds,
            n_accounts,
            out / f"loro-{left_out}",
            epochs,
            config_dir,
            repeats,
        )
    return rows


def _transfer_repeat(
    models: list[str],
    configs: dict[str, dict[str, Any]],
    datasets: list[str],
    train_regimes: list[str],
    train_worlds: int,
    init_seeds: int,
    n_accounts: int,
    out: Path,
    split_seed: int,
) -> list[dict[str, Any]]:
    """One repeat of :func:`run_transfer`: its training worlds, split and evaluation worlds."""
    from gnn.metrics import evaluate
    from gnn.scoring import disjoint_union
    from service.training import ring_split

    first = 2000 + split_seed * train_worlds
    seeds = [(r, first + i) for r in train_regimes for i in range(train_worlds)]
    worlds = [world_dataset(r, n_accounts, seed=seed) for r, seed in seeds]
    union = disjoint_union([data for data, _ in worlds])

    def draw():
        parts = [
            ring_split(d.account_ids, lab, seed=split_seed, shares=(0.8, 0.2, 0.0))[:2] for d, lab in worlds
        ]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    path = out / "splits" / f"transfer-{split_seed}.npz"
    train_mask, val_mask = saved_masks(path, int(union.num_nodes), ("train", "val"), draw)
    evals = {d: world_dataset(d, n_accounts, seed=WORLD_SEED + split_seed) for d in datasets}
    rows: list[dict[str, Any]] = []
    for name in models:
        for init_seed in range(init_seeds):
            t = time.perf_counter()
            scorer, _ = train({**configs[name], "seed": init_seed}, union, train_mask, val_mask)
            fit = time.perf_counter() - t
            for dataset, (data, labels) in evals.items():
                y = data.y.numpy()
                known = y >= 0
                m = evaluate(y[known], scorer.score(data)[known], scorer.threshold_)
                rings = test_rings(labels, data, known)
                rows.append(
                    {
                        "dataset": dataset,
                        "model": name,
                        "split_seed": split_seed,
                        "init_seed": init_seed,
                        "trained_on": ",".join(train_regimes),
                        "held_out": dataset not in train_regimes,
                        "test_positives": int((y == 1).sum()),
                        "test_rings": rings,
                        "seconds": round(fit, 2),
                        "fit_seconds": round(fit, 2),
                        "roc_auc": m["roc_auc"],
                        "ap": m["ap"],
                        "recall_at_k": m["recall_at_k"],
                        "best_epoch": int(getattr(scorer, "best_epoch_", 0)),
                    }
                )
                print(
                    f"  {dataset:<10} repeat {split_seed} init {init_seed} {name:<12} "
                    f"AUC {m['roc_auc']:.4f} AP {m['ap']:.4f}",
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
        label = f"{dataset} (held out)" if "held_out" in g and g["held_out"].fillna(False).all() else dataset
        lines.append(
            f"| {label} | {model} | {len(g)} | {cell['roc_auc']} | {cell['ap']} | {cell['recall_at_k']} "
            f"| {g['fit_seconds'].mean():.1f} | {held} |"
        )
    if "held_out" in df and df["held_out"].fillna(False).any():
        lines += ["", held_out_table(df[df["held_out"].fillna(False).astype(bool)])]
    return "\n".join(lines)


def held_out_table(df: pd.DataFrame) -> str:
    """Markdown: per model, the mean over held-out datasets (each weighted alike) of the per-dataset
    means, and in how many (dataset, repeat, init seed) cells the model had the best AP (paired: the
    same worlds for every model). With ``--loro`` (every fit regime left out in turn) it is the table
    the default model is chosen by."""
    cell = ["dataset", "split_seed", "init_seed"]
    best = df.loc[df.groupby(cell)["ap"].idxmax(), "model"].value_counts()
    per_dataset = df.groupby(["model", "dataset"], sort=False)[["roc_auc", "ap"]].mean()
    means = per_dataset.groupby(level="model", sort=False).mean().sort_values("ap", ascending=False)
    n_cells = df.groupby(cell).ngroups
    datasets = ", ".join(df["dataset"].unique())
    lines = [
        f"Held-out regimes ({datasets}): mean over regimes; best AP in how many of {n_cells} paired cells",
        "",
        "| model | mean AP | mean ROC-AUC | best AP in |",
        "| --- | --- | --- | ---: |",
    ]
    for model, row in means.iterrows():
        lines.append(f"| {model} | {row['ap']:.4f} | {row['roc_auc']:.4f} | {int(best.get(model, 0))} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.models", description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="mlp,gbt,sage,rgcn,bwgnn")
    ap.add_argument("--datasets", default="minutes,hours,camouflage,yelpchi")
    ap.add_argument(
        "--split-seeds",
        type=int,
        help="splits per dataset (default 3); with --transfer, repeats, each with new training worlds, "
        "split and evaluation worlds (default 1)",
    )
    ap.add_argument("--init-seeds", type=int, default=2)
    ap.add_argument("--accounts", type=int, default=20000, help="accounts per generated world")
    ap.add_argument("--epochs", type=int, help="override every config's epochs (quick runs)")
    ap.add_argument("--out", type=Path, default=Path("out/models"))
    ap.add_argument("--config-dir", type=Path, default=CONFIG_DIR)
    ap.add_argument("--transfer", action="store_true", help="train on --train-regimes, score each dataset")
    ap.add_argument("--train-regimes", default="minutes,seconds,day,sparse_ids,big_rings")
    ap.add_argument("--train-worlds", type=int, default=2, help="worlds per training regime (--transfer)")
    ap.add_argument(
        "--loro",
        action="store_true",
        help="leave one regime out over --train-regimes: train on the others, score the one left out",
    )
    args = ap.parse_args(argv)
    split = lambda text: [x.strip() for x in text.split(",") if x.strip()]  # noqa: E731
    try:
        if args.loro:
            rows = run_loro(
                split(args.models),
                split(args.train_regimes),
                args.train_worlds,
                args.init_seeds,
                args.accounts,
                args.out,
                args.epochs,
                args.config_dir,
                repeats=args.split_seeds or 1,
            )
        elif args.transfer:
            rows = run_transfer(
                split(args.models),
                [d for d in split(args.datasets) if d != "yelpchi"],
                split(args.train_regimes),
                args.train_worlds,
                args.init_seeds,
                args.accounts,
                args.out,
                args.epochs,
                args.config_dir,
                repeats=args.split_seeds or 1,
            )
        else:
            rows = run(
                split(args.models),
                split(args.datasets),
                3 if args.split_seeds is None else args.split_seeds,
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
