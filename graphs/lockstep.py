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
) -> np.ndarray:
    """New labels without the members that are tied to a flagged cluster only by being interacted with.

    A ring promotes someone: it follows and messages a customer, likes the customer's posts. The
    customer then sits inside the ring's community by ``interaction`` edges alone, sharing nothing
    with the members and never acting with them. Such a member, whose own model score is low, leaves
    the cluster (its verdict becomes its own). Without a model (``own`` None) nobody is detached. A
    cluster of which at least ``max_share`` would leave stays whole: customers are a minority of the
    ring that serves them; a group held together by interactions alone (a pod) is not a ring plus
    its customers.

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
    drop = in_cand & (active_w == 0) & (passive_w > 0) & (own < max_own)
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
    two candidate clusters merge when at least ``min_shared`` of their campaign targets are shared
    and they make up ``min_overlap`` of the smaller cluster's campaign targets.

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
    rows = sync[strong][["cluster", "entity"]].drop_duplicates()
    if rows["cluster"].nunique() < 2:
        return labels
    ent, ent_codes = pd.factorize(rows["entity"])
    del ent_codes
    c = rows["cluster"].to_numpy(np.int64)
    b = coo_matrix((np.ones(c.size), (c, ent)), shape=(k, int(ent.max()) + 1)).tocsr()
    shared = (b @ b.T).tocoo()
    n_targets = np.asarray(b.sum(axis=1)).ravel()
    off = shared.row < shared.col
    r, q, v = shared.row[off], shared.col[off], shared.data[off]
    ok = (v >= min_shared) & (v >= min_overlap * np.minimum(n_targets[r], n_targets[q]))
    if not ok.any():
        return labels
    link = coo_matrix((np.ones(int(ok.sum())), (r[ok], q[ok])), shape=(k, k))
    _, comp = connected_components(link, directed=False)
    merged = np.where(labels >= 0, comp[np.maximum(labels, 0)], -1)
    return renumber(merged, 2)
