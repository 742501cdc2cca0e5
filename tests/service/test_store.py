"""The verdict store: publish, stable ids, verdict history, change feed, atomicity, both engines."""

from __future__ import annotations

import contextlib
import threading
from datetime import timedelta

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import service.store.publish as publish_module
from service.detection import Detection
from service.store import (
    CursorError,
    Store,
    decode_cursor,
    encode_cursor,
    match_clusters,
    parse_since,
)

try:
    from tests.service_fixtures import (  # noqa: F401 (fixtures)
        detection_one,
        detection_three,
        detection_two,
        pg_server,
        store,
        store_url,
    )
except ImportError:
    from service_fixtures import (  # noqa: F401 (fixtures)
        detection_one,
        detection_three,
        detection_two,
        pg_server,
        store,
        store_url,
    )


def pull_all(s: Store, cursor: str | None = None, **filters) -> tuple[list[dict], str]:
    """Pages to the end; returns the items and the resume cursor."""
    items: list[dict] = []
    while True:
        page = s.list_clusters(cursor=cursor, limit=2, **filters)
        items += page.items
        if page.next_cursor is None:
            return items, page.resume_cursor
        cursor = page.next_cursor


# -- one run -------------------------------------------------------------------------------------


def test_empty_store_answers_nothing(store: Store) -> None:
    assert store.latest_run() is None
    assert store.ping() is None
    assert store.account("a1") is None
    assert store.cluster("c-000001") is None
    assert store.cluster_graph("c-000001") is None
    page = store.list_clusters()
    assert page.items == [] and page.next_cursor is None
    assert decode_cursor(page.resume_cursor)[0] == 0


def test_missing_sqlite_file_is_created(tmp_path) -> None:
    path = tmp_path / "deeper" / "store.db"
    with Store(f"sqlite:///{path}") as s:
        assert s.latest_run() is None
    assert path.exists()


def test_store_of_another_schema_version_is_refused(tmp_path) -> None:
    from sqlalchemy import update

    from service.store import StoreSchemaError
    from service.store.tables import counters

    url = f"sqlite:///{tmp_path / 'old.db'}"
    with Store(url) as s, s.engine.begin() as conn:
        conn.execute(update(counters).where(counters.c.name == "schema").values(value=1))
    with pytest.raises(StoreSchemaError, match="schema version 1"):
        Store(url)


def test_publish_then_read(store: Store) -> None:
    result = store.publish(detection_one())
    assert result.run_id == 1
    assert result.id_map == {"R": "c-000001", "S": "c-000002", "B": "c-000003"}
    assert result.new_clusters == ["c-000001", "c-000002", "c-000003"] and result.events == 3

    run = store.latest_run()
    assert run["run_id"] == 1 and run["model_version"] == "test-model-1"
    assert (run["n_accounts"], run["n_clusters"], run["n_rings"]) == (13, 3, 1)
    assert run["params"] == {"seed": 1}
    assert run["detected_at"].isoformat() == "2024-05-01T12:00:00+00:00"

    assert store.account("a1") == {
        "account_id": "a1",
        "score": pytest.approx(0.89),
        "cluster_id": "c-000001",
        "verdict": "ring",
        "run_id": 1,
        "dataset": "default",
    }
    assert store.account("x2")["cluster_id"] is None

    ring = store.cluster("c-000001")
    assert ring["verdict"] == "ring" and ring["status"] == "active" and ring["size"] == 5
    assert [m["account_id"] for m in ring["members"]] == ["a1", "a2", "a3", "a4", "a5"]  # best first
    assert ring["evidence"]["shared_entities"][0]["id"] == "dev-1"
    assert ring["model_version"] == "test-model-1"
    assert [(h["run_id"], h["change"], h["verdict"]) for h in ring["history"]] == [(1, "new", "ring")]

    graph = store.cluster_graph("c-000001")
    assert {n["id"] for n in graph["nodes"]} == {"a1", "a2", "a3", "a4", "a5"}
    assert all(n["verdict"] == "ring" for n in graph["nodes"])
    assert len(graph["edges"]) == 5
    assert {"source": "a1", "target": "a2", "relation": "device", "weight": 1.0} in graph["edges"]


