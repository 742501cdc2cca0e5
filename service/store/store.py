"""``Store``: the verdict store's one entry point (publish a run, read verdicts)."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import func, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from graphs.errors import RingscopeError
from service.detection import VERDICTS, Detection
from service.store import queries
from service.store.cursor import decode_cursor
from service.store.decisions import DECISION_STATES, DECISIONS, decide, decided_labels, verdict_quality
from service.store.engine import make_engine
from service.store.lifecycle import LIFECYCLES
from service.store.publish import PublishResult, publish
from service.store.queries import ClusterPage, Snapshot
from service.store.tables import DEFAULT_DATASET, LIFECYCLE_COLUMNS, counters, metadata, runs
from service.store.tables import account_profiles as account_profiles_table
from service.store.tables import accounts as accounts_table
from service.store.tables import clusters as clusters_table

DEFAULT_URL = "sqlite:///ringscope.db"
# 3: datasets (runs, clusters, events and accounts belong to one); 4: account profiles;
# 5: cluster lifecycle (born, grew, merged, split, ...) on clusters and change-feed events
SCHEMA_VERSION = 5
MAX_LIMIT = 1000


class Store:
    """The verdict store over a SQLAlchemy URL (a SQLite file by default, or PostgreSQL).

    Every publish is a versioned run that lands in one transaction: readers see the previous run or
    the new one, never a mix. Clusters keep stable ids (``c-000123``) across runs while their
    members mostly persist, and every new, re-judged, re-shaped or dissolved cluster is an event
    in a change feed whose sequence number orders :meth:`list_clusters`.

    Example:
        >>> store = Store("sqlite:///ringscope.db")  # doctest: +SKIP
        >>> result = store.publish(detection)  # doctest: +SKIP
        >>> detection = detection.renamed(result.id_map)  # CSVs then carry the stable ids
    """

    def __init__(self, url: str = DEFAULT_URL, *, create: bool = True) -> None:
        """Opens (and by default creates the tables of) the store at ``url``.

        Raises:
            StoreOpenError: the URL is malformed, names an unknown database or a driver that is
                not installed, the database cannot be reached or written, or it is not a ringscope
                store (it holds other tables); one line, without the password.
            StoreSchemaError: the store was written by another version of ringscope.
        """
        self.url = url
        try:
            self.engine = make_engine(url)
        except NoSuchModuleError:
            raise StoreOpenError(
                f"verdict store {_shown(url)!r}: unknown database kind {url.split(':', 1)[0]!r} "
                "(use sqlite:/// or postgresql+psycopg://)"
            ) from None
        except ArgumentError:
            raise StoreOpenError(
                f"verdict store {_shown(url)!r} is not a database URL "
                "(e.g. sqlite:///ringscope.db or postgresql+psycopg://user@host/db)"
            ) from None
        except ImportError as exc:
            raise StoreOpenError(
                f"verdict store {_shown(url)!r}: its database driver is not installed ({exc.name or exc})"
            ) from None
        except OSError as exc:
            raise StoreOpenError(f"verdict store {_shown(url)!r}: {exc.strerror or exc}") from None
        self._dialect = self.engine.dialect.name
        self._paramstyle = self.engine.dialect.paramstyle
        self._begin = {
            "postgresql": "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        }.get(self._dialect, "BEGIN")
        dbapi = self.engine.dialect.loaded_dbapi
        self._unreachable = (dbapi.OperationalError, dbapi.InterfaceError)
        self._readers = _ReadConnections(self.engine)
        if create:
            try:
                self._check_foreign()
                self._migrate()
                metadata.create_all(self.engine)
                self._check_schema()
            except SQLAlchemyError as exc:
                self.engine.dispose()
                raise StoreOpenError(f"verdict store {self.display_url!r}: {_reason(exc)}") from None
            except StoreError:
                self.engine.dispose()
                raise
        self._store_id: int | None = None

    @property
    def display_url(self) -> str:
        """The URL with its password hidden."""
        return self.engine.url.render_as_string(hide_password=True)

    def _check_foreign(self) -> None:
        """Refuses a database holding tables but not ours: ringscope never adds tables to it."""
        found = set(inspect(self.engine).get_table_names())
        if found and not {"runs", "counters"} <= found:
            listed = ", ".join(sorted(found)[:5]) + (", ..." if len(found) > 5 else "")
            raise StoreOpenError(
                f"verdict store {self.display_url!r} is not a ringscope store (it holds other tables: "
                f"{listed}); give a new database"
            )

    @property
    def store_id(self) -> int | None:
        """This store's random id (cursors and ``run.json`` carry it); None for a store never stamped."""
        if self._store_id is None:
            with self.engine.connect() as conn:
                self._store_id = conn.execute(
                    select(counters.c.value).where(counters.c.name == "store_id")
                ).scalar()
        return self._store_id

    def has_run(self, run_id: int) -> bool:
        """Whether run ``run_id`` is committed in this store."""
        with self.engine.connect() as conn:
            return conn.execute(select(runs.c.run_id).where(runs.c.run_id == run_id)).first() is not None

    def _migrate(self) -> None:
        """Brings an older store to SCHEMA_VERSION in one transaction. From 2 (before datasets):
        every existing run, cluster, event and account joins the dataset ``default``. From 3: the
        account profiles table is created (empty until the next publish). From 4 (and the above):
        the lifecycle columns are added, null on the rows already there. Other versions are
        refused."""
        names = set(inspect(self.engine).get_table_names())
        if "counters" not in names:
            return  # a new store
        with self.engine.begin() as conn:
            found = conn.execute(select(counters.c.value).where(counters.c.name == "schema")).scalar()
            if found is None or found == SCHEMA_VERSION:
                return
            if found in (3, 4):
                if found == 3:
                    account_profiles_table.create(conn)
                self._add_lifecycle_columns(conn)
                conn.execute(
                    counters.update().where(counters.c.name == "schema").values(value=SCHEMA_VERSION)
                )
                return
            if found != 2:
                raise StoreSchemaError(
                    f"verdict store {self!r} has schema version {found}, this ringscope needs "
                    f"{SCHEMA_VERSION}: publish into a new store (or delete this one)"
                )
            column = f"dataset VARCHAR(200) NOT NULL DEFAULT '{DEFAULT_DATASET}'"
            for table in ("runs", "clusters", "cluster_events"):
                conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {column}")
            next(i for i in clusters_table.indexes if i.name == "ix_clusters_dataset_status").create(conn)
            # accounts: the key becomes (dataset, account_id); rebuilt, it holds one run's accounts.
            conn.exec_driver_sql("ALTER TABLE accounts RENAME TO accounts_v2")
            if self._dialect == "postgresql":
                conn.exec_driver_sql(
                    "ALTER TABLE accounts_v2 RENAME CONSTRAINT accounts_pkey TO accounts_v2_pkey"
                )
            conn.exec_driver_sql("DROP INDEX IF EXISTS ix_accounts_account")
            accounts_table.create(conn)
            conn.exec_driver_sql(
                f"INSERT INTO accounts (dataset, account_id, score, cluster_id, verdict)"
                f" SELECT '{DEFAULT_DATASET}', account_id, score, cluster_id, verdict FROM accounts_v2"
            )
            conn.exec_driver_sql("DROP TABLE accounts_v2")
            account_profiles_table.create(conn)
            self._add_lifecycle_columns(conn)
            conn.execute(counters.update().where(counters.c.name == "schema").values(value=SCHEMA_VERSION))

    @staticmethod
    def _add_lifecycle_columns(conn: Any) -> None:
        """Schema 5's columns on ``clusters`` and ``cluster_events``, where missing."""
        for table in ("clusters", "cluster_events"):
            have = {c["name"] for c in inspect(conn).get_columns(table)}
            for name, sql_type in LIFECYCLE_COLUMNS:
                if name not in have:
                    conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {name} {sql_type}")

    def _check_schema(self) -> None:
        """Stamps a new store with SCHEMA_VERSION and a random store id (cursors carry it); refuses
        a store written by another version."""
        with self.engine.begin() as conn:
            if conn.execute(select(counters.c.value).where(counters.c.name == "store_id")).scalar() is None:
                # (another process may have stamped it first)
                with contextlib.suppress(IntegrityError), conn.begin_nested():
                    conn.execute(counters.insert().values(name="store_id", value=secrets.randbits(48)))
        with self.engine.begin() as conn:
            found = conn.execute(select(counters.c.value).where(counters.c.name == "schema")).scalar()
            if found is None:
                if conn.execute(select(func.count()).select_from(runs)).scalar():
                    found = 1  # stores from before the stamp
                else:
                    with contextlib.suppress(IntegrityError):  # another process stamped it first
                        conn.execute(counters.insert().values(name="schema", value=SCHEMA_VERSION))
                    return
            if found != SCHEMA_VERSION:
                raise StoreSchemaError(
                    f"verdict store {self!r} has schema version {found}, this ringscope needs "
                    f"{SCHEMA_VERSION}: publish into a new store (or delete this one)"
                )

    def __repr__(self) -> str:
        return f"Store({self.engine.url.render_as_string(hide_password=True)!r})"

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Closes every connection (the store reconnects if used again)."""
        self._readers.close()
        self.engine.dispose()

    @contextmanager
    def reading(self, snapshot: bool = True) -> Iterator[Snapshot]:
        """A read connection; with ``snapshot`` all reads through it see one run.

        Read connections run in autocommit mode, so a one-statement read (atomic by itself) costs
        one round trip; ``snapshot`` wraps several statements in one read-only transaction.

        Raises:
            StoreUnavailable: the store cannot be reached (the connection is dropped).
        """
        try:
            conn = self._readers.acquire()
        except (SQLAlchemyError, *self._unreachable) as exc:
            raise StoreUnavailable(f"verdict store unreachable: {exc}") from exc
        ok = False
        try:
            cursor = conn.cursor()
            if snapshot:
                cursor.execute(self._begin)
            try:
                yield Snapshot(cursor, self._paramstyle, self._dialect)
            finally:
                if snapshot:
                    cursor.execute("ROLLBACK")  # read-only: nothing to keep
            ok = True
        except self._unreachable as exc:
            raise StoreUnavailable(f"verdict store unreachable: {exc}") from exc
        finally:
            self._readers.release(conn, ok)

    # -- writing ---------------------------------------------------------------------------------

    def publish(
        self,
        detection: Detection,
        *,
        threshold: float = 0.5,
        before_commit: Callable[[PublishResult], None] | None = None,
        dataset: str = DEFAULT_DATASET,
    ) -> PublishResult:
        """Publishes one detection run, atomically.

        Each new cluster is matched to the previous run's clusters by member overlap (Jaccard
        index >= ``threshold``, one-to-one, best first) and keeps the matched cluster's stable id;
        the others get fresh ids. Previous clusters left unmatched are marked dissolved.

        Args:
            detection: the run; its cluster ids are run-local keys.
            threshold: the least Jaccard index of member sets that keeps a stable id.
            before_commit: called with the result (run id, stable ids) inside the transaction; if
                it raises, nothing is published (``detect`` writes its output files here).
            dataset: which log this run is of: clusters are matched to, and dissolve against, the
                previous run of the same dataset only; other datasets' clusters are untouched.

        Returns:
            The run id and the map from the detection's cluster ids to stable ids.

        Raises:
            ValueError: the detection is inconsistent (repeated ids, unknown verdict, an account in
                a cluster that ``clusters`` lacks); nothing is written.
        """
        return publish(self.engine, detection, threshold, before_commit, _dataset_name(dataset))

    def decide(
        self,
        cluster_id: str,
        decision: str,
        reason: str,
        decided_by: str,
        note: str | None = None,
        members: list[str] | None = None,
    ) -> list[dict[str, Any]] | None:
        """Records an investigator's decision on a cluster, or on some of its members.

        Args:
            cluster_id: the stable id.
            decision: ``confirm`` (a ring: act on it) or ``reject`` (not a ring).
            reason: a short reason (1..200 characters).
            decided_by: who decided (the API's key name).
            note: an optional longer note.
            members: account ids the decision is about (each must be a member); None = the cluster.

        Returns:
            The decisions written (one per member, or one for the cluster); None when the cluster
            is unknown.

        Raises:
            ValueError: an unknown decision, an empty reason, or an account that is not a member.
        """
        if decision not in DECISIONS:
            raise ValueError(f"decision must be one of {', '.join(DECISIONS)}")
        reason = (reason or "").strip()
        if not 1 <= len(reason) <= 200:
            raise ValueError("reason must be 1 to 200 characters")
        if not _storable(cluster_id):
            return None
        return decide(self.engine, cluster_id, decision, reason, decided_by, note, members)

    # -- reading ---------------------------------------------------------------------------------

    def latest_run(self, dataset: str | None = None) -> dict[str, Any] | None:
        """The latest run (``run_id``, ``dataset``, ``published_at``, ``detected_at``,
        ``model_version``, counts), of ``dataset`` when given, or None before the first publish."""
        with self.reading(snapshot=False) as db:
            return queries.latest_run(db, dataset)

    def run(self, run_id: int) -> dict[str, Any] | None:
        """One run by id, or None."""
        with self.reading(snapshot=False) as db:
            return queries.get_run(db, run_id)

    def account(self, account_id: str, dataset: str | None = None) -> dict[str, Any] | None:
        """``account_id, score, cluster_id, verdict, run_id, dataset`` from the latest run of
        ``dataset`` (default: the dataset whose latest run holding the account is newest), or None."""
        if not _storable(account_id) or (dataset is not None and not _storable(dataset)):
            return None
        with self.reading(snapshot=False) as db:
            return queries.account(db, account_id, dataset)

    def profile(self, account_id: str, dataset: str | None = None) -> dict[str, Any] | None:
        """The account's verdict (as :meth:`account`) plus ``profile`` (creation time, identifiers,
        recent events, strongest links: :mod:`graphs.profiles`; None for an account in no flagged
        cluster), or None when the account is unknown."""
        if not _storable(account_id) or (dataset is not None and not _storable(dataset)):
            return None
        with self.reading() as db:
            found = queries.account(db, account_id, dataset)
            if found is None:
                return None
            found["profile"] = queries.profile(db, account_id, found["dataset"])
            return found

    def cluster(self, cluster_id: str) -> dict[str, Any] | None:
        """A cluster's summary plus ``evidence``, ``members`` (``account_id, score``, best first) and
        ``history`` (its change-feed events, oldest first), or None."""
        if not _storable(cluster_id):
            return None
        with self.reading() as db:
            return queries.cluster(db, cluster_id)

    def cluster_members(
        self, cluster_id: str, after: str | None = None, limit: int = MAX_LIMIT
    ) -> dict[str, Any] | None:
        """A cluster's summary, its strongest evidence line (``summary``) and up to ``limit`` members
        (``account_id, score``) in account-id order after ``after``; ``next_after`` continues, None
        on the last page. None when the cluster is unknown."""
        if not _storable(cluster_id) or (after is not None and "\x00" in after):
            return None
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
        with self.reading() as db:
            return queries.cluster_members(db, cluster_id, after, limit)

    def entity(
        self, entity_id: str, entity_type: str | None = None, limit: int = 200
    ) -> list[dict[str, Any]]:
        """Clusters whose evidence names an identifier or target (an IP, a device, a post): per
        cluster ``entity_type``, ``kind`` (shared / target), ``members`` on it, ``users_total`` (for
        shared identifiers) and the cluster's summary."""
        if not _storable(entity_id) or (entity_type is not None and not _storable(entity_type)):
            return []
        with self.reading(snapshot=False) as db:
            return queries.entity_clusters(db, entity_id, entity_type, limit)

    def cluster_graph(self, cluster_id: str) -> dict[str, Any] | None:
        """``nodes`` (``id, score, verdict, cluster_id``) and ``edges`` (``source, target, relation,
        weight``) of a cluster, or None."""
        if not _storable(cluster_id):
            return None
        with self.reading() as db:
            return queries.cluster_graph(db, cluster_id)

    def list_clusters(
        self,
        verdict: str | None = None,
        min_size: int | None = None,
        since: int | datetime | None = None,
        cursor: str | None = None,
        limit: int = 100,
        dataset: str | None = None,
        decision: str | None = None,
        order: str = "feed",
        lifecycle: Iterable[str] | None = None,
    ) -> ClusterPage:
        """Clusters in change-feed order, one page at a time.

        Every cluster appears once, at its latest change; a cluster that changes again after a
        reader passed it reappears later with its new state, so paging through and later resuming
        from the last cursor sees every change exactly once, even while runs land.

        Args:
            verdict: only clusters whose current verdict is this.
            min_size: only clusters with at least this many members.
            since: a run id (changes made by later runs) or a datetime (changes at or after it).
            cursor: a ``next_cursor`` or ``resume_cursor`` from an earlier page; None starts at the
                beginning.
            limit: page size, 1..1000.
            dataset: only this dataset's clusters (the feed position stays global).
            decision: only clusters whose latest decision is ``confirmed`` / ``rejected``, or that
                have none (``undecided``).
            order: ``feed`` (oldest change first, the resumable order) or ``newest`` (latest change
                first; a cursor then continues towards older changes).
            lifecycle: only clusters whose latest change did one of these (``grew``, ``merged``, ...:
                :data:`service.store.lifecycle.LIFECYCLES`).

        Raises:
            CursorError: the cursor is malformed, from another store, or beyond this store's feed.
            ValueError: ``verdict`` or ``limit`` is out of range.
        """
        if verdict is not None and verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}")
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
        if decision is not None and decision not in DECISION_STATES:
            raise ValueError(f"decision must be one of {', '.join(DECISION_STATES)}")
        if order not in ("feed", "newest"):
            raise ValueError("order must be feed or newest")
        steps = tuple(lifecycle) if lifecycle is not None else None
        unknown = [x for x in steps or () if x not in LIFECYCLES]
        if unknown:
            raise ValueError(f"lifecycle {unknown[0]!r} is not one of {', '.join(LIFECYCLES)}")
        after, cursor_store = decode_cursor(cursor) if cursor is not None else (0, None)
        with self.reading() as db:
            return queries.list_clusters(
                db,
                after,
                limit,
                verdict,
                min_size,
                since,
                cursor_store,
                dataset,
                decision,
                order == "newest",
                steps,
            )

    def labels(self, dataset: str | None = None) -> list[dict[str, Any]]:
        """Training labels from investigators' decisions (:func:`service.store.decisions.decided_labels`):
        ``dataset, account_id, is_bot, ring_id, cluster_id, decision, reason, decided_by, decided_at``."""
        with self.reading() as db:
            return decided_labels(db, dataset)

    def quality(self, dataset: str | None = None) -> list[dict[str, Any]]:
        """Verdict quality from decisions, per dataset and model version
        (:func:`service.store.decisions.verdict_quality`)."""
        with self.reading() as db:
            return verdict_quality(db, dataset)

    def ping(self) -> int | None:
        """The latest run id (None before the first publish); raises when the store is unreachable."""
        with self.reading(snapshot=False) as db:
            return queries.ping(db)


