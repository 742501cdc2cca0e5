"""Small hand-made logs for the graph tests: row builders, a background of ordinary activity, look-ups.

Synchrony relations (``coaction``, ``id_time``) are judged against the chance level of the log itself
(:mod:`graphs.synchrony`), so a log holding only a planted pair has no reference and nothing in it is
significant. :func:`background_rows` supplies that reference: ordinary accounts that log in from their
own device and a household IP and like popular content at random times. Tests plant their accounts
next to it and assert only on the planted ones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from graphs.events import EventLog
from graphs.graph import AccountGraph

T0 = 1_700_000_000  # a Tuesday in November 2023, 22:13 UTC
MIN, HOUR, DAY = 60, 3600, 86400

Row = tuple[str, int, str, str, str]  # (account_id, timestamp, action, entity_type, entity_id)
COLUMNS = ["account_id", "timestamp", "action", "entity_type", "entity_id"]


def make_log(rows: list[Row]) -> EventLog:
    """A log from (account_id, timestamp, action, entity_type, entity_id) rows."""
    return EventLog.from_frame(pd.DataFrame(rows, columns=COLUMNS))


def login(acc: str, t: int, device: str, ip: str) -> list[Row]:
    """A login: one device row and one IP row at the same instant."""
    return [(acc, t, "login", "device", device), (acc, t, "login", "ip", ip)]


def background_rows(
    n_accounts: int,
    seed: int = 0,
    *,
    days: int = 30,
    logins: float = 20.0,
    likes: float = 15.0,
    n_posts: int | None = None,
    household: int = 3,
    t0: int = T0,
    prefix: str = "bg",
) -> list[Row]:
    """Ordinary activity over ``days`` days: the chance level the synchrony tests compare against.

    Account ``<prefix>NNNN`` logs in about ``logins`` times (Poisson) at random times, each time from its
    own device ``<prefix>dev-NNNN`` and its household's IP ``<prefix>ip-HHHH`` (``household``
    consecutive accounts share one), and likes about ``likes`` posts (heavy-tailed activity, lognormal)
    of ``n_posts`` Zipf-popular posts ``<prefix>post-KKKK`` at random times. Nothing is synchronised
    beyond chance, except that household members share an IP at any time.
    """
    rng = np.random.default_rng(seed)
    n_posts = n_posts or 3 * n_accounts
    width = max(4, len(str(n_accounts)))
    ids = np.array([f"{prefix}{i:0{width}d}" for i in range(n_accounts)], dtype=object)
    span = days * DAY
    # Logins: device and household IP rows at one instant.
    n_log = rng.poisson(logins, n_accounts)
    la = np.repeat(np.arange(n_accounts), n_log)
    lt = t0 + rng.integers(0, span, la.size)
    devices = np.array([f"{prefix}dev-{i:0{width}d}" for i in range(n_accounts)], dtype=object)
    ips = np.array([f"{prefix}ip-{i // household:0{width}d}" for i in range(n_accounts)], dtype=object)
    # Likes: heavy-tailed account activity, Zipf-popular posts.
    act = rng.lognormal(0.0, 1.0, n_accounts)
    n_likes = int(round(likes * n_accounts))
    ka = rng.choice(n_accounts, n_likes, p=act / act.sum())
    pop = 1.0 / np.arange(1, n_posts + 1) ** 1.05
    kp = rng.choice(n_posts, n_likes, p=pop / pop.sum())
    kt = t0 + rng.integers(0, span, n_likes)
    posts = np.array([f"{prefix}post-{k:0{width}d}" for k in range(n_posts)], dtype=object)
    rows: list[Row] = []
    for a, t in zip(la.tolist(), lt.tolist(), strict=True):
        rows.append((ids[a], t, "login", "device", devices[a]))
        rows.append((ids[a], t, "login", "ip", ips[a]))
    rows += [
        (ids[a], t, "like", "content", posts[k])
        for a, k, t in zip(ka.tolist(), kp.tolist(), kt.tolist(), strict=True)
    ]
    return rows


def _pair(ids: np.ndarray, s: int, d: int) -> tuple[str, str]:
    a, b = str(ids[s]), str(ids[d])
    return (a, b) if a <= b else (b, a)


def edges(
    graph: AccountGraph, relation: str, among: set[str] | None = None, key: str | None = None
) -> dict[tuple[str, str], float]:
    """``{(id, id) sorted: weight}`` of one relation (or a canonical kind), or of evidence ``key``.

    With ``among`` only pairs whose both accounts are in it (the planted accounts of a fixture).
    """
    rel = graph.relation(relation)
    values = rel.weight if key is None else rel.evidence[key]
    ids = graph.account_ids
    out = {}
    for s, d, v in zip(rel.src.tolist(), rel.dst.tolist(), values.tolist(), strict=True):
        pair = _pair(ids, s, d)
        if among is None or (pair[0] in among and pair[1] in among):
            out[pair] = float(v)
    return out


def evidence(
    graph: AccountGraph, relation: str, key: str, among: set[str] | None = None
) -> dict[tuple[str, str], float]:
    """``{(id, id) sorted: evidence value}`` of one relation."""
    return edges(graph, relation, among, key=key)


def feature(graph: AccountGraph, account: str, name: str) -> float:
    """One feature of one account."""
    return float(graph.features[graph.codes_of([account])[0], graph.feature_names.index(name)])