def test_renamed_detection_carries_stable_ids(store: Store) -> None:
    det = detection_one()
    renamed = det.renamed(store.publish(det).id_map)
    assert set(renamed.clusters["cluster_id"]) == {"c-000001", "c-000002", "c-000003"}
    assert renamed.accounts.set_index("account_id").at["s1", "cluster_id"] == "c-000002"


# -- several runs --------------------------------------------------------------------------------


def test_stable_ids_history_and_feed(store: Store) -> None:
    store.publish(detection_one())
    _, after_one = pull_all(store)

    second = store.publish(detection_two())
    assert second.run_id == 2
    assert second.id_map == {"k1": "c-000001", "k2": "c-000002", "k3": "c-000004"}
    assert second.new_clusters == ["c-000004"] and second.dissolved == ["c-000003"]

    ring = store.cluster("c-000001")
    assert {m["account_id"] for m in ring["members"]} == {"a1", "a2", "a3", "a4", "a6"}
    assert ring["first_seen_run"] == 1 and ring["change"] == "members"
    assert [h["change"] for h in ring["history"]] == ["new", "members"]

    s = store.cluster("c-000002")
    assert [(h["run_id"], h["verdict"], h["previous_verdict"]) for h in s["history"]] == [
        (1, "suspicious", None),
        (2, "ring", "suspicious"),
    ]
    assert s["history"][1]["at"] > s["history"][0]["at"]

    gone = store.cluster("c-000003")
    assert gone["status"] == "dissolved" and gone["verdict"] == "benign" and gone["last_run"] == 1
    assert {m["account_id"] for m in gone["members"]} == {"b1", "b2", "b3"}  # last known members
    assert store.account("b1") == {
        "account_id": "b1",
        "score": pytest.approx(0.1),
        "cluster_id": None,
        "verdict": "benign",
        "run_id": 2,
        "dataset": "default",
    }
    assert store.account("x2") is None  # not seen in run 2

    # Resuming after run 1 sees exactly run 2's changes, in feed order.
    changed, after_two = pull_all(store, after_one)
    assert [(c["cluster_id"], c["change"]) for c in changed] == [
        ("c-000001", "members"),
        ("c-000002", "verdict"),
        ("c-000003", "dissolved"),
        ("c-000004", "new"),
    ]
    assert pull_all(store, after_two)[0] == []

    third = store.publish(detection_three())
    assert third.id_map == {"r": "c-000001", "s": "c-000002"} and third.dissolved == ["c-000004"]
    changed, _ = pull_all(store, after_two)
    assert [(c["cluster_id"], c["change"], c["verdict"]) for c in changed] == [
        ("c-000002", "verdict", "suspicious"),
        ("c-000004", "dissolved", "suspicious"),
    ]
    # The unchanged ring kept its feed position but carries the latest run's data.
    ring = store.cluster("c-000001")
    assert ring["updated_run"] == 2 and ring["last_run"] == 3 and ring["model_version"] == "test-model-3"

    everything, _ = pull_all(store)
    assert sorted(c["cluster_id"] for c in everything) == ["c-000001", "c-000002", "c-000003", "c-000004"]


def test_filters(store: Store) -> None:
    store.publish(detection_one())
    store.publish(detection_two())
    rings, _ = pull_all(store, verdict="ring")
    assert [c["cluster_id"] for c in rings] == ["c-000001", "c-000002"]
    assert [c["cluster_id"] for c in pull_all(store, min_size=4)[0]] == ["c-000001"]
    assert [c["cluster_id"] for c in pull_all(store, since=1)[0]] == [
        "c-000001",
        "c-000002",
        "c-000003",
        "c-000004",
    ]
    assert pull_all(store, since=2)[0] == []
    run2 = store.run(2)["published_at"]
    assert len(pull_all(store, since=run2)[0]) == 4
    assert pull_all(store, since=run2 + timedelta(seconds=1))[0] == []


