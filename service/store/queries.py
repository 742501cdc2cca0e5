"""Reads of the verdict store.

Every read runs plain SQL on a DBAPI connection made by the store's SQLAlchemy engine (see
``Store.reading``): SQLAlchemy Core's per-statement overhead (~0.3-0.5 ms on a small machine) would
be most of a lookup's latency budget. The SQL is portable (SQLite and PostgreSQL); ``?`` marks are
rewritten to the driver's paramstyle. Functions that issue several statements must run inside one
snapshot transaction (``Store.reading(snapshot=True)``) so they see one run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from service.store.cursor import check_cursor, encode_cursor
from service.store.decisions import cluster_decisions, decision_state
from service.store.engine import as_utc as _time


@dataclass(frozen=True)
class ClusterPage:
    """One page of :meth:`Store.list_clusters`.

    Attributes:
        items: cluster summaries in change-feed order.
        next_cursor: where the next page starts; ``None`` when this is the last page for now.
        resume_cursor: where a later pull should start to see only what changed after this page
            (equal to ``next_cursor`` when there is one).
    """

    items: list[dict[str, Any]]
    next_cursor: str | None
    resume_cursor: str


_FORMAT_SQL: dict[str, str] = {}  # qmark SQL -> the same with %s marks (psycopg)


class Snapshot:
    """A DBAPI cursor plus the driver's paramstyle; all reads of one request go through one."""

    def __init__(self, cursor: Any, paramstyle: str, dialect: str) -> None:
        self.cursor = cursor
        self.dialect = dialect
        self._format = paramstyle in ("format", "pyformat")

    def _text(self, sql: str) -> str:
        if not self._format:
            return sql
        text = _FORMAT_SQL.get(sql)
        if text is None:
            text = _FORMAT_SQL[sql] = sql.replace("%", "%%").replace("?", "%s")
        return text

    def all(self, sql: str, params: tuple = ()) -> list[tuple]:
        self.cursor.execute(self._text(sql), params)
        return self.cursor.fetchall()

    def one(self, sql: str, params: tuple = ()) -> tuple | None:
        self.cursor.execute(self._text(sql), params)
        return self.cursor.fetchone()


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


# Columns of a cluster in a list page (no members, no evidence: what enforcement may see).
SUMMARY = (
    "cluster_id",
    "dataset",
    "status",
    "verdict",
    "previous_verdict",
    "change",
    "score",
    "size",
    "model_version",
    "detected_at",
    "first_seen_run",
    "first_seen_at",
    "last_run",
    "updated_run",
    "updated_at",
    "updated_seq",
    "lifecycle",
    "size_before",
    "related",
)
_SUMMARY_SQL = ", ".join(SUMMARY)
_SUMMARY_TIMES = [SUMMARY.index(c) for c in ("detected_at", "first_seen_at", "updated_at")]
RUN = (
    "run_id",
    "dataset",
    "published_at",
    "detected_at",
    "model_version",
    "params",
    "n_accounts",
    "n_clusters",
    "n_rings",
    "n_events",
    "first_seq",
    "last_seq",
    "publish_seconds",
)
HISTORY = (
    "seq",
    "run_id",
    "at",
    "change",
    "verdict",
    "previous_verdict",
    "score",
    "size",
    "lifecycle",
    "size_before",
    "related",
)
ACCOUNT = ("account_id", "score", "cluster_id", "verdict", "run_id", "dataset")


def _summary(row: tuple) -> dict[str, Any]:
    out = dict(zip(SUMMARY, row, strict=True))
    for i in _SUMMARY_TIMES:
        out[SUMMARY[i]] = _time(row[i])
    out["related"] = _json(out["related"]) or []
    return out


def _run(row: tuple) -> dict[str, Any]:
    out = dict(zip(RUN, row, strict=True))
    out["published_at"] = _time(out["published_at"])
    out["detected_at"] = _time(out["detected_at"])
    out["params"] = _json(out["params"])
    return out


def latest_run(db: Snapshot, dataset: str | None = None) -> dict[str, Any] | None:
    if dataset is None:
        row = db.one(f"SELECT {', '.join(RUN)} FROM runs ORDER BY run_id DESC LIMIT 1")
    else:
        row = db.one(
            f"SELECT {', '.join(RUN)} FROM runs WHERE dataset = ? ORDER BY run_id DESC LIMIT 1", (dataset,)
        )
    return None if row is None else _run(row)


def get_run(db: Snapshot, run_id: int) -> dict[str, Any] | None:
    row = db.one(f"SELECT {', '.join(RUN)} FROM runs WHERE run_id = ?", (run_id,))
    return None if row is None else _run(row)


