"""Account-account relations: projections of the account-entity incidence, one edge type each.

Every relation is a sparse product ``B W B^T`` of an account x (pseudo-)entity matrix ``B`` with
IDF-like column weights ``W``: an entity shared by ``d`` accounts adds ``idf(d) = 1 / log2(d)`` to each
of its pairs, and entities shared by more than a cap add nothing (they are hubs: CGNAT IPs, viral
posts), so nothing quadratic is ever built. The summed score is squashed to a weight in (0, 1).

- identifier relations (``device``, ``ip``, one per other identifier type such as ``phone``): shared
  entities at any time;
- ``ip_time``: the same IP within ``ip_window`` (time-bucketed IP pseudo-entities);
- ``coaction``: the same target (content, followed account) acted on within ``coaction_window``, on at
  least ``coaction_min_targets`` distinct targets (SynchroTrap / CopyCatch lockstep);
- ``interaction``: direct follows/messages between acting accounts, reciprocated ones counting more.

Windows use two bucket grids, the second shifted by half a window, so two actions close in time are
in one bucket of at least one grid wherever the boundaries fall. See ``docs/graph.md``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from .events import EventLog
from .incidence import Incidence, build_incidence, run_ids, run_starts, sort_rows
from .params import GraphParams

#: Relation names that are not identifier types; an identifier type with one of these names is
#: renamed ``shared_<type>``.
TIME_RELATIONS = ("ip_time", "coaction", "interaction")


@dataclass(frozen=True, eq=False)
class Relation:
    """Weighted account-account edges of one kind (shared device, co-like, ...).

    Attributes:
        name: the relation name (``device``, ``ip``, ``ip_time``, ``coaction``, ``interaction``, ...).
        src: int32 [E] account code, ``src < dst``; edges sorted by (src, dst), no duplicates.
        dst: int32 [E] account code.
        weight: float32 [E] evidence weight in (0, 1].
        evidence: per-edge arrays [E] explaining the weight, e.g. ``shared`` (number of shared
            entities), ``targets`` (distinct co-acted targets), ``score`` (the unsquashed sum).
    """

    name: str
    src: np.ndarray
    dst: np.ndarray
    weight: np.ndarray
    evidence: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_edges(self) -> int:
        return int(self.src.shape[0])

    @classmethod
    def empty(cls, name: str, evidence: tuple[str, ...] = ()) -> Relation:
        """A relation without edges (its entity type is absent or nothing qualifies)."""
        i32 = np.zeros(0, dtype=np.int32)
        return cls(name, i32, i32.copy(), np.zeros(0, dtype=np.float32), {k: i32.copy() for k in evidence})

    def take(self, mask: np.ndarray) -> Relation:
        """The edges where ``mask`` (bool [E]) is true."""
        return Relation(
            self.name,
            self.src[mask],
            self.dst[mask],
            self.weight[mask],
            {k: v[mask] for k, v in self.evidence.items()},
        )

    def degree(self, n_accounts: int) -> np.ndarray:
        """int64 [n_accounts]: number of neighbours of each account in this relation."""
        return np.bincount(self.src, minlength=n_accounts) + np.bincount(self.dst, minlength=n_accounts)

    def weighted_degree(self, n_accounts: int) -> np.ndarray:
        """float64 [n_accounts]: sum of edge weights of each account in this relation."""
        w = self.weight.astype(np.float64)
        return np.bincount(self.src, w, n_accounts) + np.bincount(self.dst, w, n_accounts)


def idf(degree: np.ndarray) -> np.ndarray:
    """Evidence one entity shared by ``degree`` accounts adds to each of its pairs: ``1 / log2(d)``.

    A device shared by two accounts gives 1.0, by 10 accounts 0.30, by 100 accounts 0.15.
    """
    return 1.0 / np.log2(np.maximum(np.asarray(degree, dtype=np.float64), 2.0))


def squash(score: np.ndarray, scale: float) -> np.ndarray:
    """Maps a non-negative evidence score to a float32 weight in (0, 1]: ``1 - exp(-score / scale)``."""
    w = -np.expm1(-np.asarray(score, dtype=np.float64) / scale)
    return np.clip(w, 1e-6, 1.0).astype(np.float32)


def _project(
    rows: np.ndarray,
    cols: np.ndarray,
    vals: np.ndarray,
    n_rows: int,
    n_cols: int,
    right: tuple[np.ndarray, np.ndarray] | None = None,
    min_count: int = 1,
) -> sp.csr_matrix:
    """Upper triangle of ``L R^T`` where ``L`` holds ``vals`` at ``(rows, cols)`` and ``R`` is binary.

    ``R`` is ``L``'s pattern unless ``right = (rows, cols)`` is given (the product must then be
    symmetric by construction). ``vals`` is complex: the real part carries the IDF weight and the
    imaginary part 1, so one sparse product yields both the weighted score (real) and the number of
    shared columns (imaginary). Entries with fewer than ``min_count`` shared columns are dropped before
    anything is sorted. Rows are compacted to the accounts present, which keeps the product's dense
    accumulator small and in cache.

    Returns:
        A canonical CSR matrix [n_rows, n_rows] holding only entries with row < column.
    """
    r_rows, r_cols = (rows, cols) if right is None else right
    if rows.size == 0 or r_rows.size == 0:
        return sp.csr_matrix((n_rows, n_rows), dtype=np.complex128)
    present = np.zeros(n_rows, dtype=bool)
    present[rows] = True
    present[r_rows] = True
    ids = np.flatnonzero(present)
    compact = np.full(n_rows, -1, dtype=np.int64)
    compact[ids] = np.arange(ids.size)
    m = ids.size
    left = sp.csr_matrix((vals.astype(np.complex128), (compact[rows], cols)), shape=(m, n_cols))
    right_t = sp.csr_matrix(
        (np.ones(r_rows.shape[0], dtype=np.complex128), (r_cols, compact[r_rows])), shape=(n_cols, m)
    )
    prod = left @ right_t
    del left, right_t
    row = np.repeat(np.arange(m, dtype=np.int64), np.diff(prod.indptr))
    keep = prod.indices > row
    if min_count > 1:
        keep &= prod.data.imag > min_count - 0.5
    src = ids[row[keep]]
    out = sp.csr_matrix(
        (
            prod.data[keep],
            ids[prod.indices[keep]],
            np.concatenate([[0], np.cumsum(np.bincount(src, minlength=n_rows))]),
        ),
        shape=(n_rows, n_rows),
    )
    out.sort_indices()
    return out


def _pairs(m: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(src, dst, data) of a canonical upper-triangular CSR matrix, sorted by (src, dst)."""
    src = np.repeat(np.arange(m.shape[0], dtype=np.int32), np.diff(m.indptr))
    return src, m.indices.astype(np.int32), m.data


