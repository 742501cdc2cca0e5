"""Cluster scores from structural evidence, and the ring / suspicious / benign verdicts.

The structural scorer is a logistic regression over the cluster evidence features of
:mod:`graphs.evidence` (its ``structure+gnn`` variant may take the members' mean GNN score too; the
shipped one leaves it out, chosen with cross-fitted GNN scores, docs/detection.md). It needs no
labels of the user's data: its coefficients are fitted on generated worlds whose seeds are never used
for evaluation (``python -m bench.calibrate``) and shipped as JSON inside the package.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

SHIPPED = "structural_model.json"

#: The three verdicts, strongest first (the one place they are spelled; CLI, store and API import them).
RING, SUSPICIOUS, BENIGN = "ring", "suspicious", "benign"
VERDICTS: tuple[str, str, str] = (RING, SUSPICIOUS, BENIGN)


@dataclass(frozen=True)
class VerdictParams:
    """Score thresholds for verdicts (chosen on generated tuning worlds).

    Attributes:
        ring: cluster score at or above which a cluster is a ``ring``.
        suspicious: cluster score at or above which a cluster is ``suspicious``.
        min_ring_size: smaller clusters are at most ``suspicious``.
        lone_suspicious: account score at or above which an account in no cluster is ``suspicious``
            (a lone account is never a ``ring``).
        gnn_blend: share of an account's own GNN score in its account score (rest: its cluster's).
        lone_damping: an account in no cluster gets this share of its own model score (one account
            alone is weak evidence of coordination).
        lone_gnn_share: for an account in no cluster that has consensus evidence (its ratings against
            the same entities' other raters, :func:`consensus_deviation`), the share of its own
            model score next to that evidence (the rest). Chosen with cross-fitted GNN scores: on
            the reviews regime, scored by a GNN trained without it, 0 to 0.75 tie and 1 loses; on
            YelpChi (real) every share above 0 loses (docs/detection.md). Accounts without
            consensus evidence get their model score alone. ``None``: by model, 0 for the shipped
            default model, 0.5 for one trained on the platform's own labels
            (``service.pipeline.LONE_GNN_SHARE``).
        null_copies: null copies of the log (:mod:`graphs.null`) scored to calibrate the ring
            threshold; 0 keeps ``ring`` as the threshold.
        null_seed: random seed of the first null copy.
        fdr: the false-discovery rate of ``ring`` verdicts against the null copies.
    """

    ring: float = 0.5
    suspicious: float = 0.2
    min_ring_size: int = 5
    lone_suspicious: float = 0.8
    gnn_blend: float = 0.3
    lone_damping: float = 0.5
    lone_gnn_share: float | None = None
    null_copies: int = 1
    null_seed: int = 0
    fdr: float = 0.05


@dataclass
class StructuralScorer:
    """Standardise -> logistic regression, over named cluster features (sklearn vocabulary)."""

    feature_names: list[str]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    meta: dict = field(default_factory=dict)

    @classmethod
    def fit(cls, features: pd.DataFrame, y: np.ndarray, c: float = 1.0, meta: dict | None = None):
        """Fits on cluster features and 0/1 cluster labels (balanced class weights)."""
        from sklearn.linear_model import LogisticRegression

        x = features.to_numpy(np.float64)
        mean, scale = x.mean(0), x.std(0)
        scale[scale < 1e-9] = 1.0
        lr = LogisticRegression(C=c, class_weight="balanced", max_iter=2000)
        lr.fit((x - mean) / scale, y)
        return cls(list(features.columns), mean, scale, lr.coef_[0], float(lr.intercept_[0]), meta or {})

    def score(self, features: pd.DataFrame) -> np.ndarray:
        """Ring probability per cluster row."""
        missing = [c for c in self.feature_names if c not in features.columns]
        if missing:
            raise ValueError(f"cluster features lack {missing}")
        x = features[self.feature_names].to_numpy(np.float64)
        z = ((x - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))

    def to_json(self) -> dict:
        return {
            "feature_names": self.feature_names,
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
            "meta": self.meta,
        }

    @classmethod
    def from_json(cls, d: dict) -> StructuralScorer:
        return cls(
            d["feature_names"],
            np.asarray(d["mean"]),
            np.asarray(d["scale"]),
            np.asarray(d["coef"]),
            float(d["intercept"]),
            d.get("meta", {}),
        )

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_json(), indent=1))

    @classmethod
    def load(cls, path: str | Path | None = None, variant: str = "structure") -> StructuralScorer:
        """Loads a scorer file, or the shipped one (``variant`` ``structure`` or ``structure+gnn``)."""
        if path is None:
            text = resources.files("graphs").joinpath(SHIPPED).read_text()
            return cls.from_json(json.loads(text)[variant])
        return cls.from_json(json.loads(Path(path).read_text()))


def cluster_verdicts(
    score: np.ndarray, size: np.ndarray, p: VerdictParams, ring: float | None = None
) -> np.ndarray:
    """``ring`` / ``suspicious`` / ``benign`` per cluster; ``ring`` overrides ``p.ring`` (null-calibrated)."""
    ring = p.ring if ring is None else ring
    v = np.where(score >= p.suspicious, SUSPICIOUS, BENIGN).astype(object)
    v[(score >= ring) & (size >= p.min_ring_size)] = RING
    return v


def consensus_deviation(features: np.ndarray, names: list[str]) -> np.ndarray:
    """Unsupervised evidence of one account alone: how far its ratings (any numeric event column)
    sit from the consensus of the same entities' other raters, and how often they are extreme.

    The mean of the two features' percentile ranks among the accounts that carry numeric values
    (``attr_entity_dev``, ``attr_extreme_share``), in [0, 1]; 0 for accounts without any. Needs no
    labels and no fitted model (SpEagle's priors, Rayana & Akoglu 2015, use the same two signals).
    """
    n = features.shape[0]
    out = np.zeros(n)
    if "attr_has_numeric" not in names:
        return out
    has = features[:, names.index("attr_has_numeric")] > 0
    if has.sum() < 2:
        return out
    from scipy.stats import rankdata

    ranks = [
        rankdata(features[has, names.index(f)]) / has.sum() for f in ("attr_entity_dev", "attr_extreme_share")
    ]
    out[has] = np.mean(ranks, axis=0)
    return out


def account_scores(
    labels: np.ndarray,
    cluster_score: np.ndarray,
    own: np.ndarray | None,
    p: VerdictParams,
    lone: np.ndarray | None = None,
) -> np.ndarray:
    """Account score in 0..1: its cluster's score blended with its own GNN score if any.

    Accounts in no cluster get ``lone_damping`` (one account alone is weak evidence of coordination)
    times their ``lone`` evidence (:func:`consensus_deviation`, > 0 where the account has any)
    blended with their own GNN score at ``lone_gnn_share``; their GNN score alone without such
    evidence, the evidence alone without a model; 0 with neither.
    """
    n = labels.shape[0]
    in_cluster = labels >= 0
    out = np.zeros(n, dtype=np.float64)
    cs = cluster_score[labels[in_cluster]]
    if own is None:
        out[in_cluster] = cs
    else:
        out[in_cluster] = (1 - p.gnn_blend) * cs + p.gnn_blend * own[in_cluster]
    alone = ~in_cluster
    ev = lone[alone] if lone is not None else np.zeros(int(alone.sum()))
    if own is None:
        out[alone] = p.lone_damping * ev
    else:
        mine = own[alone]
        share = 0.0 if p.lone_gnn_share is None else p.lone_gnn_share
        blended = (1 - share) * ev + share * mine
        out[alone] = p.lone_damping * np.where(ev > 0, blended, mine)
    return np.clip(out, 0.0, 1.0)


def account_verdicts(
    labels: np.ndarray, cluster_verdict: np.ndarray, own: np.ndarray | None, p: VerdictParams
) -> np.ndarray:
    """The cluster's verdict; for accounts in no cluster, ``suspicious`` when the model's own score
    reaches ``lone_suspicious``, else ``benign``."""
    v = np.full(labels.shape[0], BENIGN, dtype=object)
    in_cluster = labels >= 0
    v[in_cluster] = cluster_verdict[labels[in_cluster]]
    if own is not None:
        v[~in_cluster & (own >= p.lone_suspicious)] = SUSPICIOUS
    return v


def verdict_reason(verdict: str, score: float, p: VerdictParams, ring: float) -> str:
    """One sentence for investigators: why this cluster got its verdict."""
    need = f"{ring:.2f}" if np.isfinite(ring) else "a score this log's null copy never reaches"
    if verdict == RING:
        return f"cluster score {score:.2f} >= ring threshold {need} (beats this log's null copy)"
    if verdict == SUSPICIOUS:
        return f"cluster score {score:.2f} >= suspicious threshold {p.suspicious} (ring needs {need})"
    return f"cluster score {score:.2f} < suspicious threshold {p.suspicious}"


def with_mean_model_score(features: pd.DataFrame, labels: np.ndarray, own: np.ndarray) -> pd.DataFrame:
    """Cluster features plus ``mean_gnn_score``, the members' mean model score (the input of the
    ``structure+gnn`` variant of the structural scorer)."""
    inside = labels >= 0
    mean = pd.Series(own[inside]).groupby(labels[inside]).mean()
    return features.assign(mean_gnn_score=mean.reindex(features.index).fillna(0.0).to_numpy())
