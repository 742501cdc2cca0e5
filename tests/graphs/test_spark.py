"""The Spark engine gives the local engine's relations, roles and verdicts (issue 16).

Runs Spark in local mode. Skipped with the reason when PySpark or Java is missing, unless
``RINGSCOPE_TEST_SPARK=require`` (CI), which turns the skip into a failure.
"""

from __future__ import annotations

import os
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from graphs.attributes import with_attribute_entities
from graphs.events import EventLog
from graphs.incidence import build_incidence
from graphs.params import GraphParams
from graphs.relations import RelationSet, build_relations, with_campaigns
from graphs.roles import infer_roles
from graphs.spark import spark_missing

WHY = spark_missing()
if WHY and os.environ.get("RINGSCOPE_TEST_SPARK") == "require":
    raise RuntimeError(f"RINGSCOPE_TEST_SPARK=require but {WHY}")
pytestmark = pytest.mark.skipif(WHY is not None, reason=WHY or "")


def local_and_spark(log: EventLog, accounts: pd.DataFrame | None, params: GraphParams):
    from graphs.spark import spark_relation_set

    full, attr_types = with_attribute_entities(log, accounts, params.attributes)
    roles = infer_roles(
        full, identifiers=tuple(params.identifier_types or ()) + attr_types, targets=params.target_types
    )
    incidence = build_incidence(full)
    local = build_relations(full, incidence, params, roles)
    # What graphs.build does with Spark's relations: the campaign-group test on the driver.
    counted = spark_relation_set(full, params, attr_types)
    spark = with_campaigns(counted.relations, full, incidence, roles, params)
    return full, roles, local, SimpleNamespace(relations=spark, roles=counted.roles)


def assert_same(local, spark) -> None:
    assert spark.campaigns == local.campaigns
    assert list(spark.relations) == list(local.relations)
    assert spark.identifier_names == local.identifier_names
    assert spark.resolution == local.resolution
    for name, a in local.relations.items():
        b = spark.relations[name]
        assert np.array_equal(a.src, b.src) and np.array_equal(a.dst, b.dst), name
        np.testing.assert_allclose(b.weight, a.weight, atol=1e-6, err_msg=name)
        assert set(a.evidence) == set(b.evidence), name
        for key, values in a.evidence.items():
            np.testing.assert_allclose(
                b.evidence[key].astype(float),
                values.astype(float),
                rtol=1e-9,
                atol=1e-6,
                err_msg=f"{name}.{key}",
            )
    for name, a in local.sync.items():
        b = spark.sync[name]
        assert (b.windows, b.tested_pairs, b.kept, b.rows) == (a.windows, a.tested_pairs, a.kept, a.rows), (
            name
        )
        assert b.threshold == pytest.approx(a.threshold, rel=1e-12), name
        for key in ("active", "cooccurring"):
            assert np.array_equal(getattr(a, key), getattr(b, key)), f"{name}.{key}"
        if a.coactors is None:  # nothing to count (no rows)
            assert b.coactors is None, name
        else:
            np.testing.assert_allclose(b.coactors, a.coactors, rtol=1e-12, err_msg=f"{name}.coactors")


@pytest.mark.parametrize(("regime", "seed"), [("minutes", 1), ("day", 2)])
def test_graph_and_clusters_equal_local_on_generated_worlds(regime, seed):
    from graphs.build import build_graph
    from graphs.communities import ClusterParams, detect_communities
    from graphs.synthetic.regimes import generate_regime_world

    world = generate_regime_world(regime, 1200, seed)
    log = EventLog.from_frame(world.events, source=f"{regime} {seed}")
    accounts = world.accounts.set_index("account_id")
    local = build_graph(log, accounts, GraphParams())
    spark = build_graph(log, accounts, GraphParams(engine="spark"))
    assert spark.roles == local.roles and spark.roles.reasons == local.roles.reasons
    assert local.relations["coaction"].n_edges > 50 and local.relations["interaction"].n_edges > 50
    assert_same(
        RelationSet(
            local.relations, local.identifier_relations, local.sync_stats, local.meta["time_resolution_s"]
        ),
        RelationSet(
            spark.relations, spark.identifier_relations, spark.sync_stats, spark.meta["time_resolution_s"]
        ),
    )
    assert spark.meta["synchrony"] == local.meta["synchrony"]
    assert spark.feature_names == local.feature_names
    np.testing.assert_allclose(spark.features, local.features, rtol=1e-9, atol=1e-9)
    # The same clusters: Leiden on the combined graph of each.
    labels = [detect_communities(g.n_accounts, *g.combined(), ClusterParams()) for g in (local, spark)]
    assert len(set(labels[0].tolist())) > 5
    assert np.array_equal(labels[0], labels[1])


