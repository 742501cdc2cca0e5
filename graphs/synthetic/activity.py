"""Ordinary activity attached to sessions: likes, follows, comments, shares, posts, messages.

Also the organic reactions that new posts receive, and the signups of accounts created in the window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .buffer import EventBuffer, Registries
from .config import WorldConfig
from .ids import COMMON_EMAIL_DOMAINS, public_disposable_domains
from .lookalikes import Lookalikes
from .population import Population
from .profiles import Profile
from .rand import WeightedSampler, child_rng, sample_weighted, zipf_weights
from .sessions import Sessions


@dataclass
class Targets:
    """Samplers of popular targets.

    Attributes:
        catalog: int64 [k], content that existed before the window (liked, not posted, in it).
        catalog_pick: Zipf popularity sampler over ``catalog``.
        follow_pick: popularity sampler over accounts (preferential attachment).
        active_pick: activity sampler over accounts (who reacts / is messaged).
    """

    catalog: np.ndarray
    catalog_pick: WeightedSampler
    follow_pick: WeightedSampler
    active_pick: WeightedSampler

    def content(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Catalog content drawn by Zipf popularity."""
        return self.catalog[self.catalog_pick.sample(rng, size)]

    def followee(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Accounts drawn by popularity."""
        return self.follow_pick.sample(rng, size)

    def active(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Accounts drawn by activity."""
        return self.active_pick.sample(rng, size)


@dataclass
class Posts:
    """Content posted in the window: ``author``, ``ts`` and ``content`` (int64 arrays)."""

    author: np.ndarray
    ts: np.ndarray
    content: np.ndarray

    @staticmethod
    def concat(parts: list[Posts]) -> Posts:
        return Posts(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("author", "ts", "content")))


def make_targets(cfg: WorldConfig, pop: Population, reg: Registries) -> Targets:
    """Allocates the pre-window content catalog and builds the popularity samplers."""
    rng = child_rng(cfg.seed, "targets")
    k = max(int(cfg.benign.catalog_per_account * pop.n), 10)
    catalog = reg.content.alloc(k)
    return Targets(
        catalog=catalog,
        catalog_pick=WeightedSampler(zipf_weights(k, cfg.benign.content_zipf, rng)),
        follow_pick=WeightedSampler(pop.popularity),
        active_pick=WeightedSampler(pop.activity),
    )


def session_actions(
    cfg: WorldConfig,
    pop: Population,
    la: Lookalikes,
    sess: Sessions,
    tg: Targets,
    reg: Registries,
    buf: EventBuffer,
) -> Posts:
    """Attaches actions to random sessions of each account, in proportion to its session count.

    Returns:
        The posts created (they receive reactions later).
    """
    rng = child_rng(cfg.seed, "session_actions")
    b = cfg.benign
    rates = {
        "like": b.likes_per_session,
        "follow": b.follows_per_session,
        "comment": b.comments_per_session,
        "share": b.shares_per_session,
        "post": b.posts_per_session,
        "message": b.messages_per_session,
    }
    friend_pos = la.friends.lookup(pop.n)
    home_pos = la.households.lookup(pop.n)
    posts = Posts(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64))
    for action, rate in rates.items():
        count = rng.poisson(sess.count * rate)
        acct = np.repeat(np.arange(pop.n, dtype=np.int64), count)
        row = sess.pick(acct, rng)
        # Actions follow the login within the session (minutes).
        ts = sess.ts[row] + 1 + np.minimum(rng.exponential(240.0, acct.size), 1800).astype(np.int64)
        if action in ("like", "comment", "share"):
            buf.add(acct, ts, action, "content", tg.content(rng, acct.size))
        elif action == "follow":
            buf.add(acct, ts, action, "account", tg.followee(rng, acct.size))
        elif action == "post":
            content = reg.content.alloc(acct.size)
            buf.add(acct, ts, action, "content", content)
            posts = Posts(acct, ts, content)
        else:
            buf.add(acct, ts, action, "account", _message_partner(rng, acct, friend_pos, home_pos, la, tg))
    return posts


def _message_partner(
    rng: np.random.Generator,
    acct: np.ndarray,
    friend_pos: np.ndarray,
    home_pos: np.ndarray,
    la: Lookalikes,
    tg: Targets,
) -> np.ndarray:
    """Messages go to a friend, else to a household member, else to some active account."""
    target = tg.active(rng, acct.size)
    hp = home_pos[acct]
    in_home = hp >= 0
    target[in_home] = la.households.random_other(hp[in_home], rng)
    fp = friend_pos[acct]
    in_friends = (fp >= 0) & (rng.random(acct.size) < 0.7)
    target[in_friends] = la.friends.random_other(fp[in_friends], rng)
    return target


def organic_reactions(
    cfg: WorldConfig, pop: Population, posts: Posts, tg: Targets, buf: EventBuffer, name: str = "reactions"
) -> None:
    """Reactions from the crowd: popular authors get many, spread over hours to days."""
    rng = child_rng(cfg.seed, name)
    b = cfg.benign
    pop_factor = pop.popularity[posts.author] / pop.popularity.mean()
    n_react = np.minimum(rng.poisson(b.reactions_per_post * pop_factor), b.max_reactions_per_post)
    post = np.repeat(np.arange(posts.author.size, dtype=np.int64), n_react)
    who = tg.active(rng, post.size)
    keep = who != posts.author[post]
    post, who = post[keep], who[keep]
    delay = rng.lognormal(np.log(2 * 3600), 1.2, post.size).astype(np.int64) + 30
    ts = posts.ts[post] + delay
    kind = rng.random(post.size)
    content = posts.content[post]
    for action, mask in (
        ("like", kind < 0.8),
        ("comment", (kind >= 0.8) & (kind < 0.95)),
        ("share", kind >= 0.95),
    ):
        buf.add(who[mask], ts[mask], action, "content", content[mask])


def benign_signups(
    cfg: WorldConfig, pop: Population, prof: Profile, reg: Registries, buf: EventBuffer
) -> None:
    """Signups of benign accounts created in the window.

    Device + IP rows (home or mobile), plus a phone number and an e-mail domain for some.
    """
    rng = child_rng(cfg.seed, "benign_signups")
    b = cfg.benign
    acct = np.sort(pop.benign[pop.created[pop.benign] >= cfg.start])
    ts = pop.created[acct]
    ip = prof.ip_home[acct].copy()
    mobile = rng.random(acct.size) < prof.p_mobile[acct]
    ip[mobile] = prof.mobile_ip(acct[mobile], rng)
    buf.add_pair(acct, ts, "signup", ("device", prof.dev_main[acct]), ("ip", ip))
    with_phone = acct[rng.random(acct.size) < b.signup_phone_prob]
    buf.add(with_phone, pop.created[with_phone], "signup", "phone", reg.phone.alloc(with_phone.size))
    with_mail = acct[rng.random(acct.size) < b.signup_email_prob]
    domains = reg.email_domain(list(COMMON_EMAIL_DOMAINS))
    # A few big providers dominate: Zipf over the common list.
    w = np.cumsum(1.0 / np.arange(1, domains.size + 1))
    domain = domains[sample_weighted(rng, w, with_mail.size)]
    # Privacy-minded people use public throw-away services too, the same ones rings use.
    throwaway = reg.email_domain(public_disposable_domains(cfg.seed))
    pick = rng.random(with_mail.size) < 0.03
    domain[pick] = throwaway[rng.integers(0, throwaway.size, int(pick.sum()))]
    buf.add(with_mail, pop.created[with_mail], "signup", "email_domain", domain)
