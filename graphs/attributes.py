"""Extra columns of the event log and of the accounts table: account features and shared-value evidence.

The contract allows any extra columns (a rating, a user agent, a text or image hash on events; a
country, an avatar flag, a bio length on accounts). Each one is used, unless switched off
(:class:`AttributeParams`):

* **numeric event columns** (values that parse as numbers, e.g. ``rating``) give per-account
  features, pooled over the columns into fixed slots so the model's inputs keep their shape:
  how far an account's values sit from the mean of the same entity's values (a 1-star review of a
  5-star hotel; Rayana & Akoglu's rating deviation), how often they are extreme (the column's
  minimum or maximum), the account's mean and spread;
* **categorical event columns** (user agent, text hash, image hash) and **categorical account
  columns** become identifier types ``attr:<column>``: accounts with the same value are linked like
  accounts sharing a device (an identical review text among 30 accounts is copy-paste; a country
  shared by thousands is a hub and links nobody);
* **numeric account columns** give the account's mean and largest absolute z-score.

A numeric column with many distinct integers (more than :data:`ID_LIKE_DISTINCT` and more than half
of its rows) is an id in disguise (an integer hash) and is treated as categorical. Switch a column
off with ``AttributeParams(ignore=("rating",))`` (``detect --ignore-column rating``), or force its
kind with ``numeric`` / ``categorical``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .events import EventLog, aligned

#: A numeric column with more distinct integers than this (and than half its rows) is an id.
ID_LIKE_DISTINCT = 1000
#: Prefix of the identifier types made from categorical attribute columns.
PREFIX = "attr:"

ATTRIBUTE_FEATURES: dict[str, str] = {
    "attr_has_numeric": "share of the account's events carrying a numeric attribute (rating, ...)",
    "attr_entity_dev": "mean |value - the entity's mean value| in column standard deviations, pooled",
    "attr_extreme_share": "share of the account's numeric values at their column's minimum or maximum",
    "attr_mean_z": "mean z-score of the account's numeric values, pooled over the columns",
    "attr_spread_z": "standard deviation of the account's numeric values in column standard deviations",
    "account_attr_mean_z": "mean z-score of the account's numeric attributes (accounts table)",
    "account_attr_max_abs_z": "largest |z-score| of the account's numeric attributes (accounts table)",
}


@dataclass(frozen=True)
class AttributeParams:
    """Which extra columns are used, and how.

    Attributes:
        use: use extra columns at all.
        ignore: column names to leave out (events or accounts table).
        numeric: columns forced to be numeric.
        categorical: columns forced to be categorical (shared values become evidence).
    """

    use: bool = True
    ignore: tuple[str, ...] = ()
    numeric: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("ignore", "numeric", "categorical"):
            value = getattr(self, name)
            if isinstance(value, str):
                value = tuple(v.strip() for v in value.split(",") if v.strip())
            object.__setattr__(self, name, tuple(value))


#: Rows of a column that decide its kind.
KIND_SAMPLE = 100_000


def column_kind(values: pd.Series, name: str, p: AttributeParams) -> str | None:
    """``"numeric"``, ``"categorical"`` or ``None`` (ignored / empty) for one extra column."""
    if name in p.ignore or not p.use:
        return None
    if name in p.numeric:
        return "numeric"
    if name in p.categorical:
        return "categorical"
    if len(values) > KIND_SAMPLE:  # an evenly spaced sample decides (string checks cost per row)
        values = values.iloc[:: -(-len(values) // KIND_SAMPLE)]
    present = values.dropna()
    if not pd.api.types.is_numeric_dtype(present):
        present = present[present.astype(str).str.strip().str.len() > 0]
    if len(present) == 0:
        return None
    num = pd.to_numeric(present, errors="coerce")
    if num.notna().mean() < 0.95:
        return "categorical"
    num = num.dropna()
    is_int = bool(np.all(np.mod(num.to_numpy(np.float64), 1) == 0))
    distinct = num.nunique()
    if is_int and distinct > ID_LIKE_DISTINCT and distinct > 0.5 * len(num):
        return "categorical"
    return "numeric"


def _z(values: np.ndarray) -> tuple[np.ndarray, float, float]:
    ok = np.isfinite(values)
    if not ok.any():
        return np.full(values.shape, np.nan), 0.0, 1.0
    mean = float(values[ok].mean())
    sd = float(values[ok].std())
    sd = sd if sd > 1e-12 else 1.0
    return (values - mean) / sd, mean, sd


def event_numeric_features(log: EventLog, columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Pooled per-account features of numeric event columns (:data:`ATTRIBUTE_FEATURES` ``attr_*``)."""
    n = log.n_accounts
    keys = ("attr_has_numeric", "attr_entity_dev", "attr_extreme_share", "attr_mean_z", "attr_spread_z")
    out = {k: np.zeros(n) for k in keys}
    if not columns:
        return out
    # Rows the log came with (not the identifier rows added for categorical attribute values).
    attr_codes = [i for i, t in enumerate(log.entity_types) if t.startswith(PREFIX)]
    own = ~np.isin(log.event_entity_type, attr_codes)
    n_events = np.bincount(log.account[own], minlength=n).astype(np.float64)
    for values in columns.values():
        v = np.asarray(values, dtype=np.float64)
        ok = np.isfinite(v)
        if not ok.any():
            continue
        z, _, _ = _z(v)
        acc = log.account[ok]
        ent = log.entity[ok]
        zv = z[ok]
        cnt = np.bincount(acc, minlength=n).astype(np.float64)
        denom = np.maximum(cnt, 1)
        # Deviation from the mean of the same entity's values (the entity's other raters).
        e_sum = np.bincount(ent, zv, log.n_entities)
        e_cnt = np.bincount(ent, minlength=log.n_entities).astype(np.float64)
        others = np.maximum(e_cnt[ent] - 1, 1)
        e_mean_others = np.where(e_cnt[ent] > 1, (e_sum[ent] - zv) / others, zv)
        dev = np.abs(zv - e_mean_others)
        lo, hi = np.nanmin(v), np.nanmax(v)
        extreme = (v[ok] == lo) | (v[ok] == hi) if hi > lo else np.zeros(zv.size, dtype=bool)
        mean = np.bincount(acc, zv, n) / denom
        var = np.bincount(acc, zv * zv, n) / denom - mean * mean
        out["attr_has_numeric"] += cnt / np.maximum(n_events, 1)
        out["attr_entity_dev"] += np.bincount(acc, dev, n) / denom
        out["attr_extreme_share"] += np.bincount(acc, extreme, n) / denom
        out["attr_mean_z"] += mean
        out["attr_spread_z"] += np.sqrt(np.maximum(var, 0.0))
    k = len(columns)
    return {key: value / k for key, value in out.items()}


