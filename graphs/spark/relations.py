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

Differences from the local engine, by design: the time resolution and the attribute columns' kinds
are measured on every row (the local engine reads an evenly spaced sample of 200k / 100k rows of
logs larger than that), so on a borderline log they may come out differently.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..attributes import KIND_SAMPLE, PREFIX, AttributeParams, column_kind
from ..events import EVENT_COLUMNS, EventLog
from ..params import GraphParams
from ..projection import Relation, squash
from ..relations import RelationSet, directed_interactions, relation_name
from ..roles import REUSE_MIN_ROWS, Roles, decide_roles, is_session_action
from ..synchrony import SyncParams, SyncStats, effective_windows, finish_relation

ROW = "_row"


@dataclass
class SparkRelations:
    """What the Spark engine found, as local objects (account codes of ``log``).

    Attributes:
        relations: the :class:`~graphs.relations.RelationSet`, as
            :func:`graphs.relations.build_relations` returns it.
        roles: the roles decided from Spark's statistics.
        attribute_types: the ``attr:<column>`` identifier types made from categorical columns.
    """

    relations: RelationSet
    roles: Roles
    attribute_types: tuple[str, ...]


def log_frame(spark, log: EventLog, path: str):
    """Writes ``log`` (contract columns, extra columns, a row number) to Parquet at ``path`` and reads it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = log.to_arrow()
    cols = {}
    for name in table.column_names:
        col = table.column(name)
        cols[name] = col.cast(pa.string()) if pa.types.is_dictionary(col.type) else col
    cols[ROW] = pa.array(np.arange(log.n_events, dtype=np.int64))
    pq.write_table(pa.table(cols), path)
    return spark.read.parquet(path)


def with_attribute_rows(ev, accounts: pd.DataFrame | None, p: AttributeParams):
    """``ev`` with one identifier row ``attr:<column>`` per categorical value (as
    :func:`graphs.attributes.with_attribute_entities`), and the types added, in order."""
    from pyspark.sql import functions as F

    parts, types = [], []
    extra = [c for c in ev.columns if c not in EVENT_COLUMNS and c != ROW]
    if p.use:
        n_rows = ev.count()
        step = max(1, -(-n_rows // KIND_SAMPLE))  # the local engine's evenly spaced sample
        sample = ev.where(F.col(ROW) % step == 0).orderBy(ROW).select(*extra).toPandas() if extra else None
        for name in extra:
            values = sample[name]
            if column_kind(values, name, p) != "categorical":
                continue
            value = F.col(name).cast("string")
            rows = ev.where(value.isNotNull() & (F.length(value) > 0)).select(
                "account_id",
                "timestamp",
                "action",
                F.lit(PREFIX + name).alias("entity_type"),
                value.alias("entity_id"),
            )
            parts.append(rows)
            types.append(PREFIX + name)
        if accounts is not None and len(accounts):
            acc = accounts.set_index("account_id") if "account_id" in accounts.columns else accounts
            frames = []
            for name in acc.columns:
                if name == "created_at" or column_kind(acc[name], name, p) != "categorical":
                    continue
                s = acc[name].astype("string")
                ok = (s.notna() & (s.str.len() > 0)).to_numpy(bool)
                frames.append(
                    pd.DataFrame(
                        {
                            "account_id": np.asarray(acc.index, dtype=object)[ok].astype(str),
                            "entity_type": PREFIX + name,
                            "entity_id": s.to_numpy(dtype=object)[ok],
                        }
                    )
                )
                types.append(PREFIX + name)
            frames = [f for f in frames if len(f)]
            if frames:
                table = ev.sparkSession.createDataFrame(pd.concat(frames, ignore_index=True))
                first = ev.groupBy("account_id").agg(F.min("timestamp").alias("timestamp"))
                parts.append(
                    table.join(first, "account_id").select(
                        "account_id",
                        "timestamp",
                        F.lit("attribute").alias("action"),
                        "entity_type",
                        "entity_id",
                    )
                )
    base = ev.select("account_id", "timestamp", "action", "entity_type", "entity_id")
    for part in parts:
        base = base.unionByName(part)
    return base, tuple(types)


def role_statistics(ev, types: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per type (in ``types`` order): account share, session share, median reuse, reuse accounts."""
    from pyspark.sql import functions as F

    actors = ev.select(F.col("account_id").alias("entity_id")).distinct()
    ents = ev.select("entity_type", "entity_id").distinct()
    share = (
        ents.join(actors.withColumn("hit", F.lit(1)), "entity_id", "left")
        .groupBy("entity_type")
        .agg(F.avg(F.coalesce("hit", F.lit(0))).alias("v"))
        .toPandas()
    )
    actions = [r[0] for r in ev.select("action").distinct().collect()]
    session = [a for a in actions if is_session_action(a)]
    sess = (
        ev.groupBy("entity_type")
        .agg(F.avg(F.col("action").isin(session).cast("double")).alias("v"))
        .toPandas()
    )
    per = ev.groupBy("entity_type", "account_id").agg(
        F.count("*").alias("rows"), F.countDistinct("entity_id").alias("distinct")
    )
    reuse = (
        per.where(F.col("rows") >= REUSE_MIN_ROWS)
        .groupBy("entity_type")
        .agg(
            F.count("*").alias("n"),
            F.expr("percentile(rows / distinct, 0.5)").alias("v"),
        )
        .toPandas()
    )

    def pick(frame: pd.DataFrame, col: str, fill=0.0) -> np.ndarray:
        values = dict(zip(frame["entity_type"], frame[col], strict=True))
        return np.array([values.get(t, fill) for t in types], dtype=np.float64)

    return pick(share, "v"), pick(sess, "v"), pick(reuse, "v"), pick(reuse, "n").astype(np.int64)


