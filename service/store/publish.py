"""Publishing a detection run: one transaction, stable cluster ids, a change-feed event per change."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, Table, bindparam, select, text

from graphs.scoring import RING
from service.detection import VERDICTS, Detection
from service.store.engine import PUBLISH_LOCK_KEY, as_utc, jsonable, to_utc
from service.store.lifecycle import LIFECYCLES, lifecycles
from service.store.matching import cluster_overlaps, match_overlaps
from service.store.tables import (
    DEFAULT_DATASET,
    account_profiles,
    accounts,
    cluster_entities,
    cluster_events,
    cluster_graphs,
    cluster_members,
    clusters,
    counters,
    runs,
)

CLUSTER_ID_FORMAT = "c-{:06d}"


@dataclass(frozen=True)
class PublishResult:
    """What :meth:`Store.publish` did.

    Attributes:
        run_id: the new run's id (1, 2, ...).
        id_map: the detection's run-local cluster id -> the stable id it was published under;
            hand it to ``Detection.renamed`` before writing the CSVs.
        new_clusters: stable ids first seen in this run.
        dissolved: stable ids of the previous run's clusters that no longer exist.
        events: change-feed events this run added (new, verdict, members, dissolved).
        seconds: how long the publish took, commit included.
        timings: seconds per step (prepare, match, clusters, members_edges, accounts, commit).
        lifecycle: how many of the events were each lifecycle step (born, grew, merged, ...).
    """

    run_id: int
    id_map: dict[str, str]
    new_clusters: list[str] = field(default_factory=list)
    dissolved: list[str] = field(default_factory=list)
    events: int = 0
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    lifecycle: dict[str, int] = field(default_factory=dict)

    def changes_line(self) -> str:
        """The run's changes in words, e.g. ``"changes: 2 born, 1 grew, 1 merged"`` (feed order of
        :data:`service.store.lifecycle.LIFECYCLES`); ``"no changes"`` when there are none."""
        parts = [f"{self.lifecycle[k]} {k}" for k in LIFECYCLES if self.lifecycle.get(k)]
        return "changes: " + ", ".join(parts) if parts else "no changes"


class _Laps:
    """Seconds per step, for PublishResult.timings."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}
        self._last = time.perf_counter()

    def __call__(self, step: str) -> None:
        now = time.perf_counter()
        self.times[step] = self.times.get(step, 0.0) + now - self._last
        self._last = now


@dataclass
class _Prepared:
    accounts: pd.DataFrame  # account_id, score, cluster_id (local, "" = none), verdict
    clusters: pd.DataFrame  # cluster_id (local), verdict, score, size (member count)
    members: pd.DataFrame  # account_id, cluster_id (local), score
    edges: pd.DataFrame  # cluster_id (local), src, dst, relation, weight
    evidence: dict[str, str]  # local cluster id -> JSON text
    profiles: dict[str, str]  # account id -> JSON text (members of flagged clusters)


def publish(
    engine: Engine,
    detection: Detection,
    threshold: float = 0.5,
    before_commit: Callable[[PublishResult], None] | None = None,
    dataset: str = DEFAULT_DATASET,
) -> PublishResult:
    """Publishes ``detection`` as a new run, all or nothing (see :meth:`Store.publish`)."""
    started = time.perf_counter()
    lap = _Laps()
    prep = _prepare(detection)
    lap("prepare")
    now = datetime.now(UTC)
    detected_at = to_utc(detection.detected_at)
    with engine.connect() as conn:
        conn.execution_options(sqlite_begin="IMMEDIATE")  # SQLite: take the write lock up front
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PUBLISH_LOCK_KEY})")
            lap("lock")
            result = _publish(conn, prep, detection, now, detected_at, threshold, lap, dataset)
            conn.execute(
                runs.update()
                .where(runs.c.run_id == result.run_id)
                .values(publish_seconds=time.perf_counter() - started)
            )
            if before_commit is not None:
                before_commit(result)
                lap("before_commit")
        lap("commit")
    return PublishResult(
        result.run_id,
        result.id_map,
        result.new_clusters,
        result.dissolved,
        result.events,
        time.perf_counter() - started,
        lap.times,
        result.lifecycle,
    )


