"""Benchmark the model zoo on the public Amazon / YelpChi fraud graphs.

Protocol (CARE-GNN, CIKM 2020; PC-GNN, WWW 2021): stratified 40% train / 20% validation / 40% test
over labelled nodes, a different split per seed; Amazon's first 3,305 users are left out. Each model
is trained with its config in ``gnn/configs/<name>.yaml`` (seed overridden per run), early-stopped
on validation AP, and reported as mean +- std of test ROC-AUC and AP over seeds.

Usage:
    python -m bench.realdata --dataset amazon --seeds 5 --models gbt,bwgnn,bwgnn_hetero,ghrn
    python -m bench.realdata --dataset yelpchi --seeds 5 --json out/yelpchi.json --data-dir /data/fraud
    python -m bench.realdata --dataset amazon --synthetic --seeds 2   # smoke run, no download needed
    python -m bench.realdata --dataset yelpchi --drop-features 'user_*,prod_*'   # an ablation

``--drop-features`` removes feature columns by name (fnmatch patterns; YelpChi's rebuilt features
are named, see ``gnn/yelpchi_features.py``): with the user- and product-level aggregates gone, what
a review's user and product did must come through the graph.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gnn.config import load_config, parse_config
from gnn.datasets import load_fraud_mat, write_synthetic_mat
from gnn.errors import GNNError
from gnn.registry import available_models
from gnn.synthetic import stratified_masks
from gnn.train import train

CONFIG_DIR = Path(__file__).resolve().parents[1] / "gnn" / "configs"
DEFAULT_MODELS = ("mlp", "gbt_nograph", "gbt", "sage", "gat", "rgcn", "bwgnn", "bwgnn_hetero", "ghrn")


def resolve_config(name: str, config_dir: Path, overrides: dict[str, Any]) -> dict[str, Any]:
    """Config for a benchmark entry: ``<config_dir>/<name>.yaml``, else a registered model's defaults."""
    path = config_dir / f"{name}.yaml"
    if path.is_file():
        raw = load_config(path).model_dump()
    elif name in available_models():
        raw = {"model": name}
    else:
        configs = sorted(p.stem for p in config_dir.glob("*.yaml"))
        raise GNNError(f"no config {path} and no model named {name!r}; configs: {', '.join(configs)}")
    raw.update(overrides)
    return parse_config(raw, str(path)).model_dump()


def run(
    dataset: str,
    models: list[str],
    seeds: int,
    data_dir: str | None = None,
    synthetic: bool = False,
    config_dir: Path = CONFIG_DIR,
    epochs: int | None = None,
    drop_features: list[str] | None = None,
    first_seed: int = 0,
) -> dict[str, Any]:
    """Train every model on ``seeds`` splits (seeds ``first_seed ..``); returns per-run and summary
    results. Split ``k`` is the same in every run, so seeds can be added to an earlier run later."""
    with tempfile.TemporaryDirectory() as tmp:
        if synthetic:
            data_dir = str(write_synthetic_mat(tmp, dataset))
        t0 = time.perf_counter()
        data = load_fraud_mat(dataset, data_dir)
        load_seconds = time.perf_counter() - t0
    if drop_features:
        drop_columns(data, drop_features)
    overrides: dict[str, Any] = {} if epochs is None else {"epochs": epochs}
    configs = {name: resolve_config(name, config_dir, overrides) for name in models}
    labelled = data.y >= 0
    info = {
        "dataset": dataset,
        "synthetic": synthetic,
        "nodes": int(data.num_nodes),
        "labelled": int(labelled.sum()),
        "positives": int((data.y == 1).sum()),
        "edges": int(data.edge_index.size(1)),
        "relations": data.relation_names,
        "features": int(data.x.size(1)),
        "feature_source": getattr(data, "feature_source", "the file's features"),
        "load_seconds": round(load_seconds, 2),
        "torch_threads": torch.get_num_threads(),
    }
    print(
        f"{dataset}{' (synthetic)' if synthetic else ''}: {info['nodes']} nodes "
        f"({info['labelled']} labelled, {info['positives']} positive), "
        f"{info['edges']} directed edges in {len(data.relation_names)} relations; "
        f"features: {info['feature_source']}",
        file=sys.stderr,
    )
    runs = []
    for seed in range(first_seed, first_seed + seeds):
        train_mask, val_mask, test_mask = stratified_masks(data.y, 0.4, 0.2, seed=seed)
        for name in models:
            config = {**configs[name], "seed": seed}
            _, metrics = train(config, data, train_mask, val_mask, test_mask)
            runs.append({"model": name, "seed": seed, **metrics})
            print(
                f"  seed {seed} {name:<14} AUC {metrics['roc_auc']:.4f}  AP {metrics['ap']:.4f}  "
                f"{metrics['fit_seconds']:.1f}s",
                file=sys.stderr,
            )
    return {"info": info, "configs": configs, "runs": runs, "summary": summarize(runs, models)}


