"""The verdict store's tables (SQLAlchemy Core: bulk paths need no ORM objects)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
)

metadata = MetaData()

#: The dataset of runs published without one (and of stores from before datasets).
DEFAULT_DATASET = "default"


def _dataset() -> Column:
    """Which dataset (one platform's log) a row belongs to: ids, feeds and matching are per dataset."""
    return Column("dataset", String(200), nullable=False, server_default=DEFAULT_DATASET)


# One row per published detection run; run ids only grow.
runs = Table(
    "runs",
    metadata,
    Column("run_id", Integer, primary_key=True, autoincrement=True),
    _dataset(),
    Column("published_at", DateTime(timezone=True), nullable=False),
    Column("detected_at", DateTime(timezone=True), nullable=False),
    Column("model_version", String(200), nullable=False),
    Column("params", JSON, nullable=False),
    Column("n_accounts", Integer, nullable=False, default=0),
    Column("n_clusters", Integer, nullable=False, default=0),
    Column("n_rings", Integer, nullable=False, default=0),
    Column("n_events", Integer, nullable=False, default=0),
    Column("first_seq", BigInteger),  # change-feed seqs this run assigned (null when none)
    Column("last_seq", BigInteger),
    Column("publish_seconds", Float),
)

# Named counters: 'cluster' (last stable cluster number), 'seq' (last change-feed seq).
counters = Table(
    "counters",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("value", BigInteger, nullable=False),
)


# Every cluster ever published, under its stable id. status 'active' = in the latest run;
# 'dissolved' = gone since updated_run (it keeps its last verdict, members and edges).
def _lifecycle() -> list[Column]:
    """What a change did to a cluster's membership (``service/store/lifecycle.py``); null on rows
    written before schema 5."""
    return [
        Column("lifecycle", String(16)),
        Column("size_before", Integer),
        Column("related", JSON),  # stable ids: merged into it / split off it / its heir or origin
    ]


#: Columns added by schema 5 to ``clusters`` and ``cluster_events`` (name, SQL type).
LIFECYCLE_COLUMNS = (("lifecycle", "VARCHAR(16)"), ("size_before", "INTEGER"), ("related", "JSON"))

clusters = Table(
    "clusters",
    metadata,
    Column("cluster_id", String(64), primary_key=True),
    _dataset(),
    Column("status", String(16), nullable=False),
    Column("verdict", String(16), nullable=False),
    Column("score", Float),
    Column("size", Integer, nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("model_version", String(200), nullable=False),
    Column("detected_at", DateTime(timezone=True), nullable=False),
    Column("last_run", Integer, nullable=False),  # last run the cluster was present in
    Column("first_seen_run", Integer, nullable=False),
    Column("first_seen_at", DateTime(timezone=True), nullable=False),
    # the cluster's latest change-feed event: list order and cursor position
    Column("updated_seq", BigInteger, nullable=False),
    Column("updated_run", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("change", String(16), nullable=False),
    Column("previous_verdict", String(16)),
    *_lifecycle(),
    Index("ix_clusters_updated_seq", "updated_seq", unique=True),
    Index("ix_clusters_verdict_seq", "verdict", "updated_seq"),
    Index("ix_clusters_status", "status"),
    Index("ix_clusters_dataset_status", "dataset", "status"),
)

# Last known membership of every cluster (the current one for active clusters).
cluster_members = Table(
    "cluster_members",
    metadata,
    Column("cluster_id", String(64), primary_key=True),
    Column("account_id", String, primary_key=True),
    Column("score", Float),
    sqlite_with_rowid=False,
)

# Intra-cluster edges for drawing (last known, like members), one JSON document per cluster:
# [[src, dst, relation, weight], ...] sorted. Edges are only ever read whole, per cluster, and one
# row per cluster instead of per edge makes a publish several seconds faster at 1M accounts.
cluster_graphs = Table(
    "cluster_graphs",
    metadata,
    Column("cluster_id", String(64), primary_key=True),
    Column("n_edges", Integer, nullable=False),
    Column("edges", JSON, nullable=False),
)

# Each dataset's latest run's accounts.
accounts = Table(
    "accounts",
    metadata,
    Column("dataset", String(200), primary_key=True, server_default=DEFAULT_DATASET),
    Column("account_id", String, primary_key=True),
    Column("score", Float),
    Column("cluster_id", String(64)),
    Column("verdict", String(16), nullable=False),
    Index("ix_accounts_account", "account_id"),
    sqlite_with_rowid=False,
)

# Each dataset's latest run's account profiles (members of flagged clusters only; graphs.profiles).
account_profiles = Table(
    "account_profiles",
    metadata,
    Column("dataset", String(200), primary_key=True, server_default=DEFAULT_DATASET),
    Column("account_id", String, primary_key=True),
    Column("profile", JSON, nullable=False),
    sqlite_with_rowid=False,
)

# The change feed: one event per cluster per run in which it appeared, changed verdict, changed
# members or dissolved. seq is global and only grows; a cluster's history is its events.
cluster_events = Table(
    "cluster_events",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    _dataset(),
    Column("cluster_id", String(64), nullable=False),
    Column("run_id", Integer, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("change", String(16), nullable=False),
    Column("verdict", String(16), nullable=False),
    Column("previous_verdict", String(16)),
    Column("score", Float),
    Column("size", Integer, nullable=False),
    *_lifecycle(),
    Index("ix_cluster_events_cluster", "cluster_id", "seq"),
)

# Investigators' decisions: confirm or reject a cluster (account_id null) or one of its members.
# Never deleted; the latest decision per (cluster, account) is the current one. Decisions are keyed
# by the stable cluster id, so they follow a ring across runs while its members persist.
decisions = Table(
    "decisions",
    metadata,
    Column("decision_id", Integer, primary_key=True, autoincrement=True),
    _dataset(),
    Column("cluster_id", String(64), nullable=False),
    Column("account_id", String),  # null: the whole cluster
    Column("decision", String(16), nullable=False),  # confirm | reject
    Column("reason", String(200), nullable=False),
    Column("note", String(4000)),
    Column("decided_by", String(64), nullable=False),  # "<role>-<8 hex of the key's SHA-256>"
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("run_id", Integer, nullable=False),  # the latest run of the dataset when decided
    Column("verdict", String(16), nullable=False),  # the cluster's verdict when decided
    Column("size", Integer, nullable=False),  # ... and its size
    Index("ix_decisions_cluster", "cluster_id", "decision_id"),
)

# What each cluster's evidence names, for search by identifier: its shared identifiers (kind
# 'shared': members on it, its users in all) and its synchronised targets (kind 'target': members
# acting on it together). Replaced with the cluster's rows, kept for dissolved clusters like members.
cluster_entities = Table(
    "cluster_entities",
    metadata,
    Column("entity_id", String, primary_key=True),
    Column("cluster_id", String(64), primary_key=True),
    Column("kind", String(8), primary_key=True),
    Column("entity_type", String(64), primary_key=True),
    Column("members", Integer, nullable=False),
    Column("users_total", Integer),
    Index("ix_cluster_entities_cluster", "cluster_id"),
)
