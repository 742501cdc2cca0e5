"""Fixtures shared by test_store.py and test_api.py: tiny Detections with known answers, and stores
on SQLite and (when it can be started) a throwaway PostgreSQL.

Set ``RINGSCOPE_TEST_PG=require`` to turn "PostgreSQL unavailable" from a skip into an error (CI).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pandas as pd
import pytest

from service.detection import Detection
from service.store import Store

try:
    from tests.pg import PostgresServer, PostgresUnavailable
except ImportError:  # tests/ itself on sys.path (pytest's rootdir-less import mode)
    from pg import PostgresServer, PostgresUnavailable

INVESTIGATOR_KEY = "inv-3f9c2a"
ENFORCEMENT_KEY = "enf-77b1d0"
API_KEYS = f"{INVESTIGATOR_KEY}:investigator,{ENFORCEMENT_KEY}:enforcement"
BACKENDS = ["sqlite", "postgresql"]

_db_numbers = itertools.count(1)


def detection_one() -> Detection:
    """Run 1: ring R (a1..a5), suspicious S (s1..s3), benign B (b1..b3), loners x1, x2.

    Cluster ids are run-local keys ("R", "S", "B").
    """
    rows = (
        [(f"a{i}", 0.9 - i * 0.01, "R", "ring") for i in range(1, 6)]
        + [(f"s{i}", 0.6, "S", "suspicious") for i in range(1, 4)]
        + [(f"b{i}", 0.2, "B", "benign") for i in range(1, 4)]
        + [("x1", 0.05, "", "benign"), ("x2", 0.4, "", "suspicious")]
    )
    accounts = pd.DataFrame(rows, columns=["account_id", "score", "cluster_id", "verdict"])
    clusters = pd.DataFrame(
        {
            "cluster_id": ["R", "S", "B"],
            "size": [5, 3, 3],
            "verdict": ["ring", "suspicious", "benign"],
            "score": [0.93, 0.6, 0.2],
            "shared_devices": [2, 1, 0],
        }
    )
    evidence = {
        "R": {
            "summary": ["5 accounts share 2 devices", "liked the same 40 posts within 3 minutes"],
            "shared_entities": [{"type": "device", "id": "dev-1", "accounts": 5, "exclusivity": 1.0}],
            "density": 0.8,
        },
        "S": {"summary": ["3 accounts share 1 IP"], "density": 0.5},
        "B": {"summary": ["co-follow of a popular account"]},
    }
    edges = pd.DataFrame(
        [
            ("R", "a1", "a2", "device", 1.0),
            ("R", "a2", "a3", "device", 1.0),
            ("R", "a3", "a4", "co_like", 0.7),
            ("R", "a4", "a5", "co_like", 0.6),
            ("R", "a1", "a5", "ip", 0.4),
            ("S", "s1", "s2", "ip", 0.5),
            ("S", "s2", "s3", "ip", 0.5),
            ("B", "b1", "b2", "co_follow", 0.1),
        ],
        columns=["cluster_id", "src", "dst", "relation", "weight"],
    )
    return Detection(
        accounts,
        clusters,
        evidence,
        edges,
        "test-model-1",
        datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
        {"seed": 1},
    )


def detection_two() -> Detection:
    """Run 2, with new local keys: the ring loses a5 and gains a6 (Jaccard 4/6: keeps its id), S
    gains nothing but becomes a ring (verdict change), B is gone (dissolved), N (n1..n3) is new."""
    rows = (
        [(f"a{i}", 0.95, "k1", "ring") for i in (1, 2, 3, 4, 6)]
        + [("a5", 0.3, "", "benign")]
        + [(f"s{i}", 0.85, "k2", "ring") for i in range(1, 4)]
        + [(f"b{i}", 0.1, "", "benign") for i in range(1, 4)]
        + [(f"n{i}", 0.7, "k3", "suspicious") for i in range(1, 4)]
        + [("x1", 0.05, "", "benign")]
    )
    accounts = pd.DataFrame(rows, columns=["account_id", "score", "cluster_id", "verdict"])
    clusters = pd.DataFrame(
        {
            "cluster_id": ["k1", "k2", "k3"],
            "size": [5, 3, 3],
            "verdict": ["ring", "ring", "suspicious"],
            "score": [0.95, 0.85, 0.7],
        }
    )
    edges = pd.DataFrame(
        [("k1", "a1", "a6", "device", 1.0), ("k2", "s1", "s3", "device", 0.9)],
        columns=["cluster_id", "src", "dst", "relation", "weight"],
    )
    evidence = {"k1": {"summary": ["5 accounts share 3 devices"]}, "k2": {"summary": ["now a ring"]}}
    return Detection(
        accounts, clusters, evidence, edges, "test-model-2", datetime(2024, 5, 2, 12, 0, tzinfo=UTC)
    )


def detection_three() -> Detection:
    """Run 3: only the ring and S again, S back to suspicious; N dissolves."""
    accounts = pd.DataFrame(
        [(f"a{i}", 0.96, "r", "ring") for i in (1, 2, 3, 4, 6)]
        + [(f"s{i}", 0.5, "s", "suspicious") for i in range(1, 4)],
        columns=["account_id", "score", "cluster_id", "verdict"],
    )
    clusters = pd.DataFrame(
        {"cluster_id": ["r", "s"], "size": [5, 3], "verdict": ["ring", "suspicious"], "score": [0.96, 0.5]}
    )
    edges = pd.DataFrame(columns=["cluster_id", "src", "dst", "relation", "weight"])
    return Detection(accounts, clusters, {}, edges, "test-model-3", datetime(2024, 5, 3, tzinfo=UTC))


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the whole session, or a skip saying why there is none."""
    try:
        server = PostgresServer.start()
    except PostgresUnavailable as exc:
        if os.environ.get("RINGSCOPE_TEST_PG") == "require":
            pytest.fail(f"RINGSCOPE_TEST_PG=require but {exc}")
        pytest.skip(str(exc))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """An empty store's URL: a SQLite file, or a fresh schema on the session's PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'verdicts.db'}"
    server = request.getfixturevalue("pg_server")
    return server.create_schema(f"ringscope_test_{next(_db_numbers)}")


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """An empty store (closed after the test)."""
    s = Store(store_url)
    try:
        yield s
    finally:
        s.close()
