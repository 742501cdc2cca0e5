"""Login sessions of ordinary (profile-driven) accounts: when, on which device, from which IP.

Used for benign accounts and for the benign-looking life of stealth and pod members. Each session
is one login (a device row and an IP row with the same timestamp); the account's other actions are
then attached to its sessions (see :mod:`.activity`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .buffer import EventBuffer, Registries
from .config import DAY, WorldConfig
from .groups import Groups
from .population import Population
from .profiles import WORK_CAMPUS, WORK_OFFICE, Profile
from .rand import child_rng, diurnal_times, hour_cdf

_OFFICE_HOURS = hour_cdf(range(8, 19))
_CAMPUS_HOURS = hour_cdf(range(8, 23))
_KIOSK_HOURS = hour_cdf(range(9, 21))


@dataclass
class Sessions:
    """Sessions grouped by account.

    Attributes:
        account, ts, device, ip: int64 [m], one session per row, rows grouped by account.
        first: int64 [n], first row of each account's sessions.
        count: int64 [n], sessions of each account.
    """

    account: np.ndarray
    ts: np.ndarray
    device: np.ndarray
    ip: np.ndarray
    first: np.ndarray
    count: np.ndarray

    def pick(self, account: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A random session row of each given account (each must have at least one session)."""
        k = np.floor(rng.random(account.size) * self.count[account]).astype(np.int64)
        return self.first[account] + k


def _weekdays(cfg: WorldConfig) -> np.ndarray:
    """Day numbers (0 = first window day) that are Monday-Friday."""
    day = np.arange(cfg.window_days)
    weekday = ((cfg.start // DAY) + 3 + day) % 7  # 1970-01-01 was a Thursday: weekday 3 (Mon = 0)
    return day[weekday < 5]


def make_sessions(
    cfg: WorldConfig,
    pop: Population,
    prof: Profile,
    kiosks: Groups,
    reg: Registries,
    accounts: np.ndarray,
    n_sessions: np.ndarray,
) -> Sessions:
    """Draws the sessions of ``accounts`` (``n_sessions`` each) plus kiosk sessions of kiosk users.

    Args:
        cfg: world config.
        pop: population (creation time, time zone).
        prof: login habits.
        kiosks: kiosk user groups; each kiosk gets one device and one public IP.
        reg: registries (kiosk devices and IPs are allocated here).
        accounts: int64 [k], accounts living an ordinary life.
        n_sessions: int64 [k], sessions of each.
    """
    rng = child_rng(cfg.seed, "sessions")
    n_days = cfg.window_days
    acct = np.repeat(accounts, n_sessions)
    m = acct.size
    created = pop.created[acct]
    first_day = np.maximum((created - cfg.start) // DAY, 0)
    tz = pop.tz[acct]
    ts = diurnal_times(rng, cfg.start, n_days, first_day, tz)

    # Device: a second own device sometimes; the family tablet for some home sessions.
    device = prof.dev_main[acct].copy()
    u = rng.random(m)
    alt = u < prof.p_alt[acct]
    device[alt] = prof.dev_alt[acct[alt]]

    # IP: mobile data (carrier NAT), else VPN for the few who use one, else the home IP.
    r = rng.random(m)
    p_mob = prof.p_mobile[acct]
    mobile = r < p_mob
    vpn = ~mobile & (r < p_mob + prof.p_vpn[acct] * (1.0 - p_mob))
    home = ~mobile & ~vpn
    ip = prof.ip_home[acct].copy()
    ip[mobile] = prof.mobile_ip(acct[mobile], rng)
    ip[vpn] = prof.vpn_ips[rng.integers(0, prof.vpn_ips.size, int(vpn.sum()))]
    tablet = home & ~alt & (rng.random(m) < prof.p_shared[acct])
    device[tablet] = prof.dev_shared[acct[tablet]]

    # Work / campus sessions: at the work place's IP, in working hours (offices: weekdays only).
    work = (prof.work_kind[acct] != 0) & (rng.random(m) < prof.p_work[acct])
    office = work & (prof.work_kind[acct] == WORK_OFFICE)
    campus = work & (prof.work_kind[acct] == WORK_CAMPUS)
    weekdays = _weekdays(cfg)
    k = int(office.sum())
    day = weekdays[rng.integers(0, weekdays.size, k)]
    hour = np.searchsorted(_OFFICE_HOURS, rng.random(k), side="right")
    ts[office] = cfg.start + day * DAY + (hour - tz[office]) * 3600 + rng.integers(0, 3600, k)
    ts[campus] = diurnal_times(rng, cfg.start, n_days, first_day[campus], tz[campus], _CAMPUS_HOURS)
    a_work = acct[work]
    ip[work] = prof.work_ip[a_work] + rng.integers(0, 1 << 30, a_work.size) % prof.work_ip_n[a_work]
    device[work] = prof.dev_main[a_work]

    # A session cannot precede the account; push such sessions just after creation.
    early = ts < created
    ts[early] = created[early] + rng.integers(60, 4 * 3600, int(early.sum()))

    # Kiosk sessions: public device + public IP, opening hours, spread over the weeks.
    kiosk_dev = reg.device.alloc(kiosks.n_groups)
    kiosk_ip = reg.ip.alloc(kiosks.n_groups, "public")
    n_k = np.maximum(rng.poisson(cfg.lookalikes.kiosk_sessions, kiosks.members.size), 1)
    k_acct = np.repeat(kiosks.members, n_k)
    k_group = np.repeat(kiosks.group_of, n_k)
    k_created = pop.created[k_acct]
    k_first = np.maximum((k_created - cfg.start) // DAY, 0)
    k_ts = diurnal_times(rng, cfg.start, n_days, k_first, pop.tz[k_acct], _KIOSK_HOURS)
    k_ts = np.maximum(k_ts, k_created + 60)

    acct = np.concatenate([acct, k_acct])
    ts = np.concatenate([ts, k_ts])
    device = np.concatenate([device, kiosk_dev[k_group]])
    ip = np.concatenate([ip, kiosk_ip[k_group]])
    order = np.argsort(acct, kind="stable")
    acct, ts, device, ip = acct[order], ts[order], device[order], ip[order]
    count = np.bincount(acct, minlength=pop.n).astype(np.int64)
    first = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
    return Sessions(acct, ts, device, ip, first, count)


def emit_logins(buf: EventBuffer, sess: Sessions) -> None:
    """Writes each session as a login: device row + IP row, same timestamp."""
    buf.add_pair(sess.account, sess.ts, "login", ("device", sess.device), ("ip", sess.ip))