def drop_columns(data: Any, patterns: list[str]) -> None:
    """Remove the feature columns whose names match any fnmatch pattern, in place.

    Raises:
        GNNError: the features have no names, or a pattern matches nothing, or nothing would be left.
    """
    names = getattr(data, "feature_names", None)
    if not names:
        raise GNNError("--drop-features: this dataset's features have no names")
    for pattern in patterns:
        if not fnmatch.filter(names, pattern):
            raise GNNError(f"--drop-features: {pattern!r} matches no feature; features: {', '.join(names)}")
    keep = [i for i, n in enumerate(names) if not any(fnmatch.fnmatch(n, p) for p in patterns)]
    if not keep:
        raise GNNError("--drop-features: every feature would be dropped")
    data.x = data.x[:, keep]
    data.feature_names = [names[i] for i in keep]
    kept = ", ".join(data.feature_names)
    data.feature_source = f"{data.feature_source}; kept {len(keep)} of {len(names)}: {kept}"


def summarize(runs: list[dict[str, Any]], models: list[str]) -> dict[str, dict[str, float]]:
    """Mean and standard deviation of the test metrics per model."""
    out = {}
    for name in models:
        rows = [r for r in runs if r["model"] == name]
        stats: dict[str, float] = {"runs": len(rows)}
        for key in (
            "roc_auc",
            "ap",
            "macro_f1",
            "recall_at_k",
            "seconds_per_epoch",
            "fit_seconds",
            "epochs_run",
        ):
            values = np.array([r[key] for r in rows], dtype=float)
            stats[f"{key}_mean"] = float(values.mean())
            stats[f"{key}_std"] = float(values.std())
        out[name] = stats
    return out


def format_table(summary: dict[str, dict[str, float]]) -> str:
    """Markdown table of the summary (metrics in percent, as papers report them)."""
    lines = [
        "| model | ROC-AUC (%) | AP (%) | macro-F1 (%) | s/epoch | fit s |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, s in summary.items():
        lines.append(
            f"| {name} | {100 * s['roc_auc_mean']:.2f} ± {100 * s['roc_auc_std']:.2f} "
            f"| {100 * s['ap_mean']:.2f} ± {100 * s['ap_std']:.2f} "
            f"| {100 * s['macro_f1_mean']:.2f} ± {100 * s['macro_f1_std']:.2f} "
            f"| {s['seconds_per_epoch_mean']:.4f} | {s['fit_seconds_mean']:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.realdata", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", required=True, choices=["amazon", "yelpchi"])
    parser.add_argument("--seeds", type=int, default=5, help="number of splits/seeds (default 5)")
    parser.add_argument("--first-seed", type=int, default=0, help="first split/seed (to add seeds to a run)")
    parser.add_argument(
        "--models",
        default=",".join(DEFAULT_MODELS),
        help="comma-separated config names from gnn/configs (or registered model names)",
    )
    parser.add_argument("--json", type=Path, help="write per-run results and the summary here")
    parser.add_argument("--data-dir", help="directory holding Amazon.mat / YelpChi.mat (or the file itself)")
    parser.add_argument("--synthetic", action="store_true", help="generate a small graph in the same format")
    parser.add_argument("--config-dir", type=Path, default=CONFIG_DIR)
    parser.add_argument("--epochs", type=int, help="override every config's epochs (quick runs)")
    parser.add_argument(
        "--drop-features", help="comma-separated fnmatch patterns of feature names to leave out (ablations)"
    )
    args = parser.parse_args(argv)
    drop = [p.strip() for p in (args.drop_features or "").split(",") if p.strip()]
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    try:
        result = run(
            args.dataset,
            models,
            args.seeds,
            args.data_dir,
            args.synthetic,
            args.config_dir,
            args.epochs,
            drop_features=drop,
            first_seed=args.first_seed,
        )
    except GNNError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_table(result["summary"]))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
