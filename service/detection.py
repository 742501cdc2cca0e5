"""What one detection run produces: the unit ``detect`` writes to disk and publishes to the store."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from graphs.scoring import VERDICTS

__all__ = ["ACCOUNT_COLUMNS", "CLUSTER_COLUMNS", "EDGE_COLUMNS", "VERDICTS", "Detection", "write_outputs"]

ACCOUNT_COLUMNS = ["account_id", "score", "cluster_id", "verdict"]
CLUSTER_COLUMNS = ["cluster_id", "size", "verdict", "score"]
EDGE_COLUMNS = ["cluster_id", "src", "dst", "relation", "weight"]


@dataclass
class Detection:
    """One run's verdicts.

    Attributes:
        accounts: one row per account seen in the events: ``account_id, score, cluster_id, verdict``
            (``cluster_id`` is ``""`` when the account is in no cluster) plus extra columns.
        clusters: one row per cluster: ``cluster_id, size, verdict, score`` plus flat evidence
            columns (numbers and short strings) for the CSV.
        evidence: cluster_id -> JSON-able evidence for investigators (shared entities with
            exclusivity, synchronised campaigns with targets and windows, creation burst, density,
            strongest edges, timeline).
        edges: intra-cluster edges for drawing: ``cluster_id, src, dst, relation, weight`` with
            account ids as ``src``/``dst``.
        model_version: the scorer that produced the scores.
        detected_at: when the run finished (UTC).
        params: the parameters of the run (for reproducibility).
        profiles: account id -> profile of each member of a flagged cluster (creation time,
            identifiers, recent events, strongest links; :mod:`graphs.profiles`), for the account
            card; published into the store, not written to the output files.
        null_scores: the scores of the log's null copies' ring-sized clusters the ring threshold was
            calibrated on (``ringscope update`` keeps them to reuse while the log grows little).
    """

    accounts: pd.DataFrame
    clusters: pd.DataFrame
    evidence: dict[str, dict]
    edges: pd.DataFrame
    model_version: str
    detected_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    params: dict = field(default_factory=dict)
    profiles: dict[str, dict] = field(default_factory=dict)
    null_scores: np.ndarray | None = None

    def __post_init__(self) -> None:
        for name, frame, cols in (
            ("accounts", self.accounts, ACCOUNT_COLUMNS),
            ("clusters", self.clusters, CLUSTER_COLUMNS),
            ("edges", self.edges, EDGE_COLUMNS),
        ):
            missing = [c for c in cols if c not in frame.columns]
            if missing:
                raise ValueError(f"Detection.{name} lacks columns {missing}")

    def renamed(self, mapping: dict[str, str]) -> Detection:
        """A copy with cluster ids replaced through ``mapping`` (e.g. local keys -> stable ids)."""

        def sub(col: pd.Series) -> pd.Series:
            return col.map(lambda c: mapping.get(c, c))

        accounts = self.accounts.assign(cluster_id=sub(self.accounts["cluster_id"]))
        clusters = self.clusters.assign(cluster_id=sub(self.clusters["cluster_id"]))
        edges = self.edges.assign(cluster_id=sub(self.edges["cluster_id"]))
        evidence = {mapping.get(k, k): v for k, v in self.evidence.items()}
        return Detection(
            accounts,
            clusters,
            evidence,
            edges,
            self.model_version,
            self.detected_at,
            self.params,
            null_scores=self.null_scores,
        )


def write_outputs(detection: Detection, out_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Writes ``accounts.csv``, ``clusters.csv``, their Parquet twins and ``run.json``, all or nothing
    (see :mod:`service.outputs`; ``detect`` stages them inside the publish instead)."""
    from service.outputs import write_outputs as write

    return write(detection, out_dir)
