"""Relations and features on small hand-made logs whose right edges and weights are known by construction.

Shared-identifier relations are exact functions of the log, so their fixtures are tiny. Synchrony
relations (``coaction``, ``id_time``) are judged against the log's own chance level, so their fixtures
plant a few accounts in a background of ordinary activity (:func:`logs.background_rows`) and the tests
assert only on the planted accounts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from graphs.build import build_graph
from graphs.events import EventLog
from graphs.features import FEATURE_NAMES
from graphs.graph import AccountGraph
from graphs.params import CANONICAL_RELATIONS, DEFAULT_RELATION_WEIGHTS, GraphParams
from graphs.relations import Relation, idf, squash

try:
    from tests.logs import DAY, HOUR, MIN, T0, background_rows, edges, evidence, feature, login, make_log
except ImportError:
    from logs import DAY, HOUR, MIN, T0, background_rows, edges, evidence, feature, login, make_log

SYNC_EVIDENCE = {"count", "window", "best_window", "expected", "surprise"}
ONE = 1 - np.exp(-1)  # the weight of one private shared identifier; the least weight of a kept sync pair


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
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


@pytest.fixture(scope="module")
def cgnat() -> AccountGraph:
    """60 accounts, each on its own device, behind one carrier IP within half an hour (cap 50)."""
    rows = []
    for i in range(60):
        rows += login(f"m{i:02d}", T0 + i * MIN // 2, f"dev-m{i}", "100.64.0.1")
    return build_graph(make_log(rows))


LOCKSTEP = {"a", "b", "c", "d"} | {f"n{k}" for k in range(10)}


@pytest.fixture(scope="module")
def lockstep() -> AccountGraph:
    """a, b like the same 10 fresh posts 40 s apart, hours apart; c, d coincide once; 1000 ordinary accounts.

    Two of the co-likes straddle a 10-minute bucket boundary (they only meet in the shifted grid); the
    rest sit mid-bucket at 10 minutes (they meet in both grids and must still count once).
    """
    rows = []
    base = T0 - T0 % 600 + 600 * 300  # a boundary of the 10-minute grid, two days into the background
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
    return build_graph(make_log(rows + background_rows(1000, seed=1)))


@pytest.fixture(scope="module")
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


IP_TIMING = {"a", "b", "c", "d"}


@pytest.fixture(scope="module")
def ip_timing() -> AccountGraph:
    """a, b log in on one IP 5 minutes apart (across an hour boundary) on 6 evenings; c, d use another IP
    6 times each, 3 weeks apart; 1000 ordinary accounts log in from household IPs at random times."""
    rows = []
    for k in range(6):
        hour = T0 - T0 % HOUR + 10 * HOUR + 2 * k * DAY
        rows += login("a", hour - 150, "dev-a", "ip-ab") + login("b", hour + 150, "dev-b", "ip-ab")
        rows += login("c", T0 + 5 * k * HOUR, "dev-c", "ip-cd")
        rows += login("d", T0 + 21 * DAY + 5 * k * HOUR, "dev-d", "ip-cd")
    return build_graph(make_log(rows + background_rows(1000, seed=2)))


# --------------------------------------------------------------------------- identifier relations


def test_shared_emulator_devices_give_strong_edges(device_farm: AccountGraph) -> None:
    assert set(device_farm.roles.identifiers) == {"device", "ip", "phone"}
    assert device_farm.identifier_relations == device_farm.roles.identifiers
    dev = edges(device_farm, "device")
    farm = [f"f{i}" for i in range(5)]
    expected = 1 - np.exp(-2 * idf(5))  # two shared devices, each used by 5 accounts
    assert set(dev) == {(a, b) for i, a in enumerate(farm) for b in farm[i + 1 :]}
    assert all(w == pytest.approx(expected, rel=1e-5) for w in dev.values())
    assert set(evidence(device_farm, "device", "shared").values()) == {2}
    assert all(
        s == pytest.approx(2 * idf(5), rel=1e-5) for s in evidence(device_farm, "device", "score").values()
    )
    assert expected > 0.5
    # A private pair (2 accounts, one phone) gets the full evidence of one entity.
    assert edges(device_farm, "phone") == {("p0", "p1"): pytest.approx(ONE, rel=1e-5)}
    assert edges(device_farm, "ip") == {}
    # Pooled identifier features: f0 has two emulators (5 accounts each) and a private home IP.
    assert feature(device_farm, "f0", "id_shared_max") == pytest.approx(np.log(5), rel=1e-5)
    assert feature(device_farm, "f0", "id_shared_types") == pytest.approx(1 / 3)  # device, of 3 types
    # Judged against the log's own rates: farm accounts sit on crowded, shared identifiers.
    assert feature(device_farm, "f0", "id_pop_z") > 0 > feature(device_farm, "u0", "id_pop_z")
    assert feature(device_farm, "f0", "id_shared_z") > 0 > feature(device_farm, "u0", "id_shared_z")
    # Per type used, and as shares of the log's 3 identifier types (device, ip, phone).
    assert feature(device_farm, "f0", "log_identifiers") == pytest.approx(np.log1p(3 / 2), rel=1e-5)
    assert feature(device_farm, "f0", "id_type_share") == pytest.approx(2 / 3, rel=1e-5)
    assert feature(device_farm, "p0", "id_type_share") == pytest.approx(1.0, rel=1e-5)
    assert feature(device_farm, "p0", "id_shared_max") == pytest.approx(np.log(2), rel=1e-5)
    assert feature(device_farm, "u0", "id_shared_max") == 0.0
    assert feature(device_farm, "u0", "id_shared_types") == 0.0
    assert feature(device_farm, "f0", "id_hub_z") == 0.0  # no hub anywhere: the rate says nothing
    # Degrees of the pooled identifier relation.
    assert feature(device_farm, "f0", "deg_identifier") == pytest.approx(np.log1p(4), rel=1e-5)
    assert feature(device_farm, "f0", "wdeg_identifier") == pytest.approx(np.log1p(4 * expected), rel=1e-5)
    assert feature(device_farm, "p0", "deg_identifier") == pytest.approx(np.log1p(1), rel=1e-5)
    assert feature(device_farm, "u0", "deg_identifier") == 0.0
    assert device_farm.meta["hubs"] == {"device": 0, "ip": 0, "phone": 0}


def test_fresh_identifiers(device_farm: AccountGraph) -> None:
    # Pooled over every identifier the account used, its home IP included.
    fresh = {a: feature(device_farm, a, "fresh_id_z") for a in ("f0", "f3", "u1", "p0", "p1")}
    assert fresh["f0"] > fresh["f3"]  # f0 was first on both emulators, f3 only reused them
    assert fresh["u1"] > fresh["f3"]  # its own device and IP
    assert fresh["p0"] > fresh["p1"]  # the phone was p0's first


def test_a_type_where_everyone_is_alike_changes_nothing(device_farm: AccountGraph) -> None:
    """A cookie per account (all private, all fresh) adds a type but no evidence: the z-features hold."""
    log = device_farm.log
    cookies = [(a, T0, "login", "cookie", f"ck-{a}") for a in log.account_ids]
    rows = log.to_frame().astype({"account_id": str, "action": str, "entity_type": str})
    more = pd.concat([rows, pd.DataFrame(cookies, columns=rows.columns)], ignore_index=True)
    graph = build_graph(EventLog.from_frame(more))
    for name in ("id_pop_z", "id_shared_z", "id_hub_z", "fresh_id_z", "id_shared_max"):
        for a in ("f0", "f3", "u0", "p1"):
            assert feature(graph, a, name) == pytest.approx(feature(device_farm, a, name), abs=1e-6), name


def test_identifier_types_pool_into_the_identifier_kind() -> None:
    """s0/s1 share a tablet and a home IP; t0/t1 share a device only; s0/t0 share an identifier whose
    type is called ``coaction`` (a name taken by a relation, so its relation is ``shared_coaction``)."""
    rows = login("s0", T0, "tab-s", "home-s") + login("s1", T0 + HOUR, "tab-s", "home-s")
    rows += login("t0", T0, "dev-t", "home-t0") + login("t1", T0 + DAY, "dev-t", "home-t1")
    rows += [("s0", T0 + 5, "signup", "coaction", "x1"), ("t0", T0 + 5 * DAY, "signup", "coaction", "x1")]
    graph = build_graph(make_log(rows))
    assert graph.identifier_relations == ("device", "ip", "shared_coaction")
    assert list(graph.relations) == ["device", "ip", "shared_coaction", "id_time", "coaction", "interaction"]
    assert edges(graph, "device") == {
        ("s0", "s1"): pytest.approx(ONE, rel=1e-5),
        ("t0", "t1"): pytest.approx(ONE, rel=1e-5),
    }
    assert edges(graph, "ip") == {("s0", "s1"): pytest.approx(ONE, rel=1e-5)}
    assert edges(graph, "shared_coaction") == {("s0", "t0"): pytest.approx(ONE, rel=1e-5)}
    assert graph.relations["coaction"].n_edges == 0  # the synchrony relation, not the identifier type
    canon = graph.canonical()
    assert list(canon) == list(CANONICAL_RELATIONS)
    assert graph.relation("identifier") is canon["identifier"]
    # Scores add over types, then are squashed once.
    assert edges(graph, "identifier") == {
        ("s0", "s1"): pytest.approx(1 - np.exp(-2), rel=1e-5),
        ("t0", "t1"): pytest.approx(ONE, rel=1e-5),
        ("s0", "t0"): pytest.approx(ONE, rel=1e-5),
    }
    assert evidence(graph, "identifier", "types") == {("s0", "s1"): 2, ("t0", "t1"): 1, ("s0", "t0"): 1}
    assert evidence(graph, "identifier", "shared") == {("s0", "s1"): 2, ("t0", "t1"): 1, ("s0", "t0"): 1}
    assert feature(graph, "s0", "id_shared_types") == 1.0  # all three of the log's types
    # The saturation scale applies to the per-type and the pooled scores alike.
    soft = build_graph(graph.log, params=GraphParams(identifier_scale=2.0))
    assert edges(soft, "device")[("s0", "s1")] == pytest.approx(1 - np.exp(-0.5), rel=1e-5)
    assert edges(soft, "identifier")[("s0", "s1")] == pytest.approx(ONE, rel=1e-5)


def test_declared_roles_win(device_farm: AccountGraph) -> None:
    graph = build_graph(device_farm.log, params=GraphParams(target_types=("phone",)))
    assert graph.roles.role("phone") == "target"
    assert "phone" not in graph.relations and graph.identifier_relations == ("device", "ip")
    assert ("p0", "p1") not in edges(graph, "identifier")
    assert edges(graph, "device") == edges(device_farm, "device")


def test_identifier_over_cap_gives_no_edges_only_hub_features(cgnat: AccountGraph) -> None:
    assert cgnat.relations["ip"].n_edges == 0
    assert cgnat.relations["id_time"].n_edges == 0
    # A hub is left out of co-presence altogether (the devices are private, so nothing is counted).
    assert cgnat.meta["synchrony"]["id_time"]["rows"] == 0
    assert cgnat.meta["hubs"] == {"device": 0, "ip": 1}
    assert feature(cgnat, "m00", "id_hub_z") == 0.0  # everyone is on the hub: no account stands out
    assert feature(cgnat, "m00", "id_shared_max") == 0.0  # the hub is over the cap
    assert feature(cgnat, "m00", "fresh_id_z") > feature(cgnat, "m01", "fresh_id_z")  # first on the IP
    # Raising the IP cap over its 60 accounts links them all, at the IDF weight of a 60-account IP.
    wide = build_graph(cgnat.log, params=GraphParams(type_caps={"ip": 60}))
    assert wide.relations["ip"].n_edges == 60 * 59 // 2
    assert np.allclose(wide.relations["ip"].weight, 1 - np.exp(-idf(60)))
    assert wide.meta["hubs"] == {"device": 0, "ip": 0}
    assert wide.meta["synchrony"]["id_time"]["rows"] == 60
    assert feature(wide, "m00", "id_hub_z") == 0.0
    assert feature(wide, "m00", "id_shared_max") == pytest.approx(np.log(60), rel=1e-5)
    # One cap for every identifier type does the same; another type's override does not.
    same = build_graph(cgnat.log, params=GraphParams(identifier_cap=60))
    assert np.array_equal(same.relations["ip"].weight, wide.relations["ip"].weight)
    other = build_graph(cgnat.log, params=GraphParams(type_caps={"device": 60}))
    assert other.relations["ip"].n_edges == 0


# --------------------------------------------------------------------------- time relations


def test_lockstep_likes_give_strong_coaction_and_single_coincidence_none(lockstep: AccountGraph) -> None:
    co = edges(lockstep, "coaction", LOCKSTEP)
    assert set(co) == {("a", "b")}
    ev = {k: evidence(lockstep, "coaction", k, LOCKSTEP)[("a", "b")] for k in SYNC_EVIDENCE}
    assert ev["count"] == 10  # the straddling co-likes count, and none counts twice
    assert ev["window"] == 60  # 40 s apart: the minute scale holds every co-like
    assert ev["expected"] < 1.0  # chance predicts less than one co-like at that scale
    threshold = lockstep.sync_stats["coaction"].threshold
    assert np.isfinite(threshold) and ev["surprise"] >= threshold * (1 - 1e-6)  # surprise is float32
    assert co[("a", "b")] == pytest.approx(1 - np.exp(-ev["surprise"] / threshold), rel=1e-4)
    assert co[("a", "b")] >= ONE - 1e-6
    # Nobody else co-acts with a planted account.
    others = edges(lockstep, "coaction")
    assert [p for p in others if set(p) & LOCKSTEP] == [("a", "b")]
    assert feature(lockstep, "a", "sync_share") == 1.0
    assert feature(lockstep, "c", "sync_share") == pytest.approx(0.5)  # post-x with d, post-y alone
    assert feature(lockstep, "n0", "sync_share") == 0.0
    assert feature(lockstep, "a", "log_sync_partners") == pytest.approx(np.log1p(1))
    assert feature(lockstep, "a", "sync_strength") >= 1.0 - 1e-6  # surprise over threshold
    assert feature(lockstep, "c", "sync_strength") == 0.0
    assert feature(lockstep, "a", "deg_coaction") == pytest.approx(np.log1p(1))


def test_sync_min_count_is_a_parameter(lockstep: AccountGraph) -> None:
    loose = build_graph(lockstep.log, params=GraphParams(sync_min_count=1))
    # Counted, a single coincidence is still no evidence against the log's chance level.
    assert set(edges(loose, "coaction", LOCKSTEP)) == {("a", "b")}
    assert evidence(loose, "coaction", "count", LOCKSTEP)[("a", "b")] == 10
    strict = build_graph(lockstep.log, params=GraphParams(sync_min_count=11))
    assert edges(strict, "coaction", LOCKSTEP) == {}  # 10 co-likes are fewer than 11
    assert strict.meta["synchrony"]["coaction"]["kept_pairs"] == 0


def test_sync_windows_are_a_parameter(lockstep: AccountGraph) -> None:
    daily = build_graph(lockstep.log, params=GraphParams(sync_windows=(DAY,)))
    assert daily.meta["synchrony"]["coaction"]["windows"] == [DAY]
    assert set(edges(daily, "coaction", LOCKSTEP)) == {("a", "b")}
    assert evidence(daily, "coaction", "window", LOCKSTEP)[("a", "b")] == DAY
    assert evidence(daily, "coaction", "count", LOCKSTEP)[("a", "b")] == 10


def _burst_rows(n_likers: int, span: int, n_posts: int, seed: int) -> list[tuple[str, int, str, str, str]]:
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(n_posts):
        times = T0 + p * DAY + rng.integers(0, span, n_likers)
        rows += [(f"fan{i:04d}", int(t), "like", "content", f"viral-{p}") for i, t in enumerate(times)]
    return rows


@pytest.mark.parametrize(
    ("n_likers", "span"),
    [
        (400, 5 * MIN),  # 400 likers in 5 minutes, on 3 posts: everyone co-likes everyone 3 times
        (700, 5 * MIN),  # cells of 10 minutes and more are over the cell cap of 500
        (300, HOUR),  # ~50 per 10-minute cell
        (2500, 3 * HOUR),  # over the target cap of 2000: the posts are left out
    ],
)
def test_viral_burst_does_not_link_fans_but_a_quiet_ring_inside_it(n_likers: int, span: int) -> None:
    rows = _burst_rows(n_likers, span, n_posts=3, seed=7)
    # A real ring inside the burst: r0..r2 like 10 quiet posts within seconds, on other days.
    ring_rows = []
    for k in range(10):
        ring_rows += [
            (f"r{i}", T0 + 10 * DAY + k * HOUR + i, "like", "content", f"quiet-{k}") for i in range(3)
        ]
    bg = background_rows(500, seed=3)
    graph = build_graph(make_log(rows + ring_rows + bg))
    co = edges(graph, "coaction")
    fans = [p for p in co if p[0].startswith("fan") and p[1].startswith("fan")]
    assert len(fans) <= 2, fans  # of 80,000+ pairs that co-liked 3 posts within minutes
    ring = {("r0", "r1"), ("r0", "r2"), ("r1", "r2")}
    assert ring <= set(co)
    counts = evidence(graph, "coaction", "count")
    windows = evidence(graph, "coaction", "window")
    assert all(counts[p] == 10 and windows[p] == 60 for p in ring)
    if n_likers > graph.params.target_cap:
        without = build_graph(make_log(ring_rows + bg))
        assert graph.meta["synchrony"]["coaction"]["rows"] == without.meta["synchrony"]["coaction"]["rows"]
        assert feature(graph, "fan0000", "sync_share") == 0.0


def test_reciprocal_follows_outweigh_one_way(social: AccountGraph) -> None:
    assert social.roles.interaction == ("account",)
    assert "ghost" not in set(social.account_ids)  # followed, never acts: not a node
    inter = edges(social, "interaction")
    assert inter == {
        ("x", "y"): pytest.approx(ONE, rel=1e-5),  # follow + follow back
        ("w", "z"): pytest.approx(ONE / 2, rel=1e-5),  # one way
        ("u", "v"): pytest.approx((1 - np.exp(-3)) / 2, rel=1e-5),  # three messages, no reply
    }
    assert evidence(social, "interaction", "reciprocal") == {("x", "y"): 1, ("w", "z"): 0, ("u", "v"): 0}
    assert evidence(social, "interaction", "events")[("u", "v")] == 3


def test_action_filters(social: AccountGraph) -> None:
    follows = build_graph(social.log, params=GraphParams(interaction_actions=("follow",)))
    assert set(edges(follows, "interaction")) == {("x", "y"), ("w", "z")}  # the messages are left out
    likes = build_graph(social.log, params=GraphParams(coaction_actions=("like",)))
    assert likes.meta["synchrony"]["coaction"]["rows"] == 1  # w's like; the follows are not co-actions


def test_same_ip_within_minutes_outweighs_same_ip_weeks_apart(ip_timing: AccountGraph) -> None:
    ip = edges(ip_timing, "ip", IP_TIMING)
    assert ip == {("a", "b"): pytest.approx(ONE, rel=1e-5), ("c", "d"): pytest.approx(ONE, rel=1e-5)}
    assert set(edges(ip_timing, "id_time", IP_TIMING)) == {("a", "b")}
    assert [p for p in edges(ip_timing, "id_time") if set(p) & IP_TIMING] == [("a", "b")]
    assert evidence(ip_timing, "id_time", "count", IP_TIMING)[("a", "b")] == 6
    assert evidence(ip_timing, "id_time", "window", IP_TIMING)[("a", "b")] == 600
    assert edges(ip_timing, "id_time", IP_TIMING)[("a", "b")] >= ONE - 1e-6
    assert feature(ip_timing, "a", "presence_strength") >= 1.0 - 1e-6
    assert feature(ip_timing, "c", "presence_strength") == 0.0
    assert feature(ip_timing, "a", "deg_id_time") == pytest.approx(np.log1p(1))
    src, dst, w = ip_timing.combined()
    ids = ip_timing.account_ids
    combined = {tuple(sorted((ids[s], ids[d]))): x for s, d, x in zip(src, dst, w, strict=True)}
    assert combined[("c", "d")] == pytest.approx(
        ip_timing.params.relation_weight("identifier") * ONE, rel=1e-5
    )
    assert combined[("a", "b")] > 2 * combined[("c", "d")]


def test_presence_windows_are_a_parameter(ip_timing: AccountGraph) -> None:
    narrow = build_graph(ip_timing.log, params=GraphParams(presence_windows=(60,)))
    assert narrow.meta["synchrony"]["id_time"]["windows"] == [60]
    assert edges(narrow, "id_time", IP_TIMING) == {}  # 5 minutes apart is never within a minute
    hourly = build_graph(ip_timing.log, params=GraphParams(presence_windows=(HOUR,)))
    assert hourly.meta["synchrony"]["id_time"]["windows"] == [HOUR]
    assert set(edges(hourly, "id_time", IP_TIMING)) == {("a", "b")}
    assert evidence(hourly, "id_time", "window", IP_TIMING)[("a", "b")] == HOUR
    assert evidence(hourly, "id_time", "count", IP_TIMING)[("a", "b")] == 6


# --------------------------------------------------------------------------- invariants


def _check_relation(rel: Relation, n_accounts: int) -> None:
    assert isinstance(rel, Relation)
    assert rel.src.dtype == np.int32 and rel.dst.dtype == np.int32
    assert rel.weight.dtype == np.float32
    assert np.all(rel.src < rel.dst) and np.all(rel.src >= 0) and np.all(rel.dst < n_accounts)
    assert np.all((rel.weight > 0) & (rel.weight <= 1))
    key = rel.src.astype(np.int64) * n_accounts + rel.dst
    assert np.all(np.diff(key) > 0)  # sorted, no duplicates
    assert all(v.shape == rel.src.shape for v in rel.evidence.values())


@pytest.mark.parametrize("fixture", ["device_farm", "cgnat", "lockstep", "social", "ip_timing"])
def test_relation_invariants(fixture: str, request: pytest.FixtureRequest) -> None:
    graph: AccountGraph = request.getfixturevalue(fixture)
    n = graph.n_accounts
    names = list(graph.relations)
    assert names == [*graph.identifier_relations, "id_time", "coaction", "interaction"]
    assert graph.identifier_relations == graph.roles.identifiers  # no reserved names in these logs
    for name, rel in graph.relations.items():
        assert rel.name == name
        _check_relation(rel, n)
        if name in graph.identifier_relations:
            assert set(rel.evidence) == {"shared", "score"}
            assert np.all(rel.evidence["shared"] >= 1)
        elif name in ("id_time", "coaction"):
            assert set(rel.evidence) == SYNC_EVIDENCE
            windows = set(graph.meta["synchrony"][name]["windows"])
            assert set(rel.evidence["window"].tolist()) <= windows
            assert set(rel.evidence["best_window"].tolist()) <= windows
            # Kept pairs are at least as surprising as the log's threshold, and have enough co-occurrences.
            assert np.all(rel.weight >= ONE - 1e-6)
            min_count = graph.params.sync_min_count if name == "coaction" else graph.params.presence_min_count
            assert np.all(rel.evidence["count"] >= min_count)
            assert graph.meta["synchrony"][name]["kept_pairs"] == rel.n_edges
        else:
            assert set(rel.evidence) == {"events", "reciprocal"}
    canon = graph.canonical()
    assert list(canon) == list(CANONICAL_RELATIONS)
    for name, rel in canon.items():
        _check_relation(rel, n)
        if name != "identifier":
            assert rel is graph.relations[name]
    assert set(canon["identifier"].evidence) == {"shared", "types", "score"}
    assert set(graph.meta["hubs"]) == set(graph.roles.identifiers)
    assert set(graph.meta["synchrony"]) == {"id_time", "coaction"}
    assert graph.meta["time_resolution_s"] in (1, 60, 3600, 86400)
    assert graph.features.dtype == np.float32
    assert graph.features.shape == (n, len(FEATURE_NAMES))
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
    assert feature(graph, "reg", "target_pop_mean") == 0.0  # every post is liked by reg alone


def test_idf_and_squash() -> None:
    assert idf(np.array([2, 4, 1024])) == pytest.approx([1.0, 0.5, 0.1])
    w = squash(np.array([0.0, 1e-9, 1.0, 1e6]), 1.0)
    assert w.dtype == np.float32
    assert np.all((w > 0) & (w <= 1))
    assert np.all(np.diff(w) >= 0)


def test_params_validate_and_hash() -> None:
    p = GraphParams(identifier_cap=100, type_caps={"phone": 10}, relation_weights={"identifier": 2.0})
    assert p.cap("phone") == 10 and p.cap("device") == 100 and p.cap("email") == 100
    assert p.relation_weight("identifier") == 2.0
    assert p.relation_weight("coaction") == 1.0  # a canonical kind not named: 1
    assert p.relation_weight("device") == 0.0  # weights are per kind, not per identifier type
    assert hash(p) == hash(
        GraphParams(identifier_cap=100, type_caps=(("phone", 10),), relation_weights={"identifier": 2.0})
    )
    assert p == GraphParams(identifier_cap=100, type_caps={"phone": 10}, relation_weights={"identifier": 2.0})
    assert p != GraphParams(identifier_cap=100, type_caps={"phone": 11}, relation_weights={"identifier": 2.0})
    default = GraphParams()
    assert default.cap("ip") == 50
    assert {k: default.relation_weight(k) for k in CANONICAL_RELATIONS} == dict(DEFAULT_RELATION_WEIGHTS)
    assert default.sync_windows == (60, 600, 3600, 14400, 86400) and default.sync_min_count == 2
    # Windows are sorted and deduplicated, role lists may be comma-separated strings.
    assert GraphParams(sync_windows=(600, 60, 600)).sync_windows == (60, 600)
    assert GraphParams(identifier_types="device, ip").identifier_types == ("device", "ip")
    assert hash(GraphParams(presence_windows=[3600, 600])) == hash(GraphParams())
    # Error messages name the field.
    bad = [
        ({"identifier_cap": 1}, "identifier_cap"),
        ({"sync_cell_cap": 1}, "sync_cell_cap"),
        ({"target_cap": 0}, "target_cap"),
        ({"type_caps": {"ip": 1}}, r"type_caps\['ip'\]"),
        ({"identifier_scale": 0}, "identifier_scale"),
        ({"interaction_scale": -1.0}, "interaction_scale"),
        ({"sync_windows": ()}, "sync_windows"),
        ({"presence_windows": (0, 600)}, "presence_windows"),
        ({"sync_min_count": 0}, "sync_min_count"),
        ({"presence_min_count": 0}, "presence_min_count"),
        ({"sync_fdr": 0.0}, "sync_fdr"),
        ({"sync_fdr": 1.0}, "sync_fdr"),
        ({"identifier_types": ("ip",), "target_types": ("ip",)}, "both"),
    ]
    for kwargs, field in bad:
        with pytest.raises(ValueError, match=field):
            GraphParams(**kwargs)
    # The old per-type knobs are gone, not silently ignored.
    for old in ("ip_cap", "device_cap", "ip_window", "coaction_window", "coaction_min_targets"):
        with pytest.raises(TypeError):
            GraphParams(**{old: 60})


def test_entity_counts_from_the_incidence_equal_the_logs_own() -> None:
    from graphs.incidence import build_incidence, prime_entity_counts
    from graphs.synthetic.regimes import generate_regime_world

    for regime in ("minutes", "reviews"):
        events = generate_regime_world(regime, 1500, 7).events
        fresh, primed = EventLog.from_frame(events), EventLog.from_frame(events)
        prime_entity_counts(primed, build_incidence(primed))
        assert np.array_equal(primed.entity_users, fresh.entity_users)
        assert np.array_equal(primed.entity_origin, fresh.entity_origin)


def test_blocked_projection_equals_the_whole_product(monkeypatch) -> None:
    # Row blocks against the columns from their first row on: the same pairs and the same sums.
    import graphs.projection as pj

    rng = np.random.default_rng(3)
    rows, cols = rng.integers(0, 400, 6000), rng.integers(0, 300, 6000)
    for vals, k in ((rng.random(6000) + 1j, 1), (np.ones(6000), 2)):
        whole = pj.project(rows, cols, vals, 500, 300, min_count=k)
        monkeypatch.setattr(pj, "BLOCK_FLOPS", 500)
        blocked = pj.project(rows, cols, vals, 500, 300, min_count=k)
        monkeypatch.undo()
        assert whole.nnz > 0 and (whole != blocked).nnz == 0
        assert np.array_equal(whole.indptr, blocked.indptr) and np.array_equal(whole.indices, blocked.indices)
        assert np.array_equal(whole.data, blocked.data)
