"""Scorers: the sklearn-style interface every model is trained, saved and served through.

A scorer turns a graph (:class:`torch_geometric.data.Data` with ``x``, ``edge_index``, ``edge_type``,
``edge_weight``, ``relation_names`` and, for training, ``y``) into one bot probability per node.
:class:`GNNScorer` wraps any registered ``nn.Module``; tree models (``gbt``) implement the protocol
directly. :func:`build_scorer` picks the right one from a config.
"""

from __future__ import annotations

import contextlib
import copy
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol, Self, runtime_checkable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.data import Data

from gnn.config import TrainConfig, parse_config
from gnn.errors import GraphDataError
from gnn.features import FeatureScaler
from gnn.metrics import best_threshold
from gnn.progress import Epoch, report
from gnn.registry import get_model

WEIGHTS_FILE = "model.pt"


@runtime_checkable
class Scorer(Protocol):
    """What training, saving and serving rely on (PyGOD-style ``fit`` / ``score``).

    Attributes:
        config: the :class:`TrainConfig` it was built from.
        threshold_: score threshold with the best validation macro-F1 (predict bot when ``>=``).
    """

    config: TrainConfig
    threshold_: float

    def fit(
        self, data: Data, train_mask: Tensor | np.ndarray, val_mask: Tensor | np.ndarray | None = None
    ) -> Self:
        """Train on labelled nodes of ``train_mask``; early-stop and pick the threshold on ``val_mask``."""
        ...

    def score(self, data: Data) -> np.ndarray:
        """Bot probability in [0, 1] per node, float64 [N]."""
        ...

    def save(self, directory: str | Path) -> None:
        """Write the weights (and fitted scaling) into an existing directory."""
        ...

    @classmethod
    def load(cls, directory: str | Path) -> Self:
        """Rebuild a fitted scorer from :meth:`save`'s output."""
        ...


def build_scorer(config: TrainConfig | dict[str, Any]) -> Scorer:
    """An unfitted scorer for ``config`` (a :class:`GNNScorer` unless the model is a scorer itself)."""
    config = parse_config(config)
    cls = get_model(config.model)
    if isinstance(cls, type) and issubclass(cls, nn.Module):
        return GNNScorer(config)
    return cls(config)