def account_numeric_features(
    log: EventLog, accounts: pd.DataFrame | None, p: AttributeParams
) -> dict[str, np.ndarray]:
    """Mean and largest |z| of the accounts table's numeric columns, per account of the log."""
    n = log.n_accounts
    out = {"account_attr_mean_z": np.zeros(n), "account_attr_max_abs_z": np.zeros(n)}
    if accounts is None or len(accounts) == 0:
        return out
    if "account_id" in accounts.columns:
        accounts = accounts.set_index("account_id")
    zs = []
    codes = None
    for col in accounts.columns:
        if col == "created_at" or column_kind(accounts[col], col, p) != "numeric":
            continue
        values = pd.to_numeric(accounts[col], errors="coerce").to_numpy(np.float64)
        z, _, _ = _z(values)
        codes = log.account_codes(accounts.index) if codes is None else codes
        zs.append(aligned(log, accounts.index, z, codes))
    if not zs:
        return out
    m = np.vstack(zs)
    present = np.isfinite(m)
    cnt = present.sum(0)
    m0 = np.where(present, m, 0.0)
    out["account_attr_mean_z"] = np.where(cnt > 0, m0.sum(0) / np.maximum(cnt, 1), 0.0)
    out["account_attr_max_abs_z"] = np.abs(m0).max(0)
    return out


def attribute_features(
    log: EventLog, accounts: pd.DataFrame | None, p: AttributeParams | None = None
) -> dict[str, np.ndarray]:
    """Every :data:`ATTRIBUTE_FEATURES` column for the accounts of the log."""
    p = p or AttributeParams()
    numeric = {
        name: values
        for name, values in log.attributes.items()
        if column_kind(pd.Series(values), name, p) == "numeric"
    }
    numeric = {
        k: pd.to_numeric(pd.Series(v), errors="coerce").to_numpy(np.float64) for k, v in numeric.items()
    }
    out = event_numeric_features(log, numeric)
    out.update(account_numeric_features(log, accounts, p))
    return out


def with_attribute_entities(
    log: EventLog, accounts: pd.DataFrame | None, p: AttributeParams | None = None
) -> tuple[EventLog, tuple[str, ...]]:
    """The log with one identifier row ``attr:<column>`` per categorical value, and those types.

    Event columns give a row per event with a value (same account, time and action); account
    columns a row per account of the log with a value, at the account's first event. Values are
    compared as strings; empty values give no row.
    """
    p = p or AttributeParams()
    frames = []
    if p.use:
        for name, values in log.attributes.items():
            if column_kind(pd.Series(values), name, p) != "categorical":
                continue
            s = pd.Series(values, dtype=object).astype("string")
            ok = (s.notna() & (s.str.len() > 0)).to_numpy(dtype=bool)
            frames.append(
                pd.DataFrame(
                    {
                        "account": log.account[ok],
                        "timestamp": log.timestamp[ok],
                        "action": log.action[ok],
                        "type": PREFIX + name,
                        "value": s[ok].to_numpy(dtype=object),
                    }
                )
            )
        if accounts is not None and len(accounts):
            acc = accounts.set_index("account_id") if "account_id" in accounts.columns else accounts
            acc_codes = None  # the table's ids as log account codes, looked up once for every column
            for name in acc.columns:
                if name == "created_at" or column_kind(acc[name], name, p) != "categorical":
                    continue
                acc_codes = log.account_codes(acc.index) if acc_codes is None else acc_codes
                values = acc[name].astype("string").to_numpy(object)
                s = pd.Series(aligned(log, acc.index, values, acc_codes)).astype("string")
                ok = (s.notna() & (s.str.len() > 0)).to_numpy(dtype=bool)
                codes = np.flatnonzero(ok)
                frames.append(
                    pd.DataFrame(
                        {
                            "account": codes.astype(np.int32),
                            "timestamp": log.first_seen[codes],
                            "action": -1,
                            "type": PREFIX + name,
                            "value": s.to_numpy(dtype=object)[ok],
                        }
                    )
                )
    frames = [f for f in frames if len(f)]
    if not frames:
        return log, ()
    return log.with_rows(pd.concat(frames, ignore_index=True), action_name="attribute"), tuple(
        dict.fromkeys(f["type"].iloc[0] for f in frames)
    )
