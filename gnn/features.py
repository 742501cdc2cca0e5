"""Feature scaling fitted on training nodes, and neighbour-aggregated features for tree models."""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from torch import Tensor

from gnn import graph_ops

Scaling = Literal["log1p-standard", "standard", "none"]

CLIP = 10.0  # standardized values beyond +-10 sigma carry no extra signal and destabilize training


class FeatureScaler:
    """Signed ``log1p`` (optional) then standardization, with statistics from training nodes only.

    Account features are counts and rates with heavy tails; ``sign(x) * log1p(|x|)`` tames them
    before standardization. The fitted statistics travel with the saved model.

    Example:
        >>> scaler = FeatureScaler("log1p-standard").fit(x[train_mask])
        >>> z = scaler.transform(x)
    """

    def __init__(self, method: Scaling = "log1p-standard") -> None:
        self.method = method
        self.mean_: np.ndarray | None = None
        self.std_: np.ndarray | None = None

    def _pre(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if self.method == "log1p-standard":
            # sign(x) * log1p(|x|) in one buffer: the same values without two more temporaries of
            # the whole matrix (at 1M accounts their page faults took seconds).
            out = np.log1p(np.abs(x))
            return np.copysign(out, x, out=out)
        return x

    def fit(self, x: np.ndarray | Tensor) -> FeatureScaler:
        """Fit on the rows of ``x`` (pass only the training nodes)."""
        x = self._pre(_numpy(x))
        if x.shape[0] == 0:
            raise ValueError("cannot fit the feature scaler on zero training nodes")
        if self.method == "none":
            self.mean_ = np.zeros(x.shape[1])
            self.std_ = np.ones(x.shape[1])
        else:
            self.mean_ = x.mean(axis=0)
            std = x.std(axis=0)
            self.std_ = np.where(std > 1e-12, std, 1.0)
        return self

    def transform(self, x: np.ndarray | Tensor) -> np.ndarray:
        """Scaled float32 copy of ``x``; non-finite inputs become 0 (the training mean)."""
        if self.mean_ is None or self.std_ is None:
            raise RuntimeError("FeatureScaler.transform called before fit")
        x = _numpy(x)
        if x.shape[1] != self.mean_.shape[0]:
            raise ValueError(f"expected {self.mean_.shape[0]} feature columns, got {x.shape[1]}")
        z = (self._pre(x) - self.mean_) / self.std_
        if self.method != "none":
            z = np.clip(z, -CLIP, CLIP)
        return np.nan_to_num(z, nan=0.0, posinf=CLIP, neginf=-CLIP).astype(np.float32)

    def state(self) -> dict[str, object]:
        """JSON/torch-serializable state."""
        return {"method": self.method, "mean": _as_list(self.mean_), "std": _as_list(self.std_)}

    @classmethod
    def from_state(cls, state: dict[str, object]) -> FeatureScaler:
        scaler = cls(state["method"])  # type: ignore[arg-type]
        scaler.mean_ = np.asarray(state["mean"], dtype=np.float64)
        scaler.std_ = np.asarray(state["std"], dtype=np.float64)
        return scaler


def _numpy(x: np.ndarray | Tensor) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, Tensor) else np.asarray(x)


def _as_list(a: np.ndarray | None) -> list[float] | None:
    return None if a is None else [float(v) for v in a]


def neighbour_features(
    x: np.ndarray,
    edge_index: Tensor,
    edge_type: Tensor | None,
    num_relations: int,
    relation_names: list[str] | None = None,
    feature_names: list[str] | None = None,
) -> tuple[np.ndarray, list[str]]:
    """Node features plus, per relation, the mean and max of neighbours' features and log-degree.

    With more than one relation the merged graph (all relations) is aggregated too. Nodes without
    neighbours in a relation get zeros (the training mean of scaled features).

    Returns:
        ``(matrix [N, F * (1 + 2 * G) + G], column names)`` where G is the number of graphs aggregated.
    """
    n, f = x.shape
    names = feature_names or [f"f{i}" for i in range(f)]
    rel_names = relation_names or [f"r{r}" for r in range(num_relations)]
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    masks = graph_ops.relation_masks(edge_type, edge_index.size(1), num_relations)
    graphs = list(zip(rel_names, masks, strict=True))
    if num_relations > 1:
        graphs.append(("all", torch.ones(edge_index.size(1), dtype=torch.bool)))
    blocks, columns = [x.astype(np.float32)], list(names)
    for rel, mask in graphs:
        src, dst = edge_index[0, mask], edge_index[1, mask]
        degree = torch.zeros(n).index_add_(0, dst, torch.ones(dst.numel()))
        mean = graph_ops.spmm(graph_ops.adjacency(edge_index[:, mask], n, norm="mean"), xt)
        # Chunk the max over feature columns so the [E, F] gather stays small on big graphs.
        maximum = torch.zeros(n, f)
        step = max(1, int(2e7 // max(1, src.numel())))
        for lo in range(0, f, step):
            cols = slice(lo, min(f, lo + step))
            values = xt[src, cols]
            out = torch.full((n, values.size(1)), -torch.inf)
            out.scatter_reduce_(0, dst[:, None].expand_as(values), values, "amax", include_self=True)
            maximum[:, cols] = torch.where(torch.isinf(out), torch.zeros_like(out), out)
        blocks += [mean.numpy(), maximum.numpy(), np.log1p(degree.numpy())[:, None]]
        columns += [f"{rel}_mean_{c}" for c in names]
        columns += [f"{rel}_max_{c}" for c in names]
        columns.append(f"{rel}_log_degree")
    return np.concatenate(blocks, axis=1).astype(np.float32), columns