def account(db: Snapshot, account_id: str, dataset: str | None = None) -> dict[str, Any] | None:
    """The account in ``dataset``'s latest run, or (no dataset given) in the dataset whose latest run
    is the newest among those holding it. One statement (atomic without a transaction)."""
    where, params = "a.account_id = ?", [account_id]
    if dataset is not None:
        where += " AND a.dataset = ?"
        params.append(dataset)
    row = db.one(
        "SELECT a.account_id, a.score, a.cluster_id, a.verdict,"
        " (SELECT max(r.run_id) FROM runs r WHERE r.dataset = a.dataset) AS run_id, a.dataset"
        f" FROM accounts a WHERE {where} ORDER BY run_id DESC LIMIT 1",
        tuple(params),
    )
    return None if row is None else dict(zip(ACCOUNT, row, strict=True))


def profile(db: Snapshot, account_id: str, dataset: str) -> dict[str, Any] | None:
    """The account's profile in ``dataset``'s latest run (None: it has none)."""
    row = db.one(
        "SELECT profile FROM account_profiles WHERE dataset = ? AND account_id = ?", (dataset, account_id)
    )
    return None if row is None else _json(row[0])


def cluster(db: Snapshot, cluster_id: str) -> dict[str, Any] | None:
    """Needs a snapshot: three statements."""
    row = db.one(f"SELECT {_SUMMARY_SQL}, evidence FROM clusters WHERE cluster_id = ?", (cluster_id,))
    if row is None:
        return None
    out = _summary(row[:-1])
    out["evidence"] = _json(row[-1])
    out["members"] = [
        {"account_id": a, "score": s}
        for a, s in db.all(
            "SELECT account_id, score FROM cluster_members WHERE cluster_id = ?"
            " ORDER BY score DESC, account_id",
            (cluster_id,),
        )
    ]
    history = []
    for e in db.all(
        f"SELECT {', '.join(HISTORY)} FROM cluster_events WHERE cluster_id = ? ORDER BY seq", (cluster_id,)
    ):
        event = dict(zip(HISTORY, e, strict=True))
        event["at"] = _time(event["at"])
        event["related"] = _json(event["related"]) or []
        history.append(event)
    out["history"] = history
    out["decisions"] = cluster_decisions(db, cluster_id)
    out["decision"] = decision_state(out, out["decisions"])
    return out


def cluster_members(db: Snapshot, cluster_id: str, after: str | None, limit: int) -> dict[str, Any] | None:
    """Needs a snapshot: the cluster's summary, its evidence summary line and one page of members in
    account-id order (after ``after``)."""
    row = db.one(f"SELECT {_SUMMARY_SQL}, evidence FROM clusters WHERE cluster_id = ?", (cluster_id,))
    if row is None:
        return None
    out = _summary(row[:-1])
    summary = (_json(row[-1]) or {}).get("summary") or []
    out["summary"] = summary[0] if summary else None
    rows = db.all(
        "SELECT account_id, score FROM cluster_members WHERE cluster_id = ? AND account_id > ?"
        " ORDER BY account_id LIMIT ?",
        (cluster_id, after or "", limit + 1),
    )
    made = cluster_decisions(db, cluster_id)
    out["decision"] = decision_state(out, made)
    # A member's own decision (the latest about it) overrides the cluster's for that member.
    own = {d["account_id"]: d["decision"] for d in made if d["account_id"] is not None}
    out["members"] = [{"account_id": a, "score": sc, "decision": own.get(a)} for a, sc in rows[:limit]]
    out["next_after"] = rows[limit - 1][0] if len(rows) > limit else None
    return out


def entity_clusters(
    db: Snapshot, entity_id: str, entity_type: str | None, limit: int
) -> list[dict[str, Any]]:
    """Clusters whose evidence names ``entity_id`` (a shared identifier or a synchronised target), most
    members first, with the cluster's summary (active ones before dissolved ones)."""
    where, params = "e.entity_id = ?", [entity_id]
    if entity_type is not None:
        where += " AND e.entity_type = ?"
        params.append(entity_type)
    cols = ", ".join(f"c.{c}" for c in SUMMARY)
    rows = db.all(
        f"SELECT e.entity_type, e.kind, e.members, e.users_total, {cols}, c.evidence FROM cluster_entities e"
        f" JOIN clusters c ON c.cluster_id = e.cluster_id WHERE {where}"
        " ORDER BY CASE WHEN c.status = 'active' THEN 0 ELSE 1 END, e.members DESC, c.cluster_id LIMIT ?",
        (*params, limit),
    )
    out = []
    for r in rows:
        item = {"entity_type": r[0], "kind": r[1], "members": r[2], "users_total": r[3]}
        item["cluster"] = _summary(r[4:-1])
        item["member_ids"] = _entity_members(_json(r[-1]) or {}, entity_id, r[0], r[1])
        out.append(item)
    return out


def _entity_members(ev: dict[str, Any], entity_id: str, entity_type: str, kind: str) -> list[str]:
    """The members on the entity as the cluster's evidence lists them (flagged clusters; at most 200)."""
    if kind == "shared":
        found = [
            e
            for e in ev.get("shared_entities") or []
            if e.get("id") == entity_id and e.get("type") == entity_type
        ]
    else:
        found = [
            c
            for c in ev.get("campaigns") or []
            if c.get("target") == entity_id and c.get("target_type") == entity_type
        ]
    ids: list[str] = []
    for e in found:
        ids += [m for m in e.get("member_ids") or [] if m not in ids]
    return ids


