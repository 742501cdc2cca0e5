"""The log's null copy keeps activity and popularity, destroys coordination; the ring threshold follows it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from graphs.build import build_graph
from graphs.events import EventLog
from graphs.null import expected_false, fdr_threshold, null_log
from graphs.synthetic import WorldConfig, generate_world


@pytest.fixture(scope="module")
def world():
    return generate_world(WorldConfig(n_accounts=8000, seed=9300))


def _pairs(log: EventLog) -> pd.DataFrame:
    return pd.DataFrame({"a": log.account, "e": log.entity}).drop_duplicates()


def test_null_copy_keeps_degrees_times_and_rows(world) -> None:
    log = EventLog.from_frame(world.events)
    null, _ = null_log(log, seed=1)
    assert null.n_events == log.n_events
    assert np.array_equal(null.account, log.account) and np.array_equal(null.timestamp, log.timestamp)
    assert np.array_equal(null.action, log.action)
    # Every row keeps its entity type; accounts keep their number of entities of each type.
    assert np.array_equal(null.event_entity_type, log.event_entity_type)
    real, fake = _pairs(log), _pairs(null)
    t_real = log.entity_type[real["e"].to_numpy()]
    t_fake = null.entity_type[fake["e"].to_numpy()]
    per_real = pd.Series(1, index=pd.MultiIndex.from_arrays([real["a"], t_real])).groupby(level=[0, 1]).size()
    per_fake = pd.Series(1, index=pd.MultiIndex.from_arrays([fake["a"], t_fake])).groupby(level=[0, 1]).size()
    # Rewiring can make an account draw the same entity twice, so a few pairs merge: at most 3%.
    assert per_fake.sum() >= 0.97 * per_real.sum()
    # Entities keep their number of accounts (up to the same merges).
    deg_real = np.bincount(real["e"], minlength=log.n_entities)
    deg_fake = np.bincount(fake["e"], minlength=log.n_entities)
    assert np.abs(deg_real - deg_fake).sum() <= 0.06 * deg_real.sum()
    assert not np.array_equal(null.entity, log.entity)
    again, _ = null_log(log, seed=1)
    assert np.array_equal(again.entity, null.entity)


def test_null_copy_has_no_rings(world) -> None:
    log = EventLog.from_frame(world.events)
    real = build_graph(log)
    null = build_graph(null_log(log, seed=0)[0])
    assert real.relations["coaction"].n_edges > 1000
    # Chance alone: the FDR bounds what is left (a few pairs at most).
    assert null.relations["coaction"].n_edges <= 0.01 * real.relations["coaction"].n_edges
    assert null.relations["device"].n_edges <= real.relations["device"].n_edges


def test_fdr_threshold() -> None:
    real = np.array([0.99, 0.98, 0.97, 0.9, 0.6, 0.3])
    # No null cluster scores above 0.5: the scorer's own threshold stands.
    assert fdr_threshold(real, np.array([0.1, 0.2]), 0.05, 0.5) == 0.5
    # One null cluster at 0.95: below it, 1 false of 4-5 real rings is over 5%; above it, none.
    tau = fdr_threshold(real, np.array([0.95, 0.1]), 0.05, 0.5)
    assert 0.95 < tau <= 0.97
    assert expected_false(np.array([0.95, 0.1]), tau) == 0.0
    assert expected_false(np.array([0.95, 0.1]), 0.5) == 1.0
    # Two null copies: counts are per copy.
    assert expected_false(np.array([0.95, 0.96]), 0.5, n_null=2) == 1.0


def test_detect_reports_its_calibration(world) -> None:
    from service.pipeline import run_detection

    det = run_detection(EventLog.from_frame(world.events), world.accounts, model=None)
    cal = det.params["calibration"]
    assert cal["null_copies"] == 1 and cal["fdr"] == 0.05
    assert cal["ring_threshold"] >= 0.5
    assert det.params["expected_false_rings"] == cal["expected_false_rings"] >= 0
    rings = det.clusters[det.clusters["verdict"] == "ring"]
    assert (rings["score"] >= cal["ring_threshold"]).all()
    reason = det.evidence[rings["cluster_id"].iloc[0]]["verdict_reason"]
    assert "null copy" in reason and "strongest evidence: " in reason
