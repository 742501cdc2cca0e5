"""Groups of accounts laid end to end (households, offices, rings, ...), and how to draw them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .rand import exclusive_cumsum, log_uniform_int, others_in_group


@dataclass
class Groups:
    """Members of consecutive groups in one flat array.

    Attributes:
        members: int64 [n_members], account indices, group after group.
        sizes: int64 [n_groups], members per group.
    """

    members: np.ndarray
    sizes: np.ndarray

    @property
    def n_groups(self) -> int:
        return int(self.sizes.size)

    @property
    def starts(self) -> np.ndarray:
        """int64 [n_groups], position of each group's first member."""
        return exclusive_cumsum(self.sizes)

    @property
    def group_of(self) -> np.ndarray:
        """int64 [n_members], the group of each member position."""
        return np.repeat(np.arange(self.sizes.size, dtype=np.int64), self.sizes)

    def lookup(self, n_accounts: int) -> np.ndarray:
        """int64 [n_accounts]: each account's member position, -1 when in no group."""
        pos = np.full(n_accounts, -1, dtype=np.int64)
        pos[self.members] = np.arange(self.members.size, dtype=np.int64)
        return pos

    def ordered_pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """All ordered pairs ``(a, b)`` of distinct members of the same group, as account indices."""
        pos = np.arange(self.members.size, dtype=np.int64)
        g = self.group_of
        src, dst = others_in_group(pos, self.starts[g], self.sizes[g])
        return self.members[src], self.members[dst]

    def others_of(self, member_pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For items owned by members at ``member_pos``: ``(item, other_account)`` rows."""
        g = self.group_of[member_pos]
        item, other = others_in_group(member_pos, self.starts[g], self.sizes[g])
        return item, self.members[other]

    def random_other(self, member_pos: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A uniformly random other member (account index) of each given member's group."""
        g = self.group_of[member_pos]
        size, start = self.sizes[g], self.starts[g]
        k = np.floor(rng.random(member_pos.size) * np.maximum(size - 1, 1)).astype(np.int64)
        local = (member_pos - start + 1 + k) % size
        return self.members[start + local]


def draw_sizes(
    rng: np.random.Generator, target: int, bounds: tuple[int, int], log_uniform: bool = True
) -> np.ndarray:
    """Group sizes that add up to about ``target`` members (at least one group when ``target > 0``).

    The last group is trimmed so the total never exceeds ``target``; groups under 2 are dropped.
    """
    if target < 2:
        return np.zeros(0, dtype=np.int64)
    low, high = bounds
    mean = (high - low) / max(np.log((high + 1) / low), 1e-9) if log_uniform else (low + high) / 2
    k = int(target / max(mean, 1.0) * 1.5) + 4
    sizes = log_uniform_int(rng, low, high, k) if log_uniform else rng.integers(low, high + 1, k)
    total = np.cumsum(sizes)
    keep = int(np.searchsorted(total, target, side="left")) + 1
    sizes = sizes[:keep].copy()
    sizes[-1] -= max(int(sizes.sum()) - target, 0)
    return sizes[sizes >= 2].astype(np.int64)


def form_groups(
    rng: np.random.Generator,
    pool: np.ndarray,
    zone: np.ndarray,
    target: int,
    bounds: tuple[int, int],
    log_uniform: bool = True,
) -> tuple[Groups, np.ndarray]:
    """Forms groups from the front of ``pool`` (already in random order).

    Members are sorted by time zone before being cut into groups, so a household or office is
    (almost always) in one country; the pool's random order keeps the choice of members random.

    Returns:
        ``(groups, rest)``: the groups, and the pool minus the accounts used.
    """
    target = min(max(target, bounds[0]), pool.size)
    sizes = draw_sizes(rng, target, bounds, log_uniform)
    used = int(sizes.sum())
    chosen = pool[:used]
    chosen = chosen[np.argsort(zone[chosen], kind="stable")]
    return Groups(chosen, sizes), pool[used:]
