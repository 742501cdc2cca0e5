"""Bot rings: how many, how big, which kind, when their accounts were created, their infrastructure.

Kinds (see docs/synthetic_world.md for their benign look-alikes):
- ``device_farm``: fresh accounts created in one burst on a few emulator devices and datacenter IPs.
- ``proxy_ring``: fresh accounts, one device each, logging in through a rotating residential proxy
  pool (whose addresses are partly the home IPs of real users).
- ``stealth``: aged accounts living an ordinary life, coordinated only in a few short campaigns.
- ``pod``: aged accounts that react to each other's posts within minutes.

Campaigns and pod behaviour are in :mod:`.campaigns`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .activity import Targets
from .buffer import EventBuffer, Registries
from .config import DAY, HOUR, RING_KINDS, WorldConfig
from .groups import Groups
from .ids import COMMON_EMAIL_DOMAINS, disposable_domains, public_disposable_domains
from .population import Population
from .profiles import Profile
from .rand import child_rng, exclusive_cumsum, log_uniform_int, segment_local, uniform_int

FARM, PROXY, STEALTH, POD = (RING_KINDS.index(k) for k in ("device_farm", "proxy_ring", "stealth", "pod"))


def plan_rings(cfg: WorldConfig) -> tuple[np.ndarray, np.ndarray]:
    """Ring sizes and kinds that fill about ``bot_fraction`` of the accounts.

    Sizes are log-uniform within each kind's range. The first rings are one of each kind (in random
    order), with room reserved so every kind fits whenever the bot budget allows; rings are then
    added until the remaining budget is below every kind's minimum size (so the realised bot share
    is slightly under ``bot_fraction``).

    Returns:
        ``(sizes, kinds)``: int64 [n_rings] and int8 [n_rings] (index into ``RING_KINDS``).
    """
    rng = child_rng(cfg.seed, "ring_plan")
    rc = cfg.rings
    names = [k for k in RING_KINDS if rc.kind_weights.get(k, 0.0) > 0]
    w = np.array([rc.kind_weights[k] for k in names])
    bounds = {}
    for k in names:
        lo, hi = rc.kind_sizes.get(k, rc.size)
        bounds[k] = (max(lo, rc.size[0]), max(min(hi, rc.size[1]), max(lo, rc.size[0])))
    remaining = int(round(cfg.bot_fraction * cfg.n_accounts))
    forced = [names[i] for i in rng.permutation(len(names))]
    sizes: list[int] = []
    kinds: list[int] = []
    while True:  # one iteration per ring: a few hundred at 1M accounts
        if forced:
            kind = forced.pop(0)
            reserve = sum(bounds[k][0] for k in forced)
        else:
            fits = np.array([bounds[k][0] <= remaining for k in names])
            if not fits.any():
                break
            p = w * fits
            kind = names[rng.choice(len(names), p=p / p.sum())]
            reserve = 0
        lo, hi = bounds[kind]
        hi = min(hi, remaining - reserve)
        if hi < lo:
            continue  # this kind no longer fits; try the next forced kind or stop
        size = int(log_uniform_int(rng, lo, hi, 1)[0])
        sizes.append(size)
        kinds.append(RING_KINDS.index(kind))
        remaining -= size
    return np.array(sizes, dtype=np.int64), np.array(kinds, dtype=np.int8)


@dataclass
class Rings:
    """The rings of one world and their infrastructure.

    Attributes:
        groups: members of each ring (ring r is group r).
        kind: int8 [n_rings], index into ``RING_KINDS``.
        ready: int64 [n_rings], time after which all members exist (campaigns start after it).
        pool: int64, IPs used by farm (datacenter) and proxy (residential pool) rings, ring after ring.
        pool_start, pool_size: int64 [n_rings], each ring's slice of ``pool`` (size 0 for others).
        device: int64 [n], the device a farm / proxy bot logs in with (-1 elsewhere).
    """

    groups: Groups
    kind: np.ndarray
    ready: np.ndarray
    pool: np.ndarray
    pool_start: np.ndarray
    pool_size: np.ndarray
    device: np.ndarray

    @property
    def n_rings(self) -> int:
        return int(self.kind.size)

    def pool_ip(self, ring: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A random IP of each ring's pool (proxies rotate per connection)."""
        size = self.pool_size[ring]
        k = np.floor(rng.random(ring.size) * size).astype(np.int64)
        out = np.full(ring.size, -1, dtype=np.int64)
        has = size > 0  # rings without a pool (stealth, pods) get -1
        out[has] = self.pool[self.pool_start[ring[has]] + k[has]]
        return out


