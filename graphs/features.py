"""Per-account features: activity rhythm, identifier use, synchronisation and relation degrees.

All features are finite float32 and, where a scale would leak in (counts, durations), log-scaled
(``log1p``) so a model trained on one platform's volume transfers to another's. The names and order
are fixed (:data:`FEATURE_NAMES`), whatever entity types a log holds: identifier types other than
device and IP are pooled as ``other_id``.

Example:
    >>> x, names = account_features(log, incidence, relations, cells, params)
    >>> x[:, names.index("sync_share")]
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .events import EventLog
from .incidence import Incidence, run_starts, sort_rows
from .params import GraphParams
from .relations import CoactionCells, Relation, identifier_types, relation_name

DEGREE_RELATIONS = ("device", "ip", "ip_time", "coaction", "interaction", "other_id")

#: Feature name -> meaning; the order is the column order of ``AccountGraph.features``.
FEATURES: dict[str, str] = {
    "log_events": "log1p(events of the account)",
    "log_active_days": "log1p(distinct UTC days with an event)",
    "log_events_per_day": "log1p(events per active day)",
    "log_span_days": "log1p(days between first and last event)",
    "burstiness": "(sd - mean) / (sd + mean) of gaps between distinct event times, in [-1, 1]; 0 if < 2 gaps",
    "log_devices": "log1p(distinct devices)",
    "log_ips": "log1p(distinct IPs)",
    "log_other_ids": "log1p(distinct other identifiers: phone, email, payment, ...)",
    "device_pop_mean": "mean over the account's devices of log(accounts on the device)",
    "device_pop_max": "max over the account's devices of log(accounts on the device)",
    "ip_pop_mean": "mean over the account's IPs of log(accounts on the IP)",
    "ip_pop_max": "max over the account's IPs of log(accounts on the IP)",
    "log_device_hubs": "log1p(devices used that exceed device_cap accounts)",
    "log_ip_hubs": "log1p(IPs used that exceed ip_cap accounts)",
    "log_other_id_hubs": "log1p(other identifiers used that exceed their cap)",
    "fresh_device_share": "share of the account's devices first seen (globally) with this account",
    "log_account_age_days": "log1p(days from created_at to the first event), 0 without created_at",
    "has_created_at": "1 if the accounts table gave created_at, else 0",
    "log_targets": "log1p(distinct targets acted on: content, accounts)",
    "sync_share": "share of targets acted on within coaction_window of another account (non-viral cell)",
    **{
        f"{kind}_{rel}": f"{label} in the {rel} relation"
        + (" (all other identifier types)" * (rel == "other_id"))
        for rel in DEGREE_RELATIONS
        for kind, label in (("deg", "log1p(neighbours)"), ("wdeg", "log1p(sum of edge weights)"))
    },
}
FEATURE_NAMES: list[str] = list(FEATURES)


def _activity(log: EventLog) -> dict[str, np.ndarray]:
    n = log.n_accounts
    t0 = int(log.timestamp.min()) if log.n_events else 0
    rel = log.timestamp - t0
    # Distinct (account, time) pairs: a login is a device row and an IP row at one instant.
    acc, t = sort_rows(log.account, rel)
    first_of = run_starts(acc, t)
    acc, t = acc[first_of], t[first_of]
    new_acc = np.concatenate([[True], acc[1:] != acc[:-1]])
    starts = np.flatnonzero(new_acc)
    ends = np.concatenate([starts[1:], [acc.size]]) - 1
    first = np.zeros(n, dtype=np.int64)
    last = np.zeros(n, dtype=np.int64)
    first[acc[starts]] = t[starts]
    last[acc[ends]] = t[ends]
    day = t // 86400
    new_day = new_acc | np.concatenate([[True], day[1:] != day[:-1]])
    active_days = np.bincount(acc, new_day, n)
    # Gaps between consecutive distinct times of the same account.
    same = ~new_acc[1:]
    gap = np.diff(t).astype(np.float64)[same]
    gacc = acc[1:][same]
    cnt = np.bincount(gacc, minlength=n).astype(np.float64)
    mean = np.bincount(gacc, gap, n) / np.maximum(cnt, 1)
    var = np.bincount(gacc, gap * gap, n) / np.maximum(cnt, 1) - mean * mean
    sd = np.sqrt(np.maximum(var, 0.0))
    burst = np.where(cnt >= 2, (sd - mean) / np.maximum(sd + mean, 1e-9), 0.0)
    n_events = np.bincount(log.account, minlength=n).astype(np.float64)
    return {
        "log_events": np.log1p(n_events),
        "log_active_days": np.log1p(active_days),
        "log_events_per_day": np.log1p(n_events / np.maximum(active_days, 1)),
        "log_span_days": np.log1p((last - first) / 86400.0),
        "burstiness": burst,
        "_first_abs": (first + t0).astype(np.float64),
    }


def _identifier(inc: Incidence | None, cap: int, n: int) -> dict[str, np.ndarray]:
    zeros = np.zeros(n)
    if inc is None or inc.nnz == 0:
        return {"n": zeros, "pop_mean": zeros, "pop_max": zeros, "hubs": zeros, "fresh": zeros}
    deg = inc.degree
    per = inc.account_degree.astype(np.float64)
    logdeg = np.log(np.maximum(deg, 1))[inc.col]
    pop_max = np.zeros(n)
    np.maximum.at(pop_max, inc.account, logdeg)
    # Rows are sorted by column, so each entity's rows are one run: its first sighting is their min.
    starts = np.flatnonzero(np.concatenate([[True], inc.col[1:] != inc.col[:-1]]))
    col_first = np.zeros(inc.n_entities, dtype=np.int64)
    col_first[inc.col[starts]] = np.minimum.reduceat(inc.first_seen, starts)
    fresh = inc.first_seen == col_first[inc.col]
    return {
        "n": per,
        "pop_mean": np.bincount(inc.account, logdeg, n) / np.maximum(per, 1),
        "pop_max": pop_max,
        "hubs": np.bincount(inc.account, deg[inc.col] > cap, n),
        "fresh": np.bincount(inc.account, fresh, n) / np.maximum(per, 1),
    }


def _account_age(
    log: EventLog, first_abs: np.ndarray, accounts: pd.DataFrame | None
) -> tuple[np.ndarray, np.ndarray]:
    n = log.n_accounts
    if accounts is not None and "account_id" in accounts.columns:
        accounts = accounts.set_index("account_id")
    if accounts is None or "created_at" not in accounts or len(accounts) == 0:
        return np.zeros(n), np.zeros(n)
    created = accounts["created_at"]
    if pd.api.types.is_datetime64_any_dtype(created):
        # Seconds since the epoch whatever the datetime unit or time zone; NaT stays missing.
        naive = created.dt.tz_convert("UTC").dt.tz_localize(None) if created.dt.tz is not None else created
        created = (naive - pd.Timestamp(0)) / pd.Timedelta(seconds=1)
    created = pd.to_numeric(created, errors="coerce").to_numpy(dtype=np.float64)
    # Arrow's hash lookup: several times faster than pandas' get_indexer on a million string ids.
    pos = pc.index_in(
        pa.array(log.account_ids, type=pa.string()),
        value_set=pa.array(np.asarray(accounts.index, dtype=object), type=pa.string()),
    )
    pos = pos.fill_null(-1).to_numpy(zero_copy_only=False)
    value = np.where(pos >= 0, created[np.maximum(pos, 0)], np.nan)
    has = np.isfinite(value)
    age_days = np.where(has, np.maximum(first_abs - np.where(has, value, 0.0), 0.0) / 86400.0, 0.0)
    return np.log1p(age_days), has.astype(np.float64)


def account_features(
    log: EventLog,
    incidence: dict[str, Incidence],
    relations: dict[str, Relation],
    cells: CoactionCells,
    params: GraphParams,
    accounts: pd.DataFrame | None = None,
) -> tuple[np.ndarray, list[str]]:
    """Computes :data:`FEATURE_NAMES` for every account of the log.

    Args:
        log: the event log.
        incidence: from :func:`~graphs.incidence.build_incidence`.
        relations: from :func:`~graphs.relations.build_relations`.
        cells: from :func:`~graphs.relations.coaction_cells` (for ``sync_share``).
        params: the graph parameters (caps).
        accounts: optional accounts table indexed by ``account_id`` with ``created_at`` (Unix seconds),
            as :func:`graphs.events.load_accounts` returns.

    Returns:
        ``(x, names)``: float32 [n_accounts, len(names)], all finite, and the feature names.
    """
    n = log.n_accounts
    cols: dict[str, np.ndarray] = _activity(log)
    first_abs = cols.pop("_first_abs")

    dev = _identifier(incidence.get("device"), params.cap("device"), n)
    ip = _identifier(incidence.get("ip"), params.cap("ip"), n)
    others = [t for t in identifier_types(log, params) if t not in ("device", "ip") and t in incidence]
    other = [_identifier(incidence[t], params.cap(t), n) for t in others]
    cols["log_devices"] = np.log1p(dev["n"])
    cols["log_ips"] = np.log1p(ip["n"])
    cols["log_other_ids"] = np.log1p(sum((o["n"] for o in other), np.zeros(n)))
    cols["device_pop_mean"], cols["device_pop_max"] = dev["pop_mean"], dev["pop_max"]
    cols["ip_pop_mean"], cols["ip_pop_max"] = ip["pop_mean"], ip["pop_max"]
    cols["log_device_hubs"] = np.log1p(dev["hubs"])
    cols["log_ip_hubs"] = np.log1p(ip["hubs"])
    cols["log_other_id_hubs"] = np.log1p(sum((o["hubs"] for o in other), np.zeros(n)))
    cols["fresh_device_share"] = dev["fresh"]
    cols["log_account_age_days"], cols["has_created_at"] = _account_age(log, first_abs, accounts)

    targets = np.bincount(cells.account, minlength=n).astype(np.float64)
    cols["log_targets"] = np.log1p(targets)
    cols["sync_share"] = np.bincount(cells.account, cells.synced, n) / np.maximum(targets, 1)

    other_rel = [relation_name(t) for t in others]
    for rel in DEGREE_RELATIONS:
        members = other_rel if rel == "other_id" else [rel]
        deg, wdeg = np.zeros(n), np.zeros(n)
        for r in members:
            if r in relations:
                deg += relations[r].degree(n)
                wdeg += relations[r].weighted_degree(n)
        cols[f"deg_{rel}"] = np.log1p(deg)
        cols[f"wdeg_{rel}"] = np.log1p(wdeg)

    x = np.empty((n, len(FEATURE_NAMES)), dtype=np.float32)
    for j, name in enumerate(FEATURE_NAMES):
        x[:, j] = cols[name]
    # Defensive: a feature is never NaN or infinite, whatever the input.
    np.nan_to_num(x, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
    return x, list(FEATURE_NAMES)
