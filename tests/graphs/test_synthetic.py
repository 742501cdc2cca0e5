"""Tests of the synthetic world generator (small worlds: a few seconds in all)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from graphs.synthetic import World, WorldConfig, generate_world, write_world
from graphs.synthetic.config import ACTIONS, ENTITY_TYPES, LOOKALIKE_KINDS, RING_KINDS
from graphs.synthetic.writer import read_table

N = 4_000


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(WorldConfig(n_accounts=N, seed=11))


@pytest.fixture(scope="module")
def world20k() -> World:
    return generate_world(WorldConfig(n_accounts=20_000, seed=5))


def _str(col: pd.Series) -> np.ndarray:
    return col.astype(str).to_numpy()


def test_same_seed_same_world_other_seed_other_world(world: World) -> None:
    again = generate_world(WorldConfig(n_accounts=N, seed=11))
    for name in ("events", "accounts", "labels"):
        pd.testing.assert_frame_equal(getattr(world, name), getattr(again, name))
    other = generate_world(WorldConfig(n_accounts=N, seed=12))
    assert not np.array_equal(_str(other.labels["account_id"]), _str(world.labels["account_id"]))
    assert len(other.events) != len(world.events) or not other.events["timestamp"].equals(
        world.events["timestamp"]
    )


def test_schema_and_dtypes(world: World) -> None:
    ev, acc, lab = world.events, world.accounts, world.labels
    assert list(ev.columns) == ["account_id", "timestamp", "action", "entity_type", "entity_id"]
    assert ev["timestamp"].dtype == np.int64
    for col in ("account_id", "action", "entity_type", "entity_id"):
        assert isinstance(ev[col].dtype, pd.CategoricalDtype)
        assert ev[col].notna().all()
    assert set(ev["action"].unique()) <= set(ACTIONS)
    assert set(ev["entity_type"].unique()) <= set(ENTITY_TYPES)
    assert {"signup", "login", "post", "follow", "like", "comment", "share", "message"} <= set(
        ev["action"].unique()
    )
    assert {"device", "ip", "phone", "email_domain", "account", "content"} <= set(ev["entity_type"].unique())
    # Categories are exactly the values present: no dormant accounts or unused entities.
    assert len(ev["account_id"].cat.categories) == ev["account_id"].nunique()
    assert len(ev["entity_id"].cat.categories) == ev["entity_id"].nunique()

    assert list(acc.columns[:2]) == ["account_id", "created_at"]
    assert {"country", "has_avatar", "bio_length"} <= set(acc.columns)
    assert acc["created_at"].dtype == np.int64
    assert set(acc["has_avatar"].unique()) <= {0, 1}
    assert (acc["bio_length"] >= 0).all()

    assert list(lab.columns) == ["account_id", "is_bot", "ring_id", "ring_kind", "lookalike"]
    assert set(lab["is_bot"].unique()) <= {0, 1}
    assert len(acc) == len(lab) == N
    assert (_str(acc["account_id"]) == _str(lab["account_id"])).all()
    assert acc["account_id"].is_unique


def test_events_sorted_inside_window_and_after_creation(world: World) -> None:
    cfg = WorldConfig(n_accounts=N, seed=11)
    ts = world.events["timestamp"].to_numpy()
    assert (np.diff(ts) >= 0).all()
    assert ts.min() >= cfg.start and ts.max() < cfg.end
    created = world.accounts.set_index("account_id")["created_at"]
    assert (ts >= created.reindex(_str(world.events["account_id"])).to_numpy()).all()


def test_bot_share_and_ring_sizes(world: World, world20k: World) -> None:
    cfg = WorldConfig()
    for w in (world, world20k):
        lab = w.labels
        share = lab["is_bot"].mean()
        assert 0.01 <= share <= 0.03
        bots = lab[lab["is_bot"] == 1]
        assert (bots["ring_id"].str.fullmatch(r"r\d+")).all()
        assert (lab.loc[lab["is_bot"] == 0, "ring_id"] == "").all()
        assert (lab.loc[lab["is_bot"] == 0, "ring_kind"] == "").all()
        sizes = bots.groupby("ring_id").size()
        assert sizes.between(8, 200).all()
        kinds = bots.groupby("ring_id")["ring_kind"].agg(lambda k: set(k))
        assert all(len(k) == 1 for k in kinds)  # one kind per ring
        for ring_id, size in sizes.items():
            lo, hi = cfg.rings.kind_sizes[next(iter(kinds[ring_id]))]
            assert lo <= size <= hi


def test_every_ring_kind_at_20k(world20k: World) -> None:
    kinds = set(world20k.labels.loc[world20k.labels["is_bot"] == 1, "ring_kind"])
    assert kinds == set(RING_KINDS)


def test_every_lookalike_kind_present(world: World) -> None:
    lab = world.labels
    assert set(lab["lookalike"]) - {""} == set(LOOKALIKE_KINDS)
    assert (lab.loc[lab["is_bot"] == 1, "lookalike"] == "").all()


def test_login_and_signup_rows_come_in_device_ip_pairs(world: World) -> None:
    ev = world.events
    action, etype = _str(ev["action"]), _str(ev["entity_type"])
    acct, ts = _str(ev["account_id"]), ev["timestamp"].to_numpy()
    for name in ("login", "signup"):
        dev = np.flatnonzero((action == name) & (etype == "device"))
        assert dev.size > 0
        nxt = dev + 1
        assert (action[nxt] == name).all() and (etype[nxt] == "ip").all()
        assert (acct[nxt] == acct[dev]).all() and (ts[nxt] == ts[dev]).all()
        assert ((action == name) & (etype == "ip")).sum() == dev.size
    logins = set(etype[action == "login"])
    assert logins == {"device", "ip"}


def test_ids_are_opaque(world: World) -> None:
    ev, lab = world.events, world.labels
    ids = _str(lab["account_id"])
    assert all(re.fullmatch(r"u[0-9a-f]{10}", i) for i in ids)
    ent = _str(ev["entity_id"])
    etype = _str(ev["entity_type"])
    for kind, pattern in (
        ("device", r"d[0-9a-f]{10}"),
        ("content", r"c[0-9a-f]{10}"),
        ("account", r"u[0-9a-f]{10}"),
        ("phone", r"\+\d{11,13}"),
        ("ip", r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}"),
    ):
        values = ent[etype == kind]
        assert all(re.fullmatch(pattern, v) for v in values), kind
    octets = np.array([v.split(".") for v in ent[etype == "ip"]], dtype=int)
    assert octets.min() >= 0 and octets.max() <= 255

    # Bots are spread over the id order, not a block, and ring members are not neighbours.
    is_bot = lab["is_bot"].to_numpy()
    pos = np.flatnonzero(is_bot)
    assert 0.3 * N < pos.mean() < 0.7 * N
    runs = np.count_nonzero(np.diff(pos) == 1)
    assert runs < 0.2 * pos.size
    assert (ids[:-1] < ids[1:]).all()  # sorted by id: an order that carries nothing


def test_attributes_weakly_informative(world20k: World) -> None:
    acc = world20k.accounts.set_index("account_id")
    lab = world20k.labels.set_index("account_id")
    no_avatar = acc["has_avatar"] == 0
    bot = lab["is_bot"] == 1
    assert no_avatar[bot].mean() > no_avatar[~bot].mean()
    assert (no_avatar & ~bot).sum() > 5 * (no_avatar & bot).sum()  # most avatar-less accounts are benign


def test_rings_coordinate_and_lookalikes_share_infrastructure(world20k: World) -> None:
    ev = world20k.events
    lab = world20k.labels.set_index("account_id")
    df = pd.DataFrame({c: _str(ev[c]) for c in ("account_id", "action", "entity_type", "entity_id")})
    df["ts"] = ev["timestamp"].to_numpy()
    df["ring"] = lab["ring_id"].reindex(df["account_id"]).to_numpy()
    df["kind"] = lab["ring_kind"].reindex(df["account_id"]).to_numpy()
    df["look"] = lab["lookalike"].reindex(df["account_id"]).to_numpy()

    likes = df[(df["action"] == "like") & (df["ring"] != "")]
    g = likes.groupby(["ring", "entity_id"])["ts"].agg(["count", "min", "max"])
    burst = g[(g["count"] >= 5) & (g["max"] - g["min"] <= 15 * 60)]
    kinds = set(likes.loc[likes["ring"].isin(burst.index.get_level_values(0)), "kind"])
    assert set(RING_KINDS) <= kinds

    # Farms share emulator devices; households and kiosks share devices too.
    dev = df[df["entity_type"] == "device"].groupby("entity_id")["account_id"].nunique()
    shared = dev[dev >= 2].index
    users = df[(df["entity_type"] == "device") & df["entity_id"].isin(shared)]
    assert {"device_farm"} <= set(users["kind"])
    assert {"household", "kiosk"} <= set(users["look"])

    # Mobile carrier NAT: one IP behind many accounts.
    ips = df[df["entity_type"] == "ip"].groupby("entity_id")["account_id"].nunique()
    assert ips.max() >= 100


def test_write_world_roundtrip(world: World, tmp_path) -> None:
    for fmt in ("csv", "csv.gz", "parquet"):
        out = tmp_path / fmt.replace(".", "_")
        paths = write_world(world, out, fmt=fmt)
        assert set(paths) == {"events", "accounts", "labels"}
        assert sorted(p.name for p in out.iterdir()) == sorted(f"{n}.{fmt}" for n in paths)  # no temp files
        ev = read_table(paths["events"])
        assert len(ev) == len(world.events)
        for col in ("account_id", "action", "entity_type", "entity_id"):
            assert (ev[col].astype(str).to_numpy() == _str(world.events[col])).all(), (fmt, col)
        assert (ev["timestamp"].to_numpy() == world.events["timestamp"].to_numpy()).all()
        lab = read_table(paths["labels"])
        assert (lab["ring_id"].fillna("").astype(str).to_numpy() == _str(world.labels["ring_id"])).all()
        assert (lab["is_bot"].to_numpy() == world.labels["is_bot"].to_numpy()).all()
        acc = read_table(paths["accounts"])
        assert (acc["created_at"].to_numpy() == world.accounts["created_at"].to_numpy()).all()


def test_written_files_are_byte_identical(world: World, tmp_path) -> None:
    for fmt in ("csv", "csv.gz"):
        a = write_world(world, tmp_path / "a", fmt=fmt)
        b = write_world(world, tmp_path / "b", fmt=fmt)
        for name in a:
            assert a[name].read_bytes() == b[name].read_bytes(), (fmt, name)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        WorldConfig(n_accounts=10)
    with pytest.raises(ValueError):
        WorldConfig(bot_fraction=0.5)
    with pytest.raises(ValueError):
        write_world(generate_world(WorldConfig(n_accounts=500, seed=1)), "/nonexistent-never", fmt="xlsx")