def test_paging_while_a_run_lands_loses_and_repeats_nothing(store: Store) -> None:
    store.publish(detection_one())
    first = store.list_clusters(limit=2)
    seen = [(c["cluster_id"], c["updated_seq"]) for c in first.items]
    store.publish(detection_two())  # lands mid-pull
    rest, resume = pull_all(store, first.next_cursor)
    seen += [(c["cluster_id"], c["updated_seq"]) for c in rest]
    assert len(seen) == len(set(seen))  # no state delivered twice
    # Every cluster's latest state was delivered; the ones run 2 changed after we passed them
    # came again with their new state.
    latest = {c["cluster_id"]: c["updated_seq"] for c in pull_all(store)[0]}
    assert set(latest.items()) <= set(seen)
    assert [cid for cid, _ in seen] == [
        "c-000001",
        "c-000002",
        "c-000001",
        "c-000002",
        "c-000003",
        "c-000004",
    ]
    assert pull_all(store, resume)[0] == []


def test_reader_sees_old_run_or_new_never_half(store: Store) -> None:
    store.publish(detection_one())
    with store.reading() as db:
        from service.store import queries

        before = queries.account(db, "a1")
        store.publish(detection_two())  # commits while the read transaction is open
        assert queries.latest_run(db)["run_id"] == 1
        assert queries.account(db, "a1") == before
        assert queries.account(db, "n1") is None
        assert queries.cluster(db, "c-000004") is None
    assert store.latest_run()["run_id"] == 2 and store.account("n1")["cluster_id"] == "c-000004"


def test_failed_publish_leaves_previous_run(store: Store, monkeypatch) -> None:
    store.publish(detection_one())
    real = publish_module._bulk_insert

    def failing(conn, table, columns, values):
        if table.name == "accounts":
            raise RuntimeError("disk full")
        return real(conn, table, columns, values)

    monkeypatch.setattr(publish_module, "_bulk_insert", failing)
    with pytest.raises(RuntimeError):
        store.publish(detection_two())
    monkeypatch.setattr(publish_module, "_bulk_insert", real)
    assert store.latest_run()["run_id"] == 1
    assert store.cluster("c-000003")["status"] == "active"
    assert store.cluster("c-000004") is None
    assert store.account("a1")["run_id"] == 1
    # ...and the next publish continues the sequences as if the failed one never happened.
    assert store.publish(detection_two()).id_map["k3"] == "c-000004"


def test_concurrent_publishes_serialise(store: Store) -> None:
    store.publish(detection_one())
    errors: list[BaseException] = []

    def go() -> None:
        try:
            store.publish(detection_two())
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=go) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.latest_run()["run_id"] == 4
    items, _ = pull_all(store)
    seqs = [c["updated_seq"] for c in items]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda a, c: a.assign(account_id=["a1"] * len(a)), "repeats"),
        (lambda a, c: a.assign(verdict="bot"), "must be one of"),
        (lambda a, c: a.assign(cluster_id=a["cluster_id"].replace("R", "Q")), "is not in Detection.clusters"),
    ],
)
def test_inconsistent_detection_is_refused(store: Store, mutate, message) -> None:
    det = detection_one()
    bad = Detection(mutate(det.accounts, det.clusters), det.clusters, {}, det.edges, "m")
    with pytest.raises(ValueError, match=message):
        store.publish(bad)
    assert store.latest_run() is None


def test_evidence_with_numpy_and_nan_is_stored(store: Store) -> None:
    import numpy as np

    det = detection_one()
    det.evidence["R"] = {"n": np.int64(3), "x": np.float32(0.5), "bad": float("nan"), "arr": np.arange(3)}
    det.accounts.loc[0, "score"] = float("nan")
    store.publish(det)
    assert store.cluster("c-000001")["evidence"] == {"n": 3, "x": 0.5, "bad": None, "arr": [0, 1, 2]}
    assert store.account("a1")["score"] is None


def test_nul_ids_are_simply_unknown(store: Store) -> None:
    store.publish(detection_one())
    assert store.account("a\x00") is None
    assert store.cluster("c\x00") is None


