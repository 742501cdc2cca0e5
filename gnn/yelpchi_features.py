"""Behavioural features of YelpChi reviews, rebuilt from the raw review metadata.

CARE-GNN's YelpChi graph comes with 32 handcrafted features per review (Rayana & Akoglu, "Collective
Opinion Spam Detection: Bridging Review Networks and Metadata", KDD 2015, Tables 2 and 3). The copy
of the graph we have (``YelpChi_structure_rebuilt.mat``, see ``../shared/data/README.md``) has the
structure and the labels but not the features. Most of them are *behavioural*, computed from who
reviewed which product when and with which rating; this module rebuilds those from
``yelpchi_metadata.gz``. The *text* features (review length, share of capital letters, first-person
pronouns, exclamations, subjectivity, content similarity) need the review text, which the metadata
does not have: they are missing.

Per review ``r`` of user ``u`` on product ``p`` with rating ``s`` on day ``t`` (the paper's names):

Review level
    ``rank``    rank of ``r`` among ``p``'s reviews by date (1 = first)
    ``rd``      ``|s - mean rating of p|`` (rating deviation)
    ``ext``     1 when ``s`` is 1 or 5 (extremity)
    ``dev``     1 when ``rd / 4 > 0.63`` (thresholded deviation)
    ``etf``     early time frame: ``1 - (t - F) / 7 months`` when positive, else 0 (``F``: the
                product's first review)
    ``etf_bin`` 1 when ``etf > 0.69``
    ``isr``     1 when ``u`` wrote a single review (singleton)

User level (of ``u``, prefixed ``user_``) and product level (of ``p``, prefixed ``prod_``)
    ``mnr``     most reviews on one day, over the largest such count in the data
    ``pr``      share of positive ratings (4 or 5)
    ``nr``      share of negative ratings (1 or 2)
    ``avg_rd``  mean rating deviation of the reviews
    ``wrd``     rating deviation weighted by ``1 / rank ** 1.5`` (early reviews weigh more)
    ``bst``     burstiness ``1 - (last - first) / 28 days`` when positive, else 0
    ``erd``     entropy of the rating distribution
    ``etg``     entropy of the gaps between consecutive reviews, binned at 0.5, 1, 4, 7, 13 and 33 days
    ``count``   number of reviews

The thresholds (0.63, 0.69, 7 months, 28 days, the gap bins) are the paper's. Everything is computed
on the whole metadata (67,395 reviews), before CARE-GNN's filter of products with more than 800
reviews, as the raw data's own statistics.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd

from gnn.errors import DatasetError

DELTA_ETF_DAYS = 7 * 30.4
TAU_BST_DAYS = 28.0
BETA_DEV = 0.63
BETA_ETF = 0.69
WRD_ALPHA = 1.5
GAP_BINS_DAYS = (0.5, 1.0, 4.0, 7.0, 13.0, 33.0)
GROUP_FEATURES = ("mnr", "pr", "nr", "avg_rd", "wrd", "bst", "erd", "etg", "count")
REVIEW_FEATURES = ("rank", "rd", "ext", "dev", "etf", "etf_bin", "isr")


def read_metadata(path: str | Path) -> pd.DataFrame:
    """``user, prod, rating, label, date`` from ``yelpchi_metadata.gz`` (space-separated lines
    ``user_id prod_id rating label date``; label -1 = filtered review)."""
    path = Path(path)
    try:
        with gzip.open(path, "rt") if path.suffix == ".gz" else open(path) as fh:
            df = pd.read_csv(fh, sep=r"\s+", header=None, names=["user", "prod", "rating", "label", "date"])
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise DatasetError(f"{path}: cannot read the YelpChi metadata ({exc})") from None
    if df.empty or df[["user", "prod", "rating"]].isna().any().any():
        raise DatasetError(f"{path}: expected lines 'user_id prod_id rating label date'")
    df["date"] = pd.to_datetime(df["date"], errors="coerce")
    if df["date"].isna().any():
        row = int(np.flatnonzero(df["date"].isna().to_numpy())[0]) + 1
        raise DatasetError(f"{path}, line {row}: the date is not YYYY-MM-DD")
    return df


def _entropy(counts: pd.DataFrame) -> np.ndarray:
    p = counts.to_numpy(np.float64)
    total = p.sum(axis=1, keepdims=True)
    p = np.divide(p, total, out=np.zeros_like(p), where=total > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.nansum(np.where(p > 0, p * np.log(p), 0.0), axis=1)


def _group_features(df: pd.DataFrame, key: str, mnr_norm: float | None = None) -> pd.DataFrame:
    """The user- or product-level features of every ``key`` value."""
    g = df.groupby(key)
    out = pd.DataFrame(index=g.size().index)
    per_day = df.groupby([key, "day"]).size().groupby(level=0).max()
    out["mnr"] = per_day / (mnr_norm or max(per_day.max(), 1))
    out["pr"] = g["rating"].apply(lambda r: float((r >= 4).mean()))
    out["nr"] = g["rating"].apply(lambda r: float((r <= 2).mean()))
    out["avg_rd"] = g["rd"].mean()
    w = 1.0 / df["rank"].to_numpy(np.float64) ** WRD_ALPHA
    out["wrd"] = (
        pd.Series(df["rd"].to_numpy() * w).groupby(df[key].to_numpy()).sum()
        / pd.Series(w).groupby(df[key].to_numpy()).sum()
    )
    span = (g["day"].max() - g["day"].min()).astype(np.float64)
    out["bst"] = np.clip(1.0 - span / TAU_BST_DAYS, 0.0, 1.0)
    ratings = df.groupby([key, "rating"]).size().unstack(fill_value=0)
    out["erd"] = pd.Series(_entropy(ratings), index=ratings.index)
    ordered = df.sort_values([key, "day"], kind="stable")
    gap = ordered.groupby(key)["day"].diff().dropna()
    bins = np.digitize(gap.to_numpy(np.float64), GAP_BINS_DAYS)
    gaps = pd.crosstab(ordered.loc[gap.index, key].to_numpy(), bins)
    out["etg"] = pd.Series(_entropy(gaps), index=gaps.index).reindex(out.index).fillna(0.0)
    out["count"] = g.size().astype(np.float64)
    return out


def review_features(meta: pd.DataFrame) -> pd.DataFrame:
    """Every behavioural feature of every review of the metadata (one row per metadata row)."""
    df = meta.copy()
    df["day"] = (df["date"] - df["date"].min()).dt.days.astype(np.int64)
    df["rank"] = df.groupby("prod")["day"].rank(method="first").astype(np.float64)
    df["rd"] = (df["rating"] - df.groupby("prod")["rating"].transform("mean")).abs()
    df["ext"] = df["rating"].isin([1.0, 5.0]).astype(np.float64)
    df["dev"] = (df["rd"] / 4.0 > BETA_DEV).astype(np.float64)
    first = df.groupby("prod")["day"].transform("min")
    df["etf"] = np.clip(1.0 - (df["day"] - first) / DELTA_ETF_DAYS, 0.0, 1.0)
    df["etf_bin"] = (df["etf"] > BETA_ETF).astype(np.float64)
    df["isr"] = (df.groupby("user")["user"].transform("size") == 1).astype(np.float64)
    users = _group_features(df, "user").add_prefix("user_")
    prods = _group_features(df, "prod").add_prefix("prod_")
    out = df[["user", "prod", *REVIEW_FEATURES]]
    out = out.join(users, on="user").join(prods, on="prod")
    return out


def feature_names() -> list[str]:
    return [*REVIEW_FEATURES, *(f"user_{f}" for f in GROUP_FEATURES), *(f"prod_{f}" for f in GROUP_FEATURES)]


def node_features(meta: pd.DataFrame, users: np.ndarray, prods: np.ndarray) -> np.ndarray:
    """float32 [N, F] features of the graph's nodes, given each node's (user, product).

    Raises:
        DatasetError: a node's (user, product) review is not in the metadata, or occurs twice.
    """
    feats = review_features(meta)
    if feats.duplicated(["user", "prod"]).any():
        raise DatasetError("the metadata holds a (user, product) pair twice: nodes cannot be matched")
    keyed = feats.set_index(["user", "prod"])[feature_names()]
    idx = pd.MultiIndex.from_arrays([np.asarray(users).ravel(), np.asarray(prods).ravel()])
    x = keyed.reindex(idx)
    missing = x.isna().any(axis=1).to_numpy()
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise DatasetError(f"node {i} (user {idx[i][0]}, product {idx[i][1]}) has no review in the metadata")
    return x.to_numpy(np.float32)
