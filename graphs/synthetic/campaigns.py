"""Coordinated ring behaviour: campaigns (farms, proxy rings, stealth rings) and engagement pods.

A campaign is one order from a customer: at time ``t`` the customer posts 1-3 items, and ring
members like them (and maybe follow the customer, comment, share) within a few minutes, each after
logging in. Campaigns of all rings are generated at once as a table; participations are expanded
with ``np.repeat``.

Timing per kind:
- farm: scripted lockstep. Members act in the same fixed order every campaign, evenly paced over
  1-5 minutes, the same few seconds apart between targets; 85-100% of members take part.
- proxy: members act at random within 2-7 minutes; 60-95% take part.
- stealth: only 2-5 campaigns, members within 3-10 minutes; 40-80% take part.

``RingConfig.campaign_spread`` and ``RingConfig.participation`` replace the per-kind spread and
participation ranges (for coordination over seconds, hours or a day); ``pod_react_delay`` sets how
fast pods react.
"""

from __future__ import annotations

import numpy as np

from .activity import Posts
from .buffer import EventBuffer, Registries
from .config import DAY, HOUR, WorldConfig
from .population import Population
from .profiles import Profile
from .rand import child_rng, diurnal_times, exclusive_cumsum, segment_local, uniform_int
from .rings import FARM, POD, PROXY, STEALTH, Rings

# Per kind: (participation range, spread range in seconds, content targets range, P(follow customer),
# P(comment), P(share)).
_STYLE = {
    FARM: ((0.85, 1.0), (60, 300), (1, 3), 0.6, 0.1, 0.05),
    PROXY: ((0.6, 0.95), (120, 420), (1, 2), 0.5, 0.15, 0.1),
    STEALTH: (None, (180, 600), (1, 2), 0.5, 0.3, 0.15),
}


def campaigns(
    cfg: WorldConfig,
    pop: Population,
    prof: Profile,
    rings: Rings,
    reg: Registries,
    buf: EventBuffer,
) -> Posts:
    """Generates every campaign of every farm, proxy and stealth ring.

    Returns:
        The customers' posts that the campaigns boost.
    """
    rng = child_rng(cfg.seed, "campaigns")
    rc = cfg.rings
    kind = rings.kind
    n_rings = rings.n_rings
    count_range = {FARM: rc.farm_campaigns, PROXY: rc.proxy_campaigns, STEALTH: rc.stealth_campaigns}
    n_camp = np.zeros(n_rings, dtype=np.int64)
    part = np.zeros(n_rings)
    spread = np.zeros(n_rings)
    p_follow, p_comment, p_share = np.zeros(n_rings), np.zeros(n_rings), np.zeros(n_rings)
    for k, (prange, srange, _, pf, pc, ps) in _STYLE.items():
        sel = kind == k
        s = int(sel.sum())
        n_camp[sel] = uniform_int(rng, count_range[k], s)
        part[sel] = rng.uniform(*(rc.participation or prange or rc.stealth_participation), s)
        if rc.campaign_spread is None:
            spread[sel] = rng.uniform(*srange, s)
        else:  # log-uniform: seconds to a day are all plausible
            spread[sel] = np.exp(rng.uniform(*np.log(rc.campaign_spread), s))
        p_follow[sel], p_comment[sel], p_share[sel] = pf, pc, ps
    if n_camp.sum() == 0:
        return Posts(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64))

    # Campaign table: one row per campaign. Participation and spread vary per campaign around
    # the ring's style; farms keep their script's pace.
    ring = np.repeat(np.arange(n_rings, dtype=np.int64), n_camp)
    c = ring.size
    ck = kind[ring]
    last = cfg.end - 2 * HOUR
    if rc.campaign_spread is not None:  # long campaigns must still end inside the window
        last = last - (1.3 * spread[ring]).astype(np.int64)
    lo = np.minimum(rings.ready[ring], last - HOUR)
    t = lo + (rng.random(c) * (last - lo)).astype(np.int64)
    floor = 0.3 if rc.participation is None else 0.05
    c_part = np.clip(part[ring] + rng.normal(0, 0.05, c), floor, 1.0)
    c_part[ck == STEALTH] = rng.uniform(
        *(rc.participation or rc.stealth_participation), int((ck == STEALTH).sum())
    )
    c_spread = spread[ring] * np.where(ck == FARM, 1.0, rng.uniform(0.7, 1.3, c))
    c_ncont = np.ones(c, dtype=np.int64)
    for k, (_, _, crange, *_rest) in _STYLE.items():
        sel = ck == k
        c_ncont[sel] = uniform_int(rng, crange, int(sel.sum()))
    c_follow = rng.random(c) < p_follow[ring]
    c_gap = rng.uniform(3, 10, c)  # farm script: seconds between two targets

    # Customers: active benign accounts buying engagement; several rings may serve the same one.
    cand = pop.benign[pop.activity[pop.benign] > 0]
    customers = cand[rng.integers(0, cand.size, max(10, 4 * n_rings))]
    customer = customers[rng.integers(0, customers.size, c)]
    post_camp = np.repeat(np.arange(c, dtype=np.int64), c_ncont)
    content = reg.content.alloc(post_camp.size)
    post_ts = t[post_camp] - (rng.uniform(5, 120, post_camp.size) * 60).astype(np.int64)
    buf.add(customer[post_camp], post_ts, "post", "content", content)
    first_content = exclusive_cumsum(c_ncont)

    # Participations: every member of the ring, for every campaign, kept with the campaign's rate.
    grp = rings.groups
    reps = grp.sizes[ring]
    camp = np.repeat(np.arange(c, dtype=np.int64), reps)
    local = segment_local(reps)
    member = grp.members[grp.starts[ring[camp]] + local]
    keep = rng.random(camp.size) < c_part[camp]
    camp, local, member = camp[keep], local[keep], member[keep]
    pk = ck[camp]
    n = camp.size
    size = grp.sizes[ring[camp]]
    farm = pk == FARM
    offset = rng.random(n) * c_spread[camp]
    offset[farm] = (local[farm] / size[farm]) * c_spread[camp[farm]] + rng.uniform(0, 5, int(farm.sum()))
    act = t[camp] + offset.astype(np.int64)

    # Login right before acting: farm/proxy through the ring's infrastructure, stealth from home
    # (or mobile data) on its own device.
    login = act - np.where(pk == STEALTH, rng.integers(20, 300, n), rng.integers(5, 90, n))
    device = rings.device[member].copy()
    ip = rings.pool_ip(ring[camp], rng)
    st = pk == STEALTH
    device[st] = prof.dev_main[member[st]]
    mobile = st & (rng.random(n) < 0.25)
    ip[st] = prof.ip_home[member[st]]
    ip[mobile] = prof.mobile_ip(member[mobile], rng)
    buf.add_pair(member, login, "login", ("device", device), ("ip", ip))

    # Likes of each target, in order; farms with the script's fixed gap, others at their own pace.
    reps = c_ncont[camp]
    row = np.repeat(np.arange(n, dtype=np.int64), reps)
    j = segment_local(reps)
    gap = np.where(farm[row], c_gap[camp[row]], rng.uniform(3, 40, row.size))
    like_ts = act[row] + (j * gap).astype(np.int64)
    ok = rng.random(row.size) < 0.95
    row, like_ts, j = row[ok], like_ts[ok], j[ok]
    buf.add(member[row], like_ts, "like", "content", content[first_content[camp[row]] + j])

    fol = c_follow[camp] & (rng.random(n) < 0.9)
    buf.add(
        member[fol], act[fol] + rng.integers(1, 15, int(fol.sum())), "follow", "account", customer[camp[fol]]
    )
    com = rng.random(n) < p_comment[ring[camp]]
    buf.add(
        member[com],
        act[com] + rng.integers(20, 120, int(com.sum())),
        "comment",
        "content",
        content[first_content[camp[com]]],
    )
    sh = rng.random(n) < p_share[ring[camp]]
    buf.add(
        member[sh],
        act[sh] + rng.integers(5, 60, int(sh.sum())),
        "share",
        "content",
        content[first_content[camp[sh]]],
    )
    return Posts(customer[post_camp], post_ts, content)