# -- matching, cursors ---------------------------------------------------------------------------


def _members(pairs: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame({"account_id": list(pairs), "cluster_id": list(pairs.values())})


def test_match_by_jaccard() -> None:
    prev = _members({"a": "c1", "b": "c1", "c": "c1", "d": "c1", "e": "c2", "f": "c2"})
    cur = _members({"a": "x", "b": "x", "c": "x", "e": "y", "g": "y", "h": "y"})
    m = match_clusters(prev, cur)
    # x keeps 3 of c1's 4 (J 0.75); y keeps 1 of c2's 2 plus 2 new (J 0.25): no match.
    assert m[["local_id", "stable_id", "overlap"]].values.tolist() == [["x", "c1", 3]]
    assert match_clusters(prev.iloc[:0], cur).empty


def test_match_is_one_to_one_when_a_cluster_splits() -> None:
    prev = _members({k: "c1" for k in "abcd"})
    cur = _members({"a": "x", "b": "x", "c": "y", "d": "y"})  # exactly half each: J 0.5, a tie
    m = match_clusters(prev, cur)
    assert len(m) == 1 and m.at[0, "stable_id"] == "c1" and m.at[0, "local_id"] == "x"


@given(st.integers(min_value=0, max_value=2**62), st.one_of(st.none(), st.integers(0, 2**48 - 1)))
def test_cursor_round_trip(seq: int, store_id: int | None) -> None:
    assert decode_cursor(encode_cursor(seq, store_id)) == (seq, store_id)


def test_cursor_is_bound_to_its_store(tmp_path) -> None:
    """A cursor never handed out, or handed out by a store since recreated, is refused."""
    with Store(f"sqlite:///{tmp_path / 'a.db'}") as a:
        resume = a.list_clusters().resume_cursor
        seq, store_id = decode_cursor(resume)
        assert store_id is not None
        a.list_clusters(cursor=resume)  # its own cursor is fine
        a.list_clusters(cursor=encode_cursor(0))  # the old form (no store id) still works
        with pytest.raises(CursorError, match="beyond"):
            a.list_clusters(cursor=encode_cursor(seq + 5, store_id))
        with pytest.raises(CursorError, match="beyond"):
            a.list_clusters(cursor=encode_cursor(seq + 5))
    with Store(f"sqlite:///{tmp_path / 'b.db'}") as b, pytest.raises(CursorError, match="another"):
        b.list_clusters(cursor=resume)
    # The same file, recreated: a new store id.
    (tmp_path / "a.db").unlink()
    with Store(f"sqlite:///{tmp_path / 'a.db'}") as again, pytest.raises(CursorError, match="another"):
        again.list_clusters(cursor=resume)


@settings(max_examples=200)
@given(st.text(max_size=40))
def test_any_text_is_a_cursor_or_a_cursor_error(text: str) -> None:
    with contextlib.suppress(CursorError):
        decode_cursor(text)


@pytest.mark.parametrize("bad", ["yesterday", "-1", "2024-13-01", "", "1e5"])
def test_bad_since_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_since(bad)


def test_since_forms() -> None:
    assert parse_since("7") == 7
    assert parse_since("2024-05-01T12:00:00Z").isoformat() == "2024-05-01T12:00:00+00:00"
    assert parse_since("2024-05-01T14:00:00+02:00").isoformat() == "2024-05-01T12:00:00+00:00"
    assert parse_since("2024-05-01").isoformat() == "2024-05-01T00:00:00+00:00"


# -- datasets ----------------------------------------------------------------------------------------


def _other_platform(d: Detection) -> Detection:
    """The same shape of run on other accounts: an unrelated log."""
    rename = lambda col: "z" + col  # noqa: E731
    acc = d.accounts.assign(account_id=d.accounts["account_id"].map(rename))
    edges = d.edges.assign(src=d.edges["src"].map(rename), dst=d.edges["dst"].map(rename))
    return Detection(acc, d.clusters, d.evidence, edges, d.model_version, d.detected_at, d.params)


def test_unrelated_datasets_leave_each_other_alone(store: Store) -> None:
    first = store.publish(detection_one(), dataset="shop")
    before = {c["cluster_id"]: c for c in pull_all(store)[0]}
    other = store.publish(_other_platform(detection_one()), dataset="forum")
    assert not other.dissolved and set(other.id_map.values()).isdisjoint(first.id_map.values())
    items, _ = pull_all(store)
    by_id = {c["cluster_id"]: c for c in items}
    for cid, c in before.items():  # the shop's clusters: same state, same place in the feed
        assert by_id[cid]["status"] == "active" and by_id[cid]["updated_seq"] == c["updated_seq"]
        assert by_id[cid]["dataset"] == "shop"
    assert {c["dataset"] for c in items} == {"shop", "forum"}
    assert [c["cluster_id"] for c in pull_all(store, dataset="forum")[0]] == sorted(other.id_map.values())
    assert store.account("a1")["dataset"] == "shop" and store.account("za1")["dataset"] == "forum"
    assert store.account("a1", dataset="forum") is None
    assert store.latest_run("shop")["run_id"] == first.run_id


def test_rerunning_a_dataset_keeps_every_id(store: Store) -> None:
    """Demo, another log, then the demo again: the demo's rings keep their ids, nothing dissolves."""
    demo = store.publish(detection_one(), dataset="demo")
    store.publish(_other_platform(detection_one()), dataset="elsewhere")
    again = store.publish(detection_one(), dataset="demo")
    assert again.id_map == demo.id_map and not again.new_clusters and not again.dissolved
    assert again.events == 0


def test_a_store_from_before_datasets_is_migrated(store_url: str) -> None:
    """A schema-2 store (no dataset columns) opens as schema 3; its runs join dataset 'default'."""
    import sqlalchemy as sa

    from service.store.tables import metadata

    old = sa.MetaData()
    for t in metadata.sorted_tables:
        if t.name == "account_profiles":  # schema 4
            continue
        cols = [c.copy() for c in t.columns if c.name != "dataset"]
        idx = [
            sa.Index(i.name, *[c.name for c in i.columns], unique=i.unique)
            for i in t.indexes
            if "dataset" not in [c.name for c in i.columns]
        ]
        sa.Table(t.name, old, *cols, *idx)
    engine = sa.create_engine(store_url)
    old.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO counters (name, value) VALUES ('schema', 2), ('cluster', 0), ('seq', 0)")
        )
        conn.execute(
            sa.text(
                "INSERT INTO accounts (account_id, score, cluster_id, verdict)"
                " VALUES ('q1', 0.1, NULL, 'benign')"
            )
        )
    engine.dispose()
    with Store(store_url) as s:
        assert s.account("q1")["dataset"] == "default"
        result = s.publish(detection_one())
        assert s.account("a1")["run_id"] == result.run_id and s.account("q1") is None
        assert {c["dataset"] for c in pull_all(s)[0]} == {"default"}


