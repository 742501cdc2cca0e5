"""Account-account relations: projections of the account-entity incidence, one edge type each.

What an entity type gives depends on its role (:mod:`graphs.roles`), never on its name:

- one **identifier relation** per identifier type (``device``, ``ip``, ``phone``, ``payment``, ...):
  accounts sharing identifiers at any time, each shared entity adding ``idf(d) = 1 / log2(d)``
  (``d`` = its accounts), entities above the type's cap adding nothing (hubs);
- ``id_time``: the same identifier used within a window (co-presence), kept where it happens more
  often than chance predicts (:mod:`graphs.synchrony`), over every identifier type at once;
- ``coaction``: the same targets acted on within a window, from seconds to a day, kept where a pair
  co-acts more often than chance predicts from both accounts' activity and the targets' crowding at
  that time (SynchroTrap / CopyCatch lockstep, judged against the log's own chance level), plus
  the members of two (target, window) cells that share more accounts than chance predicts
  (:mod:`graphs.campaigns`: rings whose pairs co-act too rarely for the pairwise test);
- ``interaction``: direct follows/messages between acting accounts, reciprocated ones counting more.

:func:`canonical_relations` pools the identifier relations into one ``identifier`` relation, so the
model inputs (:data:`graphs.params.CANONICAL_RELATIONS`) have the same shape on every log.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .campaigns import CampaignStats, campaign_pairs, merge_campaigns
from .events import EventLog
from .incidence import Incidence, build_incidence, run_ids, run_starts, sort_rows
from .params import CANONICAL_RELATIONS, GraphParams
from .projection import Relation, idf, pairs, project, squash
from .roles import Roles
from .sources import entity_sources
from .synchrony import SyncParams, SyncStats, synchrony_relation, time_resolution

__all__ = [
    "Relation",
    "RelationSet",
    "build_relations",
    "canonical_relations",
    "identifier_relation",
    "idf",
    "interaction_relation",
    "relation_name",
    "squash",
]

#: Relation names that an identifier type cannot take; such a type's relation is ``shared_<type>``.
RESERVED = (*CANONICAL_RELATIONS, "ip_time")


@dataclass(frozen=True, eq=False)
class RelationSet:
    """The relations of one log with what the synchrony tests found.

    Attributes:
        relations: relation name -> relation: one per identifier type (named after it), then
            ``id_time``, ``coaction`` and ``interaction`` (always present, possibly empty).
        identifier_names: the identifier relations' names, in ``relations`` order.
        sync: ``coaction`` / ``id_time`` -> :class:`~graphs.synchrony.SyncStats`.
        resolution: the log's time resolution in seconds.
        campaigns: what the campaign-group test added to ``coaction``
            (:class:`~graphs.campaigns.CampaignStats`), None when it is switched off.
    """

    relations: dict[str, Relation]
    identifier_names: tuple[str, ...]
    sync: dict[str, SyncStats]
    resolution: int
    campaigns: CampaignStats | None = None


def relation_name(entity_type: str) -> str:
    """The relation name of an identifier type (``shared_<type>`` if it clashes with another relation)."""
    return f"shared_{entity_type}" if entity_type in RESERVED else entity_type


def identifier_relation(inc: Incidence, name: str, cap: int, scale: float) -> Relation:
    """Accounts sharing identifiers (devices, IPs, phones, ...) at any time.

    Score of a pair = sum over its shared entities with ``2 <= d <= cap`` accounts of ``idf(d)``;
    entities with more than ``cap`` accounts give no edges. Evidence: ``shared`` (number of shared
    entities below the cap), ``score``.
    """
    deg = inc.degree
    ok = (deg >= 2) & (deg <= cap)
    m = ok[inc.col]
    col = inc.col[m]
    w = idf(deg)[col]
    prod = project(inc.account[m], col, w + 1j, inc.n_accounts, inc.n_entities)
    src, dst, val = pairs(prod)
    score = val.real
    return Relation(
        name,
        src,
        dst,
        squash(score, scale),
        {"shared": np.rint(val.imag).astype(np.int32), "score": score.astype(np.float32)},
    )


def pooled_identifier(parts: list[Relation], n_accounts: int, scale: float) -> Relation:
    """One ``identifier`` relation from the per-type ones: scores add up, then are squashed.

    Evidence: ``shared`` (shared entities of every type), ``types`` (identifier types shared),
    ``score``.
    """
    name = "identifier"
    parts = [r for r in parts if r.n_edges]
    if not parts:
        return Relation.empty(name, ("shared", "types", "score"))
    n = max(n_accounts, 1)
    key = np.concatenate([r.src.astype(np.int64) * n + r.dst for r in parts])
    score = np.concatenate([r.evidence["score"].astype(np.float64) for r in parts])
    shared = np.concatenate([r.evidence["shared"].astype(np.int64) for r in parts])
    order = np.argsort(key, kind="stable")
    key, score, shared = key[order], score[order], shared[order]
    gid, types = run_ids(key)
    starts = run_starts(key)
    k = starts.size
    total = np.bincount(gid, score, k)
    return Relation(
        name,
        (key[starts] // n).astype(np.int32),
        (key[starts] % n).astype(np.int32),
        squash(total, scale),
        {
            "shared": np.bincount(gid, shared, k).astype(np.int32),
            "types": types.astype(np.int32),
            "score": total.astype(np.float32),
        },
    )


def presence_sync_params(params: GraphParams, caps: list[int]) -> SyncParams:
    """The synchrony knobs of ``id_time``; ``caps``: the identifier types' account caps."""
    return SyncParams(
        windows=params.presence_windows,
        cell_cap=max(caps, default=2),
        entity_cap=max(caps, default=2),
        min_count=params.presence_min_count,
        fdr=params.sync_fdr,
        exact=False,
    )


