"""The account population: who is a bot, when accounts were created, where they live.

Bots are a random subset of the internal account indices (never a contiguous block), and the
visible attributes (country, avatar, bio length) are only weakly informative about them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import DAY, HOUR, RING_KINDS, WorldConfig
from .rand import child_rng

# (country, UTC offset in hours, share of accounts). The US appears twice for its two coasts.
_COUNTRIES = (
    ("US", -5, 0.14), ("US", -8, 0.08), ("IN", 5, 0.14), ("BR", -3, 0.09), ("ID", 7, 0.07),
    ("GB", 0, 0.06), ("DE", 1, 0.05), ("FR", 1, 0.05), ("MX", -6, 0.06), ("PH", 8, 0.06),
    ("NG", 1, 0.05), ("TR", 3, 0.05), ("JP", 9, 0.05), ("CA", -5, 0.05),
)  # fmt: skip
COUNTRY_NAMES: tuple[str, ...] = tuple(dict.fromkeys(c for c, _, _ in _COUNTRIES))
_ZONE_COUNTRY = np.array([COUNTRY_NAMES.index(c) for c, _, _ in _COUNTRIES], dtype=np.int8)
_ZONE_TZ = np.array([tz for _, tz, _ in _COUNTRIES], dtype=np.int64)
_ZONE_P = np.array([p for _, _, p in _COUNTRIES]) / sum(p for _, _, p in _COUNTRIES)


@dataclass
class Population:
    """Per-account arrays, indexed by the internal account index.

    Attributes:
        n: number of accounts.
        ring: int32 [n], ring number of bots, -1 for benign accounts.
        kind: int8 [n], index into ``RING_KINDS`` for bots, -1 for benign accounts.
        created: int64 [n], creation time (Unix seconds); filled for bots by the ring builder.
        zone: int8 [n], index into the country/time-zone table.
        tz: int64 [n], UTC offset in hours.
        activity: float64 [n], activity level (mean about 1 over active accounts, 0 = dormant).
        popularity: float64 [n], weight as a follow / reaction target (Pareto: a few celebrities).
        benign: int64 [n_benign], benign account indices in random order.
    """

    n: int
    ring: np.ndarray
    kind: np.ndarray
    created: np.ndarray
    zone: np.ndarray
    tz: np.ndarray
    activity: np.ndarray
    popularity: np.ndarray
    benign: np.ndarray

    @property
    def country(self) -> np.ndarray:
        """int8 [n], index into ``COUNTRY_NAMES``."""
        return _ZONE_COUNTRY[self.zone]

    @property
    def is_bot(self) -> np.ndarray:
        return self.ring >= 0


def make_population(cfg: WorldConfig, ring_sizes: np.ndarray, ring_kinds: np.ndarray) -> Population:
    """Draws the population; ring members get ring/kind but their ``created`` is set later.

    Args:
        cfg: world config.
        ring_sizes: int [n_rings], members per ring.
        ring_kinds: int [n_rings], index into ``RING_KINDS`` of each ring.
    """
    rng = child_rng(cfg.seed, "population")
    n = cfg.n_accounts
    b = cfg.benign
    order = rng.permutation(n)
    n_bots = int(ring_sizes.sum())
    ring = np.full(n, -1, dtype=np.int32)
    kind = np.full(n, -1, dtype=np.int8)
    bots = order[:n_bots]
    ring[bots] = np.repeat(np.arange(ring_sizes.size, dtype=np.int32), ring_sizes)
    kind[bots] = np.repeat(ring_kinds.astype(np.int8), ring_sizes)
    benign = order[n_bots:]

    zone = rng.choice(_ZONE_P.size, size=n, p=_ZONE_P).astype(np.int8)

    # Creation times: a growing platform, so younger accounts are more common; a few benign accounts
    # sign up inside the window (their signup rows are in the log, as are all fresh bots').
    created = np.zeros(n, dtype=np.int64)
    age = (cfg.history_days * DAY * rng.random(n) ** 1.3).astype(np.int64) + HOUR
    created[:] = cfg.start - age
    new = rng.random(n) < b.new_account_fraction
    window = cfg.window_days * DAY
    created[new] = cfg.start + (rng.random(int(new.sum())) * (window - 2 * DAY)).astype(np.int64)

    # Heavy-tailed activity with mean 1 over active accounts; fresh accounts only live part of the window.
    sigma = b.activity_sigma
    activity = rng.lognormal(-sigma * sigma / 2, sigma, n)
    activity[rng.random(n) < b.dormant_fraction] = 0.0
    alive = np.clip((cfg.end - np.maximum(created, cfg.start)) / window, 0.0, 1.0)
    activity *= alive

    popularity = rng.pareto(b.popularity_alpha, n) + 1.0
    popularity[bots] *= 0.3  # bots have few organic followers
    return Population(
        n=n,
        ring=ring,
        kind=kind,
        created=created,
        zone=zone,
        tz=_ZONE_TZ[zone],
        activity=activity,
        popularity=popularity,
        benign=benign,
    )


def kind_code(name: str) -> int:
    """Index of a ring kind in ``RING_KINDS``."""
    return RING_KINDS.index(name)