class StoreError(RingscopeError, RuntimeError):
    """The verdict store cannot be used; the message is one line, without secrets."""


class StoreOpenError(StoreError):
    """The store's URL, driver, database or permissions are wrong (see :class:`Store`)."""


class StoreSchemaError(StoreError):
    """The store was written by a ringscope with a different table layout."""


class StoreUnavailable(RuntimeError):
    """The verdict store cannot be reached (the service answers 503)."""


class _ReadConnections:
    """Autocommit DBAPI connections for reads, reused without the pool's per-checkout bookkeeping.

    A lookup is ~50 us of SQL; the pool's checkout and reset would add about as much again.
    Connections come from the engine (so its connect events, e.g. SQLite's pragmas, apply) and are
    detached from its pool. ``list.pop``/``append`` are atomic, so any thread may use this. An
    in-memory SQLite database has one shared connection: it is borrowed from the pool every time.
    """

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.idle: list[Any] = []
        self.shared = isinstance(engine.pool, StaticPool)

    def acquire(self) -> Any:
        if self.shared:
            return self.engine.raw_connection()
        try:
            return self.idle.pop()
        except IndexError:
            pass
        fairy = self.engine.raw_connection()
        fairy.detach()
        conn = fairy.dbapi_connection
        if hasattr(conn, "autocommit"):  # psycopg; sqlite3 already runs with isolation_level=None
            conn.autocommit = True
        return conn

    def release(self, conn: Any, healthy: bool) -> None:
        if self.shared:
            conn.close()  # back to the pool
        elif healthy:
            self.idle.append(conn)
        else:
            with contextlib.suppress(Exception):
                conn.close()

    def close(self) -> None:
        idle, self.idle = self.idle, []
        for conn in idle:
            with contextlib.suppress(Exception):
                conn.close()


def _dataset_name(dataset: str) -> str:
    """A dataset name: 1..200 printable characters."""
    name = str(dataset).strip()
    if not name or len(name) > 200 or not name.isprintable():
        raise ValueError("a dataset name is 1 to 200 printable characters")
    return name


def _shown(url: str) -> str:
    """A URL for messages: the password hidden, when it parses at all."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 (a URL that does not parse has no password to hide)
        return url[:80] if "@" not in url else "<url>"


def _reason(exc: Exception) -> str:
    """The driver's first line, without SQL or parameters."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return text[0] if text else type(orig).__name__


def _storable(key: str) -> bool:
    # PostgreSQL refuses NUL in text; such an id can never have been stored.
    return bool(key) and "\x00" not in key