def _split(m: sp.csr_matrix) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Real and imaginary parts of a complex CSR matrix, sharing its sparsity pattern."""
    re = sp.csr_matrix((m.data.real.copy(), m.indices, m.indptr), shape=m.shape)
    im = sp.csr_matrix((m.data.imag.copy(), m.indices, m.indptr), shape=m.shape)
    return re, im


def _grids(t: np.ndarray, window: int) -> tuple[np.ndarray, int]:
    """Half-window cell of each time, from which both bucket grids follow.

    Grid 0 has buckets ``t // window`` (aligned to the Unix epoch), grid 1 the same shifted by half a
    window. Cell ``h = 2 * g0 + (g1 - g0)`` is the intersection of the two buckets, so grid 0's bucket is
    ``h // 2`` and grid 1's ``(h + 1) // 2``; both are non-decreasing in ``h``. Numbered from the
    earliest bucket so keys stay small.

    Returns:
        ``(h int64 [len(t)], number of h values)``.
    """
    if t.size == 0:
        return np.zeros(0, dtype=np.int64), 1
    base = int(t.min()) // window
    g0 = t // window - base
    g1 = (t + window // 2) // window - base
    h = 2 * g0 + (g1 - g0)
    return h, int(h.max()) + 2


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
    prod = _project(inc.account[m], col, w + 1j, inc.n_accounts, inc.n_entities)
    src, dst, val = _pairs(prod)
    score = val.real
    return Relation(
        name,
        src,
        dst,
        squash(score, scale),
        {"shared": np.rint(val.imag).astype(np.int32), "score": score.astype(np.float32)},
    )


def ip_time_relation(log: EventLog, ip: Incidence | None, params: GraphParams) -> Relation:
    """Accounts on the same IP within ``params.ip_window`` seconds.

    Pseudo-entities are (IP, time bucket) cells; a pair's score is the sum of ``idf(d)`` over the
    cells both were in (``d`` = accounts in the cell), the larger of the two half-shifted grids.
    IPs above ``ip_cap`` accounts over the whole log are hubs and give nothing, whatever the hour.
    Evidence: ``windows`` (co-present windows), ``score``.
    """
    name = "ip_time"
    if ip is None or ip.nnz == 0:
        return Relation.empty(name, ("windows", "score"))
    cap = params.cap("ip")
    deg = ip.degree
    usable = np.full(log.n_entities, -1, dtype=np.int64)
    ok_cols = np.flatnonzero((deg >= 2) & (deg <= cap))
    usable[ip.entities[ok_cols]] = np.arange(ok_cols.size)
    ent = usable[log.entity]
    m = ent >= 0
    ent = ent[m]
    acc = log.account[m].astype(np.int64)
    h, n_h = _grids(log.timestamp[m], params.ip_window)
    n = log.n_accounts
    scores, counts = [], []
    for g in (h // 2, (h + 1) // 2):
        # (IP, bucket, account) sorted: distinct rows are the B matrix, runs of (IP, bucket) its columns.
        e, b, a = sort_rows(ent, g, acc)
        first = run_starts(e, b, a)
        e, b, a = e[first], b[first], a[first]
        col, cdeg = run_ids(e, b)
        ok = ((cdeg >= 2) & (cdeg <= cap))[col]
        w = idf(cdeg)[col[ok]]
        prod = _project(a[ok], col[ok], w + 1j, n, int(cdeg.shape[0]))
        re, im = _split(prod)
        scores.append(re)
        counts.append(im)
    score = scores[0].maximum(scores[1])
    windows = counts[0].maximum(counts[1])
    src, dst, s = _pairs(score)
    _, _, c = _pairs(windows)
    return Relation(
        name,
        src,
        dst,
        squash(s, params.ip_time_scale),
        {"windows": np.rint(c).astype(np.int32), "score": s.astype(np.float32)},
    )


@dataclass(frozen=True, eq=False)
class CoactionCells:
    """The first action of each account on each target, placed in both time grids.

    One row per (account, target) pair, sorted by (target, bucket, account). ``col0``/``col1`` number
    the (target, bucket) cells of grid 0 and of the half-shifted grid 1; a grid-1 cell straddles a
    grid-0 boundary, and ``left`` tells which side of it the row is on.

    Attributes:
        account: int32 [P], acting account.
        target: int32 [P], the target's entity code.
        col0, col1: int64 [P], cell numbers (non-decreasing).
        deg0, deg1: int64 [P], accounts in the row's cell.
        left: bool [P], the row is in the earlier half of its grid-1 cell.
        synced: bool [P], the row shares a cell of 2..coaction_cap accounts in one of the grids.
    """

    account: np.ndarray
    target: np.ndarray
    col0: np.ndarray
    col1: np.ndarray
    deg0: np.ndarray
    deg1: np.ndarray
    left: np.ndarray
    synced: np.ndarray


def coaction_cells(log: EventLog, incidence: dict[str, Incidence], params: GraphParams) -> CoactionCells:
    """Places each (account, target) pair's first action in the (target, bucket) cells of both grids."""
    if params.coaction_actions is not None:
        codes = [log.action_code(a) for a in params.coaction_actions]
        incidence = build_incidence(log, np.isin(log.action, [c for c in codes if c >= 0]))
    parts = [incidence[t] for t in params.target_types if t in incidence]
    account = np.concatenate([p.account for p in parts] + [np.zeros(0, np.int32)])
    target = np.concatenate([p.entities[p.col] for p in parts] + [np.zeros(0, np.int32)])
    h, _ = _grids(
        np.concatenate([p.first_seen for p in parts] + [np.zeros(0, np.int64)]), params.coaction_window
    )
    # One sort by (target, h, account); both grids' cells are runs of that order, since their buckets
    # h // 2 and (h + 1) // 2 are non-decreasing in h.
    target, h, account = sort_rows(target, h, account)
    col0, deg0 = run_ids(target, h // 2)
    col1, deg1 = run_ids(target, (h + 1) // 2)
    deg0, deg1 = deg0[col0], deg1[col1]
    # The left half of a grid-1 cell is the part in its first grid-0 bucket.
    first0 = col0[run_starts(col1)]
    left = col0 == first0[col1]
    cap = params.coaction_cap
    return CoactionCells(
        account=account.astype(np.int32),
        target=target.astype(np.int32),
        col0=col0,
        col1=col1,
        deg0=deg0,
        deg1=deg1,
        left=left,
        synced=((deg0 >= 2) & (deg0 <= cap)) | ((deg1 >= 2) & (deg1 <= cap)),
    )


def coaction_relation(cells: CoactionCells, n_accounts: int, params: GraphParams) -> Relation:
    """Lockstep: pairs that acted on at least ``coaction_min_targets`` distinct targets within the window.

    A pair co-acted on a target when their first actions on it share a grid-0 bucket, or, split by a
    grid-0 boundary, share a bucket of the half-shifted grid 1: so any two actions less than half a
    window apart always count, and none counts twice. The target earns the pair ``idf(d)`` of that cell
    (``d`` = its actors); cells above ``coaction_cap`` actors (viral bursts) earn nothing. One sparse
    product computes both terms: ``B0 W0 B0^T + L W1 R^T + R W1 L^T`` with ``L``/``R`` the left/right
    halves of the grid-1 cells. Evidence: ``targets`` (distinct co-acted targets), ``score``.
    """
    name = "coaction"
    if cells.account.size == 0:
        return Relation.empty(name, ("targets", "score"))
    cap, k = params.coaction_cap, params.coaction_min_targets
    ok0 = (cells.deg0 >= 2) & (cells.deg0 <= cap)
    ok1 = (cells.deg1 >= 2) & (cells.deg1 <= cap)
    # Exact pruning: an account with fewer than k synchronised rows has no pair with k targets.
    active = np.bincount(cells.account, ok0 | ok1, n_accounts) >= k
    act = active[cells.account]
    a0, a1 = ok0 & act, ok1 & act
    la, ra = a1 & cells.left, a1 & ~cells.left
    n0 = int(cells.col0[-1]) + 1
    n1 = int(cells.col1[-1]) + 1
    w0, w1 = idf(cells.deg0) + 1j, idf(cells.deg1) + 1j
    acc = cells.account
    prod = _project(
        np.concatenate([acc[a0], acc[la], acc[ra]]),
        np.concatenate([cells.col0[a0], n0 + cells.col1[la], n0 + n1 + cells.col1[ra]]),
        np.concatenate([w0[a0], w1[la], w1[ra]]),
        n_accounts,
        n0 + 2 * n1,
        right=(
            np.concatenate([acc[a0], acc[ra], acc[la]]),
            np.concatenate([cells.col0[a0], n0 + cells.col1[ra], n0 + n1 + cells.col1[la]]),
        ),
        min_count=k,
    )
    src, dst, val = _pairs(prod)
    return Relation(
        name,
        src,
        dst,
        squash(val.real, params.coaction_scale),
        {"targets": np.rint(val.imag).astype(np.int32), "score": val.real.astype(np.float32)},
    )


def interaction_relation(log: EventLog, incidence: dict[str, Incidence], params: GraphParams) -> Relation:
    """Direct follows/messages between acting accounts; reciprocated links weigh more.

    Per direction ``s = 1 - exp(-events / interaction_scale)``; the weight is ``(s_ab + s_ba) / 2``, so
    one follow gives 0.32, a follow back 0.63. Evidence: ``events`` (both directions), ``reciprocal``
    (1 when both directions exist).
    """
    name = "interaction"
    evidence = ("events", "reciprocal")
    if "account" not in incidence:
        return Relation.empty(name, evidence)
    inc = incidence["account"]
    if params.interaction_actions is not None:
        codes = [log.action_code(a) for a in params.interaction_actions]
        inc = build_incidence(log, np.isin(log.action, [c for c in codes if c >= 0]))["account"]
    a = inc.account.astype(np.int64)
    b = log.entity_account[inc.entities[inc.col]].astype(np.int64)
    m = (b >= 0) & (a != b)
    if not m.any():
        return Relation.empty(name, evidence)
    a, b = a[m], b[m]
    # Each directed pair appears once; sorting (lo, hi, direction) puts a pair's two directions together.
    lo, hi, backward, events = sort_rows(np.minimum(a, b), np.maximum(a, b), a > b, inc.count[m])
    gid, _ = run_ids(lo, hi)
    starts = run_starts(lo, hi)
    events = events.astype(np.float64)
    s = -np.expm1(-events / params.interaction_scale)
    backward = backward.astype(bool)
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


def identifier_types(log: EventLog, params: GraphParams) -> list[str]:
    """Entity types that give identifier relations: ``device``, ``ip``, then the others by name."""
    others = sorted(t for t in log.entity_types if t not in params.target_types and t not in ("device", "ip"))
    return ["device", "ip", *others]


def relation_name(entity_type: str) -> str:
    """The relation name of an identifier type (``shared_<type>`` if it clashes with a time relation)."""
    return f"shared_{entity_type}" if entity_type in TIME_RELATIONS else entity_type


def build_relations(
    log: EventLog,
    incidence: dict[str, Incidence],
    params: GraphParams,
    cells: CoactionCells | None = None,
    timings: dict[str, float] | None = None,
) -> dict[str, Relation]:
    """All relations in a fixed order: identifiers (device, ip, others), ip_time, coaction, interaction.

    ``device``, ``ip``, ``ip_time``, ``coaction`` and ``interaction`` are always present (possibly
    empty) so downstream models see a stable set of edge types.
    """

    def tick(stage: str, t0: float) -> float:
        now = time.perf_counter()
        if timings is not None:
            timings[stage] = timings.get(stage, 0.0) + now - t0
        return now

    t0 = time.perf_counter()
    out: dict[str, Relation] = {}
    for etype in identifier_types(log, params):
        rname = relation_name(etype)
        if etype in incidence:
            out[rname] = identifier_relation(
                incidence[etype], rname, params.cap(etype), params.identifier_scale
            )
        else:
            out[rname] = Relation.empty(rname, ("shared", "score"))
    t0 = tick("identifier relations", t0)
    out["ip_time"] = ip_time_relation(log, incidence.get("ip"), params)
    t0 = tick("ip_time", t0)
    if cells is None:
        cells = coaction_cells(log, incidence, params)
    out["coaction"] = coaction_relation(cells, log.n_accounts, params)
    t0 = tick("coaction", t0)
    out["interaction"] = interaction_relation(log, incidence, params)
    tick("interaction", t0)
    return out