def build_rings(cfg: WorldConfig, pop: Population, prof: Profile, reg: Registries) -> Rings:
    """Sets creation time and activity of every bot and allocates ring infrastructure."""
    rng = child_rng(cfg.seed, "rings")
    rc = cfg.rings
    n_rings = int(pop.ring.max()) + 1 if pop.is_bot.any() else 0
    bots = np.flatnonzero(pop.is_bot)
    members = bots[np.argsort(pop.ring[bots], kind="stable")]
    sizes = np.bincount(pop.ring[bots], minlength=n_rings).astype(np.int64)
    groups = Groups(members, sizes)
    kind = np.zeros(n_rings, dtype=np.int8)
    kind[pop.ring[members]] = pop.kind[members]
    g = groups.group_of
    mkind = kind[g]
    local = segment_local(sizes)
    m = members.size

    # Creation: farms in one scripted burst, proxy rings over a few days, stealth and pods aged.
    t0 = np.zeros(n_rings, dtype=np.int64)
    is_farm, is_proxy = kind == FARM, kind == PROXY
    t0[is_farm] = cfg.start + (
        rng.uniform(-5, min(18, cfg.window_days - 12), int(is_farm.sum())) * DAY
    ).astype(np.int64)
    t0[is_proxy] = cfg.start + (
        rng.uniform(-20, min(15, cfg.window_days - 15), int(is_proxy.sum())) * DAY
    ).astype(np.int64)
    gap = rng.uniform(30, 180, n_rings)  # seconds between scripted signups
    spread = rng.uniform(1, 5, n_rings) * DAY
    created = np.empty(m, dtype=np.int64)
    farm_m = mkind == FARM
    created[farm_m] = t0[g[farm_m]] + (
        local[farm_m] * gap[g[farm_m]] + rng.uniform(0, 20, int(farm_m.sum()))
    ).astype(np.int64)
    prox_m = mkind == PROXY
    created[prox_m] = t0[g[prox_m]] + (rng.random(int(prox_m.sum())) * spread[g[prox_m]]).astype(np.int64)
    st_m = mkind == STEALTH
    created[st_m] = cfg.start - (rng.uniform(180, 1000, int(st_m.sum())) * DAY).astype(np.int64)
    pod_m = mkind == POD
    created[pod_m] = cfg.start - (rng.uniform(30, 900, int(pod_m.sum())) * DAY).astype(np.int64)
    pop.created[members] = created
    ready = np.full(n_rings, cfg.start, dtype=np.int64)
    np.maximum.at(ready, g, created + HOUR)

    # Farm and proxy bots live by the ring's script, not by the ordinary session model; stealth
    # and pod members have ordinary, moderately active lives (scaled by ``camouflage``).
    act = np.zeros(m)
    act[st_m] = rng.lognormal(0.0, 0.5, int(st_m.sum()))
    act[pod_m] = 1.5 * rng.lognormal(0.0, 0.5, int(pod_m.sum()))
    pop.activity[members] = act * rc.camouflage

    # Devices: one emulator per 4-15 farm accounts; proxy bots each have a fresh device.
    device = np.full(pop.n, -1, dtype=np.int64)
    per_dev = uniform_int(rng, rc.farm_accounts_per_device, n_rings)
    n_dev = np.where(is_farm, np.ceil(sizes / per_dev).astype(np.int64), 0)
    dev_first = exclusive_cumsum(n_dev) + reg.device.n  # the block allocated next
    reg.device.alloc(int(n_dev.sum()))
    device[members[farm_m]] = dev_first[g[farm_m]] + local[farm_m] % n_dev[g[farm_m]]
    device[members[prox_m]] = prof.dev_main[members[prox_m]]

    # IP pools: farms rent a few datacenter IPs (a third also exit through a commercial VPN that
    # benign VPN users share); proxy rings rotate through residential IPs, half of them home IPs
    # of real users whose devices are the proxy's exit nodes.
    pool_size = np.zeros(n_rings, dtype=np.int64)
    pool_size[is_farm] = uniform_int(rng, rc.farm_ips, int(is_farm.sum()))
    pool_size[is_proxy] = np.maximum(np.round(sizes[is_proxy] * rc.proxy_pool_per_member), 4).astype(np.int64)
    pool_start = exclusive_cumsum(pool_size)
    pool = np.empty(int(pool_size.sum()), dtype=np.int64)
    owner = np.repeat(np.arange(n_rings), pool_size)
    p_farm = is_farm[owner]
    pool[p_farm] = reg.ip.alloc(int(p_farm.sum()), "datacenter")
    uses_vpn = is_farm & (rng.random(n_rings) < 0.33)
    first_of = pool_start[uses_vpn]
    pool[first_of] = prof.vpn_ips[rng.integers(0, prof.vpn_ips.size, first_of.size)]
    p_proxy = np.flatnonzero(is_proxy[owner])
    from_home = rng.random(p_proxy.size) < rc.proxy_pool_benign_share
    homes = prof.ip_home[pop.benign[rng.integers(0, pop.benign.size, int(from_home.sum()))]]
    pool[p_proxy[from_home]] = homes
    pool[p_proxy[~from_home]] = reg.ip.alloc(int((~from_home).sum()), "residential")
    return Rings(groups, kind, ready, pool, pool_start, pool_size, device)


