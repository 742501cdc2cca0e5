"""Every knob of the synthetic world, with documented defaults.

The defaults describe a mid-size social platform observed for 30 days: about 10 events per account,
2% of accounts in bot rings, and enough benign look-alikes (households, offices, fan clubs, viral
bursts, ...) that naive "shared IP" or "same target at the same time" rules raise false positives.

Example:
    >>> cfg = WorldConfig(n_accounts=100_000, seed=7)
    >>> cfg.rings.kind_weights["pod"]
    0.2
"""

from __future__ import annotations

from dataclasses import dataclass, field

# 2026-01-01T00:00:00Z: a fixed epoch so the output only depends on the config.
DEFAULT_START = 1_767_225_600
DAY = 86_400
HOUR = 3_600

ACTIONS: tuple[str, ...] = ("signup", "login", "post", "follow", "like", "comment", "share", "message")
ENTITY_TYPES: tuple[str, ...] = ("device", "ip", "phone", "email_domain", "account", "content")
RING_KINDS: tuple[str, ...] = ("device_farm", "proxy_ring", "stealth", "pod")
# Most notable first: an account in several look-alike groups is labelled with the first that applies.
LOOKALIKE_KINDS: tuple[str, ...] = (
    "kiosk",
    "household",
    "fanclub",
    "friend_group",
    "viral",
    "celebrity_fan",
    "office",
    "campus",
    "cgnat",
)


@dataclass(frozen=True)
class BenignConfig:
    """Ordinary activity of benign accounts.

    Attributes:
        dormant_fraction: accounts with no activity at all in the window.
        new_account_fraction: benign accounts created inside the window (their signup is logged).
        activity_sigma: sigma of the log-normal per-account activity level (heavy tail).
        sessions_per_account: mean login sessions per active account over the window.
        likes_per_session: mean likes of catalog content per session (Zipf popularity).
        follows_per_session: mean follows per session (targets by preferential attachment).
        comments_per_session: mean comments per session.
        shares_per_session: mean shares per session.
        posts_per_session: mean new posts per session.
        messages_per_session: mean direct messages per session (to household/friends when any).
        reactions_per_post: mean organic likes/comments/shares a new post receives (scaled by the
            author's popularity, so celebrities' posts get thousands).
        max_reactions_per_post: cap on organic reactions to a single post.
        catalog_per_account: pre-existing content items per account (liked but not posted in window).
        content_zipf: Zipf exponent of catalog content popularity.
        popularity_alpha: Pareto tail index of account popularity (lower = more extreme celebrities).
        second_device_prob: accounts with a second own device.
        mobile_heavy_fraction: accounts whose sessions are mostly on mobile carrier (CGNAT) IPs.
        home_only_fraction: accounts that almost never use mobile data.
        vpn_fraction: accounts that often log in through a commercial VPN (datacenter IPs).
        cgnat_ips_per_million: public NAT addresses of the mobile carriers per million accounts;
            each address is shared by thousands of accounts.
        n_carriers: mobile carriers.
        signup_phone_prob: benign signups that register a phone number.
        signup_email_prob: signups that log the e-mail domain.
    """

    dormant_fraction: float = 0.12
    new_account_fraction: float = 0.04
    activity_sigma: float = 1.1
    sessions_per_account: float = 1.9
    likes_per_session: float = 1.2
    follows_per_session: float = 0.35
    comments_per_session: float = 0.2
    shares_per_session: float = 0.1
    posts_per_session: float = 0.15
    messages_per_session: float = 0.3
    reactions_per_post: float = 6.0
    max_reactions_per_post: int = 3_000
    catalog_per_account: float = 0.5
    content_zipf: float = 1.05
    popularity_alpha: float = 1.1
    second_device_prob: float = 0.25
    mobile_heavy_fraction: float = 0.3
    home_only_fraction: float = 0.25
    vpn_fraction: float = 0.03
    cgnat_ips_per_million: int = 300
    n_carriers: int = 4
    signup_phone_prob: float = 0.3
    signup_email_prob: float = 0.5