def scorer_class(model: str) -> type:
    """The class whose ``load`` restores a saved ``model``."""
    cls = get_model(model)
    return GNNScorer if issubclass(cls, nn.Module) else cls


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seeds Python's and torch's (CPU) generators for the block and restores them afterwards, so
    fitting is reproducible without touching the caller's random state (NumPy randomness here always
    takes an explicit generator)."""
    state = random.getstate()
    with torch.random.fork_rng(devices=[]):
        random.seed(seed)
        torch.manual_seed(seed)
        try:
            yield
        finally:
            random.setstate(state)


def as_mask(mask: Tensor | np.ndarray | None, num_nodes: int, name: str) -> np.ndarray:
    """A boolean NumPy mask of length ``num_nodes`` (index arrays are accepted too)."""
    if mask is None:
        return np.zeros(num_nodes, dtype=bool)
    m = mask.detach().cpu().numpy() if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype == bool:
        if m.shape != (num_nodes,):
            raise GraphDataError(f"{name} has shape {m.shape}; expected ({num_nodes},) booleans")
        return m
    out = np.zeros(num_nodes, dtype=bool)
    out[m.astype(np.int64)] = True
    return out


class GraphInputs:
    """Validated tensors of one graph, as every scorer reads them.

    ``columns``: the feature columns to take, by name (``data.feature_names`` must name them); None
    takes ``data.x`` as it is.
    """

    def __init__(self, data: Data, *, need_labels: bool = False, columns: list[str] | None = None) -> None:
        x = getattr(data, "x", None)
        if x is None or x.dim() != 2:
            raise GraphDataError("graph has no 2-D node feature matrix data.x")
        self.num_nodes = int(x.size(0))
        self.x = x.to(torch.float32)
        if columns is not None:
            self.x = self.x[:, named_columns(data, columns)]
        ei = getattr(data, "edge_index", None)
        if ei is None:
            ei = torch.zeros(2, 0, dtype=torch.long)
        if ei.dim() != 2 or ei.size(0) != 2:
            raise GraphDataError(f"data.edge_index has shape {tuple(ei.shape)}; expected [2, E]")
        if ei.numel() and (int(ei.min()) < 0 or int(ei.max()) >= self.num_nodes):
            raise GraphDataError(f"data.edge_index refers to nodes outside 0..{self.num_nodes - 1}")
        self.edge_index = ei.to(torch.long)
        et = getattr(data, "edge_type", None)
        names = getattr(data, "relation_names", None)
        self.relation_names = list(names) if names is not None else None
        if self.relation_names is not None:
            self.num_relations = len(self.relation_names)
        elif et is not None and et.numel():
            self.num_relations = int(et.max()) + 1
        else:
            self.num_relations = 1
        if et is not None:
            if et.numel() != self.edge_index.size(1):
                raise GraphDataError(f"data.edge_type has {et.numel()} entries for {ei.size(1)} edges")
            if et.numel() and (int(et.min()) < 0 or int(et.max()) >= self.num_relations):
                raise GraphDataError(
                    f"data.edge_type holds relation {int(et.max())} but the graph has "
                    f"{self.num_relations} relation(s) {self.relation_names or ''}".rstrip()
                )
            et = et.to(torch.long)
        self.edge_type = et
        ew = getattr(data, "edge_weight", None)
        if ew is not None:
            if ew.numel() != self.edge_index.size(1):
                raise GraphDataError(f"data.edge_weight has {ew.numel()} entries for {ei.size(1)} edges")
            ew = ew.to(torch.float32)
        self.edge_weight = ew
        y = getattr(data, "y", None)
        if need_labels and y is None:
            raise GraphDataError("graph has no labels data.y (0 benign, 1 bot, -1 unknown) to train on")
        self.y = None if y is None else y.detach().cpu().numpy().astype(np.int64).reshape(-1)

    def check_schema(self, in_channels: int, num_relations: int, relation_names: list[str] | None) -> None:
        """Raise :class:`GraphDataError` when this graph does not match what a model was fitted on."""
        if self.x.size(1) != in_channels:
            raise GraphDataError(
                f"graph has {self.x.size(1)} feature columns but the model was trained on {in_channels}; "
                "build features with the model's feature_schema.json"
            )
        if relation_names is not None and self.relation_names is not None:
            if list(relation_names) != self.relation_names:
                raise GraphDataError(
                    f"graph relations {self.relation_names} differ from the model's {list(relation_names)}"
                )
        elif self.num_relations > num_relations:
            raise GraphDataError(
                f"graph has {self.num_relations} relations but the model was trained on {num_relations}"
            )


def feature_names_of(data: Data) -> list[str] | None:
    """``data.feature_names`` when it names every column of ``data.x``, else None."""
    names = getattr(data, "feature_names", None)
    x = getattr(data, "x", None)
    if names is None or x is None or x.dim() != 2 or len(names) != x.size(1):
        return None
    return list(names)


def named_columns(data: Data, columns: list[str]) -> list[int]:
    """Positions of ``columns`` among ``data.feature_names`` (:class:`GraphDataError` naming the
    first missing one)."""
    names = feature_names_of(data)
    if names is None:
        raise GraphDataError("the model takes named feature columns, but data.feature_names is missing")
    where = {n: i for i, n in enumerate(names)}
    missing = [c for c in columns if c not in where]
    if missing:
        raise GraphDataError(f"the graph has no feature column {missing[0]!r}, which the model takes")
    return [where[c] for c in columns]


def model_columns(data: Data, exclude: list[str]) -> list[str] | None:
    """The named columns a model fitted on ``data`` takes: every one but ``exclude``; None when the
    columns are unnamed (then ``exclude`` must be empty)."""
    names = feature_names_of(data)
    if names is None:
        if exclude:
            raise GraphDataError("exclude_features needs named feature columns (data.feature_names)")
        return None
    unknown = [e for e in exclude if e not in names]
    if unknown:
        raise GraphDataError(
            f"exclude_features names {unknown[0]!r}, which is no feature column of this graph "
            f"(columns: {', '.join(names)})"
        )
    left_out = set(exclude)
    return [n for n in names if n not in left_out]


def columns_for(fitted: list[str] | None, data: Data) -> list[str] | None:
    """The columns a fitted scorer takes from ``data``: its named ones when ``data`` names its columns;
    None (``data.x`` as it is, checked by width) for a scorer fitted on unnamed columns or for data
    without names."""
    if fitted is None or feature_names_of(data) is None:
        return None
    return fitted


def labelled_masks(
    inputs: GraphInputs, train_mask: Tensor | np.ndarray, val_mask: Tensor | np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Train and validation masks restricted to labelled (``y >= 0``) nodes, with sanity checks."""
    assert inputs.y is not None
    labelled = inputs.y >= 0
    train = as_mask(train_mask, inputs.num_nodes, "train_mask") & labelled
    val = as_mask(val_mask, inputs.num_nodes, "val_mask") & labelled
    y_train = inputs.y[train]
    if y_train.size == 0 or y_train.min() == y_train.max():
        raise GraphDataError("the training nodes need labelled examples of both classes (0 benign, 1 bot)")
    if inputs.y.max() > 1:
        raise GraphDataError(f"labels must be 0, 1 or -1 (unknown); found {int(inputs.y.max())}")
    return train, val


