"""Saving and loading trained models as self-describing directories.

A model directory holds the weights (``model.pt`` or ``model.joblib``), ``config.yaml``,
``feature_schema.json`` and ``model_card.md``. It is written to a temporary sibling directory and
renamed into place, so readers never see a half-written model.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import shutil
import uuid
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from gnn.config import TrainConfig, dump_config, parse_config
from gnn.errors import GNNError
from gnn.scorers import Scorer, scorer_class

SCHEMA_FILE = "feature_schema.json"
CONFIG_FILE = "config.yaml"
CARD_FILE = "model_card.md"
METRICS_FILE = "metrics.json"
SPLIT_FILE = "split.csv"
METRIC_ORDER = ("roc_auc", "ap", "macro_f1", "recall_at_k", "threshold", "seconds_per_epoch", "fit_seconds")


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.4f}"
    return str(value)


def model_card(
    config: TrainConfig,
    metrics: dict[str, Any],
    feature_names: list[str],
    extra: dict[str, Any],
    created: str,
) -> str:
    """Markdown model card: what was trained on which data, how well it did, and with which versions."""
    shown = ", ".join(feature_names[:12]) + (", ..." if len(feature_names) > 12 else "")
    lines = [
        f"# Model card: {config.model}",
        "",
        f"- created: {created}",
        f"- ringscope {_version('ringscope')}, torch {_version('torch')}, "
        f"torch-geometric {_version('torch_geometric')}, scikit-learn {_version('scikit-learn')}",
        f"- features: {len(feature_names)} ({shown})",
        "",
        "## Data",
        "",
    ]
    lines += [f"- {k}: {v}" for k, v in extra.items()] or ["- (not described)"]
    lines += ["", "## Test metrics", "", "| metric | value |", "| --- | --- |"]
    keys = [k for k in METRIC_ORDER if k in metrics] + sorted(k for k in metrics if k not in METRIC_ORDER)
    lines += [f"| {k} | {_fmt(metrics[k])} |" for k in keys if not isinstance(metrics[k], dict | list)]
    lines += [
        "",
        "Scores are bot probabilities; predict bot when `score >= threshold` (threshold chosen for the best "
        "validation macro-F1).",
        "",
        "## Config",
        "",
        "```yaml",
        dump_config(config).rstrip(),
        "```",
        "",
    ]
    return "\n".join(lines)


def save_model(
    scorer: Scorer,
    directory: str | Path,
    config: TrainConfig | dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    feature_names: list[str] | None = None,
    extra_card: dict[str, Any] | None = None,
    extra_files: dict[str, str] | None = None,
) -> Path:
    """Write a fitted scorer and its description to ``directory`` atomically (replacing any old one).

    Besides the weights: ``config.yaml``, ``feature_schema.json``, ``model_card.md`` and
    ``metrics.json`` (the metrics and the card's Data lines, for tables and scripts).

    Args:
        scorer: a fitted scorer.
        directory: target directory; created, or replaced as a whole.
        config: the training config (defaults to ``scorer.config``).
        metrics: test metrics for the model card (``train`` returns them).
        feature_names: names of the columns of ``data.x`` in order; stored in ``feature_schema.json``.
        extra_card: free-form ``key: value`` lines for the card's Data section (dataset, split, ...).
        extra_files: file name -> text, written into the directory too (``split.csv``).

    Returns:
        The directory path.
    """
    directory = Path(directory)
    config = parse_config(config) if config is not None else scorer.config
    metrics = metrics or {}
    in_channels = int(getattr(scorer, "in_channels_", 0))
    feature_names = (
        list(feature_names) if feature_names is not None else [f"f{i}" for i in range(in_channels)]
    )
    if in_channels and len(feature_names) != in_channels:
        raise GNNError(
            f"{len(feature_names)} feature names given for a model trained on {in_channels} features"
        )
    created = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    schema = {
        "features": feature_names,
        "dtype": "float32",
        "relation_names": getattr(scorer, "relation_names_", None),
        "num_relations": int(getattr(scorer, "num_relations_", 1)),
        "model": config.model,
        "threshold": float(scorer.threshold_),
        "created": created,
    }
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = directory.parent / f".{directory.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        scorer.save(tmp)
        (tmp / CONFIG_FILE).write_text(dump_config(config))
        (tmp / SCHEMA_FILE).write_text(json.dumps(schema, indent=2) + "\n")
        (tmp / CARD_FILE).write_text(model_card(config, metrics, feature_names, extra_card or {}, created))
        record = {"model": config.model, "created": created, "metrics": metrics, "data": extra_card or {}}
        (tmp / METRICS_FILE).write_text(json.dumps(record, indent=1, default=_plain) + "\n")
        for name, text in (extra_files or {}).items():
            (tmp / name).write_text(text)
        if directory.exists():
            old = directory.parent / f".{directory.name}.old-{uuid.uuid4().hex[:8]}"
            os.rename(directory, old)
            os.rename(tmp, directory)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return directory


def _plain(value: Any) -> Any:
    """numpy numbers (and anything else json does not know) as plain numbers or text."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def load_model(directory: str | Path) -> Scorer:
    """Load a scorer written by :func:`save_model`; it gives the same scores as before saving.

    Raises:
        GNNError: the directory is missing or is not a model directory.
    """
    directory = Path(directory)
    config_path = directory / CONFIG_FILE
    if not config_path.is_file():
        raise GNNError(
            f"{directory}: not a model directory (no {CONFIG_FILE}); train one with `ringscope train`"
        )
    config = parse_config(yaml.safe_load(config_path.read_text()), str(config_path))
    scorer = scorer_class(config.model).load(directory)
    scorer.feature_names_ = load_feature_schema(directory)["features"]
    return scorer


def load_feature_schema(directory: str | Path) -> dict[str, Any]:
    """The ``feature_schema.json`` of a model directory."""
    return json.loads((Path(directory) / SCHEMA_FILE).read_text())