def _publish(
    conn: Connection,
    prep: _Prepared,
    detection: Detection,
    now: datetime,
    detected_at: datetime,
    threshold: float,
    lap: _Laps,
    dataset: str = DEFAULT_DATASET,
) -> PublishResult:
    """One run inside the caller's transaction: match, assign ids, record changes, replace rows.

    Only ``dataset``'s clusters are matched, dissolved and replaced: other datasets are untouched.
    """
    prev_members, prev = _read_previous(conn, dataset)
    lap("read_previous")
    overlaps = cluster_overlaps(prev_members, prep.members[["account_id", "cluster_id"]])
    matches = match_overlaps(overlaps, threshold)
    id_map, fresh = _assign_ids(conn, prep, matches)
    lap("match")
    run_id = conn.execute(
        runs.insert().values(
            dataset=dataset,
            published_at=now,
            detected_at=detected_at,
            model_version=str(detection.model_version),
            params=jsonable(detection.params or {}),
            n_accounts=len(prep.accounts),
            n_clusters=len(prep.clusters),
            n_rings=int((prep.clusters["verdict"] == RING).sum()),
        )
    ).inserted_primary_key[0]
    current = _current(prep)
    events, gone = _change_events(current, id_map, matches, prev, prev_members, overlaps)
    stamp = _timestamps(conn)
    first_seq, last_seq = _write_events(conn, events, run_id, stamp(now), dataset)
    event_of = {ev["cluster_id"]: ev for ev in events}
    _replace_clusters(
        conn, prep, detection, current, id_map, prev, event_of, gone, run_id, now, detected_at, dataset
    )
    lap("clusters")
    _write_members_edges(conn, prep, id_map)
    lap("members_edges")
    _write_accounts(conn, prep, id_map, dataset)
    lap("accounts")
    conn.execute(account_profiles.delete().where(account_profiles.c.dataset == dataset))
    if prep.profiles:
        _bulk_insert(
            conn,
            account_profiles,
            ["dataset", "account_id", "profile"],
            _rows([dataset] * len(prep.profiles), list(prep.profiles), list(prep.profiles.values())),
        )
    lap("profiles")
    conn.execute(
        runs.update()
        .where(runs.c.run_id == run_id)
        .values(
            n_events=len(events),
            first_seq=first_seq if events else None,
            last_seq=last_seq if events else None,
        )
    )
    lifecycle = pd.Series([ev["lifecycle"] for ev in events], dtype=object).value_counts()
    return PublishResult(
        run_id, id_map, [id_map[c] for c in fresh], gone, len(events), lifecycle=lifecycle.to_dict()
    )


#: Dissolved clusters of the dataset's last this many runs are matched too: a ring that is missed
#: by a run (or two) and comes back gets its old id back instead of a new one.
HISTORY_RUNS = 10