def _incidence(ev):
    """One row per (type, entity, account): first time, event count, and the entity's accounts ``d``."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    inc = ev.groupBy("entity_type", "entity_id", "account_id").agg(
        F.min("timestamp").alias("first"), F.count("*").alias("events")
    )
    return inc.withColumn("d", F.count("*").over(Window.partitionBy("entity_type", "entity_id")))


def _codes(log: EventLog, ids: pd.Series) -> np.ndarray:
    return log.account_codes(ids.to_numpy(dtype=object)).astype(np.int64)


def _pairs_to_codes(log: EventLog, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(src, dst, order)``: the frame's (a, b) ids as codes with ``src < dst``, sorted by (src, dst)."""
    a, b = _codes(log, frame["a"]), _codes(log, frame["b"])
    src, dst = np.minimum(a, b), np.maximum(a, b)
    order = np.lexsort((dst, src))
    return src[order], dst[order], order


def identifier_relations(inc, log: EventLog, roles: Roles, params: GraphParams) -> dict[str, Relation]:
    """One relation per identifier type: shared entities below the type's cap, ``1 / log2(d)`` each."""
    from pyspark.sql import functions as F

    out = {}
    types = list(roles.identifiers)
    if not types:
        return out
    caps = F.create_map(*[x for t in types for x in (F.lit(t), F.lit(params.cap(t)))])
    rows = inc.where(
        F.col("entity_type").isin(types) & (F.col("d") >= 2) & (F.col("d") <= caps[F.col("entity_type")])
    )
    rows = rows.select("entity_type", "entity_id", "account_id", (1.0 / F.log2(F.col("d"))).alias("w"))
    left, right = rows.alias("l"), rows.alias("r")
    found = (
        left.join(right, ["entity_type", "entity_id"])
        .where(F.col("l.account_id") < F.col("r.account_id"))
        .groupBy("entity_type", F.col("l.account_id").alias("a"), F.col("r.account_id").alias("b"))
        .agg(F.sum("l.w").alias("score"), F.count("*").alias("shared"))
        .toPandas()
    )
    for t in types:
        part = found[found["entity_type"] == t]
        name = relation_name(t)
        if not len(part):
            out[name] = Relation.empty(name, ("shared", "score"))
            continue
        src, dst, order = _pairs_to_codes(log, part)
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


