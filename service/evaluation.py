"""The quality of a detection run against labels: ``ringscope evaluate --run DIR --labels F``.

Reads the run's ``accounts`` and ``clusters`` tables (Parquet when present, else CSV) and scores them
with :func:`graphs.truth.quality_report`, the code ``bench.quality`` and ``bench.robustness`` use:
account ROC-AUC and AP, the precision and recall of ``ring`` verdicts over accounts, ring recall and
precision at Jaccard >= 0.5 when the labels carry ``ring_id``, per ring kind when they carry
``ring_kind``, and false positives among benign look-alikes when they carry ``lookalike``.

Only labelled accounts count: a log labelled in part (a test split, a moderators' sample) is judged
on what is known, not on unlabelled accounts taken as benign.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from graphs.errors import InputError
from graphs.events import load_labels
from graphs.truth import quality_report

ACCOUNT_COLUMNS = ("account_id", "score", "cluster_id", "verdict")
CLUSTER_COLUMNS = ("cluster_id", "verdict")


def _table(run: Path, name: str, columns: tuple[str, ...]) -> pd.DataFrame:
    parquet, csv = run / f"{name}.parquet", run / f"{name}.csv"
    if parquet.is_file():
        df, path = pd.read_parquet(parquet), parquet
    elif csv.is_file():
        df, path = pd.read_csv(csv, dtype={"account_id": str, "cluster_id": str}, keep_default_na=False), csv
    else:
        raise InputError(
            str(run), f"no {name}.parquet or {name}.csv (is it a `ringscope detect --out` folder?)"
        )
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError(str(path), f"the header lacks column(s) {', '.join(missing)}")
    return df


def evaluate_run(run: str | Path, labels: str | Path) -> dict:
    """Quality of the detection in folder ``run`` against the labels table ``labels``.

    Raises:
        InputError: the folder lacks the tables, a table lacks a column, the labels are malformed,
            or no labelled account is in the run.
    """
    run = Path(run)
    if not run.is_dir():
        raise InputError(str(run), "not a folder (give the folder `ringscope detect --out` wrote)")
    accounts = _table(run, "accounts", ACCOUNT_COLUMNS)
    clusters = _table(run, "clusters", CLUSTER_COLUMNS)
    lab = load_labels(labels)
    accounts = accounts.assign(cluster_id=accounts["cluster_id"].fillna("").astype(str))
    known = accounts["account_id"].astype(str).isin(lab.index)
    if not known.any():
        raise InputError(str(labels), f"none of its accounts is in {run} (labels of another log?)")
    rep = quality_report(accounts[known].reset_index(drop=True), clusters, lab)
    rep["unlabelled_accounts"] = int((~known).sum())
    rep["labelled_not_in_run"] = int((~lab.index.isin(accounts["account_id"].astype(str))).sum())
    return rep