def test_a_schema_3_store_gets_the_profiles_table(store_url: str) -> None:
    """A schema-3 store (before account profiles) opens as schema 4 and publishes profiles."""
    import sqlalchemy as sa

    from service.store.tables import metadata

    engine = sa.create_engine(store_url)
    metadata.create_all(engine, tables=[t for t in metadata.sorted_tables if t.name != "account_profiles"])
    with engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO counters (name, value) VALUES ('schema', 3), ('cluster', 0), ('seq', 0)")
        )
    assert "account_profiles" not in sa.inspect(engine).get_table_names()
    engine.dispose()
    with Store(store_url) as s:
        d = detection_one()
        d.profiles = {"a1": {"created_at": 1, "identifiers": []}}
        s.publish(d)
        assert s.profile("a1")["profile"] == {"created_at": 1, "identifiers": []}
        assert s.profile("b1")["profile"] is None and s.profile("nobody") is None


def test_profiles_are_replaced_per_dataset(store: Store) -> None:
    d = detection_one()
    d.profiles = {"a1": {"events": 3}}
    store.publish(d, dataset="demo")
    store.publish(_other_platform(detection_one()), dataset="elsewhere")
    assert store.profile("a1", "demo")["profile"] == {"events": 3}
    d.profiles = {"a2": {"events": 5}}
    store.publish(d, dataset="demo")
    assert store.profile("a1", "demo")["profile"] is None
    assert store.profile("a2", "demo")["profile"] == {"events": 5}
    bad = detection_one()
    bad.profiles = {"ghost": {}}
    with pytest.raises(ValueError, match="profiles row 0, column 'account_id': 'ghost'"):
        store.publish(bad, dataset="demo")


