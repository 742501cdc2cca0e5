"""Relations and features on tiny hand-made logs whose right edges and weights are known by construction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from graphs.build import build_graph
from graphs.events import EventLog
from graphs.features import FEATURE_NAMES
from graphs.graph import AccountGraph
from graphs.params import GraphParams
from graphs.relations import Relation, idf, squash

T0 = 1_700_000_000  # a Tuesday in November 2023, 22:13 UTC
MIN, HOUR, DAY = 60, 3600, 86400


def make_log(rows: list[tuple[str, int, str, str, str]]) -> EventLog:
    """A log from (account_id, timestamp, action, entity_type, entity_id) rows."""
    df = pd.DataFrame(rows, columns=["account_id", "timestamp", "action", "entity_type", "entity_id"])
    return EventLog.from_frame(df)


def login(acc: str, t: int, device: str, ip: str) -> list[tuple[str, int, str, str, str]]:
    return [(acc, t, "login", "device", device), (acc, t, "login", "ip", ip)]


def edges(graph: AccountGraph, relation: str) -> dict[tuple[str, str], float]:
    """{(id, id) sorted: weight} of one relation."""
    rel = graph.relations[relation]
    ids = graph.account_ids
    return {
        tuple(sorted((ids[s], ids[d]))): float(w)
        for s, d, w in zip(rel.src, rel.dst, rel.weight, strict=True)
    }


def evidence(graph: AccountGraph, relation: str, key: str) -> dict[tuple[str, str], float]:
    rel = graph.relations[relation]
    ids = graph.account_ids
    return {
        tuple(sorted((ids[s], ids[d]))): float(v)
        for s, d, v in zip(rel.src, rel.dst, rel.evidence[key], strict=True)
    }


def feature(graph: AccountGraph, account: str, name: str) -> float:
    return float(graph.features[graph.codes_of([account])[0], graph.feature_names.index(name)])


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def device_farm() -> AccountGraph:
    """f0..f4 share two emulator devices (each on its own home IP); p0/p1 share one phone; u0, u1 alone."""
    rows = []
    for i in range(5):
        rows += login(f"f{i}", T0 + i * HOUR, "emu-1", f"home-f{i}")
        rows += login(f"f{i}", T0 + DAY + i * HOUR, "emu-2", f"home-f{i}")
    for i in range(2):
        rows += login(f"u{i}", T0 + i * 7 * HOUR, f"phone-u{i}", f"home-u{i}")
        rows.append((f"p{i}", T0 + i * DAY, "signup", "phone", "+15550001"))
        rows += login(f"p{i}", T0 + i * DAY, f"dev-p{i}", f"home-p{i}")
    return build_graph(make_log(rows))


@pytest.fixture
def cgnat() -> AccountGraph:
    """60 accounts behind one carrier IP within the same hour (over the default ip_cap of 50)."""
    rows = []
    for i in range(60):
        rows += login(f"m{i:02d}", T0 + i * MIN // 2, f"dev-m{i}", "100.64.0.1")
    return build_graph(make_log(rows))


@pytest.fixture
def lockstep() -> AccountGraph:
    """a, b like the same 10 posts within a minute of each other, hours apart; c, d coincide once.

    Two of the co-likes straddle a 10-minute bucket boundary (they only meet in the shifted grid); the
    rest sit mid-bucket (they meet in both grids and must still count once).
    """
    rows = []
    base = T0 - T0 % 600 + 600 * 1000  # a boundary of the 10-minute grid, after the log's first event
    rows.append(("a", T0, "login", "device", "dev-a"))
    for k in range(10):
        t = base + k * 3 * HOUR + (0 if k < 2 else 300)  # k < 2: a at boundary - 20 s, b at + 20 s
        rows.append(("a", t - 20, "like", "content", f"post-{k}"))
        rows.append(("b", t + 20, "like", "content", f"post-{k}"))
        # noise: other accounts like the same posts days apart (not synchronised)
        rows.append((f"n{k}", t + (k + 1) * DAY, "like", "content", f"post-{k}"))
    rows.append(("c", base + 100 * HOUR, "like", "content", "post-x"))
    rows.append(("d", base + 100 * HOUR + 30, "like", "content", "post-x"))
    rows.append(("c", base + 200 * HOUR, "like", "content", "post-y"))
    rows.append(("d", base + 230 * HOUR, "like", "content", "post-y"))
    return build_graph(make_log(rows))


def _burst_rows(n_likers: int, span: int, n_posts: int, seed: int) -> list[tuple[str, int, str, str, str]]:
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(n_posts):
        times = T0 + p * DAY + rng.integers(0, span, n_likers)
        rows += [(f"fan{i:04d}", int(t), "like", "content", f"viral-{p}") for i, t in enumerate(times)]
    return rows


@pytest.fixture
def social() -> AccountGraph:
    """x <-> y follow each other, z follows w once, v messages u three times; ghost never acts."""
    rows = [
        ("x", T0, "follow", "account", "y"),
        ("y", T0 + DAY, "follow", "account", "x"),
        ("z", T0, "follow", "account", "w"),
        ("w", T0 + HOUR, "like", "content", "post-w"),
        ("v", T0, "message", "account", "u"),
        ("v", T0 + 1, "message", "account", "u"),
        ("v", T0 + 2, "message", "account", "u"),
        ("u", T0 + 9, "login", "device", "dev-u"),
        ("x", T0 + 5, "follow", "account", "ghost"),
        ("y", T0 + 6, "follow", "account", "ghost"),
    ]
    return build_graph(make_log(rows))


@pytest.fixture
def ip_timing() -> AccountGraph:
    """a, b on one home IP 5 minutes apart (across an hour boundary); c, d on another IP 3 weeks apart."""
    hour = T0 - T0 % HOUR + 10 * HOUR
    rows = login("a", hour - 150, "dev-a", "ip-ab") + login("b", hour + 150, "dev-b", "ip-ab")
    rows += login("c", T0, "dev-c", "ip-cd") + login("d", T0 + 21 * DAY, "dev-d", "ip-cd")
    return build_graph(make_log(rows))


# --------------------------------------------------------------------------- identifier relations


def test_shared_emulator_devices_give_strong_edges(device_farm: AccountGraph) -> None:
    dev = edges(device_farm, "device")
    farm = [f"f{i}" for i in range(5)]
    expected = 1 - np.exp(-2 * idf(5))  # two shared devices, each used by 5 accounts
    assert set(dev) == {(a, b) for i, a in enumerate(farm) for b in farm[i + 1 :]}
    assert all(w == pytest.approx(expected, rel=1e-5) for w in dev.values())
    assert all(v == 2 for v in evidence(device_farm, "device", "shared").values())
    assert expected > 0.5
    # A private pair (2 accounts, one phone) gets the full evidence of one entity.
    assert edges(device_farm, "phone") == {("p0", "p1"): pytest.approx(1 - np.exp(-1), rel=1e-5)}
    assert edges(device_farm, "ip") == {}
    assert feature(device_farm, "f0", "device_pop_max") == pytest.approx(np.log(5), rel=1e-5)
    assert feature(device_farm, "u0", "device_pop_max") == 0.0
    assert feature(device_farm, "f0", "deg_device") == pytest.approx(np.log1p(4), rel=1e-5)
    assert feature(device_farm, "p0", "deg_other_id") == pytest.approx(np.log1p(1), rel=1e-5)


def test_fresh_device_share(device_farm: AccountGraph) -> None:
    # f0 logged in first on both emulators; f1..f4 only reused them.
    assert feature(device_farm, "f0", "fresh_device_share") == 1.0
    assert feature(device_farm, "f3", "fresh_device_share") == 0.0
    assert feature(device_farm, "u1", "fresh_device_share") == 1.0


def test_ip_over_cap_gives_no_edges_only_hub_features(cgnat: AccountGraph) -> None:
    assert cgnat.relations["ip"].n_edges == 0
    assert cgnat.relations["ip_time"].n_edges == 0
    assert feature(cgnat, "m00", "log_ip_hubs") == pytest.approx(np.log1p(1))
    assert feature(cgnat, "m00", "ip_pop_max") == pytest.approx(np.log(60), rel=1e-5)
    assert cgnat.meta["hubs"]["ip"] == 1
    # Raising the cap over the IP's 60 accounts links them all, at the IDF weight of a 60-account IP.
    wide = build_graph(cgnat.log, params=GraphParams(ip_cap=60))
    assert wide.relations["ip"].n_edges == 60 * 59 // 2
    assert np.allclose(wide.relations["ip"].weight, 1 - np.exp(-idf(60)))


# --------------------------------------------------------------------------- time relations


def test_lockstep_likes_give_strong_coaction_and_single_coincidence_none(lockstep: AccountGraph) -> None:
    co = edges(lockstep, "coaction")
    assert set(co) == {("a", "b")}
    assert evidence(lockstep, "coaction", "targets")[("a", "b")] == 10
    # Alone in each cell: idf(2) = 1 per target, score 10.
    assert co[("a", "b")] == pytest.approx(1 - np.exp(-10 / 5.0), rel=1e-5)
    assert co[("a", "b")] > 0.8
    assert feature(lockstep, "a", "sync_share") == 1.0
    assert feature(lockstep, "c", "sync_share") == pytest.approx(0.5)
    assert feature(lockstep, "n0", "sync_share") == 0.0


def test_coaction_min_targets_is_a_parameter(lockstep: AccountGraph) -> None:
    loose = build_graph(lockstep.log, params=GraphParams(coaction_min_targets=1))
    assert set(edges(loose, "coaction")) == {("a", "b"), ("c", "d")}
    assert evidence(loose, "coaction", "targets")[("c", "d")] == 1


@pytest.mark.parametrize(
    ("n_likers", "span", "max_weight"),
    [
        (400, 300, 0.0),  # 400 likers in 5 minutes: every cell is over the cap, nobody is linked
        (300, HOUR, 0.2),  # ~50 per cell: pairs may share cells on all 3 posts, at a low IDF weight
    ],
)
def test_viral_burst_does_not_link_likers_strongly(n_likers: int, span: int, max_weight: float) -> None:
    rows = _burst_rows(n_likers, span, n_posts=3, seed=7)
    # A real ring inside the burst: r0..r2 like 10 quiet posts together on other days.
    for k in range(10):
        rows += [(f"r{i}", T0 + 10 * DAY + k * HOUR + i, "like", "content", f"quiet-{k}") for i in range(3)]
    graph = build_graph(make_log(rows))
    co = edges(graph, "coaction")
    fans = [w for (a, b), w in co.items() if a.startswith("fan") and b.startswith("fan")]
    assert (max(fans) if fans else 0.0) <= max_weight
    ring = [co[("r0", "r1")], co[("r0", "r2")], co[("r1", "r2")]]
    assert min(ring) > 0.6
    if max_weight == 0.0:
        assert graph.meta["hubs"]["coaction cells"] >= 3


def test_reciprocal_follows_outweigh_one_way(social: AccountGraph) -> None:
    inter = edges(social, "interaction")
    one = 1 - np.exp(-1)
    assert inter == {
        ("x", "y"): pytest.approx(one, rel=1e-5),  # follow + follow back
        ("w", "z"): pytest.approx(one / 2, rel=1e-5),  # one way
        ("u", "v"): pytest.approx((1 - np.exp(-3)) / 2, rel=1e-5),  # three messages, no reply
    }
    assert evidence(social, "interaction", "reciprocal") == {("x", "y"): 1, ("w", "z"): 0, ("u", "v"): 0}
    assert evidence(social, "interaction", "events")[("u", "v")] == 3


def test_same_ip_within_window_outweighs_same_ip_weeks_apart(ip_timing: AccountGraph) -> None:
    ip = edges(ip_timing, "ip")
    assert ip[("a", "b")] == pytest.approx(ip[("c", "d")])
    assert set(edges(ip_timing, "ip_time")) == {("a", "b")}
    src, dst, w = ip_timing.combined()
    ids = ip_timing.account_ids
    combined = {tuple(sorted((ids[s], ids[d]))): x for s, d, x in zip(src, dst, w, strict=True)}
    assert combined[("a", "b")] > 2 * combined[("c", "d")]


def test_ip_time_window_is_a_parameter(ip_timing: AccountGraph) -> None:
    narrow = build_graph(ip_timing.log, params=GraphParams(ip_window=120))
    assert narrow.relations["ip_time"].n_edges == 0
    wide = build_graph(ip_timing.log, params=GraphParams(ip_window=60 * DAY))
    assert set(edges(wide, "ip_time")) == {("a", "b"), ("c", "d")}


# --------------------------------------------------------------------------- invariants


@pytest.mark.parametrize("fixture", ["device_farm", "cgnat", "lockstep", "social", "ip_timing"])
def test_relation_invariants(fixture: str, request: pytest.FixtureRequest) -> None:
    graph: AccountGraph = request.getfixturevalue(fixture)
    assert {"device", "ip", "ip_time", "coaction", "interaction"} <= set(graph.relations)
    for rel in graph.relations.values():
        assert isinstance(rel, Relation)
        assert rel.src.dtype == np.int32 and rel.dst.dtype == np.int32
        assert rel.weight.dtype == np.float32
        assert np.all(rel.src < rel.dst)
        assert np.all((rel.weight > 0) & (rel.weight <= 1))
        key = rel.src.astype(np.int64) * graph.n_accounts + rel.dst
        assert np.all(np.diff(key) > 0)  # sorted, no duplicates
        assert all(v.shape == rel.src.shape for v in rel.evidence.values())
    assert graph.features.dtype == np.float32
    assert graph.features.shape == (graph.n_accounts, len(FEATURE_NAMES))
    assert graph.feature_names == FEATURE_NAMES
    assert np.isfinite(graph.features).all()


def test_account_age_uses_created_at_or_falls_back(device_farm: AccountGraph) -> None:
    log = device_farm.log
    accounts = pd.DataFrame(
        {"created_at": [T0 - 10 * DAY, T0]}, index=pd.Index(["f0", "u0"], name="account_id")
    )
    graph = build_graph(log, accounts)
    assert feature(graph, "f0", "log_account_age_days") == pytest.approx(np.log1p(10), rel=1e-5)
    assert feature(graph, "f0", "has_created_at") == 1.0
    assert feature(graph, "u0", "log_account_age_days") == 0.0
    assert feature(graph, "f1", "has_created_at") == 0.0
    assert feature(device_farm, "f0", "has_created_at") == 0.0
    # The same table with account_id as a column, and created_at as datetimes, gives the same.
    as_column = accounts.reset_index()
    as_column["created_at"] = pd.to_datetime(as_column["created_at"], unit="s", utc=True)
    again = build_graph(log, as_column)
    assert np.array_equal(again.features, graph.features)


def test_activity_features() -> None:
    # Regular: one event every hour; bursty: 9 events in 9 seconds, then one a day later.
    rows = [("reg", T0 + k * HOUR, "like", "content", f"c{k}") for k in range(10)]
    rows += [("burst", T0 + k, "like", "content", f"b{k}") for k in range(9)]
    rows += [("burst", T0 + DAY, "like", "content", "b9")]
    rows += login("one", T0, "d1", "i1")  # two rows, one instant
    graph = build_graph(make_log(rows))
    assert feature(graph, "reg", "burstiness") == pytest.approx(-1.0)
    assert feature(graph, "burst", "burstiness") > 0.3
    assert feature(graph, "one", "burstiness") == 0.0
    assert feature(graph, "one", "log_events") == pytest.approx(np.log1p(2))
    assert feature(graph, "reg", "log_targets") == pytest.approx(np.log1p(10))


def test_idf_and_squash() -> None:
    assert idf(np.array([2, 4, 1024])) == pytest.approx([1.0, 0.5, 0.1])
    w = squash(np.array([0.0, 1e-9, 1.0, 1e6]), 1.0)
    assert w.dtype == np.float32
    assert np.all((w > 0) & (w <= 1))
    assert np.all(np.diff(w) >= 0)


def test_params_validate_and_hash() -> None:
    p = GraphParams(type_caps={"phone": 10}, relation_weights={"device": 2.0})
    assert p.cap("phone") == 10 and p.cap("device") == 100 and p.cap("email") == 50
    assert p.relation_weight("device") == 2.0 and p.relation_weight("phone") == 1.0
    assert hash(p) == hash(GraphParams(type_caps={"phone": 10}, relation_weights={"device": 2.0}))
    with pytest.raises(ValueError, match="ip_cap"):
        GraphParams(ip_cap=1)
    with pytest.raises(ValueError, match="coaction_scale"):
        GraphParams(coaction_scale=0)
