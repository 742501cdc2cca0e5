"""Synchrony judged against chance, at several time scales.

Two accounts *co-occur* when they act on (or use) the same entity within a time window. Whether that
is evidence depends on the log: heavy users, popular targets at peak hours and viral bursts make
co-occurrences common by chance. For every time scale ``W`` this module counts each pair's
co-occurrences ``n_ab`` and compares them with what chance predicts from the same log:

    expected  mu_ab = x_a * x_b / X

where ``x_a`` is how many co-occurrences account ``a`` has with anyone at that scale (its activity
times the crowding of the cells it acted in) and ``X = sum_a x_a``: the configuration-model (Chung-Lu)
null of the co-occurrence graph, the same null modularity uses. A pair's *surprise* is
``-log10 P(Poisson(mu_ab) >= n_ab)``; the pair keeps the best scale, paying ``log10(#scales)`` for the
choice. Pairs are kept at a false-discovery rate (Benjamini-Hochberg over every pair of active
accounts), so the threshold follows the log: a pair of quiet accounts that co-act twice within a
minute can pass, two heavy users who co-like twenty popular posts within a day do not, and a viral
burst (one target) never links anyone.

Cells (entity, window) with more than ``cell_cap`` accounts and entities with more than
``entity_cap`` accounts in all are left out of the counting (they would make the sparse products
quadratic, and their co-occurrences carry almost no evidence).

Windows use two bucket grids, the second shifted by half a window (see
:func:`graphs.projection.half_cells`), so any two actions less than half a window apart are counted.
Scales below the log's time resolution (day-granularity review logs) collapse into that resolution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import gammainc, gammaln

from .incidence import run_ids, run_starts, sort_rows
from .projection import Relation, half_cells, pairs, project

LOG10 = math.log(10.0)
#: A pair's tightest window is the shortest one holding this share of its largest co-occurrence count.
TIGHT = 0.8


@dataclass(frozen=True)
class SyncParams:
    """Knobs of one synchrony relation.

    Attributes:
        windows: time scales in seconds.
        cell_cap: (entity, window) cells with more accounts than this are left out.
        entity_cap: entities with more distinct accounts than this are left out.
        min_count: a pair needs at least this many co-occurrences at one scale.
        fdr: false-discovery rate at which pairs are kept.
        exact: count each (account, entity) once per window straddle (one row per account and
            entity, as for first actions on targets); ``False`` for repeated rows (identifier use),
            counted per grid and taking the larger grid.
    """

    windows: tuple[int, ...] = (60, 600, 3600, 14400, 86400)
    cell_cap: int = 500
    entity_cap: int = 2000
    min_count: int = 2
    fdr: float = 0.01
    exact: bool = True


@dataclass(frozen=True)
class SyncStats:
    """What one synchrony relation found, for the run report and the features.

    Attributes:
        windows: the scales actually used (after the time resolution).
        threshold: the surprise (-log10 p, scale-corrected) a pair needed.
        tested_pairs: pairs of active accounts (the number of tests of the FDR procedure).
        kept: pairs kept.
        rows: rows counted (after the caps).
        active: int64 [n_accounts] rows of each account that were counted.
        cooccurring: int64 [n_accounts] rows of each account that shared a cell with another account,
            at the scale where it shared the most.
        coactors: float64 [n_accounts] co-actors of each account summed over its rows, at the longest
            window (how crowded the cells it acts in are: bursts on its targets).
    """

    windows: tuple[int, ...]
    threshold: float
    tested_pairs: float
    kept: int
    rows: int
    active: np.ndarray
    cooccurring: np.ndarray
    coactors: np.ndarray | None = None


def time_resolution(t: np.ndarray) -> int:
    """The coarsest of 1 s, 1 min, 1 h, 1 day that divides at least 99% of the timestamps."""
    if t.size == 0:
        return 1
    sample = t[:: max(1, t.size // 200_000)]
    for step in (86400, 3600, 60):
        if np.mean(sample % step == 0) >= 0.99:
            return step
    return 1


def effective_windows(windows: tuple[int, ...], resolution: int) -> tuple[int, ...]:
    """The windows at or above the log's resolution (windows below it become the resolution), sorted.

    (Adding multi-day windows for day-resolution logs was tried: on day-granularity social worlds
    it linked friends and fans over a week and cut ring precision from 0.97 to 0.63.)
    """
    return tuple(sorted({max(int(w), resolution) for w in windows}))


def log10_poisson_sf(n: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """``log10 P(X >= n)`` for ``X ~ Poisson(mu)``, accurate far into the tail (no underflow).

    For ``mu < n`` it uses ``P = e^-mu mu^n / n! * sum_j mu^j n! / (n+j)!`` (a fast-converging series);
    otherwise the regularised gamma function.
    """
    n = np.asarray(n, dtype=np.float64)
    mu = np.maximum(np.asarray(mu, dtype=np.float64), 1e-300)
    out = np.zeros(np.broadcast(n, mu).shape)
    n, mu = np.broadcast_to(n, out.shape), np.broadcast_to(mu, out.shape)
    tail = mu < n
    nt, mt = n[tail], mu[tail]
    series = np.ones_like(nt)
    term = np.ones_like(nt)
    for j in range(1, 40):
        term = term * mt / (nt + j)
        series += term
        if np.all(term < 1e-12 * series):
            break
    out[tail] = (nt * np.log(mt) - mt - gammaln(nt + 1) + np.log(series)) / LOG10
    body = ~tail
    # P(X >= n) = P(n, mu), the regularised lower incomplete gamma function (1 for n <= 0).
    nb = np.maximum(n[body], 1e-12)
    out[body] = np.where(n[body] > 0, np.log10(np.maximum(gammainc(nb, mu[body]), 1e-300)), 0.0)
    return out


def _coactors(cell0, cell1, left, ok0, ok1, w) -> np.ndarray:
    """Weighted co-actors of each row: its weight times the others' weight in its grid-0 cell plus
    the other half of its grid-1 cell."""
    n0 = int(cell0.max()) + 1 if cell0.size else 1
    n1 = int(cell1.max()) + 1 if cell1.size else 1
    deg0 = np.bincount(cell0[ok0], w[ok0], minlength=n0)
    la, ra = ok1 & left, ok1 & ~left
    left_n = np.bincount(cell1[la], w[la], minlength=n1)
    right_n = np.bincount(cell1[ra], w[ra], minlength=n1)
    others = (
        np.where(ok0, deg0[cell0] - w, 0) + np.where(la, right_n[cell1], 0) + np.where(ra, left_n[cell1], 0)
    )
    return w * np.maximum(others, 0.0)


def _exact_pairs(account, cell0, cell1, left, ok0, ok1, n: int, k: int, w):
    """Pair co-occurrences with the exact two-grid rule: ``B0 B0^T + L R^T + R L^T``.

    Two rows co-occur when they share a grid-0 bucket, or, split by a grid-0 boundary, share a bucket
    of the half-shifted grid 1 (``L``/``R`` its left and right halves): so any two rows less than half
    a window apart count, and none counts twice. Rows carry weights ``w`` on both sides.
    """
    la, ra = ok1 & left, ok1 & ~left
    n0 = int(cell0.max()) + 1 if cell0.size else 1
    n1 = int(cell1.max()) + 1 if cell1.size else 1
    vals = np.asarray(w, dtype=np.float64)
    return project(
        np.concatenate([account[ok0], account[la], account[ra]]),
        np.concatenate([cell0[ok0], n0 + cell1[la], n0 + n1 + cell1[ra]]),
        np.concatenate([vals[ok0], vals[la], vals[ra]]),
        n,
        n0 + 2 * n1,
        right=(
            np.concatenate([account[ok0], account[ra], account[la]]),
            np.concatenate([cell0[ok0], n0 + cell1[ra], n0 + n1 + cell1[la]]),
        ),
        right_vals=np.concatenate([w[ok0], w[ra], w[la]]) if not np.all(w == 1) else None,
        min_count=k,
    )


def _scale(
    account: np.ndarray,
    entity: np.ndarray,
    time: np.ndarray,
    n: int,
    window: int,
    p: SyncParams,
    weight: np.ndarray | None = None,
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Per grid variant: (pair key, count, expected, co-occurring rows per account) at one scale.

    In exact mode the rows arrive sorted by (entity, time) (:func:`synchrony_relation` sorts them
    once), hence by (entity, cell) at every scale.
    """
    h, _ = half_cells(time, window)
    variants = []  # (pair matrix, co-actors per account x_a, co-occurring rows per account)
    if p.exact:
        e, hh, a = entity, h, account
        w = np.ones(e.size) if weight is None else np.asarray(weight, dtype=np.float64)
        cell0, size0 = run_ids(e, hh // 2)
        cell1, size1 = run_ids(e, (hh + 1) // 2)
        ok0 = (size0[cell0] >= 2) & (size0[cell0] <= p.cell_cap)
        ok1 = (size1[cell1] >= 2) & (size1[cell1] <= p.cell_cap)
        first0 = cell0[run_starts(cell1)]  # left half of a grid-1 cell = its first grid-0 bucket
        left = cell0 == first0[cell1]
        co = _coactors(cell0, cell1, left, ok0, ok1, w)
        # Exact pruning: an account with fewer than min_count co-occurring rows has no pair.
        keep = (np.bincount(a, co > 0, n) >= p.min_count)[a]
        prod = _exact_pairs(a, cell0, cell1, left, ok0 & keep, ok1 & keep, n, p.min_count, w)
        # x_a counts co-actors over every row (pruned accounts too), so the null sees everyone.
        variants.append((prod, np.bincount(a, co, n), np.bincount(a, co > 0, n)))
    else:
        for g in (h // 2, (h + 1) // 2):
            e, b, a = sort_rows(entity, g, account)
            first = run_starts(e, b, a)
            e, b, a = e[first], b[first], a[first]
            cell, size = run_ids(e, b)
            ok = (size[cell] >= 2) & (size[cell] <= p.cell_cap)
            keep = (np.bincount(a, ok, n) >= p.min_count)[a] & ok
            ones = np.ones(int(keep.sum()), dtype=np.float64)
            prod = project(a[keep], cell[keep], ones, n, int(cell.max()) + 1, min_count=p.min_count)
            co = np.where(ok, size[cell] - 1, 0)
            variants.append((prod, np.bincount(a, co, n), np.bincount(a, ok, n)))
    out = []
    for prod, x, shared_rows in variants:
        src, dst, val = pairs(prod)
        x = x.astype(np.float64)
        mu = x[src] * x[dst] / max(float(x.sum()), 1.0)
        count = val if weight is not None else np.rint(val)
        out.append((src.astype(np.int64) * n + dst, count, mu, shared_rows, x))
    return out


def synchrony_relation(
    name: str,
    account: np.ndarray,
    entity: np.ndarray,
    time: np.ndarray,
    n_accounts: int,
    params: SyncParams,
    resolution: int = 1,
    weight: np.ndarray | None = None,
) -> tuple[Relation, SyncStats]:
    """Pairs that co-occur on the same entities within a window more often than chance, at any scale.

    Args:
        name: the relation name (``coaction``, ``id_time``).
        account, entity, time: one row per occurrence (int arrays of equal length). With
            ``params.exact`` there must be at most one row per (account, entity).
        n_accounts: number of accounts (codes are ``0..n_accounts-1``).
        params: windows, caps, FDR.
        resolution: the log's time resolution (:func:`time_resolution`).
        weight: optional float [rows] weight of each row on both sides of a co-occurrence (exact
            mode): ``1 / sqrt(k)`` for the ``k`` rows one act writes (a post's URL, hashtag and domain
            at one instant), so one act co-occurs at most once in all.

    Returns:
        ``(relation, stats)``. Edge weight ``1 - exp(-surprise / threshold)`` (at least 0.63 for a kept
        pair); evidence ``count`` (co-occurrences at the most surprising scale), ``best_window`` (that
        scale, seconds), ``window`` (the tightest window holding 80% of the pair's largest count: how
        close in time it acts), ``expected`` (what chance predicts at the best scale), ``surprise``
        (-log10 p after the scale correction).
    """
    evidence_keys = ("count", "window", "best_window", "expected", "surprise")
    windows = effective_windows(params.windows, resolution)
    n = n_accounts
    empty_stats = SyncStats(windows, float("inf"), 0.0, 0, 0, np.zeros(n, np.int64), np.zeros(n, np.int64))
    if account.size == 0:
        return Relation.empty(name, evidence_keys), empty_stats
    account = np.asarray(account, dtype=np.int64)
    entity = np.asarray(entity, dtype=np.int64)
    time = np.asarray(time, dtype=np.int64)
    account, entity, time, weight = _below_entity_cap(account, entity, time, weight, params.entity_cap)
    active = np.bincount(account, minlength=n)
    if params.exact:
        # One sort by (entity, time) serves every scale (a cell is a run of one entity's times);
        # weights as 1 / sqrt(k) of the act's row count k.
        order = np.lexsort((time, entity))
        account, entity, time = account[order], entity[order], time[order]
        if weight is not None:
            k = np.rint(1.0 / np.square(np.asarray(weight, dtype=np.float64)[order])).astype(np.int64)
            weight = 1.0 / np.sqrt(k)
    keys, counts, mus, wins = [], [], [], []
    cooccurring = np.zeros(n, dtype=np.int64)
    coactors = np.zeros(n)
    n_variants = 0
    for w in windows:
        for key, count, mu, shared_rows, x in _scale(account, entity, time, n, w, params, weight):
            if w == windows[-1]:
                coactors = np.maximum(coactors, x)
            n_variants += 1
            keys.append(key)
            counts.append(count)
            mus.append(mu)
            wins.append(np.full(key.size, w, dtype=np.int64))
            cooccurring = np.maximum(cooccurring, shared_rows.astype(np.int64))
    stats = SyncStats(windows, 0.0, 0.0, 0, int(account.size), active, cooccurring, coactors)
    return finish_relation(name, n, keys, counts, mus, wins, n_variants, stats, params.fdr)


def finish_relation(
    name: str,
    n: int,
    keys: list[np.ndarray],
    counts: list[np.ndarray],
    mus: list[np.ndarray],
    wins: list[np.ndarray],
    n_variants: int,
    stats: SyncStats,
    fdr: float,
) -> tuple[Relation, SyncStats]:
    """From every scale's candidate pairs to the kept relation: best scale, Benjamini-Hochberg, weights.

    ``keys[i]`` (``src * n + dst``), ``counts[i]``, ``mus[i]``, ``wins[i]`` are the candidate pairs of
    the ``i``-th (window, grid) variant, in the order the variants were counted (it breaks ties);
    ``stats`` carries the per-account counts (``threshold``, ``tested_pairs`` and ``kept`` are filled
    in here). Shared by both engines (:mod:`graphs.spark` counts the pairs with Spark).
    """
    key, count, mu, win, surprise, tight = _best_scale(keys, counts, mus, wins, n_variants)
    # Benjamini-Hochberg over every pair of active accounts.
    n_active = float((stats.active > 0).sum())
    tested = max(n_active * (n_active - 1) / 2, 1.0)
    threshold = fdr_threshold(surprise, tested, fdr)
    kept = surprise >= threshold
    key, count, mu, win, surprise = key[kept], count[kept], mu[kept], win[kept], surprise[kept]
    tight = tight[kept]
    src = (key // n).astype(np.int32)
    dst = (key % n).astype(np.int32)
    weight = np.clip(-np.expm1(-surprise / max(threshold, 1.0)), 1e-6, 1.0).astype(np.float32)
    rel = Relation(
        name,
        src,
        dst,
        weight,
        {
            # Weighted counts (acts naming several targets) are sums like 0.5 + 0.5: round, never truncate.
            "count": np.rint(count).astype(np.int32),
            "window": tight.astype(np.int32),
            "best_window": win.astype(np.int32),
            "expected": mu.astype(np.float32),
            "surprise": surprise.astype(np.float64),
        },
    )
    out = SyncStats(
        stats.windows,
        float(threshold),
        tested,
        int(kept.sum()),
        stats.rows,
        stats.active,
        stats.cooccurring,
        stats.coactors,
    )
    return rel, out


def _below_entity_cap(account, entity, time, weight, cap: int):
    """The rows whose entity has at most ``cap`` distinct accounts in all (popular items and
    celebrities are left out)."""
    ea = sort_rows(entity, account)
    first = run_starts(*ea)
    users = np.bincount(ea[0][first])
    keep = users[entity] <= cap if users.size else np.zeros(entity.size, bool)
    if weight is not None:
        weight = np.asarray(weight, dtype=np.float64)[keep]
    return account[keep], entity[keep], time[keep], weight


def _best_scale(keys, counts, mus, wins, n_variants: int):
    """Per pair: the most surprising scale (paying ``log10(#scales)`` for the choice), and the
    *tightest* window, the shortest one holding at least ``TIGHT`` of its largest count (how close in
    time it acts). Returns ``(key, count, mu, best window, surprise, tight window)``, one row per pair."""
    key = np.concatenate(keys)
    count = np.concatenate(counts)
    mu = np.concatenate(mus)
    win = np.concatenate(wins)
    surprise = -log10_poisson_sf(count, mu) - math.log10(max(n_variants, 1))
    # Rows sorted by (key, window).
    order = np.lexsort((win, key))
    key, count, mu, win, surprise = key[order], count[order], mu[order], win[order], surprise[order]
    if not key.size:
        return key, count, mu, win, surprise, win
    head = np.concatenate([[True], key[1:] != key[:-1]])
    starts = np.flatnonzero(head)
    group = np.cumsum(head) - 1
    best_s = np.maximum.reduceat(surprise, starts)
    n_max = np.maximum.reduceat(count, starts)
    is_best = surprise == best_s[group]
    # The first row of each group that reaches the best surprise / TIGHT of the largest count.
    first_best = np.full(starts.size, -1, dtype=np.int64)
    idx = np.flatnonzero(is_best)
    first_best[group[idx[::-1]]] = idx[::-1]
    near = np.flatnonzero(count >= TIGHT * n_max[group])
    first_near = np.full(starts.size, -1, dtype=np.int64)
    first_near[group[near[::-1]]] = near[::-1]
    tight = win[first_near]
    return key[first_best], count[first_best], mu[first_best], win[first_best], surprise[first_best], tight


def fdr_threshold(surprise: np.ndarray, tested: float, fdr: float) -> float:
    """The Benjamini-Hochberg cut on ``surprise = -log10 p``: the level a pair needs to be kept.

    The i-th most surprising pair passes when ``p_(i) <= fdr * i / tested``; with ``k`` the largest
    such rank, every pair at least as surprising as the ``k``-th is kept. Returns the level the
    ``k``-th needed, ``log10(tested / (fdr * k))`` (a pair at or above it is kept, and the edge weights
    are scaled by it); ``inf`` when nothing passes.
    """
    if surprise.size == 0:
        return float("inf")
    s = np.sort(surprise)[::-1]
    rank = np.arange(1, s.size + 1, dtype=np.float64)
    need = np.log10(tested / (fdr * rank))
    ok = np.flatnonzero(s >= need)
    if ok.size == 0:
        return float("inf")
    return float(need[ok[-1]])
