"""Membership refinements of flagged clusters, in order, with their knobs (:class:`RefineParams`).

Leiden finds a ring's dense core; the steps below, each over the clusters flagged so far, fix what a
partition of one graph gets wrong about coordinated groups (each is explained in
:mod:`graphs.lockstep` and :func:`graphs.communities.merge_linked`):

1. ``merge``: pieces of one ring densely linked to each other merge;
2. ``lockstep``: unclustered accounts acting inside the cluster's campaigns join it;
3. ``campaigns``: clusters of the same campaigns merge;
4. ``lockstep_again``: stragglers of the merged clusters join;
5. ``detach``: members tied only by being interacted with (a promoted customer) leave;
6. ``detach_unsynced``: members of a synchrony-driven cluster that never act in sync leave.

The caller re-measures and re-scores after every step that changed the labels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .communities import merge_linked, renumber
from .evidence import ClusterContext
from .lockstep import (
    attach_bursts,
    attach_lockstep,
    detach_passive,
    detach_unsynchronised,
    merge_shared_campaigns,
)


@dataclass(frozen=True)
class RefineParams:
    """Knobs of the membership refinements (0 or False switches a step off).

    Attributes:
        merge_ratio: flagged communities linked to each other at this share of their internal
            density merge.
        lockstep_min_targets: unclustered accounts that hit this many of a flagged cluster's
            synchronised targets, inside its windows, join it.
        lockstep_min_share: a synchronised group counts for the lockstep pass when at least this
            share of the cluster took part.
        campaign_overlap: flagged clusters sharing this share of their campaigns merge (a campaign
            is a synchronised target at a time: groups on one target that overlap in time).
        campaign_min_shared: ... and at least this many campaigns.
        campaign_min_share: a cluster's campaigns are its synchronised groups holding this share of
            its members.
        detach_passive: members tied only by being interacted with, with a low model score, leave.
        detach_max_own: "a low model score": below this.
        detach_creators: after ``detach_unsynced``, ``detach`` once more, now also taking members
            whose every row on the cluster's synchronised targets is on a target they created: a
            customer whose posts the ring liked on the day she posted them (day-granularity logs;
            tuning seeds 3000-3009 of the day regime: benign FP 0.073% -> 0.037% on average, the
            same rings; docs/detection.md).
        detach_max_share: ``detach`` leaves a cluster whole when at least this share of it would go:
            customers are fewer than the ring that promotes them, and a cluster held together by
            follows and likes alone is an interaction-driven group (a pod), not a ring and its
            customers (fit regimes' tuning seeds 3000-3003: every drop of that size but one took a
            pod's 166 members, the rest took 3-account clusters; docs/detection.md).
        detach_unsynced_share: members without a synchrony edge inside leave a flagged cluster in
            which at least this share of members has one (a synchrony-driven cluster); members
            that took part in ``lockstep_min_targets`` of the cluster's campaigns stay.
        burst_excess: last, unclustered accounts that joined one of a flagged cluster's campaigns
            join it where that campaign is a burst: at most ``1 - burst_excess`` of the target's
            unclustered actors in the campaign's window (those with the value the cluster's members
            agree on, in each extra event column) are expected from the target's own rate
            (:func:`~graphs.lockstep.attach_bursts`).
        burst_agreement: an extra event column counts for a campaign when this share of its
            members' rows in it have one value (more than half).
    """

    merge_ratio: float = 0.25
    lockstep_min_targets: int = 2
    lockstep_min_share: float = 0.3
    campaign_overlap: float = 0.5
    campaign_min_shared: int = 2
    campaign_min_share: float = 0.2
    detach_passive: bool = True
    detach_max_own: float = 0.5
    detach_max_share: float = 0.5
    detach_creators: bool = True
    detach_unsynced_share: float = 0.3
    burst_excess: float = 0.9
    burst_agreement: float = 0.8

    def __post_init__(self) -> None:
        names = (
            "merge_ratio",
            "lockstep_min_share",
            "campaign_overlap",
            "campaign_min_share",
            "detach_max_share",
            "burst_excess",
        )
        for name in names:
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"refine.{name} must be in [0, 1]")
        if self.lockstep_min_targets < 0 or self.campaign_min_shared < 1:
            raise ValueError("refine.lockstep_min_targets must be >= 0 and campaign_min_shared >= 1")
        if not 0.5 < self.burst_agreement <= 1:
            raise ValueError("refine.burst_agreement must be in (0.5, 1]")


#: One step: (key for timings, progress message, labels -> new labels).
Step = tuple[str, str, Callable[[np.ndarray, tuple, ClusterContext, np.ndarray], np.ndarray]]


def refinement_steps(p: RefineParams, min_size: int, own: np.ndarray | None) -> list[Step]:
    """The enabled steps, in order. Each takes ``(labels, (src, dst, weight), ctx, flagged)``.

    Args:
        p: the knobs.
        min_size: clusters left smaller than this dissolve.
        own: the model's score per account (None without a model: nobody is detached as passive).
    """
    steps: list[Step] = []
    if p.merge_ratio > 0:
        steps.append(
            (
                "merge",
                "merging pieces of the same ring",
                lambda labels, edges, ctx, flagged: merge_linked(
                    labels, *edges, flagged, p.merge_ratio, min_size
                ),
            )
        )

    def lockstep(labels, edges, ctx, flagged):
        return attach_lockstep(ctx, flagged, p.lockstep_min_targets, p.lockstep_min_share)

    if p.lockstep_min_targets > 0:
        steps.append(("lockstep", "attaching lockstep stragglers", lockstep))
    if p.campaign_overlap > 0:
        steps.append(
            (
                "campaigns",
                "merging clusters of the same campaigns",
                lambda labels, edges, ctx, flagged: merge_shared_campaigns(
                    ctx, flagged, p.campaign_overlap, p.campaign_min_shared, p.campaign_min_share
                ),
            )
        )
    if p.lockstep_min_targets > 0:
        # Once more: members attached above bring the cluster's other campaigns into view.
        steps.append(("lockstep_again", "attaching lockstep stragglers of the merged clusters", lockstep))

    def detach(creators: bool):
        def step(labels, edges, ctx, flagged):
            return detach_passive(
                ctx,
                flagged,
                own,
                max_own=p.detach_max_own,
                min_size=min_size,
                max_share=p.detach_max_share,
                creators=creators,
            )

        return step

    if p.detach_passive:
        steps.append(("detach", "detaching members tied only by being interacted with", detach(False)))
    if p.detach_unsynced_share > 0:
        steps.append(
            (
                "detach_unsynced",
                "detaching members that never act in sync with their cluster",
                lambda labels, edges, ctx, flagged: detach_unsynchronised(
                    ctx,
                    flagged,
                    min_synced_share=p.detach_unsynced_share,
                    min_size=min_size,
                    campaign_targets=p.lockstep_min_targets,
                    campaign_share=p.lockstep_min_share,
                ),
            )
        )
    if p.detach_passive and p.detach_creators:
        # After detach_unsynced: a customer leaving can lower her cluster's score below the flagged
        # threshold, and detach_unsynced would then pass the cluster by (docs/detection.md).
        steps.append(("detach_creators", "detaching members in step only on their own posts", detach(True)))
    if p.burst_excess > 0:
        steps.append(
            (
                "bursts",
                "attaching the members of one burst campaign",
                lambda labels, edges, ctx, flagged: attach_bursts(
                    ctx, flagged, p.lockstep_min_share, p.burst_excess, p.burst_agreement
                ),
            )
        )
    return steps


#: Steps that may not take a ``ring`` verdict away: a cluster whose score falls below the ring floor
#: once they ran keeps its members. A ring's customers are evidence about it (whom it promotes:
#: ``interaction_centralization``); taking them out must lower the benign accounts' verdicts, not
#: the ring's (docs/detection.md, "Customers in step only on their own posts").
KEEPS_RINGS = frozenset({"detach_creators"})


def keep_rings(
    old: np.ndarray,
    new: np.ndarray,
    old_score: np.ndarray,
    new_score: np.ndarray,
    floor: float,
    min_size: int,
) -> np.ndarray:
    """``new`` labels, except that each cluster of ``old`` scored at or above ``floor`` whose
    successor in ``new`` scores below it (or that dissolved) gets its ``old`` members back.

    ``new`` must come from ``old`` by members leaving (each old cluster has at most one successor).
    Returns ``new`` itself when nothing is restored, else relabelled as communities are.
    """
    given = new
    old = np.asarray(old, dtype=np.int64)
    new = np.asarray(new, dtype=np.int64)
    n_old = int(old.max()) + 1 if old.size else 0
    if n_old == 0:
        return given
    succ = np.full(n_old, -1, dtype=np.int64)
    stay = (old >= 0) & (new >= 0)
    np.maximum.at(succ, old[stay], new[stay])
    was_ring = np.asarray(old_score[:n_old]) >= floor
    # A dissolved cluster (no successor) scores -inf.
    scores = np.r_[np.asarray(new_score, dtype=np.float64), -np.inf]
    succ_score = scores[np.where(succ >= 0, succ, scores.size - 1)]
    demoted = was_ring & (succ_score < floor)
    if not demoted.any():
        return given
    out = new.copy()
    back = (old >= 0) & demoted[np.maximum(old, 0)]
    fresh = int(new.max()) + 1 + old[back]  # a dissolved cluster comes back under a new label
    out[back] = np.where(succ[old[back]] >= 0, succ[old[back]], fresh)
    return renumber(out, min_size)
