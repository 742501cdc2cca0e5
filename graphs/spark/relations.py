"""The account relations of :mod:`graphs.relations`, counted with Spark DataFrame operations.

Spark does what grows with the log: the per-type statistics the roles are decided from, the
incidence (one row per account and entity), the self-joins that find every pair of accounts on one
identifier or in one (target, window) cell, and the sums over those pairs. What is left per pair is
small and is finished by the same functions the local engine uses, so the two cannot drift:
:func:`graphs.roles.decide_roles` (the role rule), :func:`graphs.projection.squash` (identifier
weights), :func:`graphs.relations.directed_interactions` (interaction weights) and
:func:`graphs.synchrony.finish_relation` (best scale, Benjamini-Hochberg cut, synchrony weights).

The definitions, as in the local engine (docs/graph.md):

* identifier type ``t``: entities with ``2 <= d <= cap(t)`` accounts; a pair's score is the sum of
  ``1 / log2(d)`` over the entities it shares;
* ``id_time``: every row on a non-hub identifier; per window ``W`` and grid (buckets ``t // W`` and
  the same shifted by ``W / 2``) the distinct (identifier, bucket, account) rows; cells with 2 to
  ``cap`` accounts; a pair's count is the number of cells it shares, its expectation
  ``x_a x_b / X`` with ``x_a`` the account's co-occupants summed over its cells;
* ``coaction``: each account's first action on each target (weighted ``1 / sqrt(k)`` where one act
  names ``k`` targets at one instant); two rows co-occur when they share a grid-0 bucket, or,
  split by a grid-0 boundary, a bucket of the shifted grid (so any two rows less than half a
  window apart count once); the same expectation;
* ``interaction``: events from an account to an acting account named as a target, per direction.

Spark reads the validated log as integer codes (account, entity, entity type, action, time, and
the acting account an entity id names, or -1), written to Parquet once: the loader has already
checked every row and added the attribute rows (:func:`graphs.attributes.with_attribute_entities`),
and joins on integers are several times cheaper than on id strings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..events import EventLog
from ..params import GraphParams
from ..projection import Relation, squash
from ..relations import (
    RelationSet,
    coaction_sync_params,
    directed_interactions,
    presence_sync_params,
    relation_name,
)
from ..roles import REUSE_MIN_ROWS, Roles, decide_roles, is_session_action
from ..synchrony import SyncParams, SyncStats, effective_windows, finish_relation, time_resolution


@dataclass
class SparkRelations:
    """What the Spark engine found, as local objects (account codes of ``log``).

    Attributes:
        relations: the :class:`~graphs.relations.RelationSet`, as
            :func:`graphs.relations.build_relations` returns it.
        roles: the roles decided from Spark's statistics.
    """

    relations: RelationSet
    roles: Roles


def log_frame(spark, log: EventLog, path: str, fs=None, spark_path: str | None = None):
    """Writes ``log`` as integer codes to Parquet at ``path`` and reads it with Spark.

    Columns: ``a`` (account), ``e`` (entity), ``type`` (its entity type), ``act`` (action), ``t``
    (Unix seconds), ``ea`` (the acting account the entity id names, -1 for none). ``fs``: a
    ``pyarrow.fs`` file system for ``path`` (default: the local one); Spark reads ``spark_path``
    (the same file as a URI Spark knows; default ``path``).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    names_account = log.account_codes(log.entity_ids).astype(np.int32)
    table = pa.table(
        {
            "a": pa.array(log.account.astype(np.int32)),
            "e": pa.array(log.entity.astype(np.int32)),
            "type": pa.array(log.event_entity_type.astype(np.int32)),
            "act": pa.array(log.action.astype(np.int32)),
            "t": pa.array(log.timestamp.astype(np.int64)),
            "ea": pa.array(names_account[log.entity]),
        }
    )
    pq.write_table(table, path, filesystem=fs)
    return spark.read.parquet(spark_path or path)


