"""Seeded random streams and vectorised sampling helpers.

Each component draws from its own stream derived from ``(seed, component name)``, so tuning one
component does not reshuffle the others, and the output is a pure function of the config.
"""

from __future__ import annotations

import zlib

import numpy as np

from .config import DAY, HOUR

# Share of a person's activity in each local hour 0..23: low at night, peak in the evening.
_HOURLY = np.array(
    [2.0, 1.2, 0.8, 0.6, 0.6, 0.9, 1.8, 3.2, 4.2, 4.6, 4.8, 5.0,
     5.4, 5.2, 5.0, 5.0, 5.2, 5.6, 6.2, 6.8, 7.2, 7.0, 5.6, 3.6]
)  # fmt: skip
HOURLY_CDF = np.cumsum(_HOURLY) / _HOURLY.sum()


def child_rng(seed: int, name: str) -> np.random.Generator:
    """Returns the random stream of one component.

    Args:
        seed: the world seed.
        name: the component's name; a stable CRC32 of it (not ``hash``, which is salted per process)
            picks the stream.
    """
    return np.random.default_rng([seed & 0xFFFFFFFF, seed >> 32, zlib.crc32(name.encode())])


def log_uniform_int(rng: np.random.Generator, low: int, high: int, size: int) -> np.ndarray:
    """Integers in ``[low, high]`` whose logarithm is uniform (many small, a few large)."""
    x = np.exp(rng.uniform(np.log(low), np.log(high + 1), size))
    return np.clip(np.floor(x).astype(np.int64), low, high)


def uniform_int(rng: np.random.Generator, bounds: tuple[int, int], size: int) -> np.ndarray:
    """Integers uniform in the inclusive range ``bounds``."""
    return rng.integers(bounds[0], bounds[1] + 1, size)


def sample_weighted(rng: np.random.Generator, cdf: np.ndarray, size: int) -> np.ndarray:
    """Indices drawn with replacement with probability given by a normalised cumulative sum."""
    idx = np.searchsorted(cdf, rng.random(size) * cdf[-1], side="right")
    return np.minimum(idx, cdf.size - 1)


class WeightedSampler:
    """Draws indices with probability proportional to fixed weights, fast for millions of draws.

    ``np.searchsorted`` on a cumulative sum of a million weights is dominated by cache misses (one
    dependent load per bisection step). A guide table of ``k`` equal-probability buckets narrows
    each draw to a few candidates, which are then bisected with vectorised gathers.
    """

    def __init__(self, weights: np.ndarray) -> None:
        self.cdf = np.cumsum(np.asarray(weights, dtype=np.float64))
        self.total = float(self.cdf[-1])
        self.k = max(int(self.cdf.size), 1)
        marks = np.arange(self.k + 1, dtype=np.float64) * (self.total / self.k)
        self.guide = np.searchsorted(self.cdf, marks, side="right")

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` indices, with replacement."""
        u = rng.random(size) * self.total
        b = np.minimum((u * (self.k / self.total)).astype(np.int64), self.k - 1)
        lo = self.guide[b]
        hi = self.guide[b + 1]
        active = np.flatnonzero(lo < hi)
        while active.size:  # a few rounds: buckets hold few candidates
            low, high = lo[active], hi[active]
            mid = (low + high) >> 1
            right = self.cdf[mid] <= u[active]
            lo[active] = np.where(right, mid + 1, low)
            hi[active] = np.where(right, high, mid)
            active = active[lo[active] < hi[active]]
        return np.minimum(lo, self.cdf.size - 1)


def zipf_weights(n: int, exponent: float, rng: np.random.Generator) -> np.ndarray:
    """Zipf weights ``1 / rank**exponent`` assigned to ``n`` items in random order."""
    w = 1.0 / np.arange(1, n + 1, dtype=np.float64) ** exponent
    return w[rng.permutation(n)]


def exclusive_cumsum(x: np.ndarray) -> np.ndarray:
    """``[0, x0, x0+x1, ...]`` without the total: segment start offsets of segments of length ``x``."""
    out = np.zeros(x.size, dtype=np.int64)
    np.cumsum(x[:-1], out=out[1:])
    return out


def segment_local(lengths: np.ndarray) -> np.ndarray:
    """For segments of the given lengths laid end to end, each position's index inside its segment."""
    total = int(lengths.sum())
    return np.arange(total, dtype=np.int64) - np.repeat(exclusive_cumsum(lengths), lengths)


def others_in_group(
    owner_pos: np.ndarray, group_start: np.ndarray, group_size: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs every item with every other member of its owner's group.

    Members of all groups are laid end to end in one array; an item (a post, a member) belongs to the
    member at ``owner_pos``, whose group starts at ``group_start`` and has ``group_size`` members.

    Args:
        owner_pos: int [n_items], position of the item's owner in the member array.
        group_start: int [n_items], first position of the owner's group.
        group_size: int [n_items], size of the owner's group.

    Returns:
        ``(item, other_pos)``: for each item, one row per other member of the group.
    """
    reps = np.maximum(group_size - 1, 0)
    item = np.repeat(np.arange(owner_pos.size, dtype=np.int64), reps)
    k = segment_local(reps)
    local = (owner_pos - group_start)[item]
    other = group_start[item] + (local + 1 + k) % group_size[item]
    return item, other


def diurnal_times(
    rng: np.random.Generator,
    start: int,
    n_days: int,
    first_day: np.ndarray,
    tz_hours: np.ndarray,
    hour_cdf: np.ndarray = HOURLY_CDF,
) -> np.ndarray:
    """Timestamps on a random day in ``[first_day, n_days)`` at a local hour drawn from ``hour_cdf``.

    Args:
        rng: random stream.
        start: Unix seconds of day 0, 00:00 UTC.
        n_days: days in the window.
        first_day: int [n], earliest day of each timestamp.
        tz_hours: int [n], the person's UTC offset; local hour h is UTC hour ``h - tz``.
        hour_cdf: cumulative share of activity per local hour.

    Returns:
        int64 [n] Unix seconds (may spill a few hours outside the window; callers filter).
    """
    n = first_day.size
    span = np.maximum(n_days - first_day, 1)
    day = first_day + np.floor(rng.random(n) * span).astype(np.int64)
    hour = np.searchsorted(hour_cdf, rng.random(n), side="right")
    secs = np.floor(rng.random(n) * HOUR).astype(np.int64)
    return start + day * DAY + (hour - tz_hours) * HOUR + secs


def hour_cdf(hours: range, weights: np.ndarray | None = None) -> np.ndarray:
    """A cumulative hour profile that is flat over ``hours`` and zero elsewhere."""
    w = np.zeros(24)
    w[list(hours)] = 1.0 if weights is None else weights
    return np.cumsum(w) / w.sum()