def pods(cfg: WorldConfig, pop: Population, rings: Rings, reg: Registries, buf: EventBuffer) -> Posts:
    """Engagement pods: mutual follows when the pod forms, then every post is liked (and often
    commented on) by most other members within minutes.

    Returns:
        The pod members' posts (they also get organic reactions).
    """
    rng = child_rng(cfg.seed, "pods")
    rc = cfg.rings
    grp = rings.groups
    g = grp.group_of
    is_pod = rings.kind == POD
    pos = np.flatnonzero(is_pod[g])
    if pos.size == 0:
        return Posts(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64))
    n_rings = rings.n_rings
    formed = cfg.start + (rng.uniform(0, min(10, cfg.window_days / 3), n_rings) * DAY).astype(np.int64)
    react_p = rng.uniform(*rc.pod_react_prob, n_rings)
    react_mean = rng.uniform(*rc.pod_react_delay, n_rings)  # seconds
    # Comments come later than likes (mean 600 s at the default delays), at the same pace factor.
    comment_mean = 600.0 * (rc.pod_react_delay[0] + rc.pod_react_delay[1]) / 2 / 240.0

    # Mutual follows, a burst when the pod forms.
    pairs_pos = np.arange(grp.members.size, dtype=np.int64)[pos]
    item, other = grp.others_of(pairs_pos)
    src = grp.members[pairs_pos[item]]
    keep = rng.random(item.size) < rc.pod_follow_prob
    src, other, fr = src[keep], other[keep], g[pairs_pos[item[keep]]]
    buf.add(
        src, formed[fr] + rng.exponential(0.5 * DAY, src.size).astype(np.int64), "follow", "account", other
    )

    # Posts after the pod forms; reactions from the others within minutes.
    n_posts = rng.poisson(rc.pod_posts, pos.size)
    p_pos = np.repeat(pos, n_posts)
    author = grp.members[p_pos]
    pr = g[p_pos]
    first_day = np.clip((formed[pr] - cfg.start) // DAY + 1, 0, cfg.window_days - 1)
    p_ts = diurnal_times(rng, cfg.start, cfg.window_days, first_day, pop.tz[author])
    content = reg.content.alloc(author.size)
    buf.add(author, p_ts, "post", "content", content)
    item, other = grp.others_of(p_pos)
    keep = rng.random(item.size) < react_p[pr[item]]
    item, other = item[keep], other[keep]
    r_ts = p_ts[item] + 15 + rng.exponential(react_mean[pr[item]]).astype(np.int64)
    buf.add(other, r_ts, "like", "content", content[item])
    com = rng.random(item.size) < 0.35
    c_ts = p_ts[item[com]] + 30 + rng.exponential(comment_mean, int(com.sum())).astype(np.int64)
    buf.add(other[com], c_ts, "comment", "content", content[item[com]])
    return Posts(author, p_ts, content)