def interaction_relation(ev, log: EventLog, roles: Roles, params: GraphParams) -> Relation:
    """Directed event counts between acting accounts, finished by the local engine's formula."""
    from pyspark.sql import functions as F

    types = list(roles.interaction)
    if not types:
        return Relation.empty("interaction", ("events", "reciprocal"))
    rows = ev.where(F.col("entity_type").isin(types))
    if params.interaction_actions is not None:
        rows = rows.where(F.col("action").isin(list(params.interaction_actions)))
    actors = ev.select(F.col("account_id").alias("entity_id")).distinct()
    found = (
        rows.join(actors, "entity_id", "left_semi")
        .groupBy(F.col("account_id").alias("a"), F.col("entity_id").alias("b"))
        .agg(F.count("*").alias("events"))
        .toPandas()
    )
    if not len(found):
        return Relation.empty("interaction", ("events", "reciprocal"))
    return directed_interactions(
        _codes(log, found["a"]), _codes(log, found["b"]), found["events"].to_numpy(), params.interaction_scale
    )


def _below_cap(rows, cap: int):
    """Rows whose entity has at most ``cap`` distinct accounts in all."""
    from pyspark.sql import functions as F

    keys = ["entity_type", "entity_id"]
    users = rows.groupBy(*keys).agg(F.countDistinct("account_id").alias("_users"))
    return rows.join(users.where(F.col("_users") <= cap).select(*keys), keys, "left_semi")


