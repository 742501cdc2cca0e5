"""Where and on what each account logs in: devices, home IP, mobile carrier, VPN, work place.

A profile is built for every account; device farms and proxy rings ignore theirs and use the
ring's own infrastructure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .buffer import Registries
from .config import WorldConfig
from .lookalikes import Lookalikes
from .population import Population
from .rand import child_rng, exclusive_cumsum, uniform_int

WORK_NONE, WORK_OFFICE, WORK_CAMPUS = 0, 1, 2


@dataclass
class Profile:
    """Per-account login habits, int arrays of length n (-1 = none).

    Attributes:
        dev_main: the account's own phone or computer.
        dev_alt: a second own device, or -1.
        dev_shared: the household's family tablet, or -1.
        p_alt: share of sessions on ``dev_alt``.
        p_shared: share of home sessions on ``dev_shared``.
        ip_home: home IP (shared by the household).
        p_mobile: share of sessions over mobile data (carrier NAT IPs).
        carrier: the account's mobile carrier.
        p_vpn: share of sessions through a commercial VPN (0 for most).
        work_kind: ``WORK_NONE``, ``WORK_OFFICE`` or ``WORK_CAMPUS``.
        work_ip: first IP of the office / campus, or -1.
        work_ip_n: number of IPs of the office / campus (sessions pick one at random).
        p_work: share of sessions made at work / on campus.
        carrier_ips: int64 [n_carriers, pool], the NAT IPs of each carrier.
        vpn_ips: int64 [k], the commercial VPN exit IPs (datacenter ranges).
    """

    dev_main: np.ndarray
    dev_alt: np.ndarray
    dev_shared: np.ndarray
    p_alt: np.ndarray
    p_shared: np.ndarray
    ip_home: np.ndarray
    p_mobile: np.ndarray
    carrier: np.ndarray
    p_vpn: np.ndarray
    work_kind: np.ndarray
    work_ip: np.ndarray
    work_ip_n: np.ndarray
    p_work: np.ndarray
    carrier_ips: np.ndarray
    vpn_ips: np.ndarray

    def mobile_ip(self, account: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A random NAT IP of each account's carrier (carriers rotate addresses per connection)."""
        pool = self.carrier_ips.shape[1]
        return self.carrier_ips[self.carrier[account], rng.integers(0, pool, account.size)]


def make_profile(cfg: WorldConfig, pop: Population, la: Lookalikes, reg: Registries) -> Profile:
    """Allocates devices and IPs and draws each account's login habits."""
    rng = child_rng(cfg.seed, "profiles")
    b, lc = cfg.benign, cfg.lookalikes
    n = pop.n

    dev_main = reg.device.alloc(n)
    has_alt = rng.random(n) < b.second_device_prob
    dev_alt = np.full(n, -1, dtype=np.int64)
    dev_alt[has_alt] = reg.device.alloc(int(has_alt.sum()))
    p_alt = np.where(has_alt, rng.uniform(0.1, 0.5, n), 0.0)

    # Home IPs: one per household, one per account living alone.
    ip_home = reg.ip.alloc(n, "residential")
    hh = la.households
    hh_ip = reg.ip.alloc(hh.n_groups, "residential")
    ip_home[hh.members] = hh_ip[hh.group_of]
    dev_shared = np.full(n, -1, dtype=np.int64)
    tablets = np.flatnonzero(la.household_tablet)
    tablet_dev = np.full(hh.n_groups, -1, dtype=np.int64)
    tablet_dev[tablets] = reg.device.alloc(tablets.size)
    dev_shared[hh.members] = tablet_dev[hh.group_of]
    p_shared = np.where(dev_shared >= 0, lc.shared_device_use, 0.0)

    # Mobile habits: some live on mobile data, some almost never use it.
    u = rng.random(n)
    heavy = u < b.mobile_heavy_fraction
    home_only = u > 1.0 - b.home_only_fraction
    p_mobile = np.where(heavy, 0.85, np.where(home_only, 0.03, 0.4))
    n_car = max(b.n_carriers, 1)
    pool = max(4, round(b.cgnat_ips_per_million * n / 1e6 / n_car))
    carrier_ips = reg.ip.alloc(n_car * pool, "mobile").reshape(n_car, pool)
    carrier = rng.integers(0, n_car, n)

    vpn_ips = reg.ip.alloc(max(4, n // 20_000), "datacenter")
    p_vpn = np.where(rng.random(n) < b.vpn_fraction, 0.5, 0.0)

    work_kind = np.zeros(n, dtype=np.int8)
    work_ip = np.full(n, -1, dtype=np.int64)
    work_ip_n = np.ones(n, dtype=np.int64)
    p_work = np.zeros(n)
    off = la.offices
    office_ip = reg.ip.alloc(off.n_groups, "office")
    work_kind[off.members] = WORK_OFFICE
    work_ip[off.members] = office_ip[off.group_of]
    p_work[off.members] = lc.office_session_share
    cam = la.campuses
    n_ips = uniform_int(rng, lc.campus_ips, cam.n_groups)
    campus_ips = reg.ip.alloc(int(n_ips.sum()), "campus")
    first = exclusive_cumsum(n_ips) + (campus_ips[0] if campus_ips.size else 0)
    work_kind[cam.members] = WORK_CAMPUS
    work_ip[cam.members] = first[cam.group_of]
    work_ip_n[cam.members] = n_ips[cam.group_of]
    p_work[cam.members] = lc.campus_session_share

    return Profile(
        dev_main=dev_main,
        dev_alt=dev_alt,
        dev_shared=dev_shared,
        p_alt=p_alt,
        p_shared=p_shared,
        ip_home=ip_home,
        p_mobile=p_mobile,
        carrier=carrier,
        p_vpn=p_vpn,
        work_kind=work_kind,
        work_ip=work_ip,
        work_ip_n=work_ip_n,
        p_work=p_work,
        carrier_ips=carrier_ips,
        vpn_ips=vpn_ips,
    )