def _read_previous(conn: Connection, dataset: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The clusters new ones are matched to: the dataset's active clusters, and those that dissolved
    in its last :data:`HISTORY_RUNS` runs. Their last known members, and their feed state by id."""
    since = conn.execute(
        text(
            "SELECT min(run_id) FROM (SELECT run_id FROM runs WHERE dataset = :dataset"
            " ORDER BY run_id DESC LIMIT :k) AS recent"
        ),
        {"dataset": dataset, "k": HISTORY_RUNS},
    ).scalar()
    since = int(since) if since is not None else 0
    prev_members = pd.DataFrame(
        _fetch(
            conn,
            "SELECT m.account_id, m.cluster_id FROM cluster_members m"
            " JOIN clusters c ON c.cluster_id = m.cluster_id"
            " WHERE c.dataset = ? AND (c.status = 'active' OR c.updated_run >= ?)",
            (dataset, since),
        ),
        columns=["account_id", "cluster_id"],
        dtype=object,
    )
    prev = {
        row.cluster_id: row
        for row in conn.execute(
            select(
                clusters.c.cluster_id,
                clusters.c.status,
                clusters.c.verdict,
                clusters.c.first_seen_run,
                clusters.c.first_seen_at,
                clusters.c.updated_seq,
                clusters.c.updated_run,
                clusters.c.updated_at,
                clusters.c.change,
                clusters.c.previous_verdict,
                clusters.c.lifecycle,
                clusters.c.size_before,
                clusters.c.related,
            ).where(
                (clusters.c.dataset == dataset)
                & ((clusters.c.status == "active") | (clusters.c.updated_run >= since))
            )
        )
    }
    return prev_members, prev


def _assign_ids(conn: Connection, prep: _Prepared, matches: pd.DataFrame) -> tuple[dict[str, str], list[str]]:
    """Stable ids: matched clusters keep theirs, the rest draw fresh numbers in detection order."""
    id_map = dict(zip(matches["local_id"].tolist(), matches["stable_id"].tolist(), strict=True))
    fresh = [c for c in prep.clusters["cluster_id"].tolist() if c not in id_map]
    last_number = _counter(conn, "cluster")
    for i, local in enumerate(fresh, start=last_number + 1):
        id_map[local] = CLUSTER_ID_FORMAT.format(i)
    _set_counter(conn, "cluster", last_number + len(fresh))
    return id_map, fresh


def _current(prep: _Prepared) -> list[tuple]:
    """(local id, verdict, score, size) of every cluster of the run."""
    clu = prep.clusters
    return list(
        zip(
            clu["cluster_id"].tolist(),
            clu["verdict"].tolist(),
            _nums(clu["score"]),
            clu["size"].tolist(),
            strict=True,
        )
    )


def _change_events(
    current: list[tuple],
    id_map: dict[str, str],
    matches: pd.DataFrame,
    prev: dict[str, Any],
    prev_members: pd.DataFrame,
    overlaps: pd.DataFrame,
) -> tuple[list[dict[str, Any]], list[str]]:
    """What changed, per cluster (new > verdict > members; unchanged clusters add no event), and
    the previous clusters that dissolved. Each event also says what happened to the membership
    (``lifecycle``, ``size_before``, ``related``: :mod:`service.store.lifecycle`). Events come
    sorted by cluster id, without seqs yet."""
    overlap = dict(zip(matches["local_id"].tolist(), matches["overlap"].tolist(), strict=True))
    n_old = dict(zip(matches["local_id"].tolist(), matches["n_old"].tolist(), strict=True))
    events: list[dict[str, Any]] = []
    for local, verdict, score, size in current:
        sid = id_map[local]
        old = prev.get(sid) if local in overlap else None
        if old is None:
            change, previous_verdict = "new", None
        elif old.status != "active":  # back after a run or more without it: its old id, a new event
            change, previous_verdict = "new", old.verdict
        elif old.verdict != verdict:
            change, previous_verdict = "verdict", old.verdict
        elif not overlap[local] == n_old[local] == size:
            change, previous_verdict = "members", old.verdict
        else:
            continue
        events.append(
            {
                "cluster_id": sid,
                "change": change,
                "verdict": verdict,
                "previous_verdict": previous_verdict,
                "score": score,
                "size": int(size),
            }
        )
    kept = set(id_map[local] for local in overlap)
    gone = sorted(sid for sid, row in prev.items() if row.status == "active" and sid not in kept)
    old_sizes = prev_members["cluster_id"].value_counts()
    if gone:
        events += [
            {
                "cluster_id": sid,
                "change": "dissolved",
                "verdict": prev[sid].verdict,
                "previous_verdict": prev[sid].verdict,
                "score": None,
                "size": int(old_sizes.get(sid, 0)),
            }
            for sid in gone
        ]
    steps = lifecycles(
        overlaps,
        matches,
        id_map,
        returned={sid for sid in kept if prev[sid].status != "active"},
        active={sid for sid, row in prev.items() if row.status == "active"},
        new_sizes={local: int(size) for local, _, _, size in current},
        old_sizes={str(k): int(v) for k, v in old_sizes.items()},
        gone=gone,
    )
    for ev in events:
        step = steps[ev["cluster_id"]]
        ev.update(lifecycle=step.lifecycle, size_before=step.size_before, related=step.related)
    events.sort(key=lambda e: e["cluster_id"])
    return events, gone


def _write_events(
    conn: Connection, events: list[dict[str, Any]], run_id: int, now_db: Any, dataset: str
) -> tuple[int, int]:
    """Numbers the events from the feed's counter and inserts them; returns (first, last) seq."""
    first_seq = _counter(conn, "seq") + 1
    for seq, ev in enumerate(events, start=first_seq):
        ev["seq"] = seq
    last_seq = first_seq + len(events) - 1
    _set_counter(conn, "seq", last_seq)
    _bulk_insert(
        conn,
        cluster_events,
        [c.name for c in cluster_events.columns],  # every column, in the table's order (as below)
        [
            (
                e["seq"],
                dataset,
                e["cluster_id"],
                run_id,
                now_db,
                e["change"],
                e["verdict"],
                e["previous_verdict"],
                e["score"],
                e["size"],
                e["lifecycle"],
                e["size_before"],
                _json_or_null(e["related"]),
            )
            for e in events
        ],
    )
    return first_seq, last_seq


def _replace_clusters(
    conn: Connection,
    prep: _Prepared,
    detection: Detection,
    current: list[tuple],
    id_map: dict[str, str],
    prev: dict[str, Any],
    event_of: dict[str, dict[str, Any]],
    gone: list[str],
    run_id: int,
    now: datetime,
    detected_at: datetime,
    dataset: str,
) -> None:
    """Marks dissolved clusters, then replaces the active clusters' rows (members and edges of the
    previous run's active clusters are dropped here; the new ones follow)."""
    stamp = _timestamps(conn)
    now_db = stamp(now)
    # Dissolved clusters keep their last verdict, members and edges.
    if gone:
        conn.execute(
            clusters.update()
            .where(clusters.c.cluster_id == bindparam("b_id"))
            .values(
                status="dissolved",
                change="dissolved",
                previous_verdict=clusters.c.verdict,
                updated_seq=bindparam("b_seq"),
                updated_run=run_id,
                updated_at=now,
                lifecycle=bindparam("b_lifecycle"),
                size_before=bindparam("b_before"),
                related=bindparam("b_related"),
            ),
            [
                {
                    "b_id": sid,
                    "b_seq": event_of[sid]["seq"],
                    "b_lifecycle": event_of[sid]["lifecycle"],
                    "b_before": event_of[sid]["size_before"],
                    "b_related": event_of[sid]["related"],
                }
                for sid in gone
            ],
        )
    # The still-active (= matched) clusters' rows, members and edges are replaced wholesale.
    # Rows replaced: the dataset's active clusters, and dissolved ones that came back in this run.
    back = [
        id_map[local]
        for local, *_ in current
        if id_map[local] in prev and prev[id_map[local]].status != "active"
    ]
    mine = (clusters.c.dataset == dataset) & (
        (clusters.c.status == "active") | clusters.c.cluster_id.in_(back)
    )
    active_ids = select(clusters.c.cluster_id).where(mine)
    conn.execute(cluster_members.delete().where(cluster_members.c.cluster_id.in_(active_ids)))
    conn.execute(cluster_graphs.delete().where(cluster_graphs.c.cluster_id.in_(active_ids)))
    conn.execute(cluster_entities.delete().where(cluster_entities.c.cluster_id.in_(active_ids)))
    conn.execute(clusters.delete().where(mine))

    model_version = str(detection.model_version)
    detected_db = stamp(detected_at)
    cluster_rows = []
    for local, verdict, score, size in current:
        sid = id_map[local]
        old = prev.get(sid)
        ev = event_of.get(sid)
        if ev is None:  # unchanged: keeps its place in the feed
            latest = (
                old.updated_seq,
                old.updated_run,
                stamp(as_utc(old.updated_at)),
                old.change,
                old.previous_verdict,
                old.lifecycle,
                old.size_before,
                _json_or_null(old.related),
            )
        else:
            latest = (
                ev["seq"],
                run_id,
                now_db,
                ev["change"],
                ev["previous_verdict"],
                ev["lifecycle"],
                ev["size_before"],
                _json_or_null(ev["related"]),
            )
        cluster_rows.append(
            (
                sid,
                dataset,
                "active",
                verdict,
                score,
                int(size),
                prep.evidence.get(local, "{}"),
                model_version,
                detected_db,
                run_id,
                run_id if old is None else old.first_seen_run,
                now_db if old is None else stamp(as_utc(old.first_seen_at)),
                *latest,
            )
        )
    _bulk_insert(conn, clusters, CLUSTER_ROW, cluster_rows)


#: Column order of the rows _replace_clusters writes.
CLUSTER_ROW = [
    "cluster_id",
    "dataset",
    "status",
    "verdict",
    "score",
    "size",
    "evidence",
    "model_version",
    "detected_at",
    "last_run",
    "first_seen_run",
    "first_seen_at",
    "updated_seq",
    "updated_run",
    "updated_at",
    "change",
    "previous_verdict",
    "lifecycle",
    "size_before",
    "related",
]


def _write_members_edges(conn: Connection, prep: _Prepared, id_map: dict[str, str]) -> None:
    """Members and drawn edges under stable ids; bulk rows go in primary-key order (B-tree appends)."""
    members = prep.members.assign(cluster_id=prep.members["cluster_id"].map(id_map))
    members = members.sort_values(["cluster_id", "account_id"], kind="stable")
    _bulk_insert(
        conn,
        cluster_members,
        ["cluster_id", "account_id", "score"],
        _rows(members["cluster_id"].tolist(), members["account_id"].tolist(), _nums(members["score"])),
    )
    _bulk_insert(conn, cluster_graphs, ["cluster_id", "n_edges", "edges"], _graph_rows(prep.edges, id_map))
    _bulk_insert(
        conn,
        cluster_entities,
        ["entity_id", "cluster_id", "kind", "entity_type", "members", "users_total"],
        _entity_rows(prep.evidence, id_map),
    )


def _write_accounts(conn: Connection, prep: _Prepared, id_map: dict[str, str], dataset: str) -> None:
    """The run's accounts replace the dataset's previous ones."""
    acc = prep.accounts
    if not acc["account_id"].is_monotonic_increasing:
        acc = acc.sort_values("account_id", kind="stable")
    conn.execute(accounts.delete().where(accounts.c.dataset == dataset))
    local = acc["cluster_id"].to_numpy(dtype=object)
    stable = np.full(len(local), None, dtype=object)
    clustered = local != ""
    stable[clustered] = [id_map[c] for c in local[clustered].tolist()]
    _bulk_insert(
        conn,
        accounts,
        ["dataset", "account_id", "score", "cluster_id", "verdict"],
        _rows(
            [dataset] * len(acc),
            acc["account_id"].tolist(),
            _nums(acc["score"]),
            stable.tolist(),
            acc["verdict"].tolist(),
        ),
    )


def _prepare(detection: Detection) -> _Prepared:
    """Checks and normalises a Detection; raises ValueError naming the table, row and column.

    Text columns become object arrays of Python ``str`` (what the drivers bind) once, here.
    """
    a = detection.accounts
    acc = pd.DataFrame(
        {
            "account_id": _text(a["account_id"]),
            "score": pd.to_numeric(a["score"], errors="coerce").to_numpy(float),
            "cluster_id": _text(a["cluster_id"].fillna("")),
            "verdict": _text(a["verdict"]),
        }
    )
    c = detection.clusters
    clu = pd.DataFrame(
        {
            "cluster_id": _text(c["cluster_id"]),
            "verdict": _text(c["verdict"]),
            "score": pd.to_numeric(c["score"], errors="coerce").to_numpy(float),
        }
    )
    _check_unique(acc["account_id"], "accounts", "account_id")
    _check_unique(clu["cluster_id"], "clusters", "cluster_id")
    _check_in(acc["account_id"], ("",), "accounts", "account_id", negate=True)
    _check_in(clu["cluster_id"], ("",), "clusters", "cluster_id", negate=True)
    _check_in(acc["verdict"], VERDICTS, "accounts", "verdict")
    _check_in(clu["verdict"], VERDICTS, "clusters", "verdict")
    clustered = (acc["cluster_id"] != "").to_numpy()
    _check_in(acc.loc[clustered, "cluster_id"], set(clu["cluster_id"]), "accounts", "cluster_id")

    members = acc.loc[clustered, ["account_id", "cluster_id", "score"]].reset_index(drop=True)
    sizes = members["cluster_id"].value_counts()
    clu["size"] = clu["cluster_id"].map(sizes).fillna(0).astype(int)

    e = detection.edges
    edges = pd.DataFrame(
        {
            "cluster_id": _text(e["cluster_id"]),
            "src": _text(e["src"]),
            "dst": _text(e["dst"]),
            "relation": _text(e["relation"]),
            "weight": pd.to_numeric(e["weight"], errors="coerce").to_numpy(float),
        }
    )
    _check_in(edges["cluster_id"], set(clu["cluster_id"]), "edges", "cluster_id")
    evidence = {str(k): _json_text(v) for k, v in (detection.evidence or {}).items()}
    profiles = {str(k): _json_text(v) for k, v in (detection.profiles or {}).items()}
    _check_in(pd.Series(list(profiles), dtype=object), set(acc["account_id"]), "profiles", "account_id")
    return _Prepared(acc, clu, members, edges, evidence, profiles)


def _text(col: pd.Series) -> pd.Series:
    return pd.Series(col.astype(str).to_numpy(dtype=object), dtype=object)


def _json_text(value: Any) -> str:
    """JSON text for a JSON column; numpy values, NaN and other strays are cleaned only if needed."""
    try:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        return json.dumps(jsonable(value), separators=(",", ":"))


def _json_or_null(value: Any) -> str | None:
    """JSON text, or SQL null for None (rows from before a column existed stay null)."""
    return None if value is None else _json_text(value)


def _check_unique(col: pd.Series, table: str, column: str) -> None:
    dup = col.duplicated()
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0])
        raise ValueError(f"Detection.{table} row {row}, column {column!r}: {col.iloc[row]!r} repeats")


