"""The campaign-group test: rings whose members act once per campaign, in a background of quiet reviewers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from graphs.campaigns import campaign_pairs, merge_campaigns
from graphs.events import EventLog
from graphs.incidence import build_incidence
from graphs.params import GraphParams
from graphs.projection import Relation
from graphs.relations import build_relations
from graphs.roles import infer_roles
from graphs.synchrony import SyncStats

DAY = 86400
T0 = 1_700_006_400  # a midnight
WINDOWS = (DAY, 7 * DAY)


def review_log(seed: int = 0, ring: int = 12, n_benign: int = 3000, products: int = 200):
    """Benign accounts review 1-4 popular-weighted products on random days of a year; one ring of
    ``ring`` fresh accounts reviews product 0 within days 100-103 and product 1 within days 200-203,
    each member once per campaign (every member pair shares exactly two targets: too few for the
    pairwise test), and nothing else."""
    rng = np.random.default_rng(seed)
    pop = 1.0 / np.arange(1, products + 1)
    k = rng.integers(1, 5, n_benign)
    acc = np.repeat(np.arange(n_benign), k)
    tgt = rng.choice(products, acc.size, p=pop / pop.sum())
    day = rng.integers(0, 365, acc.size)
    members = n_benign + np.arange(ring)
    acc = np.concatenate([acc, members, members])
    tgt = np.concatenate([tgt, np.zeros(ring, int), np.ones(ring, int)])
    day = np.concatenate([day, 100 + rng.integers(0, 4, ring), 200 + rng.integers(0, 4, ring)])
    frame = pd.DataFrame({"account": acc, "target": tgt, "day": day}).drop_duplicates(["account", "target"])
    return frame, members


def test_ring_of_single_reviews_is_linked_and_nobody_else() -> None:
    frame, members = review_log()
    n = int(frame["account"].max()) + 1
    t = T0 + frame["day"].to_numpy() * DAY
    found = campaign_pairs(
        frame["account"].to_numpy(), frame["target"].to_numpy(), t, n, WINDOWS, 500, 0.01, DAY
    )
    src, dst = found.key // n, found.key % n
    assert np.isin(src, members).all() and np.isin(dst, members).all()
    ring = len(members)
    assert found.key.size == ring * (ring - 1) // 2  # every member pair, once
    assert (found.count == 2).all()  # the two campaign cells
    assert found.stats.kept_cells >= 1 and np.isfinite(found.stats.threshold)
    assert (found.surprise >= found.stats.threshold).all()


def test_chance_overlaps_are_not_linked() -> None:
    # The same background without the ring: nothing is kept.
    frame, members = review_log(seed=1)
    frame = frame[~frame["account"].isin(members)]
    n = int(frame["account"].max()) + 1
    t = T0 + frame["day"].to_numpy() * DAY
    found = campaign_pairs(
        frame["account"].to_numpy(), frame["target"].to_numpy(), t, n, WINDOWS, 500, 0.01, DAY
    )
    assert found.key.size == 0
    assert found.stats.tested > 0


def test_active_accounts_and_pairs_are_left_to_the_pairwise_test() -> None:
    frame, members = review_log(ring=12)
    n = int(frame["account"].max()) + 1
    t = T0 + frame["day"].to_numpy() * DAY
    args = (frame["account"].to_numpy(), frame["target"].to_numpy(), t, n, WINDOWS, 500, 0.01, DAY)
    # Members in more cells than ``quiet`` take no part; two shared accounts are not a group.
    assert campaign_pairs(*args, quiet=1).key.size == 0
    two = frame[~frame["account"].isin(members[2:])]
    n2 = n
    t2 = T0 + two["day"].to_numpy() * DAY
    assert (
        campaign_pairs(
            two["account"].to_numpy(), two["target"].to_numpy(), t2, n2, WINDOWS, 500, 0.01, DAY
        ).key.size
        == 0
    )


def test_one_act_naming_two_targets_is_no_campaign() -> None:
    # Twelve accounts each post a link with its domain (one act, two targets, one instant); with a
    # second such post they are a campaign group, with one they are not (the URL and domain cells
    # share every poster, but through single acts).
    def posts(times):
        rng = np.random.default_rng(3)
        rows = [(a, 100 * k + u, when + a) for a in range(12) for k, when in times for u in (0, 1)]
        for a in range(12, 4000):  # a busy platform: about 100 rows an hour over four days
            for _ in range(2):
                rows.append((a, int(rng.integers(1000, 1090)), T0 + int(rng.integers(0, 4 * DAY))))
        f = pd.DataFrame(rows, columns=["account", "target", "time"]).drop_duplicates(["account", "target"])
        return campaign_pairs(
            f["account"].to_numpy(), f["target"].to_numpy(), f["time"].to_numpy(), 4000, (3600,), 500, 0.01, 1
        )

    two = posts([(1, T0 + 5 * 3600), (2, T0 + 3 * DAY)])
    assert two.key.size == 12 * 11 // 2
    one = posts([(1, T0 + 5 * 3600)])
    assert one.key.size == 0 and one.stats.kept_cells == 0


def test_merge_keeps_pairwise_evidence_and_adds_group_pairs() -> None:
    n = 10
    rel = Relation(
        "coaction",
        np.array([0, 1], np.int32),
        np.array([1, 2], np.int32),
        np.array([0.9, 0.7], np.float32),
        {
            "count": np.array([4, 3], np.int32),
            "window": np.array([60, 60], np.int32),
            "best_window": np.array([60, 60], np.int32),
            "expected": np.array([0.01, 0.02], np.float32),
            "surprise": np.array([20.0, 12.0]),
        },
    )
    stats = SyncStats((60,), 10.0, 45.0, 2, 10, np.ones(n, np.int64), np.ones(n, np.int64), np.ones(n))
    frame, members = review_log()
    nn = int(frame["account"].max()) + 1
    found = campaign_pairs(
        frame["account"].to_numpy(),
        frame["target"].to_numpy(),
        T0 + frame["day"].to_numpy() * DAY,
        nn,
        WINDOWS,
        500,
        0.01,
        DAY,
    )
    merged, _, cstats = merge_campaigns(rel, stats, found, nn)
    key = merged.src.astype(np.int64) * nn + merged.dst
    assert (np.diff(key) > 0).all()  # sorted, unique
    assert merged.n_edges == 2 + found.key.size
    assert cstats.added == found.key.size
    old = np.flatnonzero((merged.src == 0) & (merged.dst == 1))[0]
    assert merged.weight[old] == pytest.approx(0.9) and merged.evidence["count"][old] == 4
    new = np.isin(merged.src, members)
    assert (merged.evidence["best_window"][new] >= DAY).all()
    # Surprise on the pairwise scale: surprise / threshold equals the group's own ratio.
    ratio = merged.evidence["surprise"][new] / stats.threshold
    assert np.allclose(np.sort(ratio), np.sort(found.surprise / found.stats.threshold))


def test_in_the_relations_of_a_log_and_switched_off() -> None:
    frame, members = review_log()
    events = pd.DataFrame(
        {
            "account_id": "u" + frame["account"].astype(str),
            "timestamp": T0 + frame["day"] * DAY,
            "action": "review",
            "entity_type": "product",
            "entity_id": "p" + frame["target"].astype(str),
        }
    )
    log = EventLog.from_frame(events, source="reviews")
    inc = build_incidence(log)
    roles = infer_roles(log)
    on = build_relations(log, inc, GraphParams(), roles)
    off = build_relations(log, inc, GraphParams(campaign_windows=()), roles)
    assert off.campaigns is None and on.campaigns is not None
    ids = log.account_ids
    rel = on.relations["coaction"]
    linked = set(ids[rel.src]) | set(ids[rel.dst])
    assert linked == {f"u{m}" for m in members}
    assert off.relations["coaction"].n_edges < rel.n_edges
    assert on.campaigns.added == rel.n_edges - off.relations["coaction"].n_edges
    with pytest.raises(ValueError, match="campaign_quiet"):
        GraphParams(campaign_quiet=1)
