"""The default ``detect`` on logs of other schemas: no error, and sensible output.

Each log comes from a generated world reshaped into another platform's schema: only devices, IPs and
content; a review site (products with ratings, day granularity); many identifier types under other
names plus URL and hashtag targets. The default model and the structural scorer must take every one
of them as it is (their inputs never change shape), and find the rings where the log shows them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from graphs.events import EventLog
from graphs.synthetic.regimes import generate_regime_world
from graphs.truth import quality_report
from service.pipeline import run_detection

N = 12_000


def _log(events: pd.DataFrame, name: str) -> EventLog:
    return EventLog.from_frame(events.reset_index(drop=True), source=name)


def _check(det, labels: pd.DataFrame) -> dict:
    acc = det.accounts
    assert acc["score"].between(0, 1).all() and acc["account_id"].is_unique
    assert set(acc["verdict"]) <= {"ring", "suspicious", "benign"}
    assert set(det.clusters["verdict"]) <= {"ring", "suspicious", "benign"}
    assert det.params["roles"] and det.params["calibration"]["null_copies"] == 1
    return quality_report(acc, det.clusters, labels)


@pytest.fixture(scope="module")
def world():
    return generate_regime_world("minutes", N, seed=9200)


def test_only_devices_ips_and_content(world) -> None:
    ev = world.events
    keep = ev["entity_type"].astype(str).isin(["device", "ip", "content"]).to_numpy()
    log = _log(ev[keep], "device+ip+content")
    assert set(log.entity_types) == {"device", "ip", "content"}
    det = run_detection(log, world.accounts.set_index("account_id"), model="default")
    q = _check(det, world.labels.set_index("account_id"))
    assert "targets content" in det.params["roles"]
    assert q["ring_recall"] >= 0.8 and q["ring_precision"] >= 0.8, q


def test_many_identifier_types_under_other_names_and_new_targets(world) -> None:
    """Cards, cookies, avatar hashes, e-mail, renamed types and actions, and url / hashtag targets."""
    many = generate_regime_world("many_ids", N, seed=9201)
    ev = many.events.copy()
    for col in ("account_id", "action", "entity_type", "entity_id"):
        ev[col] = ev[col].astype(str)
    # Half of the likes also name the post's URL, and likes of posts with a known author the
    # author's hashtag.
    rng = np.random.default_rng(0)
    likes = ev[(ev["action"] == "upvote") & (rng.random(len(ev)) < 0.5)]
    author = ev[ev["action"] == "post"].drop_duplicates("entity_id").set_index("entity_id")["account_id"]
    tagged = likes[likes["entity_id"].isin(author.index)]
    extra = [
        likes.assign(entity_type="url", entity_id="https://x.example/" + likes["entity_id"]),
        tagged.assign(entity_type="hashtag", entity_id="#" + author.reindex(tagged["entity_id"]).to_numpy()),
    ]
    ev = pd.concat([ev, *extra]).sort_values("timestamp", kind="stable")
    det = run_detection(_log(ev, "many types"), many.accounts.set_index("account_id"), model="default")
    q = _check(det, many.labels.set_index("account_id"))
    roles = det.params["roles"]
    for t in ("hwid", "ip_addr", "payment", "cookie", "avatar_hash"):
        assert t in roles.split(";")[0], roles
    assert "url" in roles.split(";")[1] and "user (interaction)" in roles
    assert q["ring_recall"] >= 0.8 and q["ring_precision"] >= 0.8, q


def test_a_review_site() -> None:
    """Products, ratings, whole days, no identifiers at all: runs, and ratings are used."""
    reviews = generate_regime_world("reviews", 8000, seed=9202)
    log = _log(reviews.events, "reviews")
    assert "rating" in log.attributes
    det = run_detection(log, model="default")
    q = _check(det, reviews.labels.set_index("account_id"))
    assert "identifiers none; targets product" in det.params["roles"]
    assert det.params["time_resolution_s"] == 86400
    # Opinion spammers rate at the extremes, away from the product's consensus: they rank higher.
    assert q["account_roc_auc"] > 0.6, q
    # Switching the rating off is honoured.
    from graphs.attributes import AttributeParams
    from graphs.params import GraphParams
    from service.pipeline import DetectParams

    off = run_detection(
        log,
        model=None,
        params=DetectParams(graph=GraphParams(attributes=AttributeParams(ignore=("rating",)))),
    )
    assert off.accounts["score"].max() == 0.0 or off.accounts["score"].std() < det.accounts["score"].std()
