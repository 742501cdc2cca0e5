"""``RINGSCOPE_WORKERS``: how many processes one detect may use."""

from __future__ import annotations

import os
from types import SimpleNamespace

from service.pipeline import DetectParams, _start_null, workers


def test_workers_setting(monkeypatch) -> None:
    monkeypatch.setenv("RINGSCOPE_WORKERS", "1")
    assert workers() == 1
    monkeypatch.setenv("RINGSCOPE_WORKERS", "3")
    assert workers() == 3
    monkeypatch.setenv("RINGSCOPE_WORKERS", "0")
    assert workers() == 1
    monkeypatch.setenv("RINGSCOPE_WORKERS", "many")
    assert workers() == (os.cpu_count() or 1)
    monkeypatch.delenv("RINGSCOPE_WORKERS")
    assert workers() == (os.cpu_count() or 1)


def test_one_worker_keeps_the_null_copy_in_line(monkeypatch) -> None:
    big = SimpleNamespace(n_events=5_000_000)
    monkeypatch.setenv("RINGSCOPE_WORKERS", "1")
    assert _start_null(big, None, None, DetectParams()) is None


def test_unchanged_clusters_are_found_by_their_members() -> None:
    import numpy as np

    from service.pipeline import unchanged_clusters

    old = np.array([0, 0, 1, 1, 2, 2, -1, 3, 3])
    # Cluster 0 kept whole (renumbered 1), 1 grew by the loner, 2 split, 3 kept as 0.
    new = np.array([1, 1, 2, 2, 3, 4, 2, 0, 0])
    old_row, changed = unchanged_clusters(old, new)
    assert old_row.tolist() == [3, 0, -1, -1, -1]
    assert changed.tolist() == [2, 3, 4]


def test_freed_memory_is_kept_only_where_the_log_leaves_room(monkeypatch) -> None:
    from service import allocator

    assert allocator.has_room(1_000) and not allocator.has_room(10**12)
    monkeypatch.setattr(allocator, "_done", False)
    monkeypatch.setenv("RINGSCOPE_MALLOC", "default")
    assert allocator.keep_freed_memory(1_000) is False
    monkeypatch.delenv("RINGSCOPE_MALLOC")
    assert allocator.keep_freed_memory(10**12) is False  # too big for this machine: left alone