def positive_weight(class_weight: str | float, y_train: np.ndarray) -> float:
    """Loss weight of the positive class: ``n_neg / n_pos`` for ``"balanced"``, else the given number."""
    if class_weight == "balanced":
        pos = float((y_train == 1).sum())
        return float((y_train == 0).sum()) / max(pos, 1.0)
    return float(class_weight)


def validation_score(y: np.ndarray, p: np.ndarray) -> float:
    """Average precision on validation nodes (what early stopping maximizes)."""
    from sklearn.metrics import average_precision_score

    if y.size == 0 or y.min() == y.max():
        return float("nan")
    return float(average_precision_score(y, p))


def weighted_log_loss(y: np.ndarray, p: np.ndarray, pos_weight: float) -> float:
    """Class-weighted binary cross-entropy (the training loss), averaged over nodes."""
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-7, 1 - 1e-7)
    y = np.asarray(y)
    return float(np.mean(-(pos_weight * y * np.log(p) + (1 - y) * np.log(1 - p))))


class EarlyStopping:
    """Tracks the best validation epoch: higher average precision, ties broken by lower loss.

    The tie-break matters on small or easy validation sets, where AP saturates at 1.0 from the
    first epoch; without it the untrained first epoch would be kept.

    Example:
        >>> stop = EarlyStopping(patience=30)
        >>> if stop.update(epoch, val_ap, val_loss): best = copy.deepcopy(model.state_dict())
        >>> if stop.exhausted: break
    """

    def __init__(self, patience: int, tolerance: float = 1e-9) -> None:
        self.patience = patience
        self.tolerance = tolerance
        self.best: tuple[float, float] = (-np.inf, np.inf)
        self.best_epoch = 0
        self.bad_epochs = 0

    def update(self, epoch: int, score: float, loss: float) -> bool:
        """Record an epoch; True when it is the new best."""
        if not np.isfinite(score):
            return False
        best_score, best_loss = self.best
        better = score > best_score + self.tolerance or (
            abs(score - best_score) <= self.tolerance and loss < best_loss
        )
        if better:
            self.best, self.best_epoch, self.bad_epochs = (score, loss), epoch, 0
        else:
            self.bad_epochs += 1
        return better

    @property
    def exhausted(self) -> bool:
        return self.bad_epochs >= self.patience