def synchrony(
    name: str, rows, log: EventLog, p: SyncParams, resolution: int, weighted: bool = False
) -> tuple[Relation, SyncStats]:
    """:func:`graphs.synchrony.synchrony_relation` with the pair counting done by Spark.

    ``rows``: ``account_id, entity_type, entity_id, t`` and, in exact mode, ``w`` (row weight;
    ``weighted``: some row weighs less than 1, so counts are sums of weights, not rounded).
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
    per_acc = rows.groupBy("account_id").agg(F.count("*").alias("rows")).toPandas()
    active = np.zeros(n, np.int64)
    active[_codes(log, per_acc["account_id"])] = per_acc["rows"].to_numpy(np.int64)
    n_rows = int(active.sum())
    t_min = int(rows.agg(F.min("t")).first()[0] or 0)
    keys, counts, mus, wins = [], [], [], []
    cooccurring = np.zeros(n, np.int64)
    coactors = np.zeros(n)
    n_variants = 0
    for w in windows:
        base = t_min // w
        g0 = F.floor(F.col("t") / F.lit(w)).cast("long") - F.lit(base)
        g1 = F.floor((F.col("t") + F.lit(w // 2)) / F.lit(w)).cast("long") - F.lit(base)
        cells = rows.withColumn("g0", g0).withColumn("g1", g1)
        variants = _exact(cells, p) if p.exact else _grids(cells, p)
        for pair_frame, acc_frame in variants:
            x = np.zeros(n)
            shared = np.zeros(n, np.int64)
            codes = _codes(log, acc_frame["account_id"])
            x[codes] = acc_frame["x"].to_numpy(np.float64)
            shared[codes] = acc_frame["shared"].to_numpy(np.int64)
            if w == windows[-1]:
                coactors = np.maximum(coactors, x)
            cooccurring = np.maximum(cooccurring, shared)
            n_variants += 1
            src, dst, order = _pairs_to_codes(log, pair_frame)
            val = pair_frame["val"].to_numpy(np.float64)[order]
            count = val if weighted else np.rint(val)
            keys.append(src * n + dst)
            counts.append(count)
            mus.append(x[src] * x[dst] / max(float(x.sum()), 1.0))
            wins.append(np.full(src.size, w, dtype=np.int64))
    rows.unpersist()
    stats = SyncStats(windows, 0.0, 0.0, 0, n_rows, active, cooccurring, coactors)
    return finish_relation(name, n, keys, counts, mus, wins, n_variants, stats, p.fdr)


def _exact(cells, p: SyncParams):
    """The exact two-grid rule of :func:`graphs.synchrony._exact_pairs`: one variant per window."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    c0 = Window.partitionBy("entity_type", "entity_id", "g0")
    c1 = Window.partitionBy("entity_type", "entity_id", "g1")
    left = F.col("g1") - F.col("g0") == 1
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
    acc = (
        cells.groupBy("account_id")
        .agg(F.sum("co").alias("x"), F.sum((F.col("co") > 0).cast("long")).alias("shared"))
        .toPandas()
    )
    keys = ["entity_type", "entity_id"]
    z0 = cells.where("ok0").select(*keys, "g0", "account_id", "w")
    same = (
        z0.alias("l")
        .join(z0.alias("r"), [*keys, "g0"])
        .where(F.col("l.account_id") < F.col("r.account_id"))
        .select(
            F.col("l.account_id").alias("a"),
            F.col("r.account_id").alias("b"),
            (F.col("l.w") * F.col("r.w")).alias("v"),
        )
    )
    z1 = cells.where("ok1").select(*keys, "g1", "account_id", "w", "left")
    split = (
        z1.where("left")
        .alias("l")
        .join(z1.where(~F.col("left")).alias("r"), [*keys, "g1"])
        .select(
            F.least("l.account_id", "r.account_id").alias("a"),
            F.greatest("l.account_id", "r.account_id").alias("b"),
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
    cells.unpersist()
    return [(pairs, acc)]


def _grids(cells, p: SyncParams):
    """Repeated rows (identifier use): per grid, distinct (entity, bucket, account) cells; two variants."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    keys = ["entity_type", "entity_id"]
    out = []
    for g in ("g0", "g1"):
        occ = cells.select(*keys, F.col(g).alias("g"), "account_id").distinct()
        occ = occ.withColumn("size", F.count("*").over(Window.partitionBy(*keys, "g")))
        occ = occ.where((F.col("size") >= 2) & (F.col("size") <= p.cell_cap)).cache()
        acc = (
            occ.groupBy("account_id")
            .agg(F.sum(F.col("size") - 1).cast("double").alias("x"), F.count("*").alias("shared"))
            .toPandas()
        )
        pairs = (
            occ.alias("l")
            .join(occ.alias("r"), [*keys, "g"])
            .where(F.col("l.account_id") < F.col("r.account_id"))
            .groupBy(F.col("l.account_id").alias("a"), F.col("r.account_id").alias("b"))
            .agg(F.count("*").cast("double").alias("val"))
            .where(F.col("val") >= p.min_count)
            .toPandas()
        )
        occ.unpersist()
        out.append((pairs, acc))
    return out


def time_resolution(ev) -> int:
    """:func:`graphs.synchrony.time_resolution` over every row."""
    from pyspark.sql import functions as F

    n = ev.count()
    if n == 0:
        return 1
    shares = ev.agg(
        *[
            F.avg((F.col("timestamp") % step == 0).cast("double")).alias(str(step))
            for step in (86400, 3600, 60)
        ]
    ).first()
    for step in (86400, 3600, 60):
        if shares[str(step)] >= 0.99:
            return step
    return 1


def build_relations_spark(
    spark, log: EventLog, accounts: pd.DataFrame | None, params: GraphParams, full_log: EventLog, workdir: str
) -> SparkRelations:
    """Every relation of ``log`` counted by Spark; codes of ``full_log`` (``log`` plus the attribute rows).

    Args:
        spark: the session (:func:`graphs.spark.session.spark_session`).
        log: the validated log, as loaded.
        accounts: the accounts table, for its categorical attributes.
        params: the graph's knobs (the same as the local engine's).
        full_log: ``log`` with the attribute rows the local pipeline adds (its account codes are
            the ones the relations are given in; they are ``log``'s).
        workdir: a folder for the Parquet copy Spark reads.
    """
    import os

    from pyspark.sql import Window
    from pyspark.sql import functions as F

    raw = log_frame(spark, log, os.path.join(workdir, "events.parquet"))
    ev, attr_types = with_attribute_rows(raw, accounts, params.attributes)
    ev = ev.cache()
    types_seen = raw.groupBy("entity_type").agg(F.min(ROW).alias("o")).orderBy("o").toPandas()["entity_type"]
    present = {r[0] for r in ev.select("entity_type").distinct().collect()}
    attr_types = tuple(t for t in attr_types if t in present)
    types = list(types_seen) + [t for t in attr_types if t not in set(types_seen)]
    declared = tuple(params.identifier_types or ()) + attr_types
    acc_share, session, reuse, reuse_n = role_statistics(ev, types)
    roles = decide_roles(types, acc_share, session, reuse, reuse_n, declared, params.target_types)
    resolution = time_resolution(ev)

    out: dict[str, Relation] = {}
    inc = _incidence(ev).cache()
    found = identifier_relations(inc, full_log, roles, params)
    names = []
    for t in roles.identifiers:
        rname = relation_name(t)
        names.append(rname)
        out[rname] = found.get(rname) or Relation.empty(rname, ("shared", "score"))

    sync: dict[str, SyncStats] = {}
    # id_time: every row on an identifier with 2..cap accounts.
    caps = [params.cap(t) for t in roles.identifiers]
    if roles.identifiers:
        cap_of = F.create_map(*[x for t in roles.identifiers for x in (F.lit(t), F.lit(params.cap(t)))])
        usable = (
            inc.where(
                F.col("entity_type").isin(list(roles.identifiers))
                & (F.col("d") >= 2)
                & (F.col("d") <= cap_of[F.col("entity_type")])
            )
            .select("entity_type", "entity_id")
            .distinct()
        )
        presence_rows = ev.join(usable, ["entity_type", "entity_id"], "left_semi").select(
            "account_id", "entity_type", "entity_id", F.col("timestamp").alias("t")
        )
    else:
        presence_rows = ev.select(
            "account_id", "entity_type", "entity_id", F.col("timestamp").alias("t")
        ).limit(0)
    presence = SyncParams(
        windows=params.presence_windows,
        cell_cap=max(caps, default=2),
        entity_cap=max(caps, default=2),
        min_count=params.presence_min_count,
        fdr=params.sync_fdr,
        exact=False,
    )
    out["id_time"], sync["id_time"] = synchrony("id_time", presence_rows, full_log, presence, resolution)

    # coaction: first action of each account on each target.
    targets = ev.where(F.col("entity_type").isin(list(roles.targets) or [""]))
    if params.coaction_actions is not None:
        targets = targets.where(F.col("action").isin(list(params.coaction_actions)))
    first = targets.groupBy("entity_type", "entity_id", "account_id").agg(F.min("timestamp").alias("t"))
    n_types = first.select("entity_type").distinct().count()
    weighted = False
    if n_types > 1 and resolution <= 60:
        first = first.withColumn("_k", F.count("*").over(Window.partitionBy("account_id", "t")))
        weighted = first.where(F.col("_k") > 1).limit(1).count() > 0
        if weighted:
            first = first.withColumn("w", 1.0 / F.sqrt(F.col("_k").cast("double")))
        first = first.drop("_k")
    sync_p = SyncParams(
        windows=params.sync_windows,
        cell_cap=params.sync_cell_cap,
        entity_cap=params.target_cap,
        min_count=params.sync_min_count,
        fdr=params.sync_fdr,
        exact=True,
    )
    out["coaction"], sync["coaction"] = synchrony("coaction", first, full_log, sync_p, resolution, weighted)
    out["interaction"] = interaction_relation(ev, full_log, roles, params)
    inc.unpersist()
    ev.unpersist()
    return SparkRelations(RelationSet(out, tuple(names), sync, resolution), roles, attr_types)


def edge_tables(rset: RelationSet, log: EventLog) -> dict[str, pd.DataFrame]:
    """Per relation, its edges as a table of account ids, weight and evidence (for Parquet output)."""
    out = {}
    for name, rel in rset.relations.items():
        out[name] = pd.DataFrame(
            {
                "src_id": log.account_ids[rel.src],
                "dst_id": log.account_ids[rel.dst],
                "weight": rel.weight,
                **{k: v for k, v in rel.evidence.items()},
            }
        )
    return out


__all__ = ["SparkRelations", "build_relations_spark", "edge_tables"]