def role_statistics(ev, log: EventLog) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per entity type (codes of ``log``): account share, session share, median reuse, reuse accounts."""
    from pyspark.sql import functions as F

    n_types = len(log.entity_types)
    share = (
        ev.select("type", "e", "ea")
        .distinct()
        .groupBy("type")
        .agg(F.avg((F.col("ea") >= 0).cast("double")).alias("v"))
        .toPandas()
    )
    session = [code for code, name in enumerate(log.actions) if is_session_action(name)]
    sess = ev.groupBy("type").agg(F.avg(F.col("act").isin(session).cast("double")).alias("v")).toPandas()
    per = ev.groupBy("type", "a").agg(F.count("*").alias("rows"), F.countDistinct("e").alias("n_distinct"))
    reuse = (
        per.where(F.col("rows") >= REUSE_MIN_ROWS)
        .groupBy("type")
        .agg(F.count("*").alias("n"), F.expr("percentile(rows / n_distinct, 0.5)").alias("v"))
        .toPandas()
    )

    def pick(frame: pd.DataFrame, col: str) -> np.ndarray:
        out = np.zeros(n_types)
        out[frame["type"].to_numpy(np.int64)] = frame[col].to_numpy(np.float64)
        return out

    return pick(share, "v"), pick(sess, "v"), pick(reuse, "v"), pick(reuse, "n").astype(np.int64)


def _incidence(ev):
    """One row per (entity, account) pair: the entity's type and its number of accounts ``d``."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    inc = ev.select("type", "e", "a").distinct()
    return inc.withColumn("d", F.count("*").over(Window.partitionBy("e")))


def _type_codes(log: EventLog, types) -> list[int]:
    return [log.type_code(t) for t in types if log.type_code(t) >= 0]


def _below_type_cap(log: EventLog, codes: list[int], params: GraphParams):
    """Incidence rows of an entity of one of the identifier types ``codes`` with 2 to its type's cap
    of accounts (as :func:`graphs.relations.identifier_relation` keeps them)."""
    from pyspark.sql import functions as F

    cap = F.create_map(*[x for c in codes for x in (F.lit(c), F.lit(params.cap(log.entity_types[c])))])
    return F.col("type").isin(codes) & (F.col("d") >= 2) & (F.col("d") <= cap[F.col("type")])