def coaction_sync_params(params: GraphParams) -> SyncParams:
    """The synchrony knobs of ``coaction``."""
    return SyncParams(
        windows=params.sync_windows,
        cell_cap=params.sync_cell_cap,
        entity_cap=params.target_cap,
        min_count=params.sync_min_count,
        fdr=params.sync_fdr,
        exact=True,
    )


def presence_relation(
    log: EventLog, incidence: dict[str, Incidence], roles: Roles, params: GraphParams, resolution: int
) -> tuple[Relation, SyncStats]:
    """``id_time``: accounts on the same identifier within a window more often than chance.

    Rows are every event on an identifier that is no hub (at most its type's cap of accounts over the
    whole log: a CGNAT address links nobody, whatever the hour); co-presence is counted per
    (identifier, window) cell over every identifier type at once and judged by
    :func:`graphs.synchrony.synchrony_relation`. (Testing each type on its own was tried: a type
    that almost only a farm shares, its emulators, then has no chance reference of its own, and the
    farm's co-presence looked expected.)
    """
    codes = [log.type_code(t) for t in roles.identifiers if t in incidence]
    usable = np.zeros(log.n_entities, dtype=bool)
    caps = []
    for t in roles.identifiers:
        if t not in incidence:
            continue
        inc = incidence[t]
        cap = params.cap(t)
        caps.append(cap)
        usable[inc.entities[(inc.degree >= 2) & (inc.degree <= cap)]] = True
    m = usable[log.entity] if codes else np.zeros(log.n_events, dtype=bool)
    sync = presence_sync_params(params, caps)
    return synchrony_relation(
        "id_time", log.account[m], log.entity[m], log.timestamp[m], log.n_accounts, sync, resolution
    )


def target_rows(
    log: EventLog,
    incidence: dict[str, Incidence],
    roles: Roles,
    params: GraphParams,
    resolution: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """The first action of each account on each target: ``(account, target, time, weight, source)``.

    One act can name several targets at one instant (a post's URL, hashtag and domain): such rows
    get weight ``1 / sqrt(k)`` each (``k`` rows of the account at that instant), so that the act
    co-occurs at most once in all (not on logs whose timestamps are coarser than a minute: there,
    one instant holds a whole day's acts); ``weight`` is None when every row weighs 1. ``source`` is
    each row's target's source (:mod:`graphs.sources`, -1: none) for the campaign-group test, None
    when the log has no sources or ``params.campaign_skip_same_source`` is off.
    """
    if params.coaction_actions is not None:
        codes = [log.action_code(a) for a in params.coaction_actions]
        incidence = build_incidence(log, np.isin(log.action, [c for c in codes if c >= 0]))
    parts = [incidence[t] for t in roles.targets if t in incidence]
    account = np.concatenate([p.account for p in parts] + [np.zeros(0, np.int32)])
    target = np.concatenate([p.entities[p.col] for p in parts] + [np.zeros(0, np.int32)])
    first = np.concatenate([p.first_seen for p in parts] + [np.zeros(0, np.int64)])
    weight = None
    if len(parts) > 1 and account.size and resolution <= 60:
        # Hash-based grouping of (account, instant): numpy 2.4's np.unique is slow on millions of keys.
        codes, _ = pd.factorize(account.astype(np.int64) * (1 << 33) + (first - first.min()))
        k = np.bincount(codes)[codes]
        if (k > 1).any():
            weight = 1.0 / np.sqrt(k)
    source = None
    if params.campaign_skip_same_source and params.campaign_windows and account.size:
        target_types = np.array([log.type_code(t) for t in roles.targets], dtype=np.int64)
        source = entity_sources(log, target_types)[target]
        if (source < 0).all():
            source = None
    return account, target, first, weight, source


def coaction_relation(
    rows: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None],
    n_accounts: int,
    params: GraphParams,
    resolution: int,
) -> tuple[Relation, SyncStats]:
    """``coaction``: pairs that act on the same targets within a window more often than chance."""
    sync = coaction_sync_params(params)
    account, target, first, weight, _ = rows
    return synchrony_relation("coaction", account, target, first, n_accounts, sync, resolution, weight)