def crafted_log() -> tuple[EventLog, pd.DataFrame]:
    """A log whose answer is known by construction: a ring of 6 posts the same url *and* hashtag at
    one instant (rows weighted 1/sqrt(2)), logs in from one payment card (a type our generator never
    makes), with a shared user agent (a categorical event column) and a rating (a numeric one)."""
    rng = np.random.default_rng(5)
    rows = []
    ring = [f"r{i}" for i in range(6)]
    others = [f"b{i}" for i in range(200)]
    t0 = 1_700_000_000
    for k in range(5):  # five campaigns, each with its own url and hashtag
        for j, a in enumerate(ring):
            t = t0 + k * 7200 + j * 3
            rows.append((a, t, "post", "url", f"u{k}", "bot/1.0", 5))
            rows.append((a, t, "post", "hashtag", f"h{k}", "bot/1.0", 5))
    for a in ring:
        for d in range(3):
            rows.append((a, t0 + d * 86400, "login", "payment", "card-1", "bot/1.0", None))
    for i, a in enumerate(others):
        for _ in range(4):
            rows.append(
                (
                    a,
                    t0 + int(rng.integers(0, 5 * 86400)),
                    "login",
                    "payment",
                    f"card-b{i}",
                    f"ua{i % 7}",
                    None,
                )
            )
        for _ in range(12):  # a crowd on 30 popular urls: co-occurrence by chance, the null's reference
            t = t0 + int(rng.integers(0, 2 * 86400))
            rows.append(
                (a, t, "post", "url", f"p{int(rng.integers(0, 30))}", f"ua{i % 7}", int(rng.integers(1, 6)))
            )
        rows.append(
            (
                a,
                t0 + int(rng.integers(0, 86400)),
                "follow",
                "account",
                others[(i + 1) % 200],
                f"ua{i % 7}",
                None,
            )
        )
    frame = pd.DataFrame(
        rows, columns=["account_id", "timestamp", "action", "entity_type", "entity_id", "agent", "rating"]
    )
    accounts = pd.DataFrame(
        {"created_at": t0 - 86400, "plan": ["free"] * 6 + ["pro", "free"] * 100},
        index=pd.Index(ring + others, name="account_id"),
    )
    return EventLog.from_frame(frame, source="crafted"), accounts


def test_relations_equal_local_with_weights_attributes_and_new_types(tmp_path, monkeypatch):
    # The log's copy for Spark goes to a folder a cluster's executors could read, and is removed.
    shared = tmp_path / "shared"
    monkeypatch.setenv("RINGSCOPE_SPARK_TMP", str(shared))
    log, accounts = crafted_log()
    full, roles, local, spark = local_and_spark(log, accounts, GraphParams())
    assert shared.is_dir() and not any(shared.iterdir())
    assert spark.roles == roles
    assert "payment" in roles.identifiers and {"url", "hashtag"} <= set(roles.targets)
    assert {"attr:agent", "attr:plan"} <= set(spark.roles.identifiers)
    co = local.relations["coaction"]
    ring = set(full.account_codes(np.array([f"r{i}" for i in range(6)], dtype=object)).tolist())
    pairs = {(int(s), int(d)) for s, d in zip(co.src, co.dst, strict=True)}
    assert {(a, b) for a in ring for b in ring if a < b} <= pairs  # every ring pair co-acts
    # One act names two targets: each row weighs 1 / sqrt(2), so five campaigns count 5, not 10.
    ring_counts = co.evidence["count"][[s in ring and d in ring for s, d in zip(co.src, co.dst, strict=True)]]
    assert ring_counts.max() == 5
    assert_same(local, spark.relations)


def test_graph_params_engine_checked():
    with pytest.raises(ValueError, match="engine must be one of local, spark"):
        GraphParams(engine="dask")


def test_detect_engine_spark_reads_uris_and_gives_the_same_verdicts(tmp_path):
    """The whole command: local paths and the local engine, against file:// URIs read by Spark and
    the Spark engine; the output tables must be equal byte for byte."""
    from typer.testing import CliRunner

    from graphs.synthetic import WorldConfig, generate_world, write_world
    from service.cli import app
    from service.store import Store

    paths = write_world(generate_world(WorldConfig(n_accounts=800, seed=11)), tmp_path / "w", fmt="csv")
    runner = CliRunner()
    common = ["--structure-only", "--dataset", "w"]
    local = runner.invoke(
        app,
        ["detect", "--events", str(paths["events"]), "--accounts", str(paths["accounts"]), *common]
        + ["--out", str(tmp_path / "local"), "--store", f"sqlite:///{tmp_path / 'l.db'}"],
    )
    assert local.exit_code == 0, local.output
    store = f"sqlite:///{tmp_path / 's.db'}"
    spark = runner.invoke(
        app,
        [
            "detect",
            "--events",
            paths["events"].resolve().as_uri(),
            "--accounts",
            paths["accounts"].resolve().as_uri(),
        ]
        + [*common, "--engine", "spark", "--out", str(tmp_path / "spark"), "--store", store],
    )
    assert spark.exit_code == 0, spark.output
    for name in ("accounts.csv", "clusters.csv"):
        assert (tmp_path / "spark" / name).read_bytes() == (tmp_path / "local" / name).read_bytes(), name
    assert (pd.read_csv(tmp_path / "local" / "accounts.csv")["verdict"] == "ring").sum() > 0
    with Store(store) as st:
        params = st.latest_run("w")["params"]
    assert params["graph"]["engine"] == "spark" and "spark coaction" in params["graph_timings_s"]


@pytest.mark.parametrize(
    "params",
    [
        # Every target and identifier is a hub: the synchrony relations count nothing.
        GraphParams(target_cap=2, identifier_cap=2),
        # Actions filtered, roles declared against inference, one window.
        GraphParams(
            coaction_actions=("post",),
            interaction_actions=("follow",),
            identifier_types=("url",),
            target_types=("payment",),
            sync_windows=(60,),
        ),
    ],
    ids=["all hubs", "filters and declared roles"],
)
def test_relations_equal_local_with_other_knobs(params):
    log, accounts = crafted_log()
    _, roles, local, spark = local_and_spark(log, accounts, params)
    assert spark.roles == roles
    assert_same(local, spark.relations)
