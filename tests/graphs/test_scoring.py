"""Account scores: a cluster member blends its cluster's score with its own model score; a lone
account is judged by its consensus evidence where it has some, by its model score where not."""

from __future__ import annotations

import numpy as np
import pytest

from graphs.scoring import VerdictParams, account_scores

LABELS = np.array([0, 0, -1, -1, -1])  # two members of cluster 0, three lone accounts
CLUSTER = np.array([0.9])
OWN = np.array([1.0, 0.0, 0.8, 0.6, 0.0])
LONE = np.array([0.0, 0.0, 0.4, 0.0, 1.0])  # account 3 has no ratings: no consensus evidence


def test_members_blend_their_cluster_and_own_score():
    s = account_scores(LABELS, CLUSTER, OWN, VerdictParams(gnn_blend=0.3), LONE)
    assert s[:2] == pytest.approx([0.7 * 0.9 + 0.3, 0.7 * 0.9])


def test_lone_accounts_use_consensus_evidence_where_they_have_it():
    s = account_scores(LABELS, CLUSTER, OWN, VerdictParams(), LONE)  # lone_gnn_share 0
    assert s[2:] == pytest.approx([0.5 * 0.4, 0.5 * 0.6, 0.5 * 1.0])
    s = account_scores(LABELS, CLUSTER, OWN, VerdictParams(lone_gnn_share=0.5), LONE)
    assert s[2:] == pytest.approx([0.5 * 0.6, 0.5 * 0.6, 0.5 * 0.5])


def test_lone_accounts_without_a_model_or_evidence():
    s = account_scores(LABELS, CLUSTER, None, VerdictParams(), LONE)
    assert s[2:] == pytest.approx([0.2, 0.0, 0.5]) and s[:2] == pytest.approx([0.9, 0.9])
    s = account_scores(LABELS, CLUSTER, OWN, VerdictParams(), None)
    assert s[2:] == pytest.approx(0.5 * OWN[2:])
    assert account_scores(LABELS, CLUSTER, None, VerdictParams(), None)[2:] == pytest.approx([0, 0, 0])


def test_the_model_decides_the_scorer_variant_and_the_lone_share(tmp_path):
    """The shipped default model scores a platform it has not seen: its variant and lone share are the
    cross-fitted ones; a model trained on the platform's own labels gets the in-distribution ones."""
    from gnn.scoring import default_model_path
    from graphs.scoring import StructuralScorer
    from service.pipeline import DetectParams, scorer_variant, with_model_defaults

    assert scorer_variant(None) == "structure"
    assert scorer_variant("default") == scorer_variant(default_model_path()) == "structure+gnn"
    assert scorer_variant(tmp_path / "my-model") == "structure+trained"
    shipped = StructuralScorer.load(variant="structure+gnn")
    trained = StructuralScorer.load(variant="structure+trained")
    assert "mean_gnn_score" not in shipped.feature_names and "mean_gnn_score" in trained.feature_names
    p = DetectParams()
    assert with_model_defaults(p, "default").verdict.lone_gnn_share == 0.0
    assert with_model_defaults(p, None).verdict.lone_gnn_share == 0.0
    assert with_model_defaults(p, tmp_path / "my-model").verdict.lone_gnn_share == 0.5
    mine = DetectParams(verdict=VerdictParams(lone_gnn_share=0.25))
    assert with_model_defaults(mine, "default").verdict.lone_gnn_share == 0.25  # a set value stays


def test_a_run_records_which_cluster_scorer_it_used():
    import pandas as pd

    from graphs.events import EventLog
    from service.pipeline import run_detection

    t0 = 1767225600
    rows = [(f"a{i}", t0 + 30 * i, "like", "content", f"c{i % 3}") for i in range(12)]
    log = EventLog.from_frame(
        pd.DataFrame(rows, columns=["account_id", "timestamp", "action", "entity_type", "entity_id"])
    )
    assert run_detection(log, model=None).params["cluster_scorer"] == "structure"