def entity_accounts(log: EventLog, types: tuple[str, ...]) -> np.ndarray:
    """int32 [n_entities]: the acting-account code an entity of one of ``types`` names, else -1."""
    out = np.full(log.n_entities, -1, dtype=np.int32)
    for t in types:
        code = log.type_code(t)
        if code < 0:
            continue
        idx = np.flatnonzero(log.entity_type == code)
        out[idx] = log.account_codes(log.entity_ids[idx]).astype(np.int32)
    return out


def interaction_relation(
    log: EventLog, incidence: dict[str, Incidence], roles: Roles, params: GraphParams
) -> Relation:
    """Direct follows/messages between acting accounts; reciprocated links weigh more.

    Per direction ``s = 1 - exp(-events / interaction_scale)``; the weight is ``(s_ab + s_ba) / 2``, so
    one follow gives 0.32, a follow back 0.63. Evidence: ``events`` (both directions), ``reciprocal``
    (1 when both directions exist).
    """
    name = "interaction"
    evidence = ("events", "reciprocal")
    types = tuple(t for t in roles.interaction if t in incidence)
    if not types:
        return Relation.empty(name, evidence)
    if params.interaction_actions is not None:
        codes = [log.action_code(a) for a in params.interaction_actions]
        incidence = build_incidence(log, np.isin(log.action, [c for c in codes if c >= 0]))
    names_acc = entity_accounts(log, types)
    a_parts, b_parts, c_parts = [], [], []
    for t in types:
        inc = incidence[t]
        a_parts.append(inc.account.astype(np.int64))
        b_parts.append(names_acc[inc.entities[inc.col]].astype(np.int64))
        c_parts.append(inc.count)
    a, b, count = np.concatenate(a_parts), np.concatenate(b_parts), np.concatenate(c_parts)
    return directed_interactions(a, b, count, params.interaction_scale)


def directed_interactions(a: np.ndarray, b: np.ndarray, count: np.ndarray, scale: float) -> Relation:
    """``interaction`` from directed rows: account ``a`` acted ``count`` times on account ``b``
    (``b = -1``: not an acting account). Shared by both engines (:mod:`graphs.spark` aggregates the
    rows with Spark)."""
    name = "interaction"
    evidence = ("events", "reciprocal")
    a, b, count = np.asarray(a, np.int64), np.asarray(b, np.int64), np.asarray(count)
    m = (b >= 0) & (a != b)
    if not m.any():
        return Relation.empty(name, evidence)
    a, b = a[m], b[m]
    # Sorting (lo, hi, direction) puts a pair's two directions together.
    lo, hi, backward, events = sort_rows(np.minimum(a, b), np.maximum(a, b), a > b, count[m])
    # Several types (or actions) may link one directed pair: add their events up.
    gid_d, _ = run_ids(lo, hi, backward)
    sd = run_starts(lo, hi, backward)
    events = np.bincount(gid_d, events.astype(np.float64), sd.size)
    lo, hi, backward = lo[sd], hi[sd], backward[sd].astype(bool)
    gid, _ = run_ids(lo, hi)
    starts = run_starts(lo, hi)
    s = -np.expm1(-events / scale)
    n_pairs = starts.size
    s_fwd = np.bincount(gid, s * ~backward, n_pairs)
    s_bwd = np.bincount(gid, s * backward, n_pairs)
    return Relation(
        name,
        lo[starts].astype(np.int32),
        hi[starts].astype(np.int32),
        np.clip((s_fwd + s_bwd) / 2, 1e-6, 1.0).astype(np.float32),
        {
            "events": np.bincount(gid, events, n_pairs).astype(np.int32),
            "reciprocal": ((s_fwd > 0) & (s_bwd > 0)).astype(np.int8),
        },
    )


