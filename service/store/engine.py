"""Engines for the verdict store: SQLite (WAL, one writer) or PostgreSQL, same code above."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

# Publishes on PostgreSQL serialise on this advisory lock (SQLite: BEGIN IMMEDIATE).
PUBLISH_LOCK_KEY = 0x52494E47  # "RING"


def jsonable(obj: Any) -> Any:
    """A copy of ``obj`` that ``json.dumps`` accepts and PostgreSQL's ``json`` type stores.

    numpy scalars and arrays become Python numbers and lists, NaN and infinities become ``None``,
    datetimes ISO strings, sets and tuples lists, anything else unknown its ``str``.
    """
    if obj is None or isinstance(obj, bool | str | int):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [jsonable(v) for v in obj.tolist()]
    if isinstance(obj, np.generic):
        return jsonable(obj.item())
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    return str(obj)


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), default=str)


def make_engine(url: str) -> Engine:
    """Creates the engine for ``url``; a SQLite file (and its folder) is created when missing.

    SQLite runs in WAL mode so readers keep reading the previous run while a publish writes, and
    transactions are begun explicitly (``BEGIN``, or ``BEGIN IMMEDIATE`` for a publish) so that all
    reads of one request see one snapshot.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, json_serializer=_dumps, pool_pre_ping=True, pool_size=10)

    database = parsed.database or ""
    memory = database in ("", ":memory:") or database.startswith("file::memory:")
    if memory:
        engine = create_engine(
            url,
            json_serializer=_dumps,
            poolclass=StaticPool,
            connect_args={"check_same_thread": False},
        )
    else:
        if not _is_uri(parsed.query, database):
            # A plain path: its folder is made. A ``file:`` URI (``?uri=true``) names an existing
            # database by URI; making folders for it would create ``./file:/...`` in the working folder.
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, json_serializer=_dumps, pool_size=10, max_overflow=10)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see _on_begin)
        cur = dbapi_connection.cursor()
        if not memory:
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA temp_store=MEMORY")
        cur.execute("PRAGMA cache_size=-65536")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "")
        conn.exec_driver_sql(f"BEGIN {mode}".strip())

    return engine


def as_utc(value: datetime | str | None) -> datetime | None:
    """An aware UTC datetime from what a driver hands back: SQLite gives naive datetimes or, to raw
    cursors, 'YYYY-MM-DD HH:MM:SS.ffffff' text (stored in UTC); PostgreSQL aware datetimes."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def to_utc(value: datetime) -> datetime:
    """Aware UTC for storing; a naive datetime is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _is_uri(query: Any, database: str) -> bool:
    """Whether SQLite reads ``database`` as a URI (``sqlite:///file:...?uri=true``)."""
    flag = query.get("uri", "")
    flag = flag[-1] if isinstance(flag, tuple) else flag
    return database.startswith("file:") and str(flag).lower() in ("true", "1")