def test_a_run_that_contradicts_a_decision_flags_it(store: Store) -> None:
    """Decisions are never overwritten by a run; a contradiction is flagged for review."""
    store.publish(detection_one())
    store.decide("c-000002", "reject", "a book club", "investigator-test")  # suspicious, rejected
    store.decide("c-000003", "confirm", "seen before", "investigator-test")  # benign, confirmed
    assert store.cluster("c-000002")["decision"] == {
        "state": "rejected",
        "needs_review": False,
        "decided_run": 1,
    }
    store.publish(detection_two())  # c-000002 becomes a ring, c-000003 dissolves
    two, three = store.cluster("c-000002"), store.cluster("c-000003")
    assert (
        two["verdict"] == "ring"
        and two["decision"]["state"] == "rejected"
        and two["decision"]["needs_review"]
    )
    assert three["status"] == "dissolved" and three["decision"]["needs_review"]
    assert [d["reason"] for d in two["decisions"]] == ["a book club"]
    assert store.decide("nope", "confirm", "x", "investigator-test") is None
    with pytest.raises(ValueError, match="not a member"):
        store.decide("c-000002", "confirm", "x", "investigator-test", members=["a1"])


def _without_ring(d: Detection) -> Detection:
    acc = d.accounts.copy()
    ring = acc["cluster_id"] == "R"
    acc.loc[ring, "cluster_id"] = ""
    acc.loc[ring, "verdict"] = "benign"
    clusters = d.clusters[d.clusters["cluster_id"] != "R"]
    edges = d.edges[d.edges["cluster_id"] != "R"]
    return Detection(acc, clusters, {k: v for k, v in d.evidence.items() if k != "R"}, edges, d.model_version)


def test_a_ring_missed_by_one_run_gets_its_id_back(store: Store) -> None:
    first = store.publish(detection_one())
    ring_id = first.id_map["R"]
    second = store.publish(_without_ring(detection_one()))
    assert ring_id in second.dissolved and store.cluster(ring_id)["status"] == "dissolved"
    third = store.publish(detection_one())
    assert third.id_map["R"] == ring_id and ring_id not in third.new_clusters
    back = store.cluster(ring_id)
    assert back["status"] == "active" and back["first_seen_run"] == first.run_id
    assert [e["change"] for e in back["history"]] == ["new", "dissolved", "new"]
    assert {m["account_id"] for m in back["members"]} == {f"a{i}" for i in range(1, 6)}


def test_newest_first_and_the_decision_filter(store: Store) -> None:
    store.publish(detection_one())
    store.publish(detection_two())
    feed = [c["cluster_id"] for c in pull_all(store)[0]]
    newest, cursor = [], None
    while True:
        page = store.list_clusters(cursor=cursor, limit=2, order="newest")
        newest += [c["cluster_id"] for c in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert newest == feed[::-1]
    store.decide("c-000001", "confirm", "bots", "investigator-test")
    store.decide("c-000002", "reject", "club", "investigator-test")
    store.decide("c-000002", "confirm", "second look", "investigator-test")
    confirmed = {c["cluster_id"] for c in store.list_clusters(decision="confirmed", limit=100).items}
    assert confirmed == {"c-000001", "c-000002"}
    assert not store.list_clusters(decision="rejected", limit=100).items
    undecided = {c["cluster_id"] for c in store.list_clusters(decision="undecided", limit=100).items}
    assert undecided == set(feed) - confirmed
    with pytest.raises(ValueError, match="order"):
        store.list_clusters(order="sideways")