def build_relations(
    log: EventLog,
    incidence: dict[str, Incidence],
    params: GraphParams,
    roles: Roles,
    timings: dict[str, float] | None = None,
) -> RelationSet:
    """All relations in a fixed order: one per identifier type, ``id_time``, ``coaction``, ``interaction``.

    ``id_time``, ``coaction`` and ``interaction`` are always present (possibly empty).
    """

    def tick(stage: str, t0: float) -> float:
        now = time.perf_counter()
        if timings is not None:
            timings[stage] = timings.get(stage, 0.0) + now - t0
        return now

    t0 = time.perf_counter()
    resolution = time_resolution(log.timestamp)
    out: dict[str, Relation] = {}
    names = []
    for etype in roles.identifiers:
        rname = relation_name(etype)
        names.append(rname)
        if etype in incidence:
            out[rname] = identifier_relation(
                incidence[etype], rname, params.cap(etype), params.identifier_scale
            )
        else:
            out[rname] = Relation.empty(rname, ("shared", "score"))
    t0 = tick("identifier relations", t0)
    sync: dict[str, SyncStats] = {}
    out["id_time"], sync["id_time"] = presence_relation(log, incidence, roles, params, resolution)
    t0 = tick("id_time", t0)
    rows = target_rows(log, incidence, roles, params, resolution)
    out["coaction"], sync["coaction"] = coaction_relation(rows, log.n_accounts, params, resolution)
    t0 = tick("coaction", t0)
    out["coaction"], sync["coaction"], campaigns = add_campaigns(
        out["coaction"], sync["coaction"], rows, log.n_accounts, params, resolution
    )
    t0 = tick("campaigns", t0)
    out["interaction"] = interaction_relation(log, incidence, roles, params)
    tick("interaction", t0)
    return RelationSet(out, tuple(names), sync, resolution, campaigns)


def add_campaigns(
    coaction: Relation,
    stats: SyncStats,
    rows: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None],
    n_accounts: int,
    params: GraphParams,
    resolution: int,
) -> tuple[Relation, SyncStats, CampaignStats | None]:
    """``coaction`` with the pairs of the campaign-group test (:mod:`graphs.campaigns`) added, its
    stats (the threshold the group test's when the pairwise test kept nothing), and the group
    test's own stats (None when ``params.campaign_windows`` is empty). Shared by both engines."""
    if not params.campaign_windows:
        return coaction, stats, None
    account, target, first, _, source = rows
    found = campaign_pairs(
        account,
        target,
        first,
        n_accounts,
        params.campaign_windows,
        params.campaign_cell_cap,
        params.sync_fdr,
        resolution,
        params.campaign_quiet,
        params.campaign_min_shared,
        source,
    )
    return merge_campaigns(coaction, stats, found, n_accounts)


def with_campaigns(
    rset: RelationSet,
    log: EventLog,
    incidence: dict[str, Incidence],
    roles: Roles,
    params: GraphParams,
) -> RelationSet:
    """A relation set counted elsewhere (:mod:`graphs.spark`) with the campaign-group test's pairs
    added to its ``coaction``, on this process's first actions (the same as :func:`build_relations`)."""
    if not params.campaign_windows:
        return rset
    rows = target_rows(log, incidence, roles, params, rset.resolution)
    rels = dict(rset.relations)
    sync = dict(rset.sync)
    rels["coaction"], sync["coaction"], campaigns = add_campaigns(
        rels["coaction"], sync["coaction"], rows, log.n_accounts, params, rset.resolution
    )
    return RelationSet(rels, rset.identifier_names, sync, rset.resolution, campaigns)


def canonical_relations(
    relations: dict[str, Relation], identifier_names: tuple[str, ...], n_accounts: int, params: GraphParams
) -> dict[str, Relation]:
    """The four relation kinds of :data:`~graphs.params.CANONICAL_RELATIONS`, identifiers pooled."""
    pooled = pooled_identifier(
        [relations[r] for r in identifier_names if r in relations], n_accounts, params.identifier_scale
    )
    out = {"identifier": pooled}
    for name in CANONICAL_RELATIONS[1:]:
        out[name] = relations.get(name) or Relation.empty(name)
    return out