def _check_in(
    col: pd.Series, allowed: Sequence[str] | set[str], table: str, column: str, negate: bool = False
) -> None:
    bad = col.isin(list(allowed)) if negate else ~col.isin(list(allowed))
    if bad.any():
        row = col.index[np.flatnonzero(bad.to_numpy())[0]]
        what = "must not be empty" if negate else "is not one of the known values"
        if column == "verdict":
            what = f"must be one of {', '.join(VERDICTS)}"
        elif column == "cluster_id" and not negate:
            what = "is not in Detection.clusters"
        raise ValueError(f"Detection.{table} row {row}, column {column!r}: {col.loc[row]!r} {what}")


def _fetch(conn: Connection, sql: str, params: tuple = ()) -> list[tuple]:
    """Rows of a query straight from the DBAPI cursor (no Row objects: 200k+ rows). ``sql`` uses
    ``?`` placeholders, rewritten to the driver's paramstyle."""
    if params and conn.dialect.paramstyle in ("format", "pyformat"):
        sql = sql.replace("?", "%s")
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.execute(sql, params) if params else cursor.execute(sql)
        return cursor.fetchall()
    finally:
        cursor.close()


def _counter(conn: Connection, name: str) -> int:
    value = conn.execute(select(counters.c.value).where(counters.c.name == name)).scalar()
    if value is None:
        conn.execute(counters.insert().values(name=name, value=0))
        return 0
    return int(value)


