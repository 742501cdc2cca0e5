"""Regimes: named families of synthetic worlds that differ from the default platform.

The default :class:`~.config.WorldConfig` describes one platform: rings coordinate within minutes,
accounts are seen through devices, IPs, phones and e-mail domains, timestamps are to the second. A
detector tuned on it may silently depend on all of that. A *regime* is a range of worlds that
breaks one assumption (coordination over seconds, hours or a day; day-granularity timestamps; only
devices and IPs; other entity and action names and extra identifiers; very big, very small or well
camouflaged rings). Each regime draws its knobs at random from wide ranges, so two seeds of one
regime are two different platforms of that kind.

Example:
    >>> from graphs.synthetic.regimes import REGIMES, generate_regime_world
    >>> list(REGIMES)[:3]
    ['minutes', 'seconds', 'hours']
    >>> world = generate_regime_world("hours", n_accounts=5_000, seed=1)

``Regime.draw(seed, n_accounts)`` gives the ``(WorldConfig, Transform)`` pair behind a world; the
config's seed is derived from ``(seed, regime name)`` so different regimes never share a population
(nor account ids). :func:`apply_transform` post-processes any generated :class:`~.world.World`
(drop entity types, rename types and actions, add identifiers, coarsen timestamps).

See docs/synthetic_world.md ("Regimes") for the table of regimes and their ranges.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from .assemble import categorical, id_key
from .config import DAY, HOUR, RING_KINDS, BenignConfig, RingConfig, WorldConfig
from .ids import hex_ids
from .rand import child_rng, exclusive_cumsum
from .world import World, generate_world

EXTRA_IDENTIFIERS: tuple[str, ...] = ("payment", "cookie", "avatar_hash")
# Id prefix of each extra identifier (rows: purchase / the login's action / profile_update).
_PREFIX = {"payment": "p", "cookie": "k", "avatar_hash": "h"}
_FRESH_KINDS = ("device_farm", "proxy_ring")  # rings whose accounts reuse cards and stock photos


@dataclass(frozen=True)
class Transform:
    """Post-processing of a generated world; the defaults change nothing.

    Steps, in this order (names are the generator's, see ``config.ACTIONS`` / ``ENTITY_TYPES``):
    add ``extra_identifiers``, drop the rows of ``drop_types``, rename types and actions, floor
    timestamps to ``time_granularity``. Events stay sorted by timestamp, login device/IP pairs stay
    adjacent, and every categorical's categories are the values present (action keeps the
    generator's full list).

    Attributes:
        drop_types: entity types whose rows are removed, e.g. ``("phone", "email_domain")``.
        rename_types: ``(old, new)`` entity type names, e.g. ``(("device", "hwid"),)``. Entity ids
            are untouched: a renamed ``account`` type still names accounts by their account id.
        rename_actions: ``(old, new)`` action names, e.g. ``(("like", "upvote"),)``.
        extra_identifiers: any of ``"payment"`` (purchase rows with a card), ``"cookie"`` (a cookie
            row with every login), ``"avatar_hash"`` (one profile_update row per account); see
            :func:`apply_transform`.
        time_granularity: seconds; every timestamp (events and ``created_at``) is floored to a
            multiple of it counted from the Unix epoch (86400: the UTC day).
    """

    drop_types: tuple[str, ...] = ()
    rename_types: tuple[tuple[str, str], ...] = ()
    rename_actions: tuple[tuple[str, str], ...] = ()
    extra_identifiers: tuple[str, ...] = ()
    time_granularity: int = 1

    def __post_init__(self) -> None:
        unknown = set(self.extra_identifiers) - set(EXTRA_IDENTIFIERS)
        if unknown:
            raise ValueError(f"unknown extra identifiers {sorted(unknown)}; known: {EXTRA_IDENTIFIERS}")
        if int(self.time_granularity) < 1:
            raise ValueError(f"time_granularity must be at least 1 second, got {self.time_granularity}")
        for pairs in (self.rename_types, self.rename_actions):
            if any(len(p) != 2 for p in pairs):
                raise ValueError(f"renames must be (old, new) pairs, got {pairs}")

    @property
    def is_identity(self) -> bool:
        """True when the transform changes nothing."""
        return self == Transform()


# A regime's sampler: (parameter stream, world seed, n_accounts) -> (config, transform).
Sampler = Callable[[np.random.Generator, int, int], tuple[WorldConfig, Transform]]


@dataclass(frozen=True)
class Regime:
    """A named range of worlds.

    Attributes:
        name: key in :data:`REGIMES`.
        description: one sentence: what differs from the default world, with the ranges drawn.
        sampler: draws one world's config and transform (use :meth:`draw`).
    """

    name: str
    description: str
    sampler: Sampler = field(repr=False, compare=False)

    def draw(self, seed: int, n_accounts: int) -> tuple[WorldConfig, Transform]:
        """The config and transform of world ``seed`` of this regime; deterministic in its arguments.

        Parameters are drawn from ``numpy.random.default_rng((seed, crc32(name)))``; the first draw
        is the world seed, so two regimes with the same ``seed`` have unrelated populations.
        """
        if seed < 0:
            raise ValueError(f"seed must be non-negative, got {seed}")
        rng = np.random.default_rng((seed, zlib.crc32(self.name.encode())))
        world_seed = int(rng.integers(0, 2**31 - 1))
        return self.sampler(rng, world_seed, n_accounts)


def _uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _spread_around(rng: np.random.Generator, lo: float, hi: float) -> tuple[float, float]:
    """A world's campaign spread range: a centre log-uniform in ``[lo, hi]``, then x0.5 to x2 of it."""
    x = _log_uniform(rng, lo, hi)
    return (max(lo, x / 2), min(hi, 2 * x))


def _all_kinds(bounds: tuple[int, int]) -> dict[str, tuple[int, int]]:
    return dict.fromkeys(RING_KINDS, bounds)


def _config(
    seed: int,
    n: int,
    benign: dict | None = None,
    rings: dict | None = None,
    **world: object,
) -> WorldConfig:
    return WorldConfig(
        n_accounts=n,
        seed=seed,
        benign=BenignConfig(**(benign or {})),
        rings=RingConfig(**(rings or {})),
        **world,
    )


def _activity(rng: np.random.Generator) -> dict:
    """Mild variation of benign activity shared by most regimes."""
    return {"sessions_per_account": _uniform(rng, 1.5, 2.5)}


def _minutes(rng: np.random.Generator, seed: int, n: int) -> tuple[WorldConfig, Transform]:
    return _config(seed, n, benign=_activity(rng)), Transform()


def _seconds(rng: np.random.Generator, seed: int, n: int) -> tuple[WorldConfig, Transform]:
    rings = {"campaign_spread": (5.0, 60.0), "pod_react_delay": (10.0, 40.0)}
    return _config(seed, n, benign=_activity(rng), rings=rings), Transform()


def _hours(rng: np.random.Generator, seed: int, n: int) -> tuple[WorldConfig, Transform]:
    rings = {
        "campaign_spread": (1.0 * HOUR, 6.0 * HOUR),
        "participation": (0.6, 0.9),
        "pod_react_delay": (0.5 * HOUR, 3.0 * HOUR),
    }
    return _config(seed, n, benign=_activity(rng), rings=rings), Transform()


def _day(rng: np.random.Generator, seed: int, n: int) -> tuple[WorldConfig, Transform]:
    rings = {
        "campaign_spread": (6.0 * HOUR, 24.0 * HOUR),
        "participation": (0.5, 0.9),
        "pod_react_delay": (3.0 * HOUR, 12.0 * HOUR),
    }
    return _config(seed, n, benign=_activity(rng), rings=rings), Transform(time_granularity=DAY)


def _sparse_ids(rng: np.random.Generator, seed: int, n: int) -> tuple[WorldConfig, Transform]:
    benign = _activity(rng)
    rings = {"campaign_spread": _spread_around(rng, 60.0, 4.0 * HOUR)}
    # No phone, no e-mail domain, and no follows or messages either (half of the worlds): a log of
    # logins and likes only.
    drop = ("phone", "email_domain", "account") if rng.random() < 0.5 else ("phone", "email_domain")
    return _config(seed, n, benign=benign, rings=rings), Transform(drop_types=drop)


def _many_ids(rng: np.random.Generator, seed: int, n: int) -> tuple[WorldConfig, Transform]:
    t = Transform(
        extra_identifiers=EXTRA_IDENTIFIERS,
        rename_types=(("device", "hwid"), ("ip", "ip_addr"), ("content", "item"), ("account", "user")),
        rename_actions=(("like", "upvote"), ("login", "session_start"), ("follow", "subscribe")),
    )
    return _config(seed, n, benign=_activity(rng)), t


def _big_rings(rng: np.random.Generator, seed: int, n: int) -> tuple[WorldConfig, Transform]:
    benign = _activity(rng)
    rings = {
        "size": (50, 500),
        "kind_sizes": _all_kinds((50, 500)),
        "participation": (0.3, 0.6),
        "pod_react_prob": (0.3, 0.6),  # a pod of 500 does not all like every post either
    }
    return _config(seed, n, benign=benign, rings=rings, bot_fraction=_uniform(rng, 0.04, 0.06)), Transform()


def _camouflage(rng: np.random.Generator, seed: int, n: int) -> tuple[WorldConfig, Transform]:
    benign = _activity(rng)
    rings = {
        "camouflage": _uniform(rng, 3.0, 5.0),
        "participation": (0.3, 0.5),
        "proxy_pool_benign_share": 1.0,
        "kind_weights": {"device_farm": 0.2, "proxy_ring": 0.2, "stealth": 0.4, "pod": 0.2},
        "campaign_spread": _spread_around(rng, 300.0, 3.0 * HOUR),
    }
    return _config(seed, n, benign=benign, rings=rings), Transform()


def _quiet(rng: np.random.Generator, seed: int, n: int) -> tuple[WorldConfig, Transform]:
    benign = {"sessions_per_account": _uniform(rng, 0.6, 1.0), "likes_per_session": 0.6}
    rings = {"size": (5, 15), "kind_sizes": _all_kinds((5, 15))}
    return _config(seed, n, benign=benign, rings=rings, bot_fraction=0.01), Transform()


_ACT = "benign sessions_per_account 1.5-2.5"
REGIMES: dict[str, Regime] = {
    r.name: r
    for r in (
        Regime(
            "minutes",
            f"The default platform (rings coordinate within minutes), {_ACT}.",
            _minutes,
        ),
        Regime(
            "seconds",
            f"Campaign members act within 5-60 s (per ring, log-uniform) and pods react after "
            f"10-40 s on average; {_ACT}.",
            _seconds,
        ),
        Regime(
            "hours",
            f"Paid-to-look-organic rings: campaigns spread over 1-6 h, 60-90% of members take part, "
            f"pods react after 0.5-3 h on average; {_ACT}.",
            _hours,
        ),
        Regime(
            "day",
            f"Review-site-like: campaigns spread over 6-24 h, 50-90% take part, pods react after "
            f"3-12 h, and every timestamp is floored to the UTC day; {_ACT}.",
            _day,
        ),
        Regime(
            "sparse_ids",
            f"Only devices and IPs are logged (no phone, no e-mail domain rows; in half of the worlds no "
            f"follows or messages either); campaign spreads "
            f"x0.5-x2 around a per-world centre log-uniform in 1 min-4 h; {_ACT}.",
            _sparse_ids,
        ),
        Regime(
            "many_ids",
            f"Payment cards, cookies and avatar hashes are logged too, and types and actions have "
            f"other names (hwid, ip_addr, item, user; upvote, session_start, subscribe); {_ACT}.",
            _many_ids,
        ),
        Regime(
            "big_rings",
            f"Rings of 50-500 accounts of every kind, 4-6% of accounts are bots, 30-60% take part in "
            f"each campaign (pods: 30-60% react to each post); {_ACT}.",
            _big_rings,
        ),
        Regime(
            "camouflage",
            f"Well-hidden rings: 3-5x the bots' benign-looking activity, 30-50% participation, proxies "
            f"exit only through real users' home IPs, 40% of rings stealth, campaign spreads x0.5-x2 "
            f"around a per-world centre log-uniform in 5 min-3 h; {_ACT}.",
            _camouflage,
        ),
        Regime(
            "reviews",
            "A review platform, not a social one (graphs/synthetic/reviews.py): accounts rate products "
            "1-5, timestamps are whole days, most accounts write one review; opinion-spam rings of "
            "5-60 fresh accounts boost or attack a product in 1-10-day bursts.",
            lambda rng, seed, n: (WorldConfig(n_accounts=max(n, 100), seed=seed), Transform()),
        ),
        Regime(
            "quiet",
            "A quiet platform: benign sessions_per_account 0.6-1.0, 0.6 likes per session, rings of "
            "5-15 accounts of every kind, 1% bots.",
            _quiet,
        ),
    )
}


#: Regimes whose worlds the shipped models (structural scorer, default GNN) are fitted on, and on
#: which defaults may be chosen. Every other regime is held out: never used for any choice, only for
#: measuring (``python -m bench.robustness``).
FIT_REGIMES: tuple[str, ...] = ("minutes", "seconds", "day", "sparse_ids", "big_rings", "reviews")
HELD_OUT_REGIMES: tuple[str, ...] = tuple(r for r in REGIMES if r not in FIT_REGIMES)


def generate_regime_world(name: str, n_accounts: int, seed: int) -> World:
    """World ``seed`` of regime ``name``: ``REGIMES[name].draw`` + ``generate_world`` + transform.

    Example:
        >>> w = generate_regime_world("many_ids", n_accounts=2_000, seed=3)
        >>> "hwid" in set(w.events["entity_type"])
        True
    """
    if name not in REGIMES:
        raise ValueError(f"unknown regime {name!r}; known: {list(REGIMES)}")
    if name == "reviews":
        from .reviews import generate_review_world

        return generate_review_world(n_accounts, seed)
    cfg, t = REGIMES[name].draw(seed, n_accounts)
    return apply_transform(generate_world(cfg), t, cfg.seed)


# ---------------------------------------------------------------------------------------------------
# Transforms


@dataclass
class _Rows:
    """New event rows, by event-table code: inserted right after the old row ``anchor``."""

    anchor: np.ndarray
    account: np.ndarray
    ts: np.ndarray
    action: str
    etype: str
    entity: np.ndarray  # local index within the new entity type


def apply_transform(world: World, t: Transform, seed: int) -> World:
    """Applies ``t`` to ``world`` (see :class:`Transform`); deterministic in ``(world, t, seed)``.

    Extra identifiers are derived from the world's labels and events (ids are opaque hex strings
    like the generator's, ``p``/``k``/``h`` + 10 hex digits, from a seeded bijection; vocabularies
    are ordered by spelling):

    - ``payment``: purchase rows (entity type ``payment``) at random times of active accounts, a
      few minutes after one of their events. Farm and proxy bots: one card per 5-20 members of the
      ring, 70% of them buy. Everyone else: 30% buy, with an own card, except that 2% of buyers
      use another random buyer's card. Buyers make 1-5 purchases.
    - ``cookie``: every login device row gets a cookie row (same account, timestamp and action,
      right after the login's IP row) whose id is per (account, device); on farm emulators 50% of
      logins carry the emulator's shared cookie (not reset between accounts), on kiosk devices
      (every user labelled ``kiosk``, at least 5 users) 30% the kiosk's shared cookie.
    - ``avatar_hash``: one profile_update row per active account at its first event: unique hashes,
      except that 10% of accounts use one of 20 stock avatars, and 60% of farm and proxy bots use
      one of their ring's stock photos (one per 3-10 members).

    Returns:
        A new World (``labels`` shared with the input); the input itself when ``t`` is the identity.
    """
    if t.is_identity:
        return world
    ev = world.events
    cols = ("account_id", "action", "entity_type", "entity_id")
    code = {c: ev[c].cat.codes.to_numpy().astype(np.int64) for c in cols}
    cats = {c: ev[c].cat.categories for c in cols}
    ts = ev["timestamp"].to_numpy().astype(np.int64)
    action_names = [str(x) for x in cats["action"]]
    etype_names = [str(x) for x in cats["entity_type"]]
    ent_vocab = _large(pa.array(cats["entity_id"]))
    acc_vocab = _large(pa.array(cats["account_id"]))

    # 1. Extra identifiers, as rows anchored after existing rows.
    new_rows: list[_Rows] = []
    new_vocab: dict[str, pa.Array] = {}
    if t.extra_identifiers:
        ctx = _Context(world, code, ts, action_names, etype_names, seed)
        # A fixed order (the result does not depend on the tuple's); cookies first, so that a cookie
        # row stays right after its login's IP row when other new rows share the second.
        for name in ("cookie", "payment", "avatar_hash"):
            if name in t.extra_identifiers:
                rows, n_ids = getattr(ctx, name)()
                new_vocab[name], rank = _opaque_vocab(name, n_ids, seed)
                rows.entity = rank[rows.entity]
                new_rows.append(rows)
    if new_rows:
        for rows in new_rows:
            if rows.action not in action_names:
                action_names.append(rows.action)
            if rows.etype not in etype_names:
                etype_names.append(rows.etype)
        # Old rows keep their order; new rows go right after their anchor, by time, then stably.
        n_old = ts.size
        anchor = np.concatenate([r.anchor for r in new_rows])
        new_ts = np.concatenate([r.ts for r in new_rows])
        new_order = np.lexsort((new_ts, anchor))
        before = exclusive_cumsum(np.bincount(anchor, minlength=n_old))  # new rows ahead of each old row
        old_dest = np.arange(n_old) + before
        new_dest = np.empty(anchor.size, dtype=np.int64)
        new_dest[new_order] = anchor[new_order] + 1 + np.arange(anchor.size)

        def merged(old: np.ndarray, new: np.ndarray) -> np.ndarray:
            out = np.empty(n_old + new.size, dtype=np.result_type(old, new))
            out[old_dest] = old
            out[new_dest] = new
            return out

        offsets, off = {}, len(ent_vocab)
        for name, vocab in new_vocab.items():
            offsets[name] = off
            off += len(vocab)
        ent_vocab = pa.concat_arrays([ent_vocab] + [_large(v) for v in new_vocab.values()])
        parts = {
            "account_id": [r.account for r in new_rows],
            "action": [np.full(r.ts.size, action_names.index(r.action)) for r in new_rows],
            "entity_type": [np.full(r.ts.size, etype_names.index(r.etype)) for r in new_rows],
            "entity_id": [r.entity + offsets[r.etype] for r in new_rows],
        }
        code = {c: merged(code[c], np.concatenate(parts[c])) for c in cols}
        ts = merged(ts, new_ts)

    # 2. Dropped entity types.
    drop = [etype_names.index(x) for x in t.drop_types if x in etype_names]
    if drop:
        keep = ~np.isin(code["entity_type"], drop)
        code = {c: v[keep] for c, v in code.items()}
        ts = ts[keep]
        remap = np.cumsum([i not in drop for i in range(len(etype_names))]) - 1
        code["entity_type"] = remap[code["entity_type"]]
        etype_names = [x for i, x in enumerate(etype_names) if i not in drop]
    code["entity_id"], ent_vocab = _compact(code["entity_id"], ent_vocab)
    code["account_id"], acc_vocab = _compact(code["account_id"], acc_vocab)

    # 3. Renames.
    etype_names = _rename(etype_names, t.rename_types, "entity type")
    action_names = _rename(action_names, t.rename_actions, "action")

    # 4. Time granularity (floor is monotone: the order stays sorted).
    accounts = world.accounts
    g = int(t.time_granularity)
    if g > 1:
        ts = ts - ts % g
        accounts = accounts.copy()
        created = accounts["created_at"].to_numpy().astype(np.int64)
        accounts["created_at"] = created - created % g
    if ts.size and not (np.diff(ts) >= 0).all():  # defensive: never expected
        order = np.argsort(ts, kind="stable")
        code = {c: v[order] for c, v in code.items()}
        ts = ts[order]

    events = pd.DataFrame(
        {
            "account_id": categorical(code["account_id"], acc_vocab),
            "timestamp": ts,
            "action": categorical(code["action"], action_names),
            "entity_type": categorical(code["entity_type"], etype_names),
            "entity_id": categorical(code["entity_id"], ent_vocab),
        }
    )
    return World(events=events, accounts=accounts, labels=world.labels)


def _large(a: pa.Array) -> pa.Array:
    if isinstance(a, pa.ChunkedArray):
        a = a.combine_chunks()
    return a if a.type == pa.large_string() else a.cast(pa.large_string())


def _compact(codes: np.ndarray, vocab: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """Drops categories no row uses (keeping the order of the others)."""
    used = np.bincount(codes, minlength=len(vocab)) > 0
    if used.all():
        return codes, vocab
    remap = np.cumsum(used) - 1
    return remap[codes], vocab.filter(pa.array(used))


def _rename(names: list[str], pairs: tuple[tuple[str, str], ...], what: str) -> list[str]:
    mapping = dict(pairs)
    out = [mapping.get(x, x) for x in names]
    if len(set(out)) != len(out):
        raise ValueError(f"renaming {what}s {pairs} makes two {what}s share a name: {out}")
    return out


def _stable_order(x: np.ndarray) -> np.ndarray:
    """``np.argsort(x, kind="stable")`` for small non-negative ints, by sorting packed (value, position)."""
    n = x.size
    pos_bits = max(int(n).bit_length(), 1)
    if n == 0 or int(x.max()).bit_length() + pos_bits > 62:
        return np.argsort(x, kind="stable")
    key = (x.astype(np.int64) << pos_bits) | np.arange(n, dtype=np.int64)
    key.sort()
    return key & ((1 << pos_bits) - 1)


def _opaque_vocab(name: str, n: int, seed: int) -> tuple[pa.Array, np.ndarray]:
    """Opaque ids for local indices ``0..n-1`` of one extra identifier type.

    Returns:
        ``(vocab, rank)``: the ids ordered by spelling, and the position of local index ``i`` in
        it (so the spelling order says nothing about how the indices were numbered).
    """
    strings, key = hex_ids(_PREFIX[name], np.arange(n, dtype=np.int64), id_key(seed, "extra:" + name))
    order = np.argsort(key, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n, dtype=np.int64)
    return strings.take(pa.array(order)), rank


class _Context:
    """What the extra identifiers are derived from: per-row codes and per-account labels."""

    def __init__(
        self,
        world: World,
        code: dict[str, np.ndarray],
        ts: np.ndarray,
        action_names: list[str],
        etype_names: list[str],
        seed: int,
    ) -> None:
        self.code, self.ts, self.seed = code, ts, seed
        self.action_names, self.etype_names = action_names, etype_names
        acc = world.events["account_id"].cat.categories
        lab = world.labels
        row = pd.Index(lab["account_id"].astype(str)).get_indexer(acc.astype(str))
        if (row < 0).any():
            raise ValueError("events name accounts that are not in labels")
        self.n_acc = len(acc)
        ring_kind = lab["ring_kind"].astype(str).to_numpy()[row]
        self.fresh = np.isin(ring_kind, _FRESH_KINDS)
        self.farm = ring_kind == "device_farm"
        self.kiosk = lab["lookalike"].astype(str).to_numpy()[row] == "kiosk"
        # Farm / proxy ring of each account (0..n_rings-1), -1 for everyone else.
        self.ring = np.full(self.n_acc, -1, dtype=np.int64)
        codes, uniques = pd.factorize(lab["ring_id"].astype(str).to_numpy()[row][self.fresh], sort=True)
        self.ring[self.fresh] = codes
        self.n_rings = len(uniques)
        # Rows of each account, for picking a random event of it.
        a = code["account_id"]
        self.acc_order = _stable_order(a)
        self.acc_count = np.bincount(a, minlength=self.n_acc)
        self.acc_first = exclusive_cumsum(self.acc_count)

    def _code(self, names: list[str], name: str) -> int:
        return names.index(name) if name in names else -1

    def _anchor_at(self, when: np.ndarray) -> np.ndarray:
        """The last row at or before each time: rows inserted there keep the table sorted."""
        order = np.argsort(when)  # sorted queries: searchsorted narrows each search from the last
        out = np.empty(when.size, dtype=np.int64)
        out[order] = np.searchsorted(self.ts, when[order], side="right") - 1
        return np.maximum(out, 0)

    def _ring_pools(self, rng: np.random.Generator, per: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """Each fresh ring's pool of shared items (one per ``per`` members): (first, size) per ring."""
        members = np.bincount(self.ring[self.fresh], minlength=self.n_rings)
        per_item = rng.integers(per[0], per[1] + 1, self.n_rings)
        size = np.maximum(np.ceil(members / per_item), 1).astype(np.int64)
        return exclusive_cumsum(size), size

    def payment(self) -> tuple[_Rows, int]:
        rng = child_rng(self.seed, "transform:payment")
        n = self.n_acc
        buys = rng.random(n) < np.where(self.fresh, 0.7, 0.3)
        card = np.full(n, -1, dtype=np.int64)
        own = np.flatnonzero(buys & ~self.fresh)
        card[own] = np.arange(own.size)
        share = own[rng.random(own.size) < 0.02]  # a partner's card
        if own.size:
            card[share] = card[own[rng.integers(0, own.size, share.size)]]
        first, size = self._ring_pools(rng, (5, 20))
        ring_buyers = np.flatnonzero(buys & self.fresh)
        r = self.ring[ring_buyers]
        card[ring_buyers] = own.size + first[r] + rng.integers(0, 1 << 30, r.size) % size[r]
        n_cards = own.size + int(size.sum())

        buyer = np.flatnonzero(buys)
        n_buy = rng.integers(1, 6, buyer.size)
        acct = np.repeat(buyer, n_buy)
        pick = self.acc_first[acct] + np.floor(rng.random(acct.size) * self.acc_count[acct]).astype(np.int64)
        when = np.minimum(self.ts[self.acc_order[pick]] + rng.integers(60, 900, acct.size), self.ts.max())
        rows = _Rows(self._anchor_at(when), acct, when, "purchase", "payment", card[acct])
        return rows, n_cards

    def cookie(self) -> tuple[_Rows, int]:
        rng = child_rng(self.seed, "transform:cookie")
        c = self.code
        login, device, ip = (
            self._code(self.action_names, "login"),
            self._code(self.etype_names, "device"),
            self._code(self.etype_names, "ip"),
        )
        rows = np.flatnonzero((c["action"] == login) & (c["entity_type"] == device))
        action = self.action_names[login] if login >= 0 else "login"
        if rows.size == 0:
            return _Rows(rows, rows, rows, action, "cookie", rows), 0
        acct, dev = c["account_id"][rows], c["entity_id"][rows]
        # Anchor after the login's IP row (always the next row in a generated world).
        nxt = np.minimum(rows + 1, self.ts.size - 1)
        paired = (c["entity_type"][nxt] == ip) & (c["action"][nxt] == login) & (c["account_id"][nxt] == acct)
        anchor = np.where(paired, nxt, rows)

        # One cookie per (account, device) pair ...
        d = int(dev.max()) + 1
        pairs, pair = np.unique(acct * d + dev, return_inverse=True)
        cookie = pair.astype(np.int64)
        n_ids = pairs.size
        # ... except on farm emulators (any farm user) and kiosks (every user a kiosk user, 5 or more).
        pair_acct = pairs // d
        udev, pair_dev = np.unique(pairs % d, return_inverse=True)
        dev_local = pair_dev[pair]
        users = np.bincount(pair_dev, minlength=udev.size)
        farm_users = np.bincount(pair_dev, weights=self.farm[pair_acct], minlength=udev.size)
        kiosk_users = np.bincount(pair_dev, weights=self.kiosk[pair_acct], minlength=udev.size)
        shared_dev = (farm_users > 0) | ((users >= 5) & (kiosk_users == users))
        p_shared = np.where(farm_users > 0, 0.5, 0.3)
        shared_id = np.full(udev.size, -1, dtype=np.int64)
        shared_id[shared_dev] = n_ids + np.arange(int(shared_dev.sum()))
        n_ids += int(shared_dev.sum())
        use = shared_dev[dev_local] & (rng.random(rows.size) < p_shared[dev_local])
        cookie[use] = shared_id[dev_local[use]]
        return _Rows(anchor, acct, self.ts[anchor], action, "cookie", cookie), n_ids

    def avatar_hash(self) -> tuple[_Rows, int]:
        rng = child_rng(self.seed, "transform:avatar_hash")
        n = self.n_acc
        a = self.code["account_id"]
        seen = np.flatnonzero(self.acc_count > 0)
        first_row = self.acc_order[self.acc_first[seen]]  # rows are in time order: the earliest
        acct = a[first_row]
        when = self.ts[first_row]
        n_stock = 20
        first, size = self._ring_pools(rng, (3, 10))
        image = np.full(n, -1, dtype=np.int64)
        u = rng.random(n)
        stock = ~self.fresh & (u < 0.1)
        image[stock] = rng.integers(0, n_stock, int(stock.sum()))
        pooled = self.fresh & (u < 0.6)
        r = self.ring[pooled]
        image[pooled] = n_stock + first[r] + rng.integers(0, 1 << 30, r.size) % size[r]
        unique = image < 0
        base = n_stock + int(size.sum())
        image[unique] = base + np.arange(int(unique.sum()))
        n_ids = base + int(unique.sum())
        rows = _Rows(self._anchor_at(when), acct, when, "profile_update", "avatar_hash", image[acct])
        return rows, n_ids
