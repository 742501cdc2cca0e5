"""Extra columns of the log and the accounts table: features, shared-value evidence, switching off."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from graphs.attributes import AttributeParams, column_kind
from graphs.build import build_graph
from graphs.events import EventLog, load_events
from graphs.params import GraphParams

T0 = 1_700_000_000
DAY = 86400


def reviews(seed: int = 0) -> pd.DataFrame:
    """Ten products rated around their quality by 200 accounts; s0..s4 give product p0 one star."""
    rng = np.random.default_rng(seed)
    rows = []
    quality = rng.uniform(3, 4.5, 10)
    for i in range(200):
        for p in rng.choice(10, 3, replace=False):
            r = int(np.clip(round(quality[p] + rng.normal(0, 0.5)), 1, 5))
            rows.append(
                (f"u{i}", T0 + int(rng.integers(0, 60)) * DAY, "review", "product", f"p{p}", r, f"ua{i % 7}")
            )
    for i in range(5):
        rows.append((f"s{i}", T0 + 3 * DAY, "review", "product", "p0", 1, "bot-agent/1.0"))
    cols = ["account_id", "timestamp", "action", "entity_type", "entity_id", "rating", "user_agent"]
    return pd.DataFrame(rows, columns=cols)


def feature(graph, account: str, name: str) -> float:
    return float(graph.features[graph.codes_of([account])[0], graph.feature_names.index(name)])


def test_extra_columns_are_kept_on_the_log(tmp_path) -> None:
    df = reviews()
    path = tmp_path / "events.csv"
    df.to_csv(path, index=False)
    log = load_events(path)
    assert set(log.attributes) == {"rating", "user_agent"}
    assert log.attributes["rating"].dtype == np.float64
    assert log.attributes["user_agent"].dtype == object
    same = EventLog.from_frame(df)
    assert np.array_equal(same.attributes["rating"], log.attributes["rating"])


def test_ratings_far_from_the_consensus_stand_out() -> None:
    graph = build_graph(EventLog.from_frame(reviews()))
    dev = [feature(graph, f"s{i}", "attr_entity_dev") for i in range(5)]
    normal = [feature(graph, f"u{i}", "attr_entity_dev") for i in range(200)]
    assert min(dev) > np.quantile(normal, 0.95)
    assert feature(graph, "s0", "attr_extreme_share") == 1.0
    assert feature(graph, "s0", "attr_has_numeric") == 1.0


def test_categorical_columns_become_identifiers() -> None:
    """A user agent shared by exactly the five raters links them like a shared device would."""
    graph = build_graph(EventLog.from_frame(reviews()))
    assert "attr:user_agent" in graph.roles.identifiers
    rel = graph.relations["attr:user_agent"]
    ids = graph.account_ids
    pairs = {tuple(sorted((ids[a], ids[b]))) for a, b in zip(rel.src, rel.dst, strict=True)}
    assert {("s0", "s1"), ("s3", "s4")} <= pairs
    # Seven agents of ~29 accounts each are shared too (below the cap of 50); none links an s to a u.
    assert not any(a.startswith("s") != b.startswith("s") for a, b in pairs)


def test_a_column_can_be_switched_off() -> None:
    params = GraphParams(attributes=AttributeParams(ignore=("rating", "user_agent")))
    graph = build_graph(EventLog.from_frame(reviews()), params=params)
    assert "attr:user_agent" not in graph.relations
    assert feature(graph, "s0", "attr_entity_dev") == 0.0
    off = build_graph(
        EventLog.from_frame(reviews()), params=GraphParams(attributes=AttributeParams(use=False))
    )
    assert not any(t.startswith("attr:") for t in off.roles.identifiers)


def test_account_table_attributes() -> None:
    df = reviews()
    accounts = pd.DataFrame(
        {
            "account_id": [f"u{i}" for i in range(200)] + [f"s{i}" for i in range(5)],
            "created_at": T0 - DAY,
            "bio_length": [100] * 200 + [0] * 5,
            "country": ["DE"] * 205,
        }
    )
    graph = build_graph(EventLog.from_frame(df), accounts)
    assert feature(graph, "s0", "account_attr_mean_z") < -3  # an empty bio where everyone wrote one
    assert feature(graph, "u0", "account_attr_mean_z") == pytest.approx(0.0, abs=0.2)
    # A country shared by everyone is a hub: an identifier type, but no edges.
    assert graph.relations["attr:country"].n_edges == 0
    assert graph.meta["hubs"]["attr:country"] == 1


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        ([1, 2, 3, 4, 5] * 20, "numeric"),
        (["1.5", "2", "", "3"] * 10, "numeric"),
        (["Mozilla", "curl", "Mozilla"] * 10, "categorical"),
        (list(range(5000)), "categorical"),  # an integer id (a hash) is not a quantity
        ([None] * 10, None),
    ],
)
def test_column_kinds(values, kind) -> None:
    assert column_kind(pd.Series(values), "c", AttributeParams()) == kind
    assert column_kind(pd.Series(values), "c", AttributeParams(ignore=("c",))) is None


def test_every_categorical_account_column_reaches_its_own_accounts() -> None:
    from graphs.attributes import with_attribute_entities

    log = EventLog.from_frame(reviews())
    ids = list(log.account_ids)[::-1]  # the accounts table in another order than the log
    accounts = pd.DataFrame(
        {"country": [f"c-{a}" for a in ids], "plan": [f"p-{a}" for a in ids]}, index=pd.Index(ids)
    )
    out, types = with_attribute_entities(log, accounts, AttributeParams(categorical=("country", "plan")))
    assert {"attr:country", "attr:plan"} <= set(types)
    rows = out.to_frame()
    for kind, prefix in (("attr:country", "c-"), ("attr:plan", "p-")):
        part = rows[rows["entity_type"] == kind]
        assert len(part) == log.n_accounts
        assert (part["entity_id"].astype(str) == prefix + part["account_id"].astype(str)).all(), kind
