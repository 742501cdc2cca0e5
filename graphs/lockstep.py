"""Attaching lockstep stragglers to a flagged cluster (CopyCatch-style group lockstep).

A stealth ring coordinates in a few short campaigns, and each member joins only some of them, so many
member pairs co-act on fewer than the 3 targets the pairwise ``coaction`` relation asks for: Leiden
finds the ring's core and leaves the rest unclustered. At the group level the evidence is plain: an
unclustered account that acted on several of the cluster's synchronised targets, inside the very
windows in which the cluster's members acted on them, belongs to that campaign group.

Only accounts in no cluster are attached, and only to candidate (already flagged) clusters.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .communities import renumber
from .evidence import ClusterContext
from .synchrony import time_resolution


def campaign_hits(
    ctx: ClusterContext,
    candidates: np.ndarray,
    min_share: float,
    accounts: np.ndarray,
    core: np.ndarray | None = None,
) -> pd.DataFrame:
    """How many of a candidate cluster's synchronised targets each account hit inside the window.

    A cluster's campaigns are its synchronised groups holding at least ``min_share`` of its members
    (and 3); one window per (cluster, target), whatever the action, widened by a slack on either
    side: half the cluster's own campaign window, or the group's span itself when longer (a campaign
    seen lasting 8 minutes among members may well last 16 in all).

    Args:
        ctx: the cluster context of the current labels.
        candidates: labels of the clusters whose campaigns count.
        min_share: see above.
        accounts: bool [n_accounts]: whose events are looked at.
        core: bool [n_accounts], or None. Given, each window is the span of the core members'
            own actions inside the group, with no slack: a member that is tied to its cluster by no
            synchrony edge must have acted within what the tied members did (a fan liking the
            customer's posts an hour before the campaign does not). Clusters whose campaign window
            the log's time resolution does not resolve (a day-granularity log) have no such span.

    Returns:
        ``account, cluster, targets`` (only pairs with at least one hit).
    """
    empty = pd.DataFrame({"account": [], "cluster": [], "targets": []}, dtype=np.int64)
    log, sync = ctx.log, ctx.sync
    if not len(sync) or len(candidates) == 0:
        return empty
    cand = np.zeros(ctx.n_clusters, dtype=bool)
    cand[np.asarray(candidates, dtype=np.int64)] = True
    c = sync["cluster"].to_numpy(np.int64)
    strong = cand[c] & (sync["members"].to_numpy() >= np.maximum(3, min_share * ctx.size[c]))
    groups = (
        sync[strong]
        .groupby(["cluster", "entity"], as_index=False)
        .agg(start=("start", "min"), end=("end", "max"))
    )
    if not len(groups):
        return empty
    on_target = np.zeros(log.n_entities, dtype=bool)
    on_target[groups["entity"].to_numpy(np.int64)] = True
    if core is not None:
        resolved = ctx.window > time_resolution(log.timestamp)
        groups = groups[resolved[groups["cluster"].to_numpy(np.int64)]]
        lab = ctx.labels
        m = on_target[log.entity] & core[log.account]
        ev = pd.DataFrame({"entity": log.entity[m], "ts": log.timestamp[m], "cluster": lab[log.account[m]]})
        ev = ev.merge(groups, on=["cluster", "entity"])
        ev = ev[(ev["ts"] >= ev["start"]) & (ev["ts"] <= ev["end"])]
        groups = ev.groupby(["cluster", "entity"], as_index=False).agg(start=("ts", "min"), end=("ts", "max"))
        if not len(groups):
            return empty
    m = on_target[log.entity] & accounts[log.account]
    if not m.any():
        return empty
    ev = pd.DataFrame({"account": log.account[m], "entity": log.entity[m], "ts": log.timestamp[m]})
    hit = ev.merge(groups, on="entity")
    if core is None:
        half = ctx.window[hit["cluster"].to_numpy(np.int64)] // 2
        slack = np.maximum(half, (hit["end"] - hit["start"]).to_numpy())
    else:
        slack = 0
    hit = hit[(hit["ts"] >= hit["start"] - slack) & (hit["ts"] <= hit["end"] + slack)]
    if not len(hit):
        return empty
    return hit.groupby(["account", "cluster"])["entity"].nunique().rename("targets").reset_index()


def attach_lockstep(
    ctx: ClusterContext,
    candidates: np.ndarray,
    min_targets: int = 2,
    min_share: float = 0.3,
) -> np.ndarray:
    """New labels with unclustered accounts attached to the candidate cluster they acted in sync with.

    Args:
        ctx: the cluster context of the current labels.
        candidates: labels of the clusters that may take members (the flagged ones).
        min_targets: distinct synchronised targets of the cluster an account must have hit, each
            inside the window of the cluster's group on it (:func:`campaign_hits`).
        min_share: a synchronised group counts when at least this share of the cluster took part.

    Returns:
        The labels (the same array when nothing is attached).
    """
    labels = ctx.labels
    counts = campaign_hits(ctx, candidates, min_share, labels < 0)
    counts = counts[counts["targets"] >= min_targets]
    if not len(counts):
        return labels
    best = counts.sort_values(["account", "targets", "cluster"], ascending=[True, False, True])
    best = best.drop_duplicates("account")
    out = labels.copy()
    out[best["account"].to_numpy(np.int64)] = best["cluster"].to_numpy(np.int64)
    return out


def detach_passive(
    ctx: ClusterContext,
    candidates: np.ndarray,
    own: np.ndarray | None,
    passive: tuple[str, ...] = ("interaction",),
    max_own: float = 0.5,
    min_size: int = 3,
    max_share: float = 1.0,
    creators: bool = False,
) -> np.ndarray:
    """New labels without the members that are tied to a flagged cluster only by being interacted with.

    A ring promotes someone: it follows and messages a customer, likes the customer's posts. The
    customer then sits inside the ring's community by ``interaction`` edges alone, sharing nothing
    with the members and never acting with them. Such a member, whose own model score is low, leaves
    the cluster (its verdict becomes its own). Without a model (``own`` None) nobody is detached. A
    cluster of which at least ``max_share`` would leave stays whole: customers are a minority of the
    ring that serves them; a group held together by interactions alone (a pod) is not a ring plus
    its customers. With ``creators``, a member whose every row on the cluster's synchronised
    targets is on a target she created counts as tied by interactions alone too: on a log of whole
    days the customer's post and the ring's likes of it share a day, which ``coaction`` reads as
    acting in step (:func:`_creators_only`).

    Returns:
        The labels (the same array when nothing changes), renumbered as communities are, dropping
        clusters left below ``min_size``.
    """
    if own is None or len(candidates) == 0:
        return ctx.labels
    labels = ctx.labels
    cand = np.zeros(ctx.n_clusters + 1, dtype=bool)
    cand[np.asarray(candidates, dtype=np.int64)] = True
    e = ctx.internal
    inside = (e["cs"] == e["cd"]).to_numpy() & cand[np.where(e["cs"].to_numpy() >= 0, e["cs"].to_numpy(), -1)]
    e = e[inside]
    active = e[~e["relation"].isin(passive)]
    n = labels.shape[0]
    active_w = np.bincount(active["src"].to_numpy(np.int64), weights=active["weight"], minlength=n)
    active_w += np.bincount(active["dst"].to_numpy(np.int64), weights=active["weight"], minlength=n)
    passive_e = e[e["relation"].isin(passive)]
    passive_w = np.bincount(passive_e["src"].to_numpy(np.int64), weights=passive_e["weight"], minlength=n)
    passive_w += np.bincount(passive_e["dst"].to_numpy(np.int64), weights=passive_e["weight"], minlength=n)
    in_cand = (labels >= 0) & cand[np.where(labels >= 0, labels, -1)]
    # Members with no edge inside at all came in through the lockstep pass: they stay.
    unsynced = active_w == 0
    if creators:
        unsynced |= _creators_only(ctx, in_cand)
    drop = in_cand & unsynced & (passive_w > 0) & (own < max_own)
    if drop.any() and max_share < 1.0:
        members = np.bincount(labels[in_cand], minlength=ctx.n_clusters)
        leaving = np.bincount(labels[drop], minlength=ctx.n_clusters)
        whole = leaving >= max_share * np.maximum(members, 1)
        drop &= ~whole[np.where(labels >= 0, labels, 0)]
    if not drop.any():
        return labels
    out = labels.copy()
    out[drop] = -1
    return renumber(out, min_size)


def _creators_only(ctx: ClusterContext, members: np.ndarray) -> np.ndarray:
    """bool [n_accounts]: members whose every row on their cluster's synchronised targets is on a
    target they created (a customer whose posts the ring liked on the day she posted them).

    The creator is read with ties at a target's first instant allowed (:func:`~graphs.sources.
    entity_sources` ``ties``): on a day-granularity log a post shares its day with its first likes.
    """
    from .sources import entity_sources

    out = np.zeros(ctx.labels.shape[0], dtype=bool)
    sync = ctx.sync
    if not len(sync):
        return out
    sources = entity_sources(ctx.log, np.asarray(ctx.target_codes, dtype=np.int64), ties=True)
    ev = ctx.events[members[ctx.events["account"].to_numpy()]]
    ev = ev.merge(sync[["cluster", "entity"]].drop_duplicates(), on=["cluster", "entity"])
    if not len(ev):
        return out
    acc = ev["account"].to_numpy(np.int64)
    mine = sources[ev["entity"].to_numpy(np.int64)] == acc
    n_rows = np.bincount(acc, minlength=out.size)
    n_mine = np.bincount(acc, weights=mine, minlength=out.size)
    out = (n_rows > 0) & (n_mine == n_rows)
    return out


def detach_unsynchronised(
    ctx: ClusterContext,
    candidates: np.ndarray,
    sync: tuple[str, ...] = ("coaction", "id_time"),
    min_synced_share: float = 0.5,
    min_size: int = 3,
    campaign_targets: int = 0,
    campaign_share: float = 0.3,
) -> np.ndarray:
    """New labels without the members that never act in sync with a flagged, synchrony-driven cluster.

    A proxy ring logs in through real users' home IPs, a farm sits behind an office's NAT now and
    then: the owners of those IPs share an identifier with many members and land in the ring's
    community, though they never act with it. In a flagged cluster where most members
    (``min_synced_share``) have a synchrony edge (``coaction`` or ``id_time``) inside the cluster, a
    member without any leaves it (its verdict becomes its own). Clusters held together by shared
    identifiers alone (a farm that never acts in step) are left as they are. With
    ``campaign_targets`` > 0, a member that hit that many of its cluster's campaigns, each within
    the span of what the members with a synchrony edge did in it (:func:`campaign_hits` with
    ``core``), acts in sync too, though it co-acts with no single member often enough for a
    ``coaction`` edge.

    Returns:
        The labels (the same array when nothing changes), renumbered, dropping clusters left below
        ``min_size``.
    """
    labels = ctx.labels
    if len(candidates) == 0:
        return labels
    touched = ctx.with_inside_edge(sync)
    if campaign_targets > 0:
        hits = campaign_hits(ctx, candidates, campaign_share, (labels >= 0) & ~touched, core=touched)
        acc = hits["account"].to_numpy(np.int64)
        own = hits["cluster"].to_numpy(np.int64) == labels[acc]
        own &= hits["targets"].to_numpy() >= campaign_targets
        touched = touched.copy()
        touched[acc[own]] = True
    cand = np.zeros(ctx.n_clusters + 1, dtype=bool)
    cand[np.asarray(candidates, dtype=np.int64)] = True
    members = labels >= 0
    lab = labels[members]
    synced_share = np.bincount(lab, touched[members], ctx.n_clusters) / np.maximum(ctx.size, 1)
    driven = cand[: ctx.n_clusters] & (synced_share >= min_synced_share)
    drop = members & ~touched & driven[np.where(members, labels, 0)]
    if not drop.any():
        return labels
    out = labels.copy()
    out[drop] = -1
    return renumber(out, min_size)


def merge_shared_campaigns(
    ctx: ClusterContext,
    candidates: np.ndarray,
    min_overlap: float = 0.5,
    min_shared: int = 2,
    min_share: float = 0.2,
) -> np.ndarray:
    """Merges flagged clusters that took part in the same synchronised campaigns.

    A big ring whose members each join only some campaigns comes out of Leiden as a body and
    several tight pieces (members who happened to join the same campaigns); the pieces' campaigns
    are the body's. Only a cluster's campaigns count (synchronised groups holding at least
    ``min_share`` of its members, so a few members' organic reactions to someone's post do not);
    two candidate clusters merge when at least ``min_shared`` of their campaigns are shared and
    they make up ``min_overlap`` of the smaller cluster's campaign targets. A campaign is a target
    *at a time*: two clusters share one when their groups on the same target overlap in time
    (within the longer of the two clusters' windows). Two rings hired for the same popular product
    months apart are two rings, not one (reviews worlds, where most rings boost the few most
    reviewed products, chained dozens of rings into one cluster of 600 when any shared target
    counted).

    Returns:
        New labels numbered as communities are (the input when nothing merges).
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    labels = ctx.labels
    k = ctx.n_clusters
    sync = ctx.sync
    if k == 0 or len(candidates) < 2 or not len(sync):
        return labels
    cand = np.zeros(k, dtype=bool)
    cand[np.asarray(candidates, dtype=np.int64)] = True
    c_all = sync["cluster"].to_numpy(np.int64)
    strong = cand[c_all] & (sync["members"].to_numpy() >= np.maximum(3, min_share * ctx.size[c_all]))
    rows = sync[strong][["cluster", "entity", "start", "end"]]
    if rows["cluster"].nunique() < 2:
        return labels
    n_targets = np.bincount(
        rows.drop_duplicates(["cluster", "entity"])["cluster"].to_numpy(np.int64), minlength=k
    )
    pairs = rows.merge(rows, on="entity", suffixes=("_a", "_b"))
    pairs = pairs[pairs["cluster_a"].to_numpy() < pairs["cluster_b"].to_numpy()]
    window = np.maximum(
        ctx.window[pairs["cluster_a"].to_numpy(np.int64)], ctx.window[pairs["cluster_b"].to_numpy(np.int64)]
    )
    at_once = (pairs["start_a"].to_numpy() <= pairs["end_b"].to_numpy() + window) & (
        pairs["start_b"].to_numpy() <= pairs["end_a"].to_numpy() + window
    )
    shared = (
        pairs[at_once]
        .drop_duplicates(["cluster_a", "cluster_b", "entity"])
        .groupby(["cluster_a", "cluster_b"])
        .size()
    )
    if not len(shared):
        return labels
    r = shared.index.get_level_values(0).to_numpy(np.int64)
    q = shared.index.get_level_values(1).to_numpy(np.int64)
    v = shared.to_numpy()
    ok = (v >= min_shared) & (v >= min_overlap * np.minimum(n_targets[r], n_targets[q]))
    if not ok.any():
        return labels
    link = coo_matrix((np.ones(int(ok.sum())), (r[ok], q[ok])), shape=(k, k))
    _, comp = connected_components(link, directed=False)
    merged = np.where(labels >= 0, comp[np.maximum(labels, 0)], -1)
    return renumber(merged, 2)


#: How far around a campaign's window :func:`attach_bursts` looks for the target's background, in
#: window lengths on either side.
BURST_CONTEXT = 4


def attach_bursts(
    ctx: ClusterContext,
    candidates: np.ndarray,
    min_share: float = 0.3,
    min_excess: float = 0.9,
    min_agreement: float = 0.8,
) -> np.ndarray:
    """New labels with unclustered accounts that joined one of a flagged cluster's campaigns in a burst.

    :func:`attach_lockstep` asks for two campaigns; a ring member who joined only one (an opinion
    spammer paid for one product's burst) stays out, and a single co-action is weak evidence alone.
    It is strong where the campaign is a burst: inside the window of a flagged cluster's campaign
    (a synchronised group holding ``min_share`` of the cluster, widened as in :func:`campaign_hits`)
    a target's unclustered actors are compared with the number chance predicts there: the
    target's own rate around that time (its rows per second within ``BURST_CONTEXT`` window
    lengths on either side, the window left out, plus one pseudo-row) times the window's length;
    targets first seen less than a window length before the campaign (a post boosted as it
    appears, whose organic debut is a burst too) are not judged. Where the log has
    extra event columns (a rating, a user agent) on which the group's members agree
    (``min_agreement`` of their rows share one value), only actors with that value count, and
    chance is scaled by the share of the target's rows that have it (columns switched off in
    :class:`~graphs.attributes.AttributeParams` are not read). The
    unclustered matching actors join the cluster when at most ``1 - min_excess`` of them are
    expected by chance (a burst against the target's own background). Accounts that qualify for
    several clusters join the one with the largest excess.

    Returns:
        The labels (the same array when nothing is attached).
    """
    labels = ctx.labels
    log, sync = ctx.log, ctx.sync
    if not len(sync) or len(candidates) == 0 or min_excess <= 0:
        return labels
    cand = np.zeros(ctx.n_clusters, dtype=bool)
    cand[np.asarray(candidates, dtype=np.int64)] = True
    c = sync["cluster"].to_numpy(np.int64)
    strong = cand[c] & (sync["members"].to_numpy() >= np.maximum(3, min_share * ctx.size[c]))
    groups = (
        sync[strong]
        .groupby(["cluster", "entity"], as_index=False)
        .agg(start=("start", "min"), end=("end", "max"))
    )
    if not len(groups):
        return labels
    half = ctx.window[groups["cluster"].to_numpy(np.int64)] // 2
    slack = np.maximum(half, (groups["end"] - groups["start"]).to_numpy())
    groups["lo"] = groups["start"].to_numpy() - slack
    groups["hi"] = groups["end"].to_numpy() + slack
    groups["group"] = np.arange(len(groups))
    on_target = np.zeros(log.n_entities, dtype=bool)
    on_target[groups["entity"].to_numpy(np.int64)] = True
    rows = np.flatnonzero(on_target[log.entity])
    entity, ts, account = log.entity[rows], log.timestamp[rows], log.account[rows]
    # Each target's rows sorted by time, to count them in any span.
    ent_local, ent_codes = pd.factorize(entity, sort=True)
    ent_local = ent_local.astype(np.int64)
    t0 = int(ts.min())
    span = int(ts.max()) - t0 + 1
    packed = ent_local * span + (ts - t0)
    order = np.argsort(packed, kind="stable")
    key = packed[order]
    n_rows = np.bincount(ent_local, minlength=ent_codes.size)
    last = key[np.cumsum(n_rows) - 1] % span + t0
    first = key[np.cumsum(n_rows) - n_rows] % span + t0
    resolution = time_resolution(log.timestamp)

    def row_range(e: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        base = e * span - t0
        return np.searchsorted(key, base + a, side="left"), np.searchsorted(key, base + b, side="right")

    def rows_between(e: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        start, stop = row_range(e, a, b)
        return stop - start

    group_local = np.searchsorted(ent_codes, groups["entity"].to_numpy(np.int64))
    # The rows inside each group's window: one contiguous run of the sorted rows per group.
    start, stop = row_range(group_local, groups["lo"].to_numpy(), groups["hi"].to_numpy())
    runs = stop - start
    grp = np.repeat(np.arange(len(groups)), runs)
    pos = order[np.arange(int(runs.sum())) - np.repeat(np.cumsum(runs) - runs, runs) + np.repeat(start, runs)]
    hit_account = account[pos]
    hit_cluster = groups["cluster"].to_numpy(np.int64)[grp]
    lab = labels[hit_account]
    member = lab == hit_cluster
    # Chance: the target's own rate around the campaign (its rows within four window lengths on
    # either side, inside its life in the log, the window itself left out), so that a post's
    # organic first hours or a product's busy season are its background, not a burst.
    lo = np.maximum(groups["lo"].to_numpy(), first[group_local])
    hi = np.minimum(groups["hi"].to_numpy(), last[group_local])
    length = hi - lo + resolution
    near_lo = np.maximum(lo - BURST_CONTEXT * length, first[group_local])
    near_hi = np.minimum(hi + BURST_CONTEXT * length, last[group_local])
    in_window = rows_between(group_local, lo, hi)
    around = rows_between(group_local, near_lo, near_hi) - in_window
    around_time = (near_hi - near_lo + resolution) - length
    # One pseudo-row keeps a quiet background from reading as no chance at all. A target whose life
    # in the log starts less than a window length before the campaign has no background to judge it
    # against (a new post's organic first hours are a burst of their own): chance explains every row.
    judged = (lo - first[group_local] >= length) & (around_time >= length)
    expected = np.where(judged, (around + 1) / np.maximum(around_time, 1) * length, in_window)
    matches = np.ones(grp.size, dtype=bool)
    for name in ctx.attribute_columns:
        codes = pd.factorize(log.attributes[name][rows], use_na_sentinel=True)[0].astype(np.int64)
        hit_codes = codes[pos]
        agreed = _agreed_value(grp[member], hit_codes[member], len(groups), min_agreement)
        on = agreed[grp]
        matches &= (on < 0) | (hit_codes == on)
        # Chance scaled by the share of the target's rows that have the agreed value.
        has = codes >= 0
        width = int(codes.max()) + 1 if has.any() else 1
        per_value = pd.Series(ent_local[has] * width + codes[has]).value_counts()
        same = per_value.reindex(group_local * width + np.maximum(agreed, 0)).fillna(0).to_numpy()
        share = same / np.maximum(n_rows[group_local], 1)
        expected = np.where(agreed >= 0, expected * share, expected)
    straggler = (lab < 0) & matches
    observed = np.bincount(grp[straggler], minlength=len(groups))
    excess = 1 - expected / np.maximum(observed, 1)
    good = (observed > 0) & (excess >= min_excess)
    pick = straggler & good[grp]
    if not pick.any():
        return labels
    best = pd.DataFrame(
        {
            "account": hit_account[pick],
            "cluster": hit_cluster[pick],
            "excess": excess[grp[pick]],
        }
    )
    best = best.sort_values(["account", "excess", "cluster"], ascending=[True, False, True])
    best = best.drop_duplicates("account")
    out = labels.copy()
    out[best["account"].to_numpy(np.int64)] = best["cluster"].to_numpy(np.int64)
    return out


def _agreed_value(group: np.ndarray, codes: np.ndarray, n_groups: int, min_agreement: float) -> np.ndarray:
    """Per group, the value code at least ``min_agreement`` of its members' rows with a value share
    (-1 where none does, or where no member row has a value)."""
    out = np.full(n_groups, -1, dtype=np.int64)
    has = codes >= 0
    if not has.any():
        return out
    df = pd.DataFrame({"group": group[has], "code": codes[has]})
    counts = df.value_counts().rename("n").reset_index()
    total = counts.groupby("group")["n"].transform("sum")
    counts = counts[counts["n"] >= min_agreement * total]
    out[counts["group"].to_numpy(np.int64)] = counts["code"].to_numpy(np.int64)
    return out
