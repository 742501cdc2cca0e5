"""Tests of the synthetic world regimes and transforms (small worlds: well under a minute in all)."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest

from graphs.synthetic import BenignConfig, RingConfig, World, WorldConfig, generate_world
from graphs.synthetic.config import ACTIONS, ENTITY_TYPES, RING_KINDS
from graphs.synthetic.regimes import REGIMES, Transform, apply_transform, generate_regime_world

N = 3_000
NAMES = list(REGIMES)
SOCIAL = [n for n in NAMES if n != "reviews"]  # the review platform is another generator
CAMPAIGN_KINDS = ("device_farm", "proxy_ring", "stealth")


@pytest.fixture(scope="module")
def worlds() -> dict[str, World]:
    return {name: generate_regime_world(name, N, seed=1) for name in SOCIAL}


def _str(col: pd.Series) -> np.ndarray:
    return col.astype(str).to_numpy()


def _frame(world: World) -> pd.DataFrame:
    ev = world.events
    df = pd.DataFrame({c: _str(ev[c]) for c in ("account_id", "action", "entity_type", "entity_id")})
    df["ts"] = ev["timestamp"].to_numpy()
    lab = world.labels.set_index("account_id")
    df["ring"] = lab["ring_id"].reindex(df["account_id"]).to_numpy()
    df["kind"] = lab["ring_kind"].reindex(df["account_id"]).to_numpy()
    return df


def _campaign_spans(world: World) -> pd.Series:
    """Span (max - min like time) of each ring's likes on each customer post it boosted.

    A customer post: posted in the window by an account outside the ring, liked by at least 5 ring
    members, who make at least half of its likes (not a viral video that ring members also liked).
    """
    df = _frame(world)
    author = df[df["action"] == "post"].set_index("entity_id")["account_id"]
    ring_of = world.labels.set_index("account_id")["ring_id"]
    likes = df[(df["action"] == "like") & df["entity_id"].isin(author.index)]
    total = likes.groupby("entity_id").size()
    ring_likes = likes[likes["kind"].isin(CAMPAIGN_KINDS)]
    g = ring_likes.groupby(["ring", "entity_id"])["ts"].agg(["count", "min", "max"]).reset_index()
    g["author_ring"] = ring_of.reindex(author.reindex(g["entity_id"]).to_numpy()).to_numpy()
    g = g[(g["count"] >= 5) & (g["count"] >= 0.5 * total.reindex(g["entity_id"]).to_numpy())]
    g = g[g["author_ring"] != g["ring"]]
    return (g["max"] - g["min"]).reset_index(drop=True)


def test_regime_names_and_descriptions() -> None:
    assert NAMES == [
        "minutes",
        "seconds",
        "hours",
        "day",
        "sparse_ids",
        "many_ids",
        "big_rings",
        "camouflage",
        "reviews",
        "quiet",
    ]
    for name, regime in REGIMES.items():
        assert regime.name == name
        d = regime.description
        assert d and d.endswith(".") and d.count(". ") == 0, name  # one sentence


@pytest.mark.parametrize("name", SOCIAL)
def test_regime_world_is_valid(worlds: dict[str, World], name: str) -> None:
    world = worlds[name]
    ev, acc, lab = world.events, world.accounts, world.labels
    assert list(ev.columns) == ["account_id", "timestamp", "action", "entity_type", "entity_id"]
    assert ev["timestamp"].dtype == np.int64
    for col in ("account_id", "action", "entity_type", "entity_id"):
        assert isinstance(ev[col].dtype, pd.CategoricalDtype), col
        assert ev[col].notna().all(), col
    for col in ("account_id", "entity_type", "entity_id"):
        assert len(ev[col].cat.categories) == ev[col].nunique(), col
    ts = ev["timestamp"].to_numpy()
    assert (np.diff(ts) >= 0).all()
    assert len(acc) == len(lab) == N
    created = acc.set_index("account_id")["created_at"]
    assert (ts >= created.reindex(_str(ev["account_id"])).to_numpy()).all()
    cfg, _ = REGIMES[name].draw(1, N)
    assert ts.min() >= cfg.start - cfg.start % 86_400 and ts.max() < cfg.end
    assert set(_str(ev["account_id"])) <= set(_str(lab["account_id"]))
    kinds = set(lab.loc[lab["is_bot"] == 1, "ring_kind"])
    assert kinds == set(RING_KINDS) if name != "big_rings" else kinds  # 3,000 accounts: 1-3 big rings

    # Logins stay device-then-IP pairs, whatever the names.
    t = REGIMES[name].draw(1, N)[1]
    names = {k: k for k in ENTITY_TYPES} | dict(t.rename_types)
    login = dict(t.rename_actions).get("login", "login")
    action, etype = _str(ev["action"]), _str(ev["entity_type"])
    dev = np.flatnonzero((action == login) & (etype == names["device"]))
    assert dev.size > 0
    assert (etype[dev + 1] == names["ip"]).all() and (action[dev + 1] == login).all()
    assert (ts[dev + 1] == ts[dev]).all()


@pytest.mark.parametrize("name", SOCIAL)
def test_regime_is_deterministic_and_seeds_differ(worlds: dict[str, World], name: str) -> None:
    regime = REGIMES[name]
    assert regime.draw(1, N) == regime.draw(1, N)
    again = generate_regime_world(name, N, seed=1)
    for part in ("events", "accounts", "labels"):
        pd.testing.assert_frame_equal(getattr(worlds[name], part), getattr(again, part))
    other = generate_regime_world(name, N, seed=2)
    assert regime.draw(2, N) != regime.draw(1, N)
    assert not np.array_equal(_str(other.labels["account_id"]), _str(worlds[name].labels["account_id"]))


def test_regimes_draw_their_knobs_from_ranges() -> None:
    spans = set()
    for seed in range(6):
        cfg, _ = REGIMES["minutes"].draw(seed, N)
        assert 1.5 <= cfg.benign.sessions_per_account <= 2.5
        cfg, _ = REGIMES["sparse_ids"].draw(seed, N)
        lo, hi = cfg.rings.campaign_spread
        assert 60 <= lo <= hi <= 4 * 3600
        spans.add((lo, hi))
        cfg, _ = REGIMES["camouflage"].draw(seed, N)
        assert 3 <= cfg.rings.camouflage <= 5 and cfg.rings.proxy_pool_benign_share == 1.0
        assert 300 <= cfg.rings.campaign_spread[0] <= cfg.rings.campaign_spread[1] <= 3 * 3600
        cfg, _ = REGIMES["big_rings"].draw(seed, N)
        assert 0.04 <= cfg.bot_fraction <= 0.06
        cfg, _ = REGIMES["quiet"].draw(seed, N)
        assert 0.6 <= cfg.benign.sessions_per_account <= 1.0 and cfg.bot_fraction == 0.01
    assert len(spans) == 6


def test_minutes_is_the_default_world_up_to_activity() -> None:
    cfg, t = REGIMES["minutes"].draw(4, N)
    assert t.is_identity
    pinned = dataclasses.replace(cfg, benign=BenignConfig())
    assert pinned == WorldConfig(n_accounts=N, seed=cfg.seed)
    world = generate_world(pinned)
    assert 0.01 <= world.labels["is_bot"].mean() <= 0.03
    assert set(_str(world.events["action"])) == set(ACTIONS)
    assert set(_str(world.events["entity_type"])) == set(ENTITY_TYPES)


def test_drop_types(worlds: dict[str, World]) -> None:
    ev = worlds["sparse_ids"].events
    types = set(_str(ev["entity_type"]))
    assert types in ({"device", "ip", "account", "content"}, {"device", "ip", "content"})
    assert set(ev["entity_type"].cat.categories) == types
    assert not any(re.fullmatch(r"\+\d+", v) for v in ev["entity_id"].cat.categories)


def test_renames_leave_no_old_name(worlds: dict[str, World]) -> None:
    world = worlds["many_ids"]
    ev = world.events
    types, actions = set(ev["entity_type"].cat.categories), set(ev["action"].cat.categories)
    assert not types & {"device", "ip", "content", "account"}
    assert {"hwid", "ip_addr", "item", "user", "payment", "cookie", "avatar_hash"} <= types
    assert not actions & {"like", "login", "follow"}
    assert {"upvote", "session_start", "subscribe", "purchase", "profile_update"} <= actions
    # A renamed "account" type still names accounts by their account id.
    users = set(_str(ev.loc[ev["entity_type"] == "user", "entity_id"]))
    assert users and users <= set(_str(world.labels["account_id"]))


def test_day_granularity(worlds: dict[str, World]) -> None:
    world = worlds["day"]
    assert (world.events["timestamp"].to_numpy() % 86_400 == 0).all()
    assert (world.accounts["created_at"].to_numpy() % 86_400 == 0).all()


def test_campaign_timescales() -> None:
    fast = _campaign_spans(generate_regime_world("seconds", 5_000, seed=3))
    slow = _campaign_spans(generate_regime_world("hours", 5_000, seed=3))
    default = _campaign_spans(generate_regime_world("minutes", 5_000, seed=3))
    assert len(fast) >= 10 and len(slow) >= 10 and len(default) >= 10
    assert fast.quantile(0.9) < 120 and fast.median() < 60
    assert slow.max() > 30 * 60 and slow.median() > 30 * 60
    assert 60 < default.median() < 15 * 60


def test_extra_identifiers(worlds: dict[str, World]) -> None:
    world = worlds["many_ids"]
    df = _frame(world)
    for etype, prefix in (("payment", "p"), ("cookie", "k"), ("avatar_hash", "h")):
        ids = df.loc[df["entity_type"] == etype, "entity_id"]
        assert len(ids) > 0 and ids.str.fullmatch(prefix + r"[0-9a-f]{10}").all(), etype
    assert set(df.loc[df["entity_type"] == "payment", "action"]) == {"purchase"}
    assert set(df.loc[df["entity_type"] == "avatar_hash", "action"]) == {"profile_update"}
    # One avatar row per account seen; one cookie row per login, right after its IP row.
    avatars = df[df["entity_type"] == "avatar_hash"]
    assert avatars["account_id"].is_unique and len(avatars) == df["account_id"].nunique()
    cookies = np.flatnonzero(df["entity_type"].to_numpy() == "cookie")
    assert len(cookies) == ((df["action"] == "session_start") & (df["entity_type"] == "hwid")).sum()
    assert (df["entity_type"].to_numpy()[cookies - 1] == "ip_addr").all()
    assert (df["action"].to_numpy()[cookies] == "session_start").all()
    assert (df["ts"].to_numpy()[cookies] == df["ts"].to_numpy()[cookies - 1]).all()

    # Farm and proxy bots share payment cards far more often than benign accounts.
    def shared_share(etype: str) -> pd.Series:
        x = df[df["entity_type"] == etype]
        users = x.groupby("entity_id")["account_id"].nunique()
        x = x.assign(shared=users.reindex(x["entity_id"]).to_numpy() > 1)
        per_acc = x.groupby("account_id").agg(kind=("kind", "first"), shared=("shared", "max"))
        return per_acc.groupby(
            np.where(per_acc["kind"].isin(["device_farm", "proxy_ring"]), "ring", "other")
        )["shared"].mean()

    pay = shared_share("payment")
    assert pay["ring"] > 0.8 and pay["other"] < 0.1
    cookie = shared_share("cookie")
    assert cookie["ring"] > 0.2 and cookie["other"] < 0.05
    avatar = shared_share("avatar_hash")
    assert avatar["ring"] > avatar["other"]


def test_apply_transform_composes_and_identity() -> None:
    world = generate_world(WorldConfig(n_accounts=2_000, seed=8))
    assert apply_transform(world, Transform(), seed=1) is world
    t = Transform(
        extra_identifiers=("cookie", "payment"),
        drop_types=("cookie", "phone"),
        rename_types=(("payment", "card"),),
        rename_actions=(("purchase", "buy"),),
        time_granularity=3_600,
    )
    out = apply_transform(world, t, seed=1)
    types = set(_str(out.events["entity_type"]))
    assert "cookie" not in types and "phone" not in types and "card" in types
    assert "buy" in set(_str(out.events["action"]))
    assert (out.events["timestamp"].to_numpy() % 3_600 == 0).all()
    assert (np.diff(out.events["timestamp"].to_numpy()) >= 0).all()
    pd.testing.assert_frame_equal(out.events, apply_transform(world, t, seed=1).events)
    assert not apply_transform(world, t, seed=2).events.equals(out.events)
    # The input world is untouched.
    pd.testing.assert_frame_equal(world.events, generate_world(WorldConfig(n_accounts=2_000, seed=8)).events)
    with pytest.raises(ValueError):
        apply_transform(world, Transform(rename_types=(("device", "ip"),)), seed=1)
    with pytest.raises(ValueError):
        Transform(extra_identifiers=("retina_scan",))


def test_ring_size_bounds() -> None:
    big = generate_world(
        WorldConfig(
            n_accounts=20_000,
            seed=2,
            bot_fraction=0.06,
            rings=RingConfig(size=(50, 500), kind_sizes=dict.fromkeys(RING_KINDS, (50, 500))),
        )
    )
    sizes = big.labels[big.labels["is_bot"] == 1].groupby("ring_id").size()
    assert sizes.between(50, 500).all() and sizes.max() > 200
    for name, (lo, hi) in (("big_rings", (50, 500)), ("quiet", (5, 15))):
        lab = generate_regime_world(name, 5_000, seed=1).labels
        sizes = lab[lab["is_bot"] == 1].groupby("ring_id").size()
        assert sizes.between(lo, hi).all(), name


def test_ring_knobs() -> None:
    base = WorldConfig(n_accounts=4_000, seed=6)

    def bot_events(**rings: object) -> tuple[World, int]:
        w = generate_world(dataclasses.replace(base, rings=RingConfig(**rings)))
        bots = set(w.labels.loc[w.labels["is_bot"] == 1, "account_id"])
        return w, int(w.events["account_id"].astype(str).isin(bots).sum())

    _, none = bot_events(camouflage=0.0)
    _, default = bot_events()
    _, lots = bot_events(camouflage=4.0)
    assert none < default < lots

    # Every proxy exit is a benign user's home IP (most of those users log in from it too).
    def proxy_ips_used_by_benign(share: float) -> float:
        df = _frame(bot_events(proxy_pool_benign_share=share)[0])
        ips = df[df["entity_type"] == "ip"]
        benign_ips = set(ips.loc[ips["ring"] == "", "entity_id"])
        proxy_ips = set(ips.loc[ips["kind"] == "proxy_ring", "entity_id"])
        return len(proxy_ips & benign_ips) / len(proxy_ips)

    assert proxy_ips_used_by_benign(0.0) == 0.0
    assert proxy_ips_used_by_benign(1.0) > 0.4

    for bad in (
        {"campaign_spread": (0.0, 10.0)},
        {"participation": (0.5, 1.2)},
        {"pod_react_delay": (10.0, 5.0)},
        {"camouflage": -1.0},
        {"kind_sizes": {"pod": (20, 10)}},
        {"proxy_pool_benign_share": 1.5},
    ):
        with pytest.raises(ValueError):
            RingConfig(**bad)


def test_pod_react_delay() -> None:
    def mean_pod_delay(delay: tuple[float, float]) -> float:
        rings = RingConfig(kind_weights={"pod": 1.0}, pod_react_delay=delay)
        df = _frame(generate_world(WorldConfig(n_accounts=3_000, seed=4, rings=rings)))
        posts = df[(df["action"] == "post") & (df["kind"] == "pod")].set_index("entity_id")
        likes = df[(df["action"] == "like") & df["entity_id"].isin(posts.index)]
        likes = likes[likes["ring"].to_numpy() == posts["ring"].reindex(likes["entity_id"]).to_numpy()]
        return float((likes["ts"].to_numpy() - posts["ts"].reindex(likes["entity_id"]).to_numpy()).mean())

    fast, slow = mean_pod_delay((10.0, 40.0)), mean_pod_delay((1_800.0, 3 * 3_600.0))
    assert 15 < fast < 80 and 1_800 < slow < 3 * 3_600


def test_review_platform() -> None:
    """Ratings 1-5 on products, whole days, opinion-spam rings with extreme ratings; deterministic."""
    world = generate_regime_world("reviews", 6000, seed=1)
    again = generate_regime_world("reviews", 6000, seed=1)
    pd.testing.assert_frame_equal(world.events, again.events)
    ev, lab = world.events, world.labels.set_index("account_id")
    assert list(ev.columns) == ["account_id", "timestamp", "action", "entity_type", "entity_id", "rating"]
    assert set(ev["action"]) == {"review"} and set(ev["entity_type"]) == {"product"}
    assert (ev["timestamp"] % 86_400 == 0).all() and ev["rating"].between(1, 5).all()
    assert not ev.duplicated(["account_id", "entity_id"]).any()
    bot = lab["is_bot"].reindex(ev["account_id"]).to_numpy() == 1
    extreme = ev["rating"].isin([1, 5]).to_numpy()
    assert extreme[bot].mean() > extreme[~bot].mean() + 0.2
    assert set(lab.loc[lab["is_bot"] == 1, "ring_kind"]) == {"review_ring"}
    assert (ev.groupby("account_id").size() == 1).mean() > 0.5  # most accounts write one review
