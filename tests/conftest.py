"""Shared fixtures: small generated worlds whose rings are known by construction."""

from __future__ import annotations

import pandas as pd
import pytest

from graphs.events import EventLog
from graphs.synthetic import WorldConfig, generate_world


@pytest.fixture(autouse=True)
def _no_local_data(tmp_path_factory, monkeypatch):
    """Tests never read what a developer put in ./data: RINGSCOPE_DATA is an empty folder."""
    monkeypatch.setenv("RINGSCOPE_DATA", str(tmp_path_factory.mktemp("no-local-data")))


@pytest.fixture(scope="session")
def small_world():
    """A 12,000-account world (seed 9100, never used for tuning) with all four ring kinds."""
    return generate_world(WorldConfig(n_accounts=12000, seed=9100))


@pytest.fixture(scope="session")
def small_log(small_world) -> EventLog:
    return EventLog.from_frame(small_world.events, source="small world")


@pytest.fixture(scope="session")
def small_detection(small_world, small_log):
    from service.pipeline import run_detection

    return run_detection(small_log, small_world.accounts.set_index("account_id"), model="default")


@pytest.fixture(scope="session")
def small_labels(small_world) -> pd.DataFrame:
    return small_world.labels.set_index("account_id")
