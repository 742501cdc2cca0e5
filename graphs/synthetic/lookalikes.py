"""Benign look-alike groups: households, offices, campuses, kiosks, friend groups, fan clubs.

These are the structures that fool naive detectors: many accounts behind one IP (households,
offices, campuses, mobile carrier NAT), accounts sharing a device (family tablets, kiosks), and
groups that interact densely (friend groups, fan clubs). Only benign accounts are drawn.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .config import LOOKALIKE_KINDS, WorldConfig
from .groups import Groups, form_groups
from .population import Population
from .rand import child_rng


@dataclass
class Lookalikes:
    """The benign look-alike groups of one world.

    Attributes:
        households: 2-6 accounts behind one home IP.
        household_tablet: bool [n_households], the household shares a family tablet.
        offices: hundreds of accounts behind one office IP on weekdays.
        campuses: hundreds to thousands of students behind a few campus NAT IPs.
        kiosks: dozens of accounts using one public device over weeks.
        friends: organic friend groups formed during the window.
        fanclubs: members reacting to one creator's posts.
        fanclub_creator: int64 [n_fanclubs], the creator account of each fan club.
        flags: look-alike kind -> bool [n] membership (viral and celebrity_fan are added later).
    """

    households: Groups
    household_tablet: np.ndarray
    offices: Groups
    campuses: Groups
    kiosks: Groups
    friends: Groups
    fanclubs: Groups
    fanclub_creator: np.ndarray
    flags: dict[str, np.ndarray] = field(default_factory=dict)

    def label(self) -> np.ndarray:
        """int8 [n]: each account's most notable look-alike kind (index into ``LOOKALIKE_KINDS``), -1."""
        n = next(iter(self.flags.values())).size
        out = np.full(n, -1, dtype=np.int8)
        for code in range(len(LOOKALIKE_KINDS) - 1, -1, -1):  # most notable last, so it wins
            mask = self.flags.get(LOOKALIKE_KINDS[code])
            if mask is not None:
                out[mask] = code
        return out


def make_lookalikes(cfg: WorldConfig, pop: Population) -> Lookalikes:
    """Draws the look-alike groups from the benign accounts."""
    rng = child_rng(cfg.seed, "lookalikes")
    la = cfg.lookalikes
    n = cfg.n_accounts

    def pool() -> np.ndarray:
        return pop.benign[rng.permutation(pop.benign.size)]

    households, _ = form_groups(
        rng, pool(), pop.zone, round(la.household_fraction * n), la.household_size, log_uniform=False
    )
    tablet = rng.random(households.n_groups) < la.household_tablet_prob

    # Offices and campuses are exclusive: an account either works or studies.
    work_pool = pool()
    offices, work_pool = form_groups(rng, work_pool, pop.zone, round(la.office_fraction * n), la.office_size)
    campuses, _ = form_groups(rng, work_pool, pop.zone, round(la.campus_fraction * n), la.campus_size)

    kiosks, _ = form_groups(rng, pool(), pop.zone, round(la.kiosk_fraction * n), la.kiosk_size)

    # Social groups: fan club creators are popular benign accounts outside the club.
    social = pool()
    friends, social = form_groups(
        rng, social, pop.zone, round(la.friend_group_fraction * n), la.friend_group_size
    )
    fanclubs, social = form_groups(rng, social, pop.zone, round(la.fanclub_fraction * n), la.fanclub_size)
    candidates = social[: max(fanclubs.n_groups * 20, 1)]
    top = candidates[np.argsort(-pop.popularity[candidates], kind="stable")]
    fanclub_creator = top[: fanclubs.n_groups]

    flags: dict[str, np.ndarray] = {}
    for name, groups in (
        ("household", households),
        ("office", offices),
        ("campus", campuses),
        ("kiosk", kiosks),
        ("friend_group", friends),
        ("fanclub", fanclubs),
    ):
        mask = np.zeros(n, dtype=bool)
        mask[groups.members] = True
        flags[name] = mask
    return Lookalikes(
        households=households,
        household_tablet=tablet,
        offices=offices,
        campuses=campuses,
        kiosks=kiosks,
        friends=friends,
        fanclubs=fanclubs,
        fanclub_creator=fanclub_creator,
        flags=flags,
    )
