"""What happened to each cluster between two runs: born, grew, shrank, merged, split, dissolved.

Computed from where the members went (the overlap of every previous cluster with every new one),
so that an enforcement tool can act on the growth of a ring it already acted on without reviewing
it again. With ``heir(P)`` the new cluster holding most of previous cluster ``P``'s members, and
``origin(C)`` the previously active cluster that gave new cluster ``C`` most of its members, each counted
only when it holds at least :data:`MIN_SHARE` of the members (of ``P``, of ``C``) and at least
:data:`MIN_OVERLAP` accounts:

- ``born``: a new cluster with no origin and nothing merged into it;
- ``returned``: it got back the id of a cluster that had dissolved (a ring that came back);
- ``grew`` / ``shrank`` / ``changed``: it kept its id and has more / fewer / as many members, some
  of them others (``related``: the clusters merged into it and those split off it);
- ``unchanged``: the same members (only the verdict or the score changed);
- ``merged``: a previous cluster that is gone, most of its members now in one cluster (its heir;
  ``related``: the heir), or a new cluster that is the heir of such clusters (``related``: them);
- ``split``: a previous cluster that is gone, two or more new clusters holding some of its members
  (``related``: the pieces), or a new cluster whose origin is a previous one (``related``: it);
- ``dissolved``: a previous cluster that is gone, with no heir and no pieces.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

#: A cluster counts as another's heir (or origin) when it holds at least this share of its members.
MIN_SHARE = 0.5
#: ... and at least this many accounts.
MIN_OVERLAP = 2

LIFECYCLES = (
    "born",
    "returned",
    "grew",
    "shrank",
    "changed",
    "unchanged",
    "merged",
    "split",
    "dissolved",
)


@dataclass
class Lifecycle:
    """One cluster's lifecycle step: what happened, its size before (None when new), related ids."""

    lifecycle: str
    size_before: int | None
    related: list[str] = field(default_factory=list)


def lifecycles(
    overlaps: pd.DataFrame,
    matches: pd.DataFrame,
    id_map: dict[str, str],
    returned: set[str],
    active: set[str],
    new_sizes: dict[str, int],
    old_sizes: dict[str, int],
    gone: list[str],
) -> dict[str, Lifecycle]:
    """Every changed cluster's lifecycle, keyed by stable id.

    Args:
        overlaps: the rows of :func:`service.store.matching.cluster_overlaps` (``local_id,
            stable_id, overlap, n_new, n_old``), one per (new, previous) pair sharing members.
        matches: the matched pairs (``local_id, stable_id, overlap``) of :func:`match_clusters`.
        id_map: run-local id -> stable id of every new cluster.
        returned: stable ids that were dissolved before this run and came back.
        active: stable ids of the clusters active before this run (the others are recent dissolved
            ones, matched so that a ring that comes back gets its id back).
        new_sizes: members per new cluster (run-local ids).
        old_sizes: members per previous cluster (stable ids).
        gone: previous clusters (stable ids) that no new cluster matched.
    """
    matched_local = dict(zip(matches["local_id"], matches["stable_id"], strict=True))
    kept = dict(zip(matches["local_id"], matches["overlap"], strict=True))
    o = overlaps.assign(
        share_old=overlaps["overlap"] / overlaps["n_old"],
        share_new=overlaps["overlap"] / overlaps["n_new"],
    )
    strong = o["overlap"] >= MIN_OVERLAP
    heir = _best(o[strong & (o["share_old"] >= MIN_SHARE)], by="stable_id", pick="local_id")
    was_active = o["stable_id"].isin(active)
    origin = _best(o[strong & was_active & (o["share_new"] >= MIN_SHARE)], by="local_id", pick="stable_id")
    # Where the members of each cluster that is gone went (sorted once; no per-group Python).
    went = o[strong & o["stable_id"].isin(gone)].sort_values(["stable_id", "local_id"])
    pieces: dict[str, list[str]] = {}
    for stable, local in zip(went["stable_id"], went["local_id"], strict=True):
        pieces.setdefault(stable, []).append(local)

    out: dict[str, Lifecycle] = {}
    gone_set = set(gone)
    merged_into: dict[str, list[str]] = {}  # new (local) -> previous (stable) clusters merged into it
    for stable in sorted(gone_set):
        local = heir.get(stable)
        if local is not None:
            merged_into.setdefault(local, []).append(stable)
            out[stable] = Lifecycle("merged", old_sizes.get(stable, 0), [id_map[local]])
        elif len(pieces.get(stable, [])) >= 2:
            out[stable] = Lifecycle("split", old_sizes.get(stable, 0), [id_map[p] for p in pieces[stable]])
        else:
            out[stable] = Lifecycle("dissolved", old_sizes.get(stable, 0))
    split_off: dict[str, list[str]] = {}  # previous (stable) -> new clusters (stable) split off it
    for local in new_sizes:
        sid = id_map[local]
        if local in matched_local:
            if sid in returned:
                out[sid] = Lifecycle("returned", old_sizes.get(sid))
            continue
        if local in merged_into:
            out[sid] = Lifecycle("merged", None, sorted(merged_into[local]))
        elif local in origin:
            out[sid] = Lifecycle("split", None, [origin[local]])
            split_off.setdefault(origin[local], []).append(sid)
        else:
            out[sid] = Lifecycle("born", None)
    for local, stable in matched_local.items():
        if stable in returned:
            continue
        before, after = old_sizes.get(stable, 0), new_sizes[local]
        if after > before:
            kind = "grew"
        elif after < before:
            kind = "shrank"
        else:
            kind = "unchanged" if kept[local] == before else "changed"
        related = sorted(merged_into.get(local, []) + split_off.get(stable, []))
        out[stable] = Lifecycle(kind, before, related)
    return out


def _best(df: pd.DataFrame, by: str, pick: str) -> dict[str, str]:
    """For each ``by`` value, the ``pick`` value of its largest overlap (ties: the smaller id)."""
    if df.empty:
        return {}
    ranked = df.sort_values([by, "overlap", pick], ascending=[True, False, True])
    first = ranked.drop_duplicates(by)
    return dict(zip(first[by], first[pick], strict=True))
