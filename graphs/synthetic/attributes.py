"""Visible account attributes: only weakly informative about bots, never a label leak.

Bots are somewhat more often without an avatar or bio, and fresh-account farms claim to be in the
US a bit more often, but most benign accounts without an avatar are just benign.
"""

from __future__ import annotations

import numpy as np

from .config import DAY, WorldConfig
from .population import COUNTRY_NAMES, Population
from .rand import child_rng
from .rings import FARM, POD, PROXY, STEALTH

# Per ring kind: (P(has avatar), P(empty bio)).
_BOT_STYLE = {FARM: (0.45, 0.5), PROXY: (0.55, 0.45), STEALTH: (0.7, 0.35), POD: (0.85, 0.1)}


def account_attributes(cfg: WorldConfig, pop: Population) -> dict[str, np.ndarray]:
    """Visible attributes of every account.

    Returns:
        ``country`` (int8, index into ``COUNTRY_NAMES``), ``has_avatar`` (int8), ``bio_length`` (int32).
    """
    rng = child_rng(cfg.seed, "attributes")
    n = pop.n
    young = pop.created > cfg.start - 30 * DAY
    p_avatar = np.where(young, 0.5, 0.72)
    p_nobio = np.where(young, 0.5, 0.35)
    for k, (pa, pb) in _BOT_STYLE.items():
        sel = pop.kind == k
        p_avatar[sel] = pa
        p_nobio[sel] = pb
    has_avatar = (rng.random(n) < p_avatar).astype(np.int8)
    bio = np.clip(rng.lognormal(np.log(60), 0.7, n), 1, 160).astype(np.int32)
    bio[rng.random(n) < p_nobio] = 0

    country = pop.country.copy()
    fresh = (pop.kind == FARM) | (pop.kind == PROXY)
    claim_us = fresh & (rng.random(n) < 0.25)
    country[claim_us] = COUNTRY_NAMES.index("US")
    return {"country": country, "has_avatar": has_avatar, "bio_length": bio}
