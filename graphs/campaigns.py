"""Campaign groups: two (target, window) cells that share more accounts than chance predicts.

The pairwise ``coaction`` test (:mod:`graphs.synchrony`) asks of every pair of accounts whether they
co-act more often than chance; over every pair of a log's accounts the bar is high (about 10 on the
``-log10 p`` scale at 30,000 accounts). An opinion-spam ring whose fresh members each post one
review per campaign, or a stealth ring whose members join a third of its campaigns, gives each of
its pairs only two co-actions: below that bar. At the group level the same log is plain: the cell
of the customer's product in the campaign's week and the cell of its second product in another
week share twelve accounts where chance puts 0.01 in both.

This module tests every pair of cells ``A``, ``B`` (``(target, bucket)`` at one window and grid,
targets different) against a *time-local* configuration null: an account acting in ``d_a(t)`` cells
of bucket ``t`` lands in a cell of size ``s`` with probability ``d_a(t) s / E(t)`` (``E(t)``: the
bucket's rows), so the expected number of accounts in both is

    mu_AB = s_A s_B S(t_A, t_B) / (E(t_A) E(t_B)),   S = D^T D  (``D[a, t] = d_a(t)``),

with ``d (d - 1)`` on the diagonal. Heavy users count in proportion to their activity *at that time*
(a regular reviewer's busy week puts it in many cells of that week, not of others), so busy weeks,
popular products and heavy users fall away. A cell pair's surprise is ``-log10 P(Poisson(mu_AB) >=
n_AB)``; cell pairs are kept at a false-discovery rate (Benjamini-Hochberg over every pair of cells
of every (window, grid) variant), and every two accounts in a kept pair's intersection are linked
with its surprise. The pairs are merged into ``coaction`` (:func:`merge_campaigns`).

Only *quiet* accounts take part (in at most ``quiet`` cells of a variant, 10 by default): active
accounts are judged pair by pair, and letting them in links a pod member's fans to the pod. A cell
pair needs ``min_shared`` (3) shared accounts: a group. The co-membership of one act (an account's
rows at one instant: a post naming a URL and its domain) does not count. Cells of more than
``cell_cap`` accounts (250 by default, half the pairwise test's) are left out: a crowd that large on
one target in one window is a viral moment, whose likers are in the window's other big cells by
necessity (an account's cells in one bucket are distinct targets, which the linear null does not
see), and a group inside it is judged pair by pair.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .projection import Relation, half_cells, pairs, project
from .synchrony import SyncStats, effective_windows, fdr_threshold, log10_poisson_sf


@dataclass(frozen=True)
class CampaignStats:
    """What the campaign-group test did on one log.

    Attributes:
        windows: the time scales used (seconds; those below the log's resolution collapse).
        threshold: the surprise a cell pair needed (``inf`` when none passed).
        tested: cell pairs tested (every pair of cells holding two or more eligible accounts).
        kept_cells: cell pairs kept.
        linked: account pairs linked by a kept cell pair.
        added: of those, pairs the pairwise test had not kept.
    """

    windows: tuple[int, ...]
    threshold: float
    tested: float
    kept_cells: int
    linked: int
    added: int = 0

    def to_dict(self) -> dict:
        return {
            "windows": list(self.windows),
            "threshold": None if not np.isfinite(self.threshold) else round(self.threshold, 3),
            "tested_cell_pairs": float(self.tested),
            "kept_cell_pairs": int(self.kept_cells),
            "linked_pairs": int(self.linked),
            "added_pairs": int(self.added),
        }


@dataclass(frozen=True)
class CampaignPairs:
    """Account pairs linked by a kept cell pair: ``key = src * n + dst`` (sorted, unique), the best
    cell pair's surprise, its expected shared accounts and its window, and the cells the two share
    among the kept pairs (``count``)."""

    key: np.ndarray
    surprise: np.ndarray
    expected: np.ndarray
    window: np.ndarray
    count: np.ndarray
    stats: CampaignStats

    @classmethod
    def none(cls, stats: CampaignStats) -> CampaignPairs:
        """No pair linked."""
        i64, f64 = np.zeros(0, dtype=np.int64), np.zeros(0)
        return cls(i64, f64, f64.copy(), i64.copy(), i64.copy(), stats)


def _variant(
    account, target, time, bucket, n: int, cap: int, quiet: int, min_shared: int, act=None, source=None
):
    """One (window, grid) variant: the cell pairs sharing ``min_shared`` or more eligible accounts
    (in 2 to ``quiet`` cells of at most ``cap`` accounts).

    ``act`` (or None when no account has two rows at one instant) numbers each row's act, its
    (account, time): an account in both cells through one act (a post naming a URL and its domain)
    is not counted in their overlap. ``source`` (or None) gives each row's target's source
    (:mod:`graphs.sources`, -1 for none): two cells of one source are never paired.

    Returns ``(cell, account, time of each kept row, A, B, count, mu, cells >= 2)``."""
    cell, _ = pd.factorize(target * (np.int64(bucket.max()) + 1) + bucket)
    size = np.bincount(cell)
    ok = size[cell] <= cap
    d = np.bincount(account[ok], minlength=n)
    ok &= (d[account] >= 2) & (d[account] <= quiet)
    a, c, b, t = account[ok], cell[ok], bucket[ok], time[ok]
    s = np.bincount(c, minlength=size.size).astype(np.float64)
    ok2 = s[c] >= 2
    a, c, b, t = a[ok2], c[ok2], b[ok2], t[ok2]
    n_cells = int((s >= 2).sum())
    if n_cells < 2:
        return None
    prod = project(c, a, np.ones(a.size), size.size, n, min_count=min_shared)
    if act is not None:
        same = project(c, act[ok][ok2], np.ones(a.size), size.size, int(act.max()) + 1)
        prod = prod - same.multiply(prod.astype(bool))
        prod.data[prod.data < min_shared] = 0
        prod.eliminate_zeros()
    A, B, cnt = pairs(prod)
    if source is not None and A.size:
        src = np.full(size.size, -1, dtype=np.int64)
        src[cell] = source
        other = (src[A] < 0) | (src[A] != src[B])
        A, B, cnt = A[other], B[other], cnt[other]
    if not A.size:
        return c, a, t, A, B, cnt, cnt.astype(np.float64), n_cells
    # The time-local null: S(t, u) = sum_a d_a(t) d_a(u), d (d - 1) on the diagonal.
    # Buckets are small non-negative integers: numbered by a bincount (np.unique is slow on millions).
    present = np.bincount(b) > 0
    tb = (np.cumsum(present) - 1)[b]
    nb = int(present.sum())
    tb_cell = np.zeros(size.size, dtype=np.int64)
    tb_cell[c] = tb
    D = sp.csr_matrix((np.ones(a.size), (a, tb)), shape=(n, nb))
    E = np.asarray(D.sum(axis=0)).ravel()
    S = (D.T @ D).tocsr()
    S.setdiag(S.diagonal() - E)
    tA, tB = tb_cell[A], tb_cell[B]
    lo, hi = np.minimum(tA, tB), np.maximum(tA, tB)
    Sc = sp.triu(S).tocoo()
    skey = Sc.row.astype(np.int64) * nb + Sc.col
    order = np.argsort(skey)
    skey, sdata = skey[order], Sc.data[order]
    # S(lo, hi) of every cell pair (always stored: the pair shares an account).
    sval = sdata[np.searchsorted(skey, lo * nb + hi)]
    mu = s[A] * s[B] * sval / (E[tA] * E[tB])
    return c, a, t, A, B, cnt, mu, n_cells


def campaign_pairs(
    account: np.ndarray,
    target: np.ndarray,
    time: np.ndarray,
    n: int,
    windows: tuple[int, ...],
    cell_cap: int,
    fdr: float,
    resolution: int = 1,
    quiet: int = 10,
    min_shared: int = 3,
    source: np.ndarray | None = None,
) -> CampaignPairs:
    """The campaign-group test (module docstring) on first actions ``(account, target, time)``, one
    row per (account, target).

    Args:
        windows: time scales (seconds), each counted on two grids (the second shifted by half).
        cell_cap: cells with more accounts are left out.
        fdr: false-discovery rate over every cell pair of every variant.
        resolution: the log's time resolution (shorter windows collapse into it).
        quiet: only accounts in at most this many cells of a variant take part: the group test is
            for accounts too quiet for the pairwise test; active ones are judged pair by pair (a
            fan of a pod member liking all her posts would otherwise ride on the pod's evidence).
        min_shared: a cell pair needs this many shared accounts: a group (two accounts sharing
            two cells is the pairwise test's question).
        source: optional int [rows], the source of each row's target (:mod:`graphs.sources`; -1
            for none): cells of one source are not paired (a creator's fans in two of her posts).
    """
    windows = effective_windows(windows, resolution)
    account = np.asarray(account, dtype=np.int64)
    target = np.asarray(target, dtype=np.int64)
    time = np.asarray(time, dtype=np.int64)
    if account.size == 0:
        return CampaignPairs.none(CampaignStats(windows, float("inf"), 0.0, 0, 0))
    found = []  # (variant rows cell/account/time, A, B, count, mu, surprise, window)
    tested = 0.0
    act, _ = pd.factorize(account * (np.int64(time.max() - time.min()) + 1) + (time - time.min()))
    if np.bincount(act).max() < 2:
        act = None
    for w in windows:
        h, _ = half_cells(time, w)
        for bucket in (h // 2, (h + 1) // 2):
            v = _variant(account, target, time, bucket, n, cell_cap, quiet, min_shared, act, source)
            if v is None:
                continue
            c, a, t, A, B, cnt, mu, n_cells = v
            tested += n_cells * (n_cells - 1) / 2
            if A.size:
                found.append((c, a, t, A, B, cnt, mu, -log10_poisson_sf(cnt, mu), w))
    if not found:
        return CampaignPairs.none(CampaignStats(windows, float("inf"), tested, 0, 0))
    threshold = fdr_threshold(np.concatenate([f[7] for f in found]), max(tested, 1.0), fdr)
    groups = []
    kept_cells = 0
    next_id = 0
    for v, (c, a, t, A, B, _count, mu, sur, w) in enumerate(found):
        k = sur >= threshold
        if not k.any():
            continue
        kept_cells += int(k.sum())
        A, B, mu, sur = A[k], B[k], mu[k], sur[k]
        pid = np.arange(next_id, next_id + A.size)
        next_id += A.size
        rows = pd.DataFrame({"cell": c, "account": a, "time": t})
        left = rows.merge(pd.DataFrame({"cell": A, "pid": pid}), on="cell")
        right = rows.merge(pd.DataFrame({"cell": B, "pid": pid}), on="cell")
        both = left.merge(right, on=["pid", "account"], suffixes=("_a", "_b"))
        both = both[both["time_a"] != both["time_b"]][["pid", "account"]]
        info = pd.DataFrame(
            {
                "pid": pid,
                "cA": A.astype(np.int64) + v * (1 << 40),
                "cB": B.astype(np.int64) + v * (1 << 40),
                "mu": mu,
                "s": sur,
                "w": w,
            }
        )
        groups.append(both.merge(info, on="pid"))
    if not groups:
        return CampaignPairs.none(CampaignStats(windows, threshold, tested, 0, 0))
    g = pd.concat(groups, ignore_index=True)
    pp = g.merge(g[["pid", "account"]], on="pid", suffixes=("", "_2"))
    pp = pp[pp["account"] < pp["account_2"]]
    key = pp["account"].to_numpy(np.int64) * n + pp["account_2"].to_numpy(np.int64)
    cells = pd.DataFrame(
        {
            "key": np.concatenate([key, key]),
            "cell": np.concatenate([pp["cA"].to_numpy(), pp["cB"].to_numpy()]),
        }
    )
    count = cells.drop_duplicates().groupby("key").size()
    best = (
        pd.DataFrame(
            {"key": key, "s": pp["s"].to_numpy(), "mu": pp["mu"].to_numpy(), "w": pp["w"].to_numpy()}
        )
        .sort_values(["key", "s", "w"], ascending=[True, False, True], kind="stable")
        .drop_duplicates("key")
    )
    ukey = best["key"].to_numpy(np.int64)
    stats = CampaignStats(windows, threshold, tested, kept_cells, int(ukey.size))
    return CampaignPairs(
        ukey,
        best["s"].to_numpy(np.float64),
        best["mu"].to_numpy(np.float64),
        best["w"].to_numpy(np.int64),
        count.reindex(ukey).to_numpy(np.int64),
        stats,
    )


def merge_campaigns(
    rel: Relation, stats: SyncStats, found: CampaignPairs, n: int
) -> tuple[Relation, SyncStats, CampaignStats]:
    """``coaction`` with the campaign pairs added, its stats (the threshold the group test's when
    the pairwise test kept nothing: the account features read surprise over it), and the group
    test's stats with the pairs it added.

    A pair both tests keep keeps its pairwise evidence and the larger of the two weights; a pair only
    its group links gets weight ``1 - exp(-s / threshold)`` of its cell pair, ``count`` the cells it
    shares among the kept cell pairs, ``window`` and ``best_window`` the cells' window, ``expected``
    the accounts chance puts in both cells, and ``surprise`` the cell pair's surprise on the pairwise
    test's scale (``s`` times the pairwise threshold over the group threshold: the account features
    read surprise over threshold).
    """
    if not found.key.size:
        return rel, stats, found.stats
    if not np.isfinite(stats.threshold):
        stats = dataclasses.replace(stats, threshold=found.stats.threshold)
    thr_g = max(found.stats.threshold, 1.0)
    w_g = np.clip(-np.expm1(-found.surprise / thr_g), 1e-6, 1.0)
    old = rel.src.astype(np.int64) * n + rel.dst.astype(np.int64)
    pos = np.searchsorted(old, found.key)
    hit = np.zeros(found.key.size, dtype=bool)
    if old.size:
        hit = old[np.minimum(pos, old.size - 1)] == found.key
    weight = rel.weight.copy()
    weight[pos[hit]] = np.maximum(weight[pos[hit]], w_g[hit].astype(np.float32))
    new = ~hit
    key = np.concatenate([old, found.key[new]])
    order = np.argsort(key, kind="stable")
    add = {
        "count": found.count[new],
        "window": found.window[new],
        "best_window": found.window[new],
        "expected": found.expected[new],
        "surprise": found.surprise[new] * max(stats.threshold, 1.0) / thr_g,
    }
    evidence = {k: np.concatenate([v, add[k].astype(v.dtype)])[order] for k, v in rel.evidence.items()}
    merged = Relation(
        rel.name,
        (key[order] // n).astype(np.int32),
        (key[order] % n).astype(np.int32),
        np.concatenate([weight, w_g[new].astype(np.float32)])[order],
        evidence,
    )
    return merged, stats, dataclasses.replace(found.stats, added=int(new.sum()))
