"""Synchrony against chance: planted rings at several time scales inside a background of ordinary activity."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from graphs.synchrony import (
    SyncParams,
    effective_windows,
    fdr_threshold,
    log10_poisson_sf,
    synchrony_relation,
    time_resolution,
)

T0 = 1_700_000_000
DAY = 86400


def background(n_accounts: int, n_targets: int, events: int, rng: np.random.Generator):
    """Ordinary likes: Zipf-popular targets, heavy-tailed account activity, random times over 30 days."""
    pop = 1.0 / np.arange(1, n_targets + 1) ** 1.05
    act = rng.lognormal(0, 1.0, n_accounts)
    acc = rng.choice(n_accounts, events, p=act / act.sum())
    tgt = rng.choice(n_targets, events, p=pop / pop.sum())
    t = T0 + rng.integers(0, 30 * DAY, events)
    return acc, tgt, t


def first_rows(acc, tgt, t):
    """One row per (account, target): the first action (what coaction counts)."""
    order = np.lexsort((t, tgt, acc))
    acc, tgt, t = acc[order], tgt[order], t[order]
    first = np.concatenate([[True], (acc[1:] != acc[:-1]) | (tgt[1:] != tgt[:-1])])
    return acc[first], tgt[first], t[first]


def planted(spread: int, seed: int = 0, ring: int = 8, campaigns: int = 8, participation: float = 0.9):
    """A ring acting on fresh targets (one per campaign) within ``spread`` seconds, in a busy background."""
    rng = np.random.default_rng(seed)
    n_bg, n_tg = 1500, 3000
    acc, tgt, t = background(n_bg, n_tg, 20_000, rng)
    members = np.arange(n_bg, n_bg + ring)
    rows = [(acc, tgt, t)]
    for c in range(campaigns):
        start = T0 + int(rng.integers(0, 29 * DAY))
        who = members[rng.random(ring) < participation]
        rows.append((who, np.full(who.size, n_tg + c), start + rng.integers(0, spread, who.size)))
        # members also like the background's popular items now and then (camouflage)
        rows.append((members, rng.integers(0, 50, ring), start + rng.integers(0, DAY, ring)))
    a, g, tt = (np.concatenate(x) for x in zip(*rows, strict=True))
    return (*first_rows(a, g, tt), n_bg + ring, members)


@pytest.mark.parametrize("spread", [30, 1200, 3 * 3600])
def test_planted_ring_found_at_its_time_scale(spread: int) -> None:
    acc, tgt, t, n, members = planted(spread)
    rel, stats_ = synchrony_relation("coaction", acc, tgt, t, n, SyncParams())
    ring = np.isin(rel.src, members) & np.isin(rel.dst, members)
    possible = len(members) * (len(members) - 1) // 2
    assert ring.sum() >= 0.8 * possible, (ring.sum(), possible)
    # Chance pairs: the FDR bounds their share of what is kept.
    assert (~ring).sum() <= max(2, 0.05 * rel.n_edges)
    # The tightest window a ring pair needs reflects how spread out the campaigns are.
    w = np.median(rel.evidence["window"][ring])
    assert w >= min(spread, 600) / 2 and w <= max(4 * spread, 600)
    assert np.isfinite(stats_.threshold) and stats_.kept == rel.n_edges
    assert np.all((rel.weight > 0) & (rel.weight <= 1))


def test_viral_burst_links_nobody() -> None:
    rng = np.random.default_rng(1)
    acc, tgt, t = background(1500, 3000, 20_000, rng)
    # 400 accounts like one video within 10 minutes, on three days (three videos).
    burst = [
        (
            rng.choice(1500, 400, replace=False),
            np.full(400, 5000 + k),
            T0 + k * DAY + rng.integers(0, 600, 400),
        )
        for k in range(3)
    ]
    a, g, tt = (np.concatenate(x) for x in zip((acc, tgt, t), *burst, strict=True))
    a, g, tt = first_rows(a, g, tt)
    rel, _ = synchrony_relation("coaction", a, g, tt, 1500, SyncParams())
    assert rel.n_edges <= 5


def test_heavy_users_of_popular_targets_are_not_linked() -> None:
    """40 heavy users each like 200 of the 300 most popular items at random times: no coordination."""
    rng = np.random.default_rng(2)
    acc, tgt, t = background(1500, 3000, 20_000, rng)
    heavy = [
        (np.full(200, u), rng.choice(300, 200, replace=False), T0 + rng.integers(0, 30 * DAY, 200))
        for u in range(40)
    ]
    a, g, tt = (np.concatenate(x) for x in zip((acc, tgt, t), *heavy, strict=True))
    rel, _ = synchrony_relation("coaction", *first_rows(a, g, tt), 1500, SyncParams())
    heavy_pairs = (rel.src < 40) & (rel.dst < 40)
    assert heavy_pairs.sum() <= 0.02 * 40 * 39 / 2


def test_day_granularity_collapses_windows() -> None:
    acc, tgt, t, n, members = planted(6 * 3600, seed=3)
    t = t - t % DAY
    assert time_resolution(t) == DAY
    assert effective_windows((60, 600, 3600, 14400, 86400), DAY) == (DAY,)
    assert effective_windows((600, 3600), 60) == (600, 3600)
    rel, st = synchrony_relation("coaction", acc, tgt, t, n, SyncParams(), resolution=DAY)
    assert st.windows == (DAY,)
    ring = np.isin(rel.src, members) & np.isin(rel.dst, members)
    assert ring.sum() >= 0.6 * len(members) * (len(members) - 1) / 2
    assert set(np.unique(rel.evidence["window"])) <= {DAY}


def test_poisson_tail_matches_scipy_and_never_underflows() -> None:
    n = np.array([1, 2, 5, 10, 3, 40, 200])
    mu = np.array([0.5, 3.0, 0.01, 12.0, 3.0, 1e-3, 1e-6])
    ours = log10_poisson_sf(n, mu)
    ref = np.log10(stats.poisson.sf(n - 1, mu))
    finite = np.isfinite(ref)
    assert np.allclose(ours[finite], ref[finite], atol=1e-6)
    assert np.isfinite(ours).all() and ours[-1] < -1000  # far beyond float64's smallest number
    assert log10_poisson_sf(np.array([0]), np.array([2.0]))[0] == 0.0


def test_fdr_threshold() -> None:
    s = np.array([20.0, 15.0, 9.0, 3.0])
    # 1e6 tests at FDR 0.01: the i-th needs -log10 p >= log10(1e6 / (0.01 i)).
    # ranks 1-3 pass (need 8, 7.7, 7.5): the cut is the level the third needed
    assert fdr_threshold(s, 1e6, 0.01) == pytest.approx(np.log10(1e6 / (0.01 * 3)))
    assert fdr_threshold(np.array([3.0]), 1e6, 0.01) == float("inf")