def cluster_graph(db: Snapshot, cluster_id: str) -> dict[str, Any] | None:
    """Needs a snapshot: three statements."""
    head = db.one("SELECT verdict, status FROM clusters WHERE cluster_id = ?", (cluster_id,))
    if head is None:
        return None
    verdict, status = head
    nodes = [
        {"id": a, "score": s, "verdict": verdict, "cluster_id": cluster_id}
        for a, s in db.all(
            "SELECT account_id, score FROM cluster_members WHERE cluster_id = ? ORDER BY account_id",
            (cluster_id,),
        )
    ]
    graph = db.one("SELECT edges FROM cluster_graphs WHERE cluster_id = ?", (cluster_id,))
    edges = [
        {"source": s, "target": t, "relation": r, "weight": w}
        for s, t, r, w in (_json(graph[0]) if graph else [])
    ]
    return {"cluster_id": cluster_id, "verdict": verdict, "status": status, "nodes": nodes, "edges": edges}


def list_clusters(
    db: Snapshot,
    after_seq: int,
    limit: int,
    verdict: str | None = None,
    min_size: int | None = None,
    since: int | datetime | None = None,
    cursor_store: int | None = None,
    dataset: str | None = None,
    decision: str | None = None,
    newest: bool = False,
    lifecycle: tuple[str, ...] | None = None,
) -> ClusterPage:
    """Needs a snapshot: the high-water mark and the page must agree. ``newest``: latest change
    first (a cursor then means "changes before it"); otherwise the feed order.

    Raises:
        CursorError: ``after_seq`` is beyond the feed, or ``cursor_store`` names another store.
    """
    # The feed's high-water mark first: publishes are serialised and commit their seqs in order,
    # so everything at or below it is visible now, and a run landing later gets larger seqs.
    found = dict(db.all("SELECT name, value FROM counters WHERE name IN ('seq', 'store_id')"))
    high = int(found.get("seq", 0))
    store_id = int(found["store_id"]) if "store_id" in found else None
    check_cursor(after_seq, cursor_store, high, store_id)
    if newest:
        where, params = ["updated_seq <= ?"], [high]
        if after_seq:
            where.append("updated_seq < ?")
            params.append(after_seq)
    else:
        where, params = ["updated_seq > ?", "updated_seq <= ?"], [after_seq, high]
    if decision is not None:
        where.append(_DECISION_SQL[decision])
    if verdict is not None:
        where.append("verdict = ?")
        params.append(verdict)
    if min_size is not None:
        where.append("size >= ?")
        params.append(min_size)
    if lifecycle:
        where.append(f"lifecycle IN ({', '.join('?' for _ in lifecycle)})")
        params.extend(lifecycle)
    if dataset is not None:
        where.append("dataset = ?")
        params.append(dataset)
    if isinstance(since, datetime):
        where.append("updated_at >= ?")
        params.append(_time_param(db, since))
    elif since is not None:
        where.append("updated_run > ?")
        params.append(since)
    rows = db.all(
        f"SELECT {_SUMMARY_SQL} FROM clusters WHERE {' AND '.join(where)}"
        f" ORDER BY updated_seq{' DESC' if newest else ''} LIMIT ?",
        (*params, limit + 1),
    )
    items = [_summary(r) for r in rows[:limit]]
    if len(rows) > limit:
        cursor = encode_cursor(items[-1]["updated_seq"], store_id)
        return ClusterPage(items, cursor, cursor)
    # Last page: nothing else up to `high` matches, so a later pull can start after `high`.
    return ClusterPage(items, None, encode_cursor(high if newest else max(high, after_seq), store_id))


_LATEST_DECISION = (
    "(SELECT d.decision FROM decisions d WHERE d.cluster_id = clusters.cluster_id AND d.account_id IS NULL"
    " ORDER BY d.decision_id DESC LIMIT 1)"
)
#: The ``decision`` filter of the listing: the latest cluster-level decision.
_DECISION_SQL = {
    "confirmed": f"{_LATEST_DECISION} = 'confirm'",
    "rejected": f"{_LATEST_DECISION} = 'reject'",
    "undecided": f"{_LATEST_DECISION} IS NULL",
}


def ping(db: Snapshot) -> int | None:
    """The latest run id (None before the first publish)."""
    row = db.one("SELECT max(run_id) FROM runs")
    return None if row is None or row[0] is None else int(row[0])


def _time_param(db: Snapshot, when: datetime) -> Any:
    # SQLite keeps UTC wall-clock text in SQLAlchemy's format; PostgreSQL a timestamptz.
    if db.dialect == "sqlite":
        return when.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    return when
