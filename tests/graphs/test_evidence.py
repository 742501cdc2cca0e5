"""Cluster evidence's grouping helpers against the pandas operations they replace."""

from __future__ import annotations

import numpy as np
import pandas as pd


def test_bucket_groups_match_pandas_groupby_with_and_without_compacted_keys() -> None:
    """The synchronised groups' integer-key grouping gives pandas' four-key groupby (sort=False):
    the same groups in order of first appearance, the same distinct members, first and last time;
    on the raw codes and on the compacted ones a huge entity count forces."""
    from graphs.evidence import _bucket_groups

    rng = np.random.default_rng(7)
    n = 4000
    ev = pd.DataFrame(
        {
            "cluster": rng.integers(0, 5, n),
            "entity": rng.integers(0, 40, n),
            "action": rng.integers(0, 3, n),
            "account": rng.integers(0, 60, n),
            "ts": rng.integers(0, 10_000, n),
        }
    )
    bucket = ev["ts"].to_numpy() // 900
    want = (
        ev.assign(bucket=bucket)
        .groupby(["cluster", "entity", "action", "bucket"], sort=False)
        .agg(members=("account", "nunique"), start=("ts", "min"), end=("ts", "max"))
        .reset_index()
        .drop(columns="bucket")
    )
    for n_entities in (40, 2**58):  # the second cannot be packed raw: the fallback path
        got = _bucket_groups(ev, bucket, n_entities, 60)
        pd.testing.assert_frame_equal(got, want[got.columns.tolist()], check_dtype=False)