class GNNScorer:
    """Full-batch trainer and scorer around any registered ``nn.Module``.

    Example:
        >>> scorer = GNNScorer(parse_config({"model": "bwgnn"})).fit(data, train_mask, val_mask)
        >>> p = scorer.score(data)  # bot probability per node
    """

    def __init__(self, config: TrainConfig | dict[str, Any]) -> None:
        # Like sklearn estimators: only fit() (or load()) sets the trailing-underscore attributes.
        self.config = parse_config(config)
        self.module: nn.Module | None = None
        self.scaler: FeatureScaler | None = None

    def _build(self, in_channels: int, num_relations: int) -> nn.Module:
        cfg = self.config
        cls = get_model(cfg.model)
        return cls(
            in_channels,
            hidden=cfg.hidden,
            num_relations=num_relations,
            layers=cfg.layers,
            dropout=cfg.dropout,
            **cfg.params,
        )

    def _inputs(self, inputs: GraphInputs) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None]:
        assert self.scaler is not None
        x = torch.from_numpy(self.scaler.transform(inputs.x))
        return x, inputs.edge_index, inputs.edge_type, inputs.edge_weight

    def fit(
        self, data: Data, train_mask: Tensor | np.ndarray, val_mask: Tensor | np.ndarray | None = None
    ) -> Self:
        """Train with weighted BCE, Adam and early stopping on validation average precision.

        Args:
            data: graph with labels ``y`` (0 benign, 1 bot, -1 unknown; unknown nodes are ignored).
            train_mask: boolean mask (or index array) of training nodes.
            val_mask: nodes for early stopping and the decision threshold; when absent or single-class,
                training runs all ``epochs`` and keeps the last weights.
        """
        with seeded(self.config.seed):
            return self._fit(data, train_mask, val_mask)

    def _fit(self, data: Data, train_mask, val_mask) -> Self:
        cfg = self.config
        self.feature_names_ = model_columns(data, cfg.exclude_features)
        inputs = GraphInputs(data, need_labels=True, columns=self.feature_names_)
        train, val = labelled_masks(inputs, train_mask, val_mask)
        self.in_channels_ = int(inputs.x.size(1))
        self.num_relations_ = inputs.num_relations
        self.relation_names_ = inputs.relation_names
        self.threshold_ = 0.5  # replaced by the best validation macro-F1 threshold when there is one
        self.scaler = FeatureScaler(cfg.scaling).fit(inputs.x[torch.from_numpy(train)])
        x, ei, et, ew = self._inputs(inputs)
        self.module = module = self._build(self.in_channels_, self.num_relations_)
        y = torch.from_numpy(inputs.y).float()
        train_idx = torch.from_numpy(np.flatnonzero(train))
        y_val = inputs.y[val]
        pos_weight = torch.tensor(positive_weight(cfg.class_weight, inputs.y[train]))
        optimizer = torch.optim.Adam(module.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)

        stop, best_state, step_seconds = EarlyStopping(cfg.patience), None, []
        self.history_ = []
        start = time.perf_counter()
        for epoch in range(1, cfg.epochs + 1):
            module.train()
            t0 = time.perf_counter()
            optimizer.zero_grad()
            logits = module(x, ei, et, ew)
            loss = F.binary_cross_entropy_with_logits(logits[train_idx], y[train_idx], pos_weight=pos_weight)
            loss.backward()
            optimizer.step()
            step_seconds.append(time.perf_counter() - t0)
            record = {"epoch": epoch, "loss": float(loss.detach())}
            if val.any():
                module.eval()
                with torch.no_grad():
                    p_val = torch.sigmoid(module(x, ei, et, ew)[torch.from_numpy(val)].double()).numpy()
                record["val_ap"] = validation_score(y_val, p_val)
                record["val_loss"] = weighted_log_loss(y_val, p_val, float(pos_weight))
                if stop.update(epoch, record["val_ap"], record["val_loss"]):
                    best_state = copy.deepcopy(module.state_dict())
            self.history_.append(record)
            report(
                Epoch(
                    epoch,
                    cfg.epochs,
                    record["loss"],
                    record.get("val_ap"),
                    float(stop.best[0]) if val.any() and stop.best_epoch else None,
                    stop.best_epoch if val.any() else epoch,
                    time.perf_counter() - start,
                    min(cfg.epochs - epoch, stop.patience - stop.bad_epochs)
                    if val.any()
                    else cfg.epochs - epoch,
                )
            )
            if stop.exhausted:
                break
        self.fit_seconds_ = time.perf_counter() - start
        self.seconds_per_epoch_ = float(np.mean(step_seconds))
        if best_state is not None:
            module.load_state_dict(best_state)
            self.best_epoch_ = stop.best_epoch
        else:
            self.best_epoch_ = len(self.history_)
        module.eval()
        if val.any():
            self.threshold_, _ = best_threshold(y_val, self.score(data)[val])
        _clear_caches(module)
        return self

    def score(self, data: Data) -> np.ndarray:
        """Bot probability per node (float64 [N]); the model runs in eval mode without gradients."""
        if self.module is None or self.scaler is None:
            raise RuntimeError("GNNScorer.score called before fit or load")
        inputs = GraphInputs(data, columns=columns_for(self.feature_names_, data))
        inputs.check_schema(self.in_channels_, self.num_relations_, self.relation_names_)
        x, ei, et, ew = self._inputs(inputs)
        self.module.eval()
        with torch.no_grad():
            p = torch.sigmoid(self.module(x, ei, et, ew).double()).numpy()  # float64 keeps high scores apart
        return p

    def save(self, directory: str | Path) -> None:
        """Write ``model.pt``: weights, constructor arguments, fitted scaling and threshold."""
        if self.module is None or self.scaler is None:
            raise RuntimeError("GNNScorer.save called before fit")
        state = {
            "format": 1,
            "config": self.config.model_dump(),
            "in_channels": self.in_channels_,
            "num_relations": self.num_relations_,
            "relation_names": self.relation_names_,
            "feature_names": self.feature_names_,
            "threshold": self.threshold_,
            "best_epoch": self.best_epoch_,
            "scaler": self.scaler.state(),
            "state_dict": self.module.state_dict(),
        }
        torch.save(state, Path(directory) / WEIGHTS_FILE)

    @classmethod
    def load(cls, directory: str | Path) -> Self:
        """Restore a scorer saved by :meth:`save` (weights-only unpickling: no code is executed)."""
        state = torch.load(Path(directory) / WEIGHTS_FILE, map_location="cpu", weights_only=True)
        scorer = cls(state["config"])
        scorer.in_channels_ = int(state["in_channels"])
        scorer.num_relations_ = int(state["num_relations"])
        scorer.relation_names_ = state["relation_names"]
        scorer.feature_names_ = state.get("feature_names")
        scorer.threshold_ = float(state["threshold"])
        scorer.best_epoch_ = int(state["best_epoch"])
        scorer.scaler = FeatureScaler.from_state(state["scaler"])
        scorer.module = scorer._build(scorer.in_channels_, scorer.num_relations_)
        scorer.module.load_state_dict(state["state_dict"])
        scorer.module.eval()
        return scorer


def _clear_caches(module: nn.Module) -> None:
    """Drop cached sparse operators of the training graph (they can be large)."""
    for sub in module.modules():
        cache = getattr(sub, "cache", None)
        if cache is not None and hasattr(cache, "clear"):
            cache.clear()
