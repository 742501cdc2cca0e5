"""``generate_world``: the whole synthetic world, from config to the three tables."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .activity import Posts, benign_signups, make_targets, organic_reactions, session_actions
from .assemble import account_ids, clean_events, entity_vocabulary, events_frame
from .attributes import account_attributes
from .buffer import EventBuffer, Registries
from .campaigns import campaigns, pods
from .config import LOOKALIKE_KINDS, RING_KINDS, WorldConfig
from .lookalikes import make_lookalikes
from .population import COUNTRY_NAMES, make_population
from .profiles import make_profile
from .rand import child_rng
from .rings import build_rings, idle_activity, plan_rings, ring_signups
from .sessions import emit_logins, make_sessions
from .social import fan_clubs, friend_groups, viral_and_surges


@dataclass
class World:
    """A generated world: the contract's three tables.

    Attributes:
        events: ``account_id, timestamp, action, entity_type, entity_id``, sorted by timestamp;
            string columns are pandas Categoricals.
        accounts: ``account_id, created_at, country, has_avatar, bio_length``, sorted by account_id.
        labels: ``account_id, is_bot, ring_id, ring_kind, lookalike``, sorted by account_id; empty
            strings where not applicable.
    """

    events: pd.DataFrame
    accounts: pd.DataFrame
    labels: pd.DataFrame

    def summary(self) -> dict[str, object]:
        """Counts worth printing: accounts, events, bots, rings per kind, look-alikes per kind."""
        lab = self.labels
        bots = lab[lab["is_bot"] == 1]
        rings = bots.drop_duplicates("ring_id")
        return {
            "accounts": len(self.accounts),
            "events": len(self.events),
            "bots": len(bots),
            "rings": len(rings),
            "rings_by_kind": rings["ring_kind"].value_counts().sort_index().to_dict(),
            "lookalikes": lab.loc[lab["lookalike"] != "", "lookalike"].value_counts().sort_index().to_dict(),
            "actions": self.events["action"].value_counts().sort_index().to_dict(),
        }


def generate_world(cfg: WorldConfig) -> World:
    """Generates the world described by ``cfg``; the same config always gives the same world.

    Example:
        >>> world = generate_world(WorldConfig(n_accounts=5_000, seed=1))
        >>> world.events.columns.tolist()
        ['account_id', 'timestamp', 'action', 'entity_type', 'entity_id']
    """
    reg = Registries()
    buf = EventBuffer()
    sizes, kinds = plan_rings(cfg)
    pop = make_population(cfg, sizes, kinds)
    la = make_lookalikes(cfg, pop)
    prof = make_profile(cfg, pop, la, reg)
    rings = build_rings(cfg, pop, prof, reg)  # sets bots' creation time and activity
    tg = make_targets(cfg, pop, reg)
    # Mobile-heavy active benign accounts sit behind carrier NAT IPs shared by thousands.
    la.flags["cgnat"] = (prof.p_mobile >= 0.8) & (pop.activity > 0) & ~pop.is_bot

    # Ordinary lives: benign accounts, and stealth/pod members' camouflage.
    ordinary = np.flatnonzero(pop.activity > 0)
    rng = child_rng(cfg.seed, "session_counts")
    n_sess = rng.poisson(pop.activity[ordinary] * cfg.benign.sessions_per_account)
    sess = make_sessions(cfg, pop, prof, la.kiosks, reg, ordinary, n_sess)
    emit_logins(buf, sess)
    posts: list[Posts] = [session_actions(cfg, pop, la, sess, tg, reg, buf)]
    benign_signups(cfg, pop, prof, reg, buf)

    # Benign look-alikes of coordination.
    posts.append(friend_groups(cfg, pop, la, reg, buf))
    posts.append(fan_clubs(cfg, pop, la, reg, buf))
    posts.append(viral_and_surges(cfg, pop, la, reg, buf))

    # Rings.
    ring_signups(cfg, pop, rings, reg, buf)
    idle_activity(cfg, pop, rings, tg, buf)
    posts.append(campaigns(cfg, pop, prof, rings, reg, buf))
    posts.append(pods(cfg, pop, rings, reg, buf))

    organic_reactions(cfg, pop, Posts.concat(posts), tg, buf)

    ev = clean_events(cfg, pop, buf.build())
    acc_ids, acc_rank = account_ids(cfg, pop.n)
    codes, vocab = entity_vocabulary(cfg, ev, reg, acc_ids, acc_rank)
    events = events_frame(ev, acc_ids, acc_rank, codes, vocab)

    order = np.argsort(acc_rank, kind="stable")  # internal index of each row, in account_id order
    id_column = pd.array(acc_ids, dtype="str")
    attrs = account_attributes(cfg, pop)
    accounts = pd.DataFrame(
        {
            "account_id": id_column,
            "created_at": pop.created[order].astype(np.int64),
            "country": pd.Categorical.from_codes(attrs["country"][order], categories=list(COUNTRY_NAMES)),
            "has_avatar": attrs["has_avatar"][order],
            "bio_length": attrs["bio_length"][order],
        }
    )
    ring_names = np.array([""] + [f"r{i + 1}" for i in range(sizes.size)], dtype=object)
    kind_names = np.array([""] + list(RING_KINDS), dtype=object)
    look_names = np.array([""] + list(LOOKALIKE_KINDS), dtype=object)
    look = la.label()
    look[pop.is_bot] = -1
    labels = pd.DataFrame(
        {
            "account_id": id_column,
            "is_bot": pop.is_bot[order].astype(np.int8),
            "ring_id": ring_names[pop.ring[order] + 1],
            "ring_kind": kind_names[pop.kind[order] + 1],
            "lookalike": look_names[look[order] + 1],
        }
    )
    return World(events=events, accounts=accounts, labels=labels)