def _sorted_pairs(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(src, dst, order)``: the frame's ``a < b`` codes sorted by (src, dst)."""
    a, b = frame["a"].to_numpy(np.int64), frame["b"].to_numpy(np.int64)
    order = np.lexsort((b, a))
    return a[order], b[order], order


def identifier_relations(inc, log: EventLog, roles: Roles, params: GraphParams) -> dict[str, Relation]:
    """One relation per identifier type: shared entities below the type's cap, ``1 / log2(d)`` each."""
    from pyspark.sql import functions as F

    out = {}
    codes = _type_codes(log, roles.identifiers)
    found = pd.DataFrame({"type": [], "a": [], "b": [], "score": [], "shared": []})
    if codes:
        rows = inc.where(_below_type_cap(log, codes, params)).select(
            "type", "e", "a", (1.0 / F.log2(F.col("d"))).alias("w")
        )
        found = (
            rows.alias("l")
            .join(rows.alias("r"), ["type", "e"])
            .where(F.col("l.a") < F.col("r.a"))
            .groupBy("type", F.col("l.a").alias("a"), F.col("r.a").alias("b"))
            .agg(F.sum("l.w").alias("score"), F.count("*").alias("shared"))
            .toPandas()
        )
    for t in roles.identifiers:
        name = relation_name(t)
        part = found[found["type"] == log.type_code(t)]
        if not len(part):
            out[name] = Relation.empty(name, ("shared", "score"))
            continue
        src, dst, order = _sorted_pairs(part)
        score = part["score"].to_numpy(np.float64)[order]
        out[name] = Relation(
            name,
            src.astype(np.int32),
            dst.astype(np.int32),
            squash(score, params.identifier_scale),
            {
                "shared": part["shared"].to_numpy(np.int64)[order].astype(np.int32),
                "score": score.astype(np.float32),
            },
        )
    return out


def _actions(log: EventLog, names) -> list[int]:
    return [log.action_code(a) for a in names if log.action_code(a) >= 0]


def interaction_relation(ev, log: EventLog, roles: Roles, params: GraphParams) -> Relation:
    """Directed event counts between acting accounts, finished by the local engine's formula."""
    from pyspark.sql import functions as F

    codes = _type_codes(log, roles.interaction)
    if not codes:
        return Relation.empty("interaction", ("events", "reciprocal"))
    rows = ev.where(F.col("type").isin(codes) & (F.col("ea") >= 0))
    if params.interaction_actions is not None:
        rows = rows.where(F.col("act").isin(_actions(log, params.interaction_actions)))
    found = rows.groupBy("a", F.col("ea").alias("b")).agg(F.count("*").alias("events")).toPandas()
    return directed_interactions(
        found["a"].to_numpy(np.int64),
        found["b"].to_numpy(np.int64),
        found["events"].to_numpy(np.int64),
        params.interaction_scale,
    )


def _below_cap(rows, cap: int):
    """Rows whose entity has at most ``cap`` distinct accounts in all."""
    from pyspark.sql import functions as F

    users = rows.groupBy("e").agg(F.countDistinct("a").alias("_users"))
    return rows.join(users.where(F.col("_users") <= cap).select("e"), "e", "left_semi")


def synchrony(
    name: str, rows, log: EventLog, p: SyncParams, resolution: int, weighted: bool = False
) -> tuple[Relation, SyncStats]:
    """:func:`graphs.synchrony.synchrony_relation` with the pair counting done by Spark.

    ``rows``: ``a, e, t`` and, in exact mode, ``w`` (row weight; ``weighted``: some row weighs less
    than 1, so counts are sums of weights, not rounded).
    """
    from pyspark.sql import functions as F

    n = log.n_accounts
    windows = effective_windows(p.windows, resolution)
    if rows.limit(1).count() == 0:
        evidence = ("count", "window", "best_window", "expected", "surprise")
        return Relation.empty(name, evidence), SyncStats(
            windows, float("inf"), 0.0, 0, 0, np.zeros(n, np.int64), np.zeros(n, np.int64)
        )
    rows = _below_cap(rows, p.entity_cap)
    if "w" not in rows.columns:
        rows = rows.withColumn("w", F.lit(1.0))
    rows = rows.cache()
    per_acc = rows.groupBy("a").agg(F.count("*").alias("rows"), F.min("t").alias("t0")).toPandas()
    active = np.zeros(n, np.int64)
    active[per_acc["a"].to_numpy(np.int64)] = per_acc["rows"].to_numpy(np.int64)
    n_rows = int(active.sum())
    t_min = int(per_acc["t0"].min()) if len(per_acc) else 0
    keys, counts, mus, wins = [], [], [], []
    cooccurring = np.zeros(n, np.int64)
    coactors = np.zeros(n)
    n_variants = 0
    for w in windows:
        base = t_min // w
        g0 = F.floor(F.col("t") / F.lit(w)).cast("long") - F.lit(base)
        g1 = F.floor((F.col("t") + F.lit(w // 2)) / F.lit(w)).cast("long") - F.lit(base)
        cells = rows.withColumn("g0", g0).withColumn("g1", g1)
        for pair_frame, acc_frame in _exact(cells, p) if p.exact else _grids(cells, p):
            x = np.zeros(n)
            shared = np.zeros(n, np.int64)
            codes = acc_frame["a"].to_numpy(np.int64)
            x[codes] = acc_frame["x"].to_numpy(np.float64)
            shared[codes] = acc_frame["shared"].to_numpy(np.int64)
            if w == windows[-1]:
                coactors = np.maximum(coactors, x)
            cooccurring = np.maximum(cooccurring, shared)
            n_variants += 1
            src, dst, order = _sorted_pairs(pair_frame)
            val = pair_frame["val"].to_numpy(np.float64)[order]
            keys.append(src * n + dst)
            counts.append(val if weighted else np.rint(val))
            mus.append(x[src] * x[dst] / max(float(x.sum()), 1.0))
            wins.append(np.full(src.size, w, dtype=np.int64))
    rows.unpersist()
    stats = SyncStats(windows, 0.0, 0.0, 0, n_rows, active, cooccurring, coactors)
    return finish_relation(name, n, keys, counts, mus, wins, n_variants, stats, p.fdr)


def _exact(cells, p: SyncParams):
    """The exact two-grid rule of :func:`graphs.synchrony._exact_pairs`: one variant per window."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    c0 = Window.partitionBy("e", "g0")
    c1 = Window.partitionBy("e", "g1")
    left = F.col("g1") - F.col("g0") == 1  # the earlier half of a shifted bucket
    cells = (
        cells.withColumn("size0", F.count("*").over(c0))
        .withColumn("size1", F.count("*").over(c1))
        .withColumn("ok0", (F.col("size0") >= 2) & (F.col("size0") <= p.cell_cap))
        .withColumn("ok1", (F.col("size1") >= 2) & (F.col("size1") <= p.cell_cap))
        .withColumn("left", left)
        .withColumn("deg0", F.sum("w").over(c0))
        .withColumn("left_n", F.sum(F.when(F.col("ok1") & left, F.col("w")).otherwise(0.0)).over(c1))
        .withColumn("right_n", F.sum(F.when(F.col("ok1") & ~left, F.col("w")).otherwise(0.0)).over(c1))
    )
    others = (
        F.when(F.col("ok0"), F.col("deg0") - F.col("w")).otherwise(0.0)
        + F.when(F.col("ok1") & F.col("left"), F.col("right_n")).otherwise(0.0)
        + F.when(F.col("ok1") & ~F.col("left"), F.col("left_n")).otherwise(0.0)
    )
    cells = cells.withColumn("co", F.col("w") * F.greatest(others, F.lit(0.0))).cache()
    cached = cells
    per = cells.groupBy("a").agg(
        F.sum("co").alias("x"), F.sum((F.col("co") > 0).cast("long")).alias("shared")
    )
    per = per.cache()
    acc = per.toPandas()
    # As in the local engine: an account with fewer than min_count co-occurring rows has no pair, so
    # its rows are left out of the self-joins (x_a above still counts them).
    cells = cells.join(per.where(F.col("shared") >= p.min_count).select("a"), "a", "left_semi")
    z0 = cells.where("ok0").select("e", "g0", "a", "w")
    same = (
        z0.alias("l")
        .join(z0.alias("r"), ["e", "g0"])
        .where(F.col("l.a") < F.col("r.a"))
        .select(F.col("l.a").alias("a"), F.col("r.a").alias("b"), (F.col("l.w") * F.col("r.w")).alias("v"))
    )
    z1 = cells.where("ok1").select("e", "g1", "a", "w", "left")
    split = (
        z1.where("left")
        .alias("l")
        .join(z1.where(~F.col("left")).alias("r"), ["e", "g1"])
        .select(
            F.least("l.a", "r.a").alias("a"),
            F.greatest("l.a", "r.a").alias("b"),
            (F.col("l.w") * F.col("r.w")).alias("v"),
        )
    )
    pairs = (
        same.unionByName(split)
        .groupBy("a", "b")
        .agg(F.sum("v").alias("val"))
        .where(F.col("val") > p.min_count - 0.5)
        .toPandas()
    )
    per.unpersist()
    cached.unpersist()
    return [(pairs, acc)]


def _grids(cells, p: SyncParams):
    """Repeated rows (identifier use): per grid, distinct (entity, bucket, account) cells; two variants."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    out = []
    for g in ("g0", "g1"):
        occ = cells.select("e", F.col(g).alias("g"), "a").distinct()
        occ = occ.withColumn("size", F.count("*").over(Window.partitionBy("e", "g")))
        occ = occ.where((F.col("size") >= 2) & (F.col("size") <= p.cell_cap)).cache()
        per = occ.groupBy("a").agg(
            F.sum(F.col("size") - 1).cast("double").alias("x"), F.count("*").alias("shared")
        )
        per = per.cache()
        acc = per.toPandas()
        kept = occ.join(per.where(F.col("shared") >= p.min_count).select("a"), "a", "left_semi")
        pairs = (
            kept.alias("l")
            .join(kept.alias("r"), ["e", "g"])
            .where(F.col("l.a") < F.col("r.a"))
            .groupBy(F.col("l.a").alias("a"), F.col("r.a").alias("b"))
            .agg(F.count("*").cast("double").alias("val"))
            .where(F.col("val") >= p.min_count)
            .toPandas()
        )
        occ.unpersist()
        per.unpersist()
        out.append((pairs, acc))
    return out


def build_relations_spark(
    spark,
    log: EventLog,
    params: GraphParams,
    workdir: str,
    declared: tuple[str, ...] = (),
    fs=None,
    spark_workdir: str | None = None,
    timings: dict[str, float] | None = None,
    progress=None,
) -> SparkRelations:
    """Every relation of ``log`` (the validated log with its attribute rows) counted by Spark.

    Args:
        spark: the session (:func:`graphs.spark.session.spark_session`).
        log: the log as :func:`graphs.build.build_graph` has it (attribute rows added); the
            relations are in its account codes.
        params: the graph's knobs (the same as the local engine's).
        workdir: a folder for the Parquet copy Spark reads (on ``fs``, a ``pyarrow.fs`` file system;
            default local); ``spark_workdir``: the same folder as Spark names it (default ``workdir``).
        timings: receives seconds per step (``spark roles``, ``spark identifier relations``, ...).
        progress: called with a short message as each step starts.
        declared: identifier types declared beyond ``params.identifier_types`` (the attribute types).
    """
    import time

    from pyspark.sql import Window
    from pyspark.sql import functions as F

    clock = [time.perf_counter()]

    def tick(step: str, following: str | None = None) -> None:
        now = time.perf_counter()
        if timings is not None:
            timings[f"spark {step}"] = timings.get(f"spark {step}", 0.0) + now - clock[0]
        clock[0] = now
        if following and progress is not None:
            progress(f"Spark: {following}")

    if progress is not None:
        progress("Spark: copying the log")

    spark_file = f"{(spark_workdir or workdir).rstrip('/')}/events.parquet"
    ev = log_frame(spark, log, f"{workdir.rstrip('/')}/events.parquet", fs, spark_file).cache()
    tick("log copy", "the roles' statistics")
    acc_share, session, reuse, reuse_n = role_statistics(ev, log)
    ids = tuple(params.identifier_types or ()) + tuple(declared)
    roles = decide_roles(log.entity_types, acc_share, session, reuse, reuse_n, ids, params.target_types)
    # An evenly spaced sample of the timestamps, as the local engine reads it (it is on the driver).
    resolution = time_resolution(log.timestamp)
    tick("roles", "identifier relations")

    out: dict[str, Relation] = {}
    inc = _incidence(ev).cache()
    found = identifier_relations(inc, log, roles, params)
    names = [relation_name(t) for t in roles.identifiers]
    out.update(found)
    tick("identifier relations", "id_time (co-presence)")

    sync: dict[str, SyncStats] = {}
    # id_time: every row on an identifier with 2..cap accounts.
    id_codes = _type_codes(log, roles.identifiers)
    caps = [params.cap(t) for t in roles.identifiers]
    if id_codes:
        usable = inc.where(_below_type_cap(log, id_codes, params)).select("e").distinct()
        presence_rows = ev.join(usable, "e", "left_semi").select("a", "e", "t")
    else:
        presence_rows = ev.select("a", "e", "t").limit(0)
    presence = presence_sync_params(params, caps)
    out["id_time"], sync["id_time"] = synchrony("id_time", presence_rows, log, presence, resolution)
    tick("id_time", "coaction (synchronised actions)")

    # coaction: first action of each account on each target.
    targets = ev.where(F.col("type").isin(_type_codes(log, roles.targets) or [-1]))
    if params.coaction_actions is not None:
        targets = targets.where(F.col("act").isin(_actions(log, params.coaction_actions) or [-1]))
    first = targets.groupBy("type", "e", "a").agg(F.min("t").alias("t"))
    weighted = False
    if resolution <= 60 and first.select("type").distinct().limit(2).count() > 1:
        first = first.withColumn("_k", F.count("*").over(Window.partitionBy("a", "t")))
        weighted = first.where(F.col("_k") > 1).limit(1).count() > 0
        if weighted:
            first = first.withColumn("w", 1.0 / F.sqrt(F.col("_k").cast("double")))
        first = first.drop("_k")
    sync_p = coaction_sync_params(params)
    first = first.select("a", "e", "t", *(["w"] if weighted else []))
    out["coaction"], sync["coaction"] = synchrony("coaction", first, log, sync_p, resolution, weighted)
    tick("coaction", "interactions")
    out["interaction"] = interaction_relation(ev, log, roles, params)
    tick("interaction")
    inc.unpersist()
    ev.unpersist()
    return SparkRelations(RelationSet(out, tuple(names), sync, resolution), roles)


__all__ = ["SparkRelations", "build_relations_spark"]
