"""Cluster evidence in words: the JSON investigators read, and the sentences they read first.

Built from the same :class:`~graphs.evidence.ClusterContext` as the numeric features
(:func:`graphs.evidence.cluster_features`): concrete shared entities, synchronised campaigns, the
strongest edges, the members' event timeline, their creation span, the structure, and a summary.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .evidence import WEIGHT_KINDS, ClusterContext


def cluster_evidence(
    ctx: ClusterContext, clusters: np.ndarray, features: pd.DataFrame, detailed: np.ndarray | None = None
) -> dict[int, dict]:
    """JSON-able evidence for the given cluster labels: concrete entities, campaigns, times, words.

    Args:
        ctx: the shared cluster context.
        clusters: cluster labels to describe.
        features: :func:`graphs.evidence.cluster_features` output.
        detailed: labels that also get the event timeline (the flagged ones); all when None.
    """
    k = ctx.n_clusters
    want = np.zeros(k + 1, dtype=bool)
    want[np.asarray(clusters, dtype=np.int64)] = True
    detail = want.copy() if detailed is None else np.zeros(k + 1, dtype=bool)
    if detailed is not None:
        detail[np.asarray(detailed, dtype=np.int64)] = True
    out: dict[int, dict] = {int(c): {} for c in np.flatnonzero(want)}
    members_of = _entity_members(ctx, detail)
    _put(out, "shared_entities", _shared_entities(ctx, want, members_of))
    _put(out, "campaigns", _campaigns(ctx, want, detail))
    _put(out, "strongest_edges", _strongest_edges(ctx, want))
    _put(out, "timeline", _timeline(ctx, detail))
    _put(out, "creation", _creation(ctx, want))
    n_sync = ctx.sync[_among(ctx, ctx.sync["cluster"], want)].groupby("cluster").size().to_dict()
    fdict = features.round(4).to_dict("index")
    for c, e in out.items():
        f = fdict[c]
        e["structure"] = {
            "internal_density": f["internal_density"],
            "mean_internal_weight": f["mean_internal_weight"],
            "conductance": f["conductance"],
            "relation_weight_share": {r: f[f"{r}_weight_share"] for r in WEIGHT_KINDS},
            "coaction_density": f["coaction_density"],
            "sync_window_seconds": int(ctx.window[c]),
        }
        e["synchronised_targets"] = int(n_sync.get(c, 0))
        e["summary"] = summary_sentences(int(ctx.size[c]), f, e)
        e["against"] = counter_evidence(int(ctx.size[c]), f, e)
    return out


def _put(out: dict[int, dict], key: str, per_cluster: dict[int, object]) -> None:
    for c, value in per_cluster.items():
        out[c][key] = value


def _among(ctx: ClusterContext, col: pd.Series, mask: np.ndarray) -> np.ndarray:
    """Rows whose cluster label (-1 = none) is in ``mask`` (bool [n_clusters + 1])."""
    v = col.to_numpy(np.int64)
    return mask[np.where(v >= 0, v, ctx.n_clusters)]


#: At most this many member ids are listed per shared identifier or campaign target (drawn as links).
MEMBER_IDS = 200


def _entity_members(ctx: ClusterContext, detail: np.ndarray) -> _MemberLists:
    """(cluster, entity code) -> the member account ids on it, for the detailed (flagged) clusters:
    what the page draws as account-identifier and account-target links."""
    ev = ctx.events[_among(ctx, ctx.events["cluster"], detail)][["cluster", "entity", "account"]]
    ev = ev.drop_duplicates()
    ev = ev.assign(n=ev.groupby(["cluster", "entity"]).cumcount())
    ev = ev[ev["n"] < MEMBER_IDS]
    # One stable sort; a slice per (cluster, entity) asked for (iterating a pandas groupby built a
    # Series for each of a million groups).
    c, e, a = (ev[k].to_numpy(np.int64) for k in ("cluster", "entity", "account"))
    order = np.lexsort((e, c))
    return _MemberLists(
        c[order] * ctx.log.n_entities + e[order], a[order], ctx.log.account_ids, ctx.log.n_entities
    )


class _MemberLists:
    """(cluster, entity code) -> member account ids, built only for the pairs asked for: a flagged
    cluster's members touch hundreds of thousands of (cluster, entity) pairs, of which the evidence
    lists a few per cluster (building every list took most of the evidence stage on login-heavy logs).
    """

    def __init__(self, keys: np.ndarray, accounts: np.ndarray, account_ids: np.ndarray, n_entities: int):
        self.keys, self.accounts, self.ids, self.n_entities = keys, accounts, account_ids, n_entities

    def __bool__(self) -> bool:
        return bool(self.keys.size)

    def get(self, pair: tuple[int, int], default=None):
        key = pair[0] * self.n_entities + pair[1]
        i, j = np.searchsorted(self.keys, [key, key + 1])
        return self.ids[self.accounts[i:j]].tolist() if j > i else default


def _with_members(rows: dict[int, object], clusters: np.ndarray, entities: np.ndarray, members_of) -> None:
    """Adds ``member_ids`` to each row whose (cluster, entity) has a member list."""
    if not members_of:
        return
    order: dict[int, list[int]] = {}
    for c, e in zip(clusters.tolist(), entities.tolist(), strict=True):
        order.setdefault(c, []).append(e)
    for c, row_list in rows.items():
        for row, e in zip(row_list, order.get(c, []), strict=False):
            found = members_of.get((c, e))
            if found is not None:
                row["member_ids"] = found


def _shared_entities(ctx: ClusterContext, want: np.ndarray, members_of=None) -> dict[int, object]:
    """Most telling first: many members on an entity few others use (a farm's emulator) before a busy
    IP that happens to hold three members."""
    log = ctx.log
    names = np.array(log.entity_types, dtype=object)
    shared = ctx.shared[_among(ctx, ctx.shared["cluster"], want)]
    shared = shared.assign(strength=shared["members"] * shared["exclusivity"])
    shared = shared.sort_values(
        ["cluster", "strength", "members"], ascending=[True, False, False], kind="stable"
    )
    shared = shared.groupby("cluster", sort=False).head(ctx.p.top_entities)
    ent = shared["entity"].to_numpy(np.int64)
    rows = _by_cluster(
        shared["cluster"].to_numpy(),
        {
            "type": names[shared["etype"].to_numpy(np.int64)],
            "id": log.entity_ids[ent],
            "members": shared["members"].to_numpy(np.int64),
            "users_total": shared["users_total"].to_numpy(np.int64),
            "exclusivity": shared["exclusivity"].to_numpy(np.float64).round(3),
            "first_seen": _iso_array(shared["first"].to_numpy()),
            "last_seen": _iso_array(shared["last"].to_numpy()),
        },
    )
    _with_members(rows, shared["cluster"].to_numpy(np.int64), ent, members_of)
    return rows


def _campaigns(ctx: ClusterContext, want: np.ndarray, detail: np.ndarray | None = None) -> dict[int, object]:
    """The largest synchronised groups: members acting on one target within the cluster's window."""
    log = ctx.log
    names = np.array(log.entity_types, dtype=object)
    actions = np.array(log.actions, dtype=object)
    sync = ctx.sync[_among(ctx, ctx.sync["cluster"], want)]
    sync = sync.sort_values(["cluster", "members", "start"], ascending=[True, False, True], kind="stable")
    sync = sync.groupby("cluster", sort=False).head(ctx.p.top_campaigns)
    ent = sync["entity"].to_numpy(np.int64)
    rows = _by_cluster(
        sync["cluster"].to_numpy(),
        {
            "target_type": names[log.entity_type[ent].astype(np.int64)],
            "target": log.entity_ids[ent],
            "action": actions[sync["action"].to_numpy(np.int64)],
            "members": sync["members"].to_numpy(np.int64),
            "start": _iso_array(sync["start"].to_numpy()),
            "end": _iso_array(sync["end"].to_numpy()),
            "window_seconds": (sync["end"] - sync["start"]).to_numpy(np.int64),
        },
    )
    if detail is not None:
        # Who took part: members doing the group's action on the target inside its window (flagged).
        cols = ["cluster", "entity", "action", "start", "end"]
        listed = sync[detail[sync["cluster"].to_numpy(np.int64)]][cols]
        hit = ctx.events.merge(listed, on=["cluster", "entity", "action"])
        hit = hit[(hit["ts"] >= hit["start"]) & (hit["ts"] <= hit["end"])]
        group = ["cluster", "entity", "action", "start"]
        hit = hit.drop_duplicates([*group, "account"])
        hit = hit[hit.groupby(group).cumcount() < MEMBER_IDS]
        ids = log.account_ids
        who = {
            tuple(int(v) for v in key): ids[a.to_numpy(np.int64)].tolist()
            for key, a in hit.groupby(group, sort=False)["account"]
        }
        keys = zip(
            sync["cluster"].tolist(),
            ent.tolist(),
            sync["action"].tolist(),
            sync["start"].tolist(),
            strict=True,
        )
        position: dict[int, int] = {}
        for c, e, act, t in keys:
            i = position.get(c, 0)
            position[c] = i + 1
            found = who.get((c, e, act, t))
            if found is not None and c in rows:
                rows[c][i]["member_ids"] = found
    return rows


def _strongest_edges(ctx: ClusterContext, want: np.ndarray) -> dict[int, object]:
    edges = ctx.internal
    inside = edges[(edges["cs"] == edges["cd"]).to_numpy() & _among(ctx, edges["cs"], want)]
    top = inside.sort_values(["cs", "weight"], ascending=[True, False], kind="stable")
    top = top.groupby("cs", sort=False).head(ctx.p.top_edges)
    ids = ctx.log.account_ids
    return _by_cluster(
        top["cs"].to_numpy(),
        {
            "src": ids[top["src"].to_numpy(np.int64)],
            "dst": ids[top["dst"].to_numpy(np.int64)],
            "relation": top["relation"].to_numpy(object),
            "weight": top["weight"].to_numpy(np.float64).round(4),
        },
    )


def _timeline(ctx: ClusterContext, detail: np.ndarray) -> dict[int, object]:
    """Up to ``timeline_events`` member events per cluster (columns: it is drawn as a time series).

    The events of the campaigns the evidence lists come first, taken in turn from each campaign so
    that every listed campaign shows; the rest of the budget holds the members' latest other events.
    """
    log = ctx.log
    names = np.array(log.entity_types, dtype=object)
    actions = np.array(log.actions, dtype=object)
    cap = ctx.p.timeline_events
    ev = ctx.events[_among(ctx, ctx.events["cluster"], detail)].assign(_row=lambda d: np.arange(len(d)))
    sync = ctx.sync[_among(ctx, ctx.sync["cluster"], detail)]
    listed = sync.sort_values(["cluster", "members", "start"], ascending=[True, False, True], kind="stable")
    listed = listed.groupby("cluster", sort=False).head(ctx.p.top_campaigns)[
        ["cluster", "entity", "start", "end"]
    ]
    hit = ev.merge(listed, on=["cluster", "entity"])
    hit = hit[(hit["ts"] >= hit["start"]) & (hit["ts"] <= hit["end"])].drop_duplicates("_row")
    hit = hit.assign(turn=hit.groupby(["cluster", "entity", "start"]).cumcount())
    picked = (
        hit.sort_values(["cluster", "turn", "ts"], kind="stable").groupby("cluster", sort=False).head(cap)
    )
    taken = np.bincount(picked["cluster"].to_numpy(np.int64), minlength=ctx.n_clusters + 1)
    rest = ev[~ev["_row"].isin(picked["_row"])].sort_values(["cluster", "ts"], kind="stable")
    left = cap - taken[rest["cluster"].to_numpy(np.int64)]
    from_end = rest.groupby("cluster", sort=False).cumcount(ascending=False).to_numpy()
    rest = rest[from_end < left]
    tl = pd.concat([picked[ev.columns], rest]).sort_values(["cluster", "ts"], kind="stable")
    return _by_cluster(
        tl["cluster"].to_numpy(),
        {
            "account_id": log.account_ids[tl["account"].to_numpy(np.int64)],
            "timestamp": tl["ts"].to_numpy(np.int64),
            "action": actions[tl["action"].to_numpy(np.int64)],
            "target_type": names[tl["etype"].to_numpy(np.int64)],
            "target": log.entity_ids[tl["entity"].to_numpy(np.int64)],
        },
        as_rows=False,
    )


def _creation(ctx: ClusterContext, want: np.ndarray) -> dict[int, object]:
    """When the members' accounts were created: first, last, median and the span in hours."""
    lab = ctx.labels
    acc = np.flatnonzero(want[np.where(lab >= 0, lab, ctx.n_clusters)])
    created = pd.DataFrame({"cluster": lab[acc], "created": ctx.created[acc]})
    span = created.groupby("cluster")["created"].agg(["min", "max", "median"])
    first, last, med = (_iso_array(span[q].to_numpy()) for q in ("min", "max", "median"))
    hours = ((span["max"] - span["min"]) / 3600).round(2).to_numpy()
    return {
        c: {"first": a, "last": b, "median": m, "span_hours": h}
        for c, a, b, m, h in zip(span.index.tolist(), first, last, med, hours.tolist(), strict=True)
    }


def _iso_array(ts: np.ndarray) -> np.ndarray:
    return (
        np.datetime_as_string(np.asarray(ts, dtype="int64").astype("datetime64[s]"), unit="s").astype(object)
        + "Z"
    )


def _by_cluster(
    cluster: np.ndarray, columns: dict[str, np.ndarray], as_rows: bool = True
) -> dict[int, object]:
    """Splits column arrays (already sorted by cluster) into per-cluster lists of rows (or columns)."""
    if cluster.size == 0:
        return {}
    starts = np.flatnonzero(np.r_[True, cluster[1:] != cluster[:-1]])
    ends = np.r_[starts[1:], cluster.size]
    lists = {k: v.tolist() for k, v in columns.items()}
    keys = list(lists)
    out: dict[int, object] = {}
    for c, a, b in zip(cluster[starts].tolist(), starts.tolist(), ends.tolist(), strict=True):
        if as_rows:
            out[c] = [
                dict(zip(keys, vals, strict=True))
                for vals in zip(*(lists[k][a:b] for k in keys), strict=True)
            ]
        else:
            out[c] = {k: lists[k][a:b] for k in keys}
    return out


def _duration(seconds: int) -> str:
    """``45 s``, ``12 min``, ``3.5 h``, ``2 days``."""
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def counter_evidence(size: int, f: dict, e: dict) -> list[str]:
    """Short phrases that argue against a coordinated ring: what a household, an office or a fan club
    looks like (the verdict reason of a benign or suspicious cluster names them).

    No synchronised action, or none holding 30% of the members; accounts created over months rather
    than in one burst; the shared identifiers busy with other users too.
    """
    out: list[str] = []
    n_sync = e.get("synchronised_targets", 0)
    if not n_sync:
        out.append("no synchronised action")
    elif e.get("campaigns") and e["campaigns"][0]["members"] < 0.3 * size:
        top = e["campaigns"][0]["members"]
        out.append(f"the largest synchronised action holds {top} of {size} members")
    cr = e.get("creation")
    if cr and float(f.get("created_in_burst_share", 0)) < 0.2 and cr["span_hours"] >= 90 * 24:
        out.append(f"accounts created over {cr['span_hours'] / 24:.0f} days")
    ents = e.get("shared_entities") or []
    if ents and all(x["users_total"] >= 2 * x["members"] for x in ents[:3]):
        busiest = max(x["users_total"] for x in ents[:3])
        out.append(f"the identifiers they share are used by others too (up to {busiest} accounts)")
    return out


def summary_sentences(size: int, f: dict, e: dict) -> list[str]:
    """Plain sentences an investigator reads first, strongest evidence first.

    Each line has a strength in [0, 1]: a shared identifier ``members / size * exclusivity`` (most
    members on an identifier few others use: a farm's emulator, not three members behind a busy IP),
    synchronised action the largest group's share of the members, times how many targets saw it
    (``1 - exp(-targets / 3)``), a creation burst half its share. The density line closes the list.
    """
    scored: list[tuple[float, int, str]] = []
    for ent in e.get("shared_entities", [])[:3]:
        excl = (
            "used by no one else"
            if ent["users_total"] == ent["members"]
            else f"{ent['users_total']} users in all"
        )
        strength = ent["members"] / max(size, 1) * ent["members"] / max(ent["users_total"], 1)
        line = f"{ent['members']} of {size} members share {ent['type']} {ent['id']} ({excl})."
        scored.append((strength, len(scored), line))
    n_sync = e.get("synchronised_targets", 0)
    if n_sync:
        top = e["campaigns"][0]
        strength = top["members"] / max(size, 1) * (1 - math.exp(-n_sync / 3))
        line = (
            f"Members acted in sync on {n_sync} targets; largest: {top['members']} members {top['action']} "
            f"{top['target_type']} {top['target']} within {_duration(max(top['window_seconds'], 1))} "
            f"at {top['start']}."
        )
        scored.append((strength, len(scored), line))
    cr = e.get("creation")
    if cr and f["created_in_burst_share"] >= 0.5:
        share = round(100 * float(f["created_in_burst_share"]))
        line = f"{share}% of accounts were created within a day of each other (median {cr['median']})."
        scored.append((0.5 * float(f["created_in_burst_share"]), len(scored), line))
    lines = [line for _, _, line in sorted(scored, key=lambda t: (-t[0], t[1]))]
    lines.append(
        f"Internal link density {f['internal_density']:.2f}; "
        f"{100 * (1 - f['conductance']):.0f}% of the members' link weight stays inside the cluster."
    )
    return lines