def _set_counter(conn: Connection, name: str, value: int) -> None:
    conn.execute(counters.update().where(counters.c.name == name).values(value=value))


def _nums(col: pd.Series) -> list[float | None]:
    arr = col.to_numpy(dtype=float)
    out = arr.astype(object)
    out[~np.isfinite(arr)] = None
    return out.tolist()


def _entity_rows(evidence: dict[str, str], id_map: dict[str, str]) -> list[tuple]:
    """(entity_id, cluster_id, kind, entity_type, members, users_total) of what each cluster's
    evidence names: shared identifiers and synchronised targets (one row per entity and kind)."""
    rows: dict[tuple, tuple] = {}
    for local, text_ in evidence.items():
        sid = id_map.get(local)
        if sid is None:
            continue
        ev = json.loads(text_) if text_ else {}
        for e in ev.get("shared_entities") or []:
            key = (str(e.get("id")), sid, "shared", str(e.get("type")))
            rows.setdefault(
                key, (*key, int(e.get("members") or e.get("accounts") or 0), e.get("users_total"))
            )
        for c in ev.get("campaigns") or []:
            key = (str(c.get("target")), sid, "target", str(c.get("target_type")))
            members = int(c.get("members") or 0)
            if key not in rows or rows[key][4] < members:
                rows[key] = (*key, members, None)
    return [rows[k] for k in sorted(rows)]


