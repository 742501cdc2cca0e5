"""Ring lifecycle in the change feed: born, grew, shrank, merged, split, dissolved, returned."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import sqlalchemy as sa

from service.detection import Detection
from service.store import Store

try:
    from tests.service_fixtures import pg_server, store, store_url  # noqa: F401 (fixtures)
except ImportError:
    from service_fixtures import pg_server, store, store_url  # noqa: F401 (fixtures)


def world(run: int, clusters: dict[str, tuple[str, list[str]]], loners: list[str] = ()) -> Detection:
    """A detection whose clusters are ``{local id: (verdict, members)}``, plus benign loners."""
    rows = [(a, 0.9, key, verdict) for key, (verdict, members) in clusters.items() for a in members]
    rows += [(a, 0.1, "", "benign") for a in loners]
    accounts = pd.DataFrame(rows, columns=["account_id", "score", "cluster_id", "verdict"])
    table = pd.DataFrame(
        {
            "cluster_id": list(clusters),
            "size": [len(m) for _, m in clusters.values()],
            "verdict": [v for v, _ in clusters.values()],
            "score": [0.9] * len(clusters),
        }
    )
    edges = pd.DataFrame(columns=["cluster_id", "src", "dst", "relation", "weight"])
    return Detection(accounts, table, {}, edges, f"m{run}", datetime(2024, 6, run, tzinfo=UTC))


def ids(prefix: str, n: int, start: int = 1) -> list[str]:
    return [f"{prefix}{i}" for i in range(start, start + n)]


def pull(s: Store, cursor: str | None) -> tuple[list[dict], str]:
    items: list[dict] = []
    while True:
        page = s.list_clusters(cursor=cursor, limit=2)
        items += page.items
        if page.next_cursor is None:
            return items, page.resume_cursor
        cursor = page.next_cursor


def test_each_change_says_what_happened_to_the_ring(store: Store) -> None:
    first = store.publish(
        world(
            1,
            {
                "A": ("ring", ids("a", 6)),
                "B": ("ring", ids("b", 6)),
                "C": ("ring", ids("c", 4)),
                "D": ("ring", ids("d", 6)),
                "E": ("suspicious", ids("e", 6)),
                "F": ("ring", ids("f", 9)),
                "G": ("ring", ids("g", 5)),
            },
        )
    )
    a, b, c, d, e, f, g = (first.id_map[k] for k in "ABCDEFG")
    seen, cursor = pull(store, None)
    assert {x["cluster_id"]: x["lifecycle"] for x in seen} == dict.fromkeys([a, b, c, d, e, f, g], "born")
    assert all(x["size_before"] is None and x["related"] == [] for x in seen)

    second = store.publish(
        world(
            2,
            {
                "A2": ("ring", ids("a", 8)),  # a1..a8: grew by two
                "B2": ("ring", ids("b", 4)),  # b1..b4: shrank ...
                "P": ("ring", ["b5", "b6", "x1"]),  # ... because b5, b6 split off with a newcomer
                "D2": ("ring", ids("d", 6) + ids("c", 4)),  # C merged into D (J(D, D2) = 0.6)
                "E2": ("ring", ids("e", 6)),  # the same members, a new verdict
                # F (9) falls into three pieces: none keeps its id (Jaccard 1/3 < 0.5)
                "F1": ("ring", ids("f", 3)),
                "F2": ("ring", ids("f", 3, start=4)),
                "F3": ("ring", ids("f", 3, start=7)),
                "N": ("suspicious", ids("n", 5)),  # born; G is gone without a trace
            },
            loners=ids("g", 5),
        )
    )
    m = second.id_map
    changed, cursor = pull(store, cursor)
    step = {x["cluster_id"]: (x["lifecycle"], x["size_before"], x["size"], x["related"]) for x in changed}
    assert step == {
        a: ("grew", 6, 8, []),
        b: ("shrank", 6, 4, [m["P"]]),
        m["P"]: ("split", None, 3, [b]),
        d: ("grew", 6, 10, [c]),
        c: ("merged", 4, 4, [d]),
        e: ("unchanged", 6, 6, []),
        f: ("split", 9, 9, sorted([m["F1"], m["F2"], m["F3"]])),
        m["F1"]: ("split", None, 3, [f]),
        m["F2"]: ("split", None, 3, [f]),
        m["F3"]: ("split", None, 3, [f]),
        m["N"]: ("born", None, 5, []),
        g: ("dissolved", 5, 5, []),
    }
    change = {x["cluster_id"]: x["change"] for x in changed}  # the old field keeps its meaning
    assert change[a] == change[b] == change[d] == "members" and change[e] == "verdict"
    assert change[c] == change[f] == change[g] == "dissolved" and change[m["P"]] == "new"

    # A ring that comes back after a run without it gets its old id and says so.
    third = store.publish(world(3, {"G3": ("ring", ids("g", 5))}))
    assert third.id_map["G3"] == g
    changed, _ = pull(store, cursor)
    assert {x["cluster_id"]: x["lifecycle"] for x in changed}[g] == "returned"

    history = store.cluster(b)["history"]
    assert [(h["lifecycle"], h["size_before"], h["size"], h["related"]) for h in history] == [
        ("born", None, 6, []),
        ("shrank", 6, 4, [m["P"]]),
        ("dissolved", 4, 4, []),
    ]


def test_a_schema_4_store_gets_the_lifecycle_columns(store_url: str) -> None:
    from service.store.tables import LIFECYCLE_COLUMNS, metadata

    old = sa.MetaData()
    names = {n for n, _ in LIFECYCLE_COLUMNS}
    for t in metadata.sorted_tables:
        cols = [
            col.copy()
            for col in t.columns
            if not (t.name in ("clusters", "cluster_events") and col.name in names)
        ]
        sa.Table(t.name, old, *cols)
    engine = sa.create_engine(store_url)
    old.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO counters (name, value) VALUES ('schema', 4), ('cluster', 0), ('seq', 0)")
        )
    engine.dispose()
    with Store(store_url) as s:
        s.publish(world(1, {"A": ("ring", ids("a", 5))}))
        s.publish(world(2, {"A": ("ring", ids("a", 6))}))
        (item,) = pull(s, None)[0]
        assert (item["lifecycle"], item["size_before"], item["size"]) == ("grew", 5, 6)
    columns = {c["name"] for c in sa.inspect(sa.create_engine(store_url)).get_columns("cluster_events")}
    assert names <= columns
