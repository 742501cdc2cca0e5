"""Account profiles for investigators: what one clustered account is, uses and does, and who it is linked to.

The account card of the page (``GET /v1/profiles/{account_id}``) shows, for every account in a
cluster: its creation time and first and last event, its identifiers (devices, IPs, phones, ...)
with how many accounts use each, its most recent events, and its strongest links to other accounts
(in its cluster or not) with the relations behind them, so an investigator can expand the
neighbourhood one account at a time. Only members of flagged clusters (``ring`` or ``suspicious``)
get a profile: on a generated world a quarter of all accounts are in some cluster, and a log of a
million accounts would publish half a gigabyte of profiles; every account's verdict and score are
still served, and a benign cluster's evidence still lists what its members share.

Everything comes from the run's cluster context (member events, relation edges), computed once with
pandas group-bys over the clustered accounts' events.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .evidence import ClusterContext

#: At most this many identifiers, recent events and neighbours per profile.
TOP_IDENTIFIERS = 8
RECENT_EVENTS = 8
TOP_NEIGHBOURS = 8


def _runs(keys: np.ndarray) -> list[tuple[int, int, int]]:
    """``(key, start, end)`` of each run of equal values in a sorted key array."""
    if keys.size == 0:
        return []
    cut = np.flatnonzero(keys[1:] != keys[:-1]) + 1
    starts = np.concatenate([[0], cut])
    ends = np.concatenate([cut, [keys.size]])
    return list(zip(keys[starts].tolist(), starts.tolist(), ends.tolist(), strict=True))


def account_profiles(ctx: ClusterContext, clusters: np.ndarray) -> dict[str, dict]:
    """Profile of every member of the given clusters, keyed by account id (JSON-able).

    Args:
        ctx: the run's cluster context.
        clusters: labels of the clusters whose members get a profile (the flagged ones).

    Each profile: ``created_at``, ``first_seen``, ``last_seen`` (Unix seconds), ``events``,
    ``targets`` (distinct targets acted on), ``identifiers`` (``type, id, uses, users_total``, the
    most exclusive first), ``recent`` (``ts, action, entity_type, entity_id``, newest first) and
    ``neighbours`` (``account_id, weight, relations``: the strongest relation edges, summed over
    relations, strongest first).
    """
    chosen = np.zeros(ctx.n_clusters, dtype=bool)
    chosen[np.asarray(clusters, dtype=np.int64)] = True
    ev = ctx.events
    ev = ev[chosen[ev["cluster"].to_numpy(np.int64)]] if len(ev) else ev
    if not len(ev):
        return {}
    log = ctx.log
    ids = log.account_ids
    types = np.asarray(log.entity_types, dtype=object)
    actions = np.asarray(log.actions, dtype=object)
    per = ev.groupby("account").agg(first=("ts", "min"), last=("ts", "max"), events=("ts", "size"))
    is_target = ev["etype"].isin(ctx.target_codes).to_numpy()
    targets = ev[is_target].groupby("account")["entity"].nunique()

    n_targets = targets.reindex(per.index).fillna(0).astype(np.int64)
    out: dict[str, dict] = {}
    for a, first, last, n, t in zip(
        per.index.tolist(),
        per["first"].tolist(),
        per["last"].tolist(),
        per["events"].tolist(),
        n_targets.tolist(),
        strict=True,
    ):
        out[str(ids[a])] = {
            "created_at": int(ctx.created[a]),
            "first_seen": int(first),
            "last_seen": int(last),
            "events": int(n),
            "targets": int(t),
            "identifiers": [],
            "recent": [],
            "neighbours": [],
        }

    # Identifiers: one row per (account, identifier), the least shared first.
    idf = ev[ev["etype"].isin(ctx.identifier_codes).to_numpy()]
    if len(idf):
        uses = idf.groupby(["account", "entity"]).size().rename("uses").reset_index()
        uses["users_total"] = ctx.entity_users[uses["entity"].to_numpy(np.int64)]
        uses = uses.sort_values(
            ["account", "users_total", "uses"], ascending=[True, True, False], kind="stable"
        )
        uses = uses.groupby("account").head(TOP_IDENTIFIERS)
        ent = uses["entity"].to_numpy(np.int64)
        uses["type"] = types[log.entity_type[ent]]
        uses["id"] = log.entity_ids[ent]
        cols = [uses[c].tolist() for c in ("type", "id", "uses", "users_total")]
        for a, i, j in _runs(uses["account"].to_numpy(np.int64)):
            out[str(ids[a])]["identifiers"] = [
                {"type": str(t), "id": str(x), "uses": int(u), "users_total": int(n)}
                for t, x, u, n in zip(*(c[i:j] for c in cols), strict=True)
            ]

    # Recent events, newest first.
    rec = ev.sort_values(["account", "ts"], ascending=[True, False], kind="stable")
    rec = rec.groupby("account").head(RECENT_EVENTS)
    ent = rec["entity"].to_numpy(np.int64)
    rec = rec.assign(
        act=actions[rec["action"].to_numpy(np.int64)],
        typ=types[log.entity_type[ent]],
        eid=log.entity_ids[ent],
    )
    cols = [rec[c].tolist() for c in ("ts", "act", "typ", "eid")]
    for a, i, j in _runs(rec["account"].to_numpy(np.int64)):
        out[str(ids[a])]["recent"] = [
            {"ts": int(t), "action": str(x), "entity_type": str(y), "entity_id": str(z)}
            for t, x, y, z in zip(*(c[i:j] for c in cols), strict=True)
        ]

    # Neighbours: every relation edge touching a clustered account, both directions, summed per pair.
    e = ctx.internal
    if len(e):
        src, dst = e["src"].to_numpy(np.int64), e["dst"].to_numpy(np.int64)
        both = pd.DataFrame(
            {
                "account": np.concatenate([src, dst]),
                "other": np.concatenate([dst, src]),
                "relation": np.concatenate([e["relation"].to_numpy(object)] * 2),
                "weight": np.concatenate([e["weight"].to_numpy(np.float64)] * 2),
            }
        )
        lab = ctx.labels[both["account"].to_numpy(np.int64)]
        both = both[(lab >= 0) & chosen[np.maximum(lab, 0)]]
        # Relations as bits of a mask (one edge per pair and relation, so a sum is an OR).
        code, names = pd.factorize(both["relation"], sort=True)
        both = both.assign(bit=np.left_shift(1, code.astype(np.int64)))
        pair = both.groupby(["account", "other"], sort=False).agg(
            weight=("weight", "sum"), bits=("bit", "sum")
        )
        pair = pair.reset_index().sort_values(["account", "weight"], ascending=[True, False], kind="stable")
        pair = pair.groupby("account").head(TOP_NEIGHBOURS)
        # Neighbours' ids looked up in one gather (not one numpy scalar per neighbour).
        other = [str(x) for x in ids[pair["other"].to_numpy(np.int64)].tolist()]
        cols = [other, pair["weight"].tolist(), pair["bits"].tolist()]
        names = [str(n) for n in names]
        # The relation names of each bit mask, worked out once per mask (not once per neighbour).
        masks = {b: [n for k, n in enumerate(names) if b >> k & 1] for b in set(cols[2])}
        for a, i, j in _runs(pair["account"].to_numpy(np.int64)):
            out[str(ids[a])]["neighbours"] = [
                {"account_id": o, "weight": round(w, 4), "relations": list(masks[b])}
                for o, w, b in zip(*(c[i:j] for c in cols), strict=True)
            ]
    return out