def _graph_rows(edges: pd.DataFrame, id_map: dict[str, str]) -> list[tuple]:
    """One ``(cluster_id, n_edges, edges JSON)`` row per cluster that has edges, in detection order."""
    if edges.empty:
        return []
    codes, keys = pd.factorize(edges["cluster_id"], sort=True)
    order = np.argsort(codes, kind="stable")
    codes = codes[order]
    records = list(
        zip(
            edges["src"].to_numpy(dtype=object)[order].tolist(),
            edges["dst"].to_numpy(dtype=object)[order].tolist(),
            edges["relation"].to_numpy(dtype=object)[order].tolist(),
            _nums(edges["weight"].iloc[order]),
            strict=True,
        )
    )
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    ends = np.r_[starts[1:], len(codes)]
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    return [
        (id_map[keys[codes[a]]], int(b - a), dumps(records[a:b]))
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True)
    ]


def _rows(*columns: list[Any]) -> list[tuple]:
    return list(zip(*columns, strict=True))


def _timestamps(conn: Connection) -> Any:
    """How raw inserts must pass datetimes: SQLite keeps UTC text in SQLAlchemy's DateTime format
    (so typed reads and comparisons keep working); other drivers take aware datetimes."""
    if conn.dialect.name == "sqlite":
        return lambda dt: dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return lambda dt: dt


def _bulk_insert(conn: Connection, table: Table, columns: list[str], rows: list[tuple]) -> None:
    """Inserts many rows fast: COPY on PostgreSQL, the driver's executemany on SQLite.

    Values go to the driver as they are: JSON columns as JSON text, datetimes as
    :func:`_timestamps` makes them.
    """
    if not rows:
        return
    names = ", ".join(columns)
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        raw = conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    if conn.dialect.name == "sqlite":
        marks = ", ".join("?" for _ in columns)
        conn.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", rows)
        return
    statement = text(f"INSERT INTO {table.name} ({names}) VALUES ({', '.join(':' + c for c in columns)})")
    conn.execute(statement, [dict(zip(columns, r, strict=True)) for r in rows])
