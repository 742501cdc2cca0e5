"""Scoring an account graph with a trained model, and the default model shipped in the package.

The glue between ``graphs`` (the :class:`~graphs.graph.AccountGraph`) and the scorers of
:mod:`gnn.train`: it turns a graph into the GNN input ``Data``, checks that the graph's features are
the ones the model was trained on, and names the model version recorded with every verdict.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch_geometric.data import Data

from gnn.artifacts import load_feature_schema, load_model
from gnn.errors import GNNError
from graphs.errors import InputError

DEFAULT_MODEL_DIR = "default_model"


def graph_data(graph, labels: pd.DataFrame | None = None) -> Data:
    """The graph as GNN input ``Data``; ``y`` from a labels table (``is_bot``; -1 where unlabelled).

    Relations are the canonical kinds (identifier types pooled), so a model's inputs have the same
    shape on every log, whatever its entity types are called. ``feature_names`` names the columns
    of ``x``: a model takes its own by name (``exclude_features`` in the training config).
    """
    data = graph.to_pyg(canonical=True)
    data.feature_names = list(graph.feature_names)
    if labels is not None:
        y = labels["is_bot"].reindex(graph.account_ids).fillna(-1).to_numpy(np.int64)
        data.y = torch.from_numpy(y)
    return data


def disjoint_union(datas: list[Data]) -> Data:
    """Several graphs as one ``Data`` without edges between them (train one model on many logs).

    Node ``i`` of graph ``g`` becomes node ``offset[g] + i``; ``x``, ``y``, ``edge_type`` and
    ``edge_weight`` are concatenated, and every graph must have the same ``relation_names``.
    """
    if not datas:
        raise ValueError("disjoint_union needs at least one graph")
    names = list(datas[0].relation_names)
    for d in datas[1:]:
        if list(d.relation_names) != names:
            raise ValueError(f"relations differ: {names} vs {list(d.relation_names)}")
    offsets = np.cumsum([0] + [int(d.num_nodes) for d in datas[:-1]])
    out = Data(
        x=torch.cat([d.x for d in datas]),
        edge_index=torch.cat([d.edge_index + int(o) for d, o in zip(datas, offsets, strict=True)], dim=1),
        edge_type=torch.cat([d.edge_type for d in datas]),
        edge_weight=torch.cat([d.edge_weight for d in datas]),
        relation_names=names,
        num_nodes=int(sum(int(d.num_nodes) for d in datas)),
    )
    if all(getattr(d, "y", None) is not None for d in datas):
        out.y = torch.cat([d.y for d in datas])
    names = [getattr(d, "feature_names", None) for d in datas]
    if names[0] is not None and all(n == names[0] for n in names):
        out.feature_names = list(names[0])
    return out


@dataclass
class GraphScorer:
    """A fitted scorer with its feature schema and a version string."""

    scorer: object
    schema: dict
    version: str

    def score_graph(self, graph) -> np.ndarray:
        """Bot probability per account of the graph, in the graph's account order."""
        expected = self.schema.get("features")
        # A model that takes its columns by name needs them present; one fitted on unnamed columns
        # (before exclude_features) needs exactly the graph's.
        have = list(graph.feature_names)
        if getattr(self.scorer, "feature_names_", None) is not None:
            fits = expected is None or set(expected) <= set(have)
        else:
            fits = expected is None or list(expected) == have
        if not fits:
            raise InputError(
                self.version,
                "the model was trained on other account features than this version of ringscope "
                "builds; retrain it with `ringscope train`",
            )
        return np.asarray(self.scorer.score(graph_data(graph)), dtype=np.float64)


def _version(directory: Path, schema: dict) -> str:
    return f"{schema.get('model', 'model')}@{schema.get('created', 'unknown')} ({directory.name})"


def load_model_dir(directory: str | Path) -> GraphScorer:
    """Loads a model directory written by ``ringscope train`` (its ``version`` names it).

    Raises:
        InputError: when the directory is missing or is not a model directory.
    """
    directory = Path(directory)
    name = f"--model {directory}"
    if not directory.exists():
        raise InputError(name, "no such folder; train a model with `ringscope train --out DIR`")
    if not (directory / "config.yaml").is_file():
        raise InputError(name, "not a model folder (no config.yaml); train one with `ringscope train`")
    try:
        scorer = load_model(directory)
        schema = load_feature_schema(directory)
    except (GNNError, OSError, json.JSONDecodeError) as exc:
        reason = str(exc).removeprefix(f"{directory}: ")
        raise InputError(name, f"cannot load the model ({reason})") from None
    return GraphScorer(scorer, schema, _version(directory, schema))


def default_model_path() -> Path:
    """Where the shipped default model lives inside the package."""
    return Path(str(resources.files("gnn").joinpath(DEFAULT_MODEL_DIR)))


def load_default_model() -> GraphScorer:
    """The default model shipped inside the package (made by ``python -m bench.train_default``)."""
    path = default_model_path()
    if not (path / "config.yaml").is_file():
        raise InputError(
            str(path), "the default model is missing; run `python -m bench.train_default` to make it"
        )
    scorer = load_model_dir(path)
    scorer.version = "default:" + scorer.version
    return scorer