@dataclass(frozen=True)
class LookalikeConfig:
    """Benign groups that look like rings to naive detectors.

    Sizes are inclusive ``(low, high)`` ranges; group sizes are drawn log-uniformly unless noted.
    Fractions are shares of all accounts; an account can be in one location group (household,
    office or campus, kiosk) and one social group (friend group, fan club) at the same time.

    Attributes:
        household_fraction: accounts living in multi-account households (shared home IP).
        household_size: members per household (uniform).
        household_tablet_prob: households with a shared family tablet (shared device).
        shared_device_use: share of a household member's home sessions on the family tablet.
        office_fraction: accounts that log in from an office IP on weekdays, working hours.
        office_size: employees per office (hundreds share one IP).
        office_session_share: share of an office worker's sessions made at the office.
        campus_fraction: accounts that log in from a campus NAT.
        campus_size: students per campus.
        campus_ips: NAT addresses per campus (uniform).
        campus_session_share: share of a student's sessions made on campus.
        friend_group_fraction: accounts in organic friend groups formed during the window.
        friend_group_size: members per friend group.
        friend_follow_prob: probability a member follows another (dense mutual follows).
        friend_like_prob: probability a member reacts to a friend's post (hours later).
        fanclub_fraction: accounts in fan clubs of one creator.
        fanclub_size: members per fan club.
        fanclub_posts: mean posts of the creator during the window.
        fanclub_react_prob: probability a member reacts to each creator post (within hours).
        fanclub_follow_prob: probability a member follows another member.
        viral_per_million: viral bursts (one video liked by thousands within an hour) per million
            accounts; at least one.
        viral_audience: share of active accounts that like a viral video (at least 15).
        surge_per_million: celebrity follow surges (a TV appearance) per million accounts; at least one.
        surge_audience: share of active accounts that follow the celebrity during the surge.
        kiosk_fraction: accounts that use a public kiosk device (library, internet cafe).
        kiosk_size: users per kiosk.
        kiosk_sessions: mean kiosk sessions per user, spread over weeks.
    """

    household_fraction: float = 0.35
    household_size: tuple[int, int] = (2, 6)
    household_tablet_prob: float = 0.5
    shared_device_use: float = 0.3
    office_fraction: float = 0.08
    office_size: tuple[int, int] = (20, 300)
    office_session_share: float = 0.4
    campus_fraction: float = 0.05
    campus_size: tuple[int, int] = (200, 2_000)
    campus_ips: tuple[int, int] = (2, 8)
    campus_session_share: float = 0.5
    friend_group_fraction: float = 0.06
    friend_group_size: tuple[int, int] = (5, 30)
    friend_follow_prob: float = 0.6
    friend_like_prob: float = 0.35
    fanclub_fraction: float = 0.01
    fanclub_size: tuple[int, int] = (20, 200)
    fanclub_posts: float = 5.0
    fanclub_react_prob: float = 0.5
    fanclub_follow_prob: float = 0.1
    viral_per_million: float = 15.0
    viral_audience: float = 0.004
    surge_per_million: float = 10.0
    surge_audience: float = 0.003
    kiosk_fraction: float = 0.003
    kiosk_size: tuple[int, int] = (15, 60)
    kiosk_sessions: float = 2.5


def _default_kind_weights() -> dict[str, float]:
    return {"device_farm": 0.3, "proxy_ring": 0.3, "stealth": 0.2, "pod": 0.2}


def _default_kind_sizes() -> dict[str, tuple[int, int]]:
    return {"device_farm": (10, 200), "proxy_ring": (8, 200), "stealth": (8, 120), "pod": (8, 60)}


