"""Benign coordinated-looking social life: friend groups, fan clubs, viral bursts, follow surges.

These produce exactly the signals rings produce (many accounts touching the same target in a short
time, dense mutual follows, reactions to each other's posts) but with benign timing and structure:
- friend groups: mutual follows and reactions spread over days, hours after each post;
- fan clubs: a star (one creator), reactions within hours, sparse follows among members;
- viral bursts / follow surges: one single target, thousands of otherwise unrelated accounts.
"""

from __future__ import annotations

import numpy as np

from .activity import Posts
from .buffer import EventBuffer, Registries
from .config import DAY, HOUR, WorldConfig
from .lookalikes import Lookalikes
from .population import Population
from .rand import child_rng, diurnal_times


def _diurnal_after(
    cfg: WorldConfig, rng: np.random.Generator, pop: Population, acct: np.ndarray, after: np.ndarray
):
    """Diurnal timestamps of ``acct`` on or after the day of ``after``."""
    first_day = np.clip((after - cfg.start) // DAY, 0, cfg.window_days - 1)
    ts = diurnal_times(rng, cfg.start, cfg.window_days, first_day, pop.tz[acct])
    return np.maximum(ts, after + 60)


def friend_groups(
    cfg: WorldConfig, pop: Population, la: Lookalikes, reg: Registries, buf: EventBuffer
) -> Posts:
    """Friend groups form during the window: dense mutual follows over days, reactions to each other's posts.

    Returns:
        The extra posts of group members (they also receive organic reactions).
    """
    rng = child_rng(cfg.seed, "friend_groups")
    lc = cfg.lookalikes
    fg = la.friends
    formed = cfg.start + (rng.random(fg.n_groups) * (cfg.window_days - 5) * DAY).astype(np.int64)
    a, b = fg.ordered_pairs()
    pos_a = fg.lookup(pop.n)[a]
    keep = rng.random(a.size) < lc.friend_follow_prob
    a, b, pos_a = a[keep], b[keep], pos_a[keep]
    ts = formed[fg.group_of[pos_a]] + rng.exponential(1.5 * DAY, a.size).astype(np.int64)
    buf.add(a, ts, "follow", "account", b)

    # Members share a few posts after the group forms; friends react hours later.
    n_posts = rng.poisson(1.0, fg.members.size)
    pos = np.repeat(np.arange(fg.members.size, dtype=np.int64), n_posts)
    author = fg.members[pos]
    p_ts = _diurnal_after(cfg, rng, pop, author, formed[fg.group_of[pos]])
    content = reg.content.alloc(author.size)
    buf.add(author, p_ts, "post", "content", content)
    item, friend = fg.others_of(pos)
    keep = rng.random(item.size) < lc.friend_like_prob
    item, friend = item[keep], friend[keep]
    r_ts = p_ts[item] + rng.lognormal(np.log(3 * HOUR), 1.0, item.size).astype(np.int64)
    comment = rng.random(item.size) < 0.25
    buf.add(friend[~comment], r_ts[~comment], "like", "content", content[item[~comment]])
    buf.add(friend[comment], r_ts[comment], "comment", "content", content[item[comment]])
    return Posts(author, p_ts, content)


def fan_clubs(cfg: WorldConfig, pop: Population, la: Lookalikes, reg: Registries, buf: EventBuffer) -> Posts:
    """Fan clubs: members react to each of their creator's posts within hours; some follow each other.

    Returns:
        The creators' posts.
    """
    rng = child_rng(cfg.seed, "fan_clubs")
    lc = cfg.lookalikes
    fc = la.fanclubs
    n_clubs = la.fanclub_creator.size
    n_posts = np.maximum(rng.poisson(lc.fanclub_posts, n_clubs), 1)
    club = np.repeat(np.arange(n_clubs, dtype=np.int64), n_posts)
    author = la.fanclub_creator[club]
    p_ts = _diurnal_after(cfg, rng, pop, author, np.full(club.size, cfg.start))
    content = reg.content.alloc(club.size)
    buf.add(author, p_ts, "post", "content", content)

    # Every member of the club, for each post of its creator.
    reps = fc.sizes[club]
    post = np.repeat(np.arange(club.size, dtype=np.int64), reps)
    local = np.arange(post.size) - np.repeat(np.cumsum(reps) - reps, reps)
    member = fc.members[fc.starts[club[post]] + local]
    keep = rng.random(post.size) < lc.fanclub_react_prob
    post, member = post[keep], member[keep]
    r_ts = p_ts[post] + rng.lognormal(np.log(40 * 60), 0.9, post.size).astype(np.int64)
    buf.add(member, r_ts, "like", "content", content[post])
    com = rng.random(post.size) < 0.3
    buf.add(
        member[com],
        r_ts[com] + rng.integers(5, 600, int(com.sum())),
        "comment",
        "content",
        content[post[com]],
    )

    a, b = fc.ordered_pairs()
    keep = rng.random(a.size) < lc.fanclub_follow_prob
    a, b = a[keep], b[keep]
    ts = cfg.start + (rng.random(a.size) * cfg.window_days * DAY).astype(np.int64)
    buf.add(a, ts, "follow", "account", b)
    return Posts(author, p_ts, content)


def _audience(rng: np.random.Generator, cand: np.ndarray, p: np.ndarray, k: int, exclude: int) -> np.ndarray:
    """Up to ``k`` distinct accounts of ``cand`` drawn with probabilities ``p``, never ``exclude``."""
    fans = rng.choice(cand, size=min(k, cand.size), replace=False, p=p)
    return fans[fans != exclude]


def viral_and_surges(
    cfg: WorldConfig, pop: Population, la: Lookalikes, reg: Registries, buf: EventBuffer
) -> Posts:
    """Viral bursts (one video liked by thousands within an hour) and celebrity follow surges.

    Marks the audiences in ``la.flags`` as ``viral`` / ``celebrity_fan``.

    Returns:
        The viral posts.
    """
    rng = child_rng(cfg.seed, "viral")
    lc = cfg.lookalikes
    n = pop.n
    span = (cfg.window_days - 2) * DAY
    benign_pop = pop.popularity[pop.benign]
    top = pop.benign[np.argsort(-benign_pop, kind="stable")[: max(20, pop.benign.size // 2000)]]

    viral = np.zeros(n, dtype=bool)
    n_viral = max(1, round(lc.viral_per_million * n / 1e6))
    creators = rng.choice(top, size=n_viral)
    v_ts = cfg.start + DAY + (rng.random(n_viral) * span).astype(np.int64)
    v_content = reg.content.alloc(n_viral)
    buf.add(creators, v_ts, "post", "content", v_content)
    cand = pop.benign[pop.activity[pop.benign] > 0]
    p = pop.activity[cand] / pop.activity[cand].sum()
    k = max(15, round(lc.viral_audience * cand.size))
    for i in range(n_viral):  # a handful of events; each draw is vectorised
        fans = _audience(rng, cand, p, k, creators[i])
        ts = v_ts[i] + rng.lognormal(np.log(15 * 60), 0.7, fans.size).astype(np.int64)
        buf.add(fans, ts, "like", "content", v_content[i])
        viral[fans] = True

    surge = np.zeros(n, dtype=bool)
    n_surge = max(1, round(lc.surge_per_million * n / 1e6))
    celebs = rng.choice(top, size=n_surge)
    s_ts = cfg.start + DAY + (rng.random(n_surge) * span).astype(np.int64)
    k = max(15, round(lc.surge_audience * cand.size))
    for i in range(n_surge):
        fans = _audience(rng, cand, p, k, celebs[i])
        ts = s_ts[i] + rng.lognormal(np.log(20 * 60), 0.8, fans.size).astype(np.int64)
        buf.add(fans, ts, "follow", "account", np.full(fans.size, celebs[i]))
        surge[fans] = True
    la.flags["viral"] = viral
    la.flags["celebrity_fan"] = surge
    return Posts(creators, v_ts, v_content)
