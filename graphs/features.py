"""Per-account features: activity rhythm, identifier use, synchronisation, relation degrees, attributes.

All features are finite float32 and, where a scale would leak in (counts, durations), log-scaled
(``log1p``) so a model trained on one platform's volume transfers to another's. The names and order
are fixed (:data:`FEATURE_NAMES`) whatever the log's schema: identifier features pool every
identifier type (whatever it is called), target features every target type, and the extra columns
of the log and the accounts table are summarised into fixed slots (:mod:`graphs.attributes`).

Example:
    >>> x, names = account_features(log, incidence, relation_set, roles, params)
    >>> x[:, names.index("sync_share")]
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .attributes import ATTRIBUTE_FEATURES, attribute_features
from .events import EventLog
from .incidence import Incidence, run_starts, sort_rows
from .params import GraphParams
from .relations import RelationSet, canonical_relations
from .roles import Roles

DEGREE_RELATIONS = ("identifier", "id_time", "coaction", "interaction")

#: Feature name -> meaning; the order is the column order of ``AccountGraph.features``.
FEATURES: dict[str, str] = {
    "log_events": "log1p(events of the account)",
    "log_active_days": "log1p(distinct UTC days with an event)",
    "log_events_per_day": "log1p(events per active day)",
    "log_span_days": "log1p(days between first and last event)",
    "burstiness": "(sd - mean) / (sd + mean) of gaps between distinct event times, in [-1, 1]; 0 if < 2 gaps",
    "log_identifiers": "log1p(distinct identifiers used per identifier type used)",
    "id_type_share": "share of the log's identifier types the account uses",
    "id_shared_max": "max over its identifiers below the cap of log(accounts on the identifier)",
    "id_shared_types": "share of the log's identifier types on which it shares an identifier below the cap",
    "id_pop_z": "mean log(accounts on its identifiers), as a z-score within each type, mean over its types",
    "id_shared_z": "share of its identifiers used by 2..cap accounts, z-scored within each type, mean",
    "id_hub_z": "share of its identifiers over their type's cap (hubs), z-scored within each type, mean",
    "fresh_id_z": "share of its identifiers first seen with this account, z-scored within each type, mean",
    "log_account_age_days": "log1p(days from created_at to the first event), 0 without created_at",
    "has_created_at": "1 if the accounts table gave created_at, else 0",
    "log_targets": "log1p(distinct targets acted on)",
    "target_pop_mean": "mean over its targets of log(accounts acting on the target)",
    "sync_share": "share of its targets acted on in the same window as another account (best window)",
    "log_crowding": "log1p(mean co-actors per target row at the longest window): bursts on its targets",
    "log_sync_partners": "log1p(accounts it co-acts with beyond chance: coaction neighbours)",
    "sync_strength": "max coaction surprise of its pairs over the log's threshold (0 without pairs)",
    "presence_strength": "max id_time surprise of its pairs over the log's threshold (0 without pairs)",
    **{
        f"{kind}_{rel}": f"{label} in the {rel} relation"
        for rel in DEGREE_RELATIONS
        for kind, label in (("deg", "log1p(neighbours)"), ("wdeg", "log1p(sum of edge weights)"))
    },
    **ATTRIBUTE_FEATURES,
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


def _identifiers(incs: list[tuple[Incidence, int]], n: int) -> dict[str, np.ndarray]:
    """Identifier use pooled over every identifier type (each with its own cap).

    Per-type rates are judged against the same type's rates in this log before pooling: each is a
    z-score over the accounts that use the type, averaged over the types an account uses. A type
    where every account's value is the same (a cookie per account and device: everyone's is
    "fresh") then adds nothing, and a log that records more identifier types does not shift the
    features. Counts are per type used, or shares of the log's types.
    """
    count = np.zeros(n)
    types_used = np.zeros(n)
    shared_max = np.zeros(n)
    shared_types = np.zeros(n)
    z = {k: np.zeros(n) for k in ("id_pop_z", "id_shared_z", "id_hub_z", "fresh_id_z")}
    informative = {k: np.zeros(n) for k in z}
    for inc, cap in incs:
        if inc.nnz == 0:
            continue
        deg = inc.degree[inc.col]
        logdeg = np.log(np.maximum(deg, 1))
        per = inc.account_degree.astype(np.float64)
        uses = per > 0
        count += per
        types_used += uses
        below = (deg >= 2) & (deg <= cap)
        np.maximum.at(shared_max, inc.account[below], logdeg[below])
        shared = np.bincount(inc.account, below, n)
        shared_types += shared > 0
        # Rows are sorted by column, so each entity's rows are one run: its first sighting is their min.
        starts = np.flatnonzero(np.concatenate([[True], inc.col[1:] != inc.col[:-1]]))
        col_first = np.zeros(inc.n_entities, dtype=np.int64)
        col_first[inc.col[starts]] = np.minimum.reduceat(inc.first_seen, starts)
        denom = np.maximum(per, 1)
        rates = {
            "id_pop_z": np.bincount(inc.account, logdeg, n) / denom,
            "id_shared_z": shared / denom,
            "id_hub_z": np.bincount(inc.account, deg > cap, n) / denom,
            "fresh_id_z": np.bincount(inc.account, inc.first_seen == col_first[inc.col], n) / denom,
        }
        for key, v in rates.items():
            mean, sd = v[uses].mean(), v[uses].std()
            if sd > 1e-9:  # a type on which every account is alike says nothing, and counts for nothing
                z[key] += np.where(uses, (v - mean) / sd, 0.0)
                informative[key] += uses
    n_types = max(sum(1 for inc, _ in incs if inc.nnz), 1)
    out = {
        "log_identifiers": np.log1p(count / np.maximum(types_used, 1)),
        "id_type_share": types_used / n_types,
        "id_shared_max": shared_max,
        "id_shared_types": shared_types / n_types,
    }
    out.update({k: np.clip(v / np.maximum(informative[k], 1), -5, 5) for k, v in z.items()})
    return out


def _targets(incs: list[Incidence], n: int) -> dict[str, np.ndarray]:
    count = np.zeros(n)
    pop_sum = np.zeros(n)
    for inc in incs:
        if inc.nnz == 0:
            continue
        count += inc.account_degree
        pop_sum += np.bincount(inc.account, np.log(np.maximum(inc.degree[inc.col], 1)), n)
    return {"log_targets": np.log1p(count), "target_pop_mean": pop_sum / np.maximum(count, 1)}


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


def _max_surprise(rel, threshold: float, n: int) -> np.ndarray:
    out = np.zeros(n)
    if rel.n_edges == 0 or not np.isfinite(threshold):
        return out
    s = rel.evidence["surprise"].astype(np.float64) / max(threshold, 1.0)
    np.maximum.at(out, rel.src, s)
    np.maximum.at(out, rel.dst, s)
    return out


def account_features(
    log: EventLog,
    incidence: dict[str, Incidence],
    rset: RelationSet,
    roles: Roles,
    params: GraphParams,
    accounts: pd.DataFrame | None = None,
    attributes=None,
    canonical: dict | None = None,
) -> tuple[np.ndarray, list[str]]:
    """Computes :data:`FEATURE_NAMES` for every account of the log.

    Args:
        log: the event log.
        incidence: from :func:`~graphs.incidence.build_incidence`.
        rset: from :func:`~graphs.relations.build_relations`.
        roles: the entity types' roles.
        params: the graph parameters (caps).
        accounts: optional accounts table indexed by ``account_id`` with ``created_at`` (Unix seconds)
            and any attributes, as :func:`graphs.events.load_accounts` returns.
        attributes: optional :class:`graphs.attributes.AttributeParams` (which columns to use).
        canonical: the relations pooled into canonical kinds
            (:func:`~graphs.relations.canonical_relations`), when the caller already has them.

    Returns:
        ``(x, names)``: float32 [n_accounts, len(names)], all finite, and the feature names.
    """
    n = log.n_accounts
    cols: dict[str, np.ndarray] = _activity(log)
    first_abs = cols.pop("_first_abs")
    cols.update(_identifiers([(incidence[t], params.cap(t)) for t in roles.identifiers if t in incidence], n))
    cols["log_account_age_days"], cols["has_created_at"] = _account_age(log, first_abs, accounts)
    cols.update(_targets([incidence[t] for t in roles.targets if t in incidence], n))

    rel = rset.relations
    co = rset.sync["coaction"]
    cols["sync_share"] = co.cooccurring / np.maximum(co.active, 1)
    coactors = co.coactors if co.coactors is not None else np.zeros(n)
    cols["log_crowding"] = np.log1p(coactors / np.maximum(co.active, 1))
    cols["log_sync_partners"] = np.log1p(rel["coaction"].degree(n))
    cols["sync_strength"] = _max_surprise(rel["coaction"], co.threshold, n)
    cols["presence_strength"] = _max_surprise(rel["id_time"], rset.sync["id_time"].threshold, n)

    canon = canonical or canonical_relations(rel, rset.identifier_names, n, params)
    for name in DEGREE_RELATIONS:
        cols[f"deg_{name}"] = np.log1p(canon[name].degree(n))
        cols[f"wdeg_{name}"] = np.log1p(canon[name].weighted_degree(n))
    cols.update(attribute_features(log, accounts, attributes))

    x = np.empty((n, len(FEATURE_NAMES)), dtype=np.float32)
    for j, name in enumerate(FEATURE_NAMES):
        x[:, j] = cols[name]
    # Defensive: a feature is never NaN or infinite, whatever the input.
    np.nan_to_num(x, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
    return x, list(FEATURE_NAMES)