def ring_signups(cfg: WorldConfig, pop: Population, rings: Rings, reg: Registries, buf: EventBuffer) -> None:
    """Signups of farm and proxy bots: device + IP; farms reuse a few phones and a throw-away domain."""
    rng = child_rng(cfg.seed, "ring_signups")
    rc = cfg.rings
    grp = rings.groups
    g = grp.group_of
    mkind = rings.kind[g]
    fresh = (mkind == FARM) | (mkind == PROXY)
    acct, ring = grp.members[fresh], g[fresh]
    ts = pop.created[acct]
    buf.add_pair(acct, ts, "signup", ("device", rings.device[acct]), ("ip", rings.pool_ip(ring, rng)))

    # Phones: a farm recycles a few numbers; proxy bots buy a virtual number now and then.
    n_rings = rings.n_rings
    is_farm = rings.kind == FARM
    per_phone = uniform_int(rng, rc.farm_accounts_per_phone, n_rings)
    n_ph = np.where(is_farm, np.ceil(grp.sizes / per_phone).astype(np.int64), 0)
    ph_first = exclusive_cumsum(n_ph) + reg.phone.n  # the block allocated next
    reg.phone.alloc(int(n_ph.sum()))
    farm = mkind[fresh] == FARM
    p_phone = np.where(farm, 0.6, 0.25)
    has = rng.random(acct.size) < p_phone
    phone = np.empty(acct.size, dtype=np.int64)
    f = has & farm
    phone[f] = ph_first[ring[f]] + rng.integers(0, 1 << 30, int(f.sum())) % n_ph[ring[f]]
    pr = has & ~farm
    phone[pr] = reg.phone.alloc(int(pr.sum()))
    buf.add(acct[has], ts[has], "signup", "phone", phone[has])

    # E-mail domains: farms mostly a throw-away domain of their own (else a public throw-away
    # service, as some benign users have too), proxy rings public services or big providers.
    own = reg.email_domain(disposable_domains(n_rings, rng))
    public = reg.email_domain(public_disposable_domains(cfg.seed))
    common = reg.email_domain(list(COMMON_EMAIL_DOMAINS))
    has = rng.random(acct.size) < np.where(farm, 0.8, 0.5)
    u = rng.random(acct.size)
    domain = common[rng.integers(0, 3, acct.size)]
    pub = u < np.where(farm, 0.3, 0.4)
    domain[pub] = public[rng.integers(0, public.size, int(pub.sum()))]
    mine = farm & (u >= 0.3) & (u < 0.9)
    domain[mine] = own[ring[mine]]
    buf.add(acct[has], ts[has], "signup", "email_domain", domain[has])


def idle_activity(cfg: WorldConfig, pop: Population, rings: Rings, tg: Targets, buf: EventBuffer) -> None:
    """Farm and proxy bots' logins outside campaigns, with a little camouflage (likes, follows).

    ``rings.camouflage`` multiplies the mean number of idle logins (farm 2, proxy 3), and with them
    the likes and follows attached to those logins.
    """
    rng = child_rng(cfg.seed, "ring_idle")
    grp = rings.groups
    g = grp.group_of
    mkind = rings.kind[g]
    fresh = (mkind == FARM) | (mkind == PROXY)
    acct, ring = grp.members[fresh], g[fresh]
    farm = mkind[fresh] == FARM
    n_login = rng.poisson(np.where(farm, 2.0, 3.0) * cfg.rings.camouflage)
    a = np.repeat(acct, n_login)
    r = np.repeat(ring, n_login)
    lo = np.maximum(pop.created[a], cfg.start) + 600
    ts = lo + (rng.random(a.size) * np.maximum(cfg.end - lo, 1)).astype(np.int64)
    buf.add_pair(a, ts, "login", ("device", rings.device[a]), ("ip", rings.pool_ip(r, rng)))

    f = np.repeat(farm, n_login)
    like = rng.random(a.size) < np.where(f, 0.5, 0.9)
    buf.add(
        a[like],
        ts[like] + rng.integers(5, 300, int(like.sum())),
        "like",
        "content",
        tg.content(rng, int(like.sum())),
    )
    follow = ~f & (rng.random(a.size) < 0.5)
    buf.add(
        a[follow],
        ts[follow] + rng.integers(5, 300, int(follow.sum())),
        "follow",
        "account",
        tg.followee(rng, int(follow.sum())),
    )