@dataclass(frozen=True)
class RingConfig:
    """Bot rings.

    Attributes:
        size: overall inclusive bounds on ring size; sizes are log-uniform within each kind's range.
        kind_weights: share of rings of each kind (the first four rings are one of each kind).
        kind_sizes: per-kind inclusive size range, within ``size``.
        farm_accounts_per_device: accounts per emulator device in a device farm (uniform range).
        farm_ips: datacenter IPs per farm.
        farm_accounts_per_phone: accounts per reused phone number in a farm.
        farm_campaigns: campaigns per farm (uniform range).
        proxy_pool_per_member: residential proxy pool size per ring member.
        proxy_pool_benign_share: share of a proxy pool that are home IPs of benign users.
        proxy_campaigns: campaigns per proxy ring (uniform range).
        stealth_campaigns: campaigns per stealth ring (uniform range).
        stealth_participation: share of members in each stealth campaign (uniform range).
        pod_posts: mean posts per pod member in the window.
        pod_react_prob: share of other members reacting to each pod post (uniform range per pod).
        pod_follow_prob: probability a pod member follows another.
        campaign_spread: seconds over which the participating members of one campaign act. ``None``
            keeps each kind's own range (farm 60-300 s, proxy 120-420 s, stealth 180-600 s, drawn
            uniformly per ring); a range makes every kind draw its per-ring spread log-uniformly in
            it (farms still act in their fixed script order, evenly over the spread).
        participation: ``None`` keeps each kind's own share of members taking part in a campaign
            (farm 0.85-1, proxy 0.6-0.95, ``stealth_participation``); a range replaces all three
            (per ring, uniform; farm and proxy campaigns vary around the ring's value, clipped to
            [0.05, 1]; stealth campaigns draw uniformly in the range).
        pod_react_delay: range of the per-pod mean delay (seconds, uniform) of pod likes after the
            post (each like: 15 s + exponential with that mean); pod comments (30 s + exponential,
            mean 600 s at the default) scale by the range's midpoint over 240 s.
        camouflage: multiplier on bots' benign-looking activity: farm and proxy bots' idle logins
            (and the likes and follows attached to them) and the ordinary-life activity level of
            stealth and pod members. 0 = no camouflage at all.
    """

    size: tuple[int, int] = (8, 200)
    kind_weights: dict[str, float] = field(default_factory=_default_kind_weights)
    kind_sizes: dict[str, tuple[int, int]] = field(default_factory=_default_kind_sizes)
    farm_accounts_per_device: tuple[int, int] = (4, 15)
    farm_ips: tuple[int, int] = (2, 6)
    farm_accounts_per_phone: tuple[int, int] = (10, 40)
    farm_campaigns: tuple[int, int] = (6, 20)
    proxy_pool_per_member: float = 3.0
    proxy_pool_benign_share: float = 0.5
    proxy_campaigns: tuple[int, int] = (8, 25)
    stealth_campaigns: tuple[int, int] = (2, 5)
    stealth_participation: tuple[float, float] = (0.4, 0.8)
    pod_posts: float = 3.0
    pod_react_prob: tuple[float, float] = (0.6, 0.95)
    pod_follow_prob: float = 0.9
    campaign_spread: tuple[float, float] | None = None
    participation: tuple[float, float] | None = None
    pod_react_delay: tuple[float, float] = (120.0, 360.0)
    camouflage: float = 1.0

    def __post_init__(self) -> None:
        for name, (lo, hi) in (("size", self.size), *(("kind_sizes", b) for b in self.kind_sizes.values())):
            if not 2 <= lo <= hi:
                raise ValueError(f"rings.{name} must satisfy 2 <= low <= high, got {(lo, hi)}")
        spread, part, delay = self.campaign_spread, self.participation, self.pod_react_delay
        if spread is not None and not 0 < spread[0] <= spread[1]:
            raise ValueError(f"rings.campaign_spread must satisfy 0 < low <= high, got {spread}")
        if part is not None and not 0 < part[0] <= part[1] <= 1:
            raise ValueError(f"rings.participation must satisfy 0 < low <= high <= 1, got {part}")
        if not 0 < delay[0] <= delay[1]:
            raise ValueError(f"rings.pod_react_delay must satisfy 0 < low <= high, got {delay}")
        if self.camouflage < 0:
            raise ValueError(f"rings.camouflage must be non-negative, got {self.camouflage}")
        if not 0.0 <= self.proxy_pool_benign_share <= 1.0:
            raise ValueError(
                f"rings.proxy_pool_benign_share must be in [0, 1], got {self.proxy_pool_benign_share}"
            )


@dataclass(frozen=True)
class WorldConfig:
    """All knobs of a synthetic world. Same config -> byte-identical world.

    Attributes:
        n_accounts: accounts in the world (benign + bots), including dormant ones.
        seed: random seed; every component draws from its own stream derived from it.
        start: Unix seconds at which the observation window opens.
        window_days: length of the observation window; all events fall inside it.
        history_days: accounts outside the window were created up to this many days before it.
        bot_fraction: share of accounts in bot rings (the realised share is a little lower because
            the last ring is dropped when too little budget is left for a minimum-size ring).
        benign: ordinary activity knobs.
        lookalikes: benign look-alike group knobs.
        rings: bot ring knobs.
    """

    n_accounts: int = 100_000
    seed: int = 7
    start: int = DEFAULT_START
    window_days: int = 30
    history_days: int = 3 * 365
    bot_fraction: float = 0.02
    benign: BenignConfig = field(default_factory=BenignConfig)
    lookalikes: LookalikeConfig = field(default_factory=LookalikeConfig)
    rings: RingConfig = field(default_factory=RingConfig)

    def __post_init__(self) -> None:
        if self.n_accounts < 100:
            raise ValueError(f"n_accounts must be at least 100, got {self.n_accounts}")
        if self.seed < 0:
            raise ValueError(f"seed must be non-negative, got {self.seed}")
        if self.window_days < 7:
            raise ValueError(f"window_days must be at least 7, got {self.window_days}")
        if not 0.0 <= self.bot_fraction <= 0.2:
            raise ValueError(f"bot_fraction must be in [0, 0.2], got {self.bot_fraction}")
        lo, hi = self.rings.size
        if not 2 <= lo <= hi:
            raise ValueError(f"rings.size must satisfy 2 <= low <= high, got {self.rings.size}")
        if set(self.rings.kind_weights) - set(RING_KINDS):
            raise ValueError(f"unknown ring kinds in kind_weights: {sorted(self.rings.kind_weights)}")

    @property
    def end(self) -> int:
        """Unix seconds at which the window closes (exclusive)."""
        return self.start + self.window_days * DAY
