"""From a validated event log to the :class:`~graphs.graph.AccountGraph`.

Example:
    >>> from graphs.events import load_events, load_accounts
    >>> from graphs.build import build_graph
    >>> graph = build_graph(load_events("events.csv.gz"), load_accounts("accounts.csv"))
    >>> graph.n_edges()
    {'device': 1520, 'ip': 8873, 'id_time': 2210, 'coaction': 940, 'interaction': 12001}
"""

from __future__ import annotations

import time

import pandas as pd

from .attributes import with_attribute_entities
from .events import EventLog
from .features import account_features
from .graph import AccountGraph
from .incidence import build_incidence, prime_entity_counts
from .params import GraphParams
from .relations import build_relations, canonical_relations, with_campaigns
from .roles import infer_roles


def build_graph(
    log: EventLog,
    accounts: pd.DataFrame | None = None,
    params: GraphParams | None = None,
    *,
    timings: dict[str, float] | None = None,
    progress=None,
) -> AccountGraph:
    """Builds the account graph: roles, incidence, relations, features.

    Args:
        log: the validated event log (:func:`graphs.events.load_events` or ``EventLog.from_frame``).
        accounts: optional accounts table indexed by ``account_id`` with ``created_at`` (as
            :func:`graphs.events.load_accounts` returns) and any attributes.
        params: roles, windows, caps and weights; :class:`~graphs.params.GraphParams` defaults when None.
        timings: optional dict that receives seconds per stage (also stored in ``graph.meta``).
        progress: optional callable given a short message as each Spark step starts (the Spark
            engine's steps take minutes on large logs).

    Returns:
        The :class:`~graphs.graph.AccountGraph` with one node per acting account of the log. Its
        ``log`` holds the input rows plus one identifier row per categorical attribute value
        (:func:`graphs.attributes.with_attribute_entities`).
    """
    params = params or GraphParams()
    stages: dict[str, float] = {}
    t0 = time.perf_counter()
    log, attr_types = with_attribute_entities(log, accounts, params.attributes)
    spark = None
    if params.engine == "spark":
        from .spark import spark_relation_set

        # Spark counts the roles' statistics and every relation; the rest of the pipeline is local.
        spark = spark_relation_set(log, params, attr_types, timings=stages, progress=progress)
        roles = spark.roles
        stages["spark relations"] = time.perf_counter() - t0
    else:
        declared = tuple(params.identifier_types or ()) + attr_types
        roles = infer_roles(log, identifiers=declared, targets=params.target_types)
        stages["roles"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    incidence = build_incidence(log)
    if "entity_users" not in log.__dict__:
        prime_entity_counts(log, incidence)
    stages["incidence"] = time.perf_counter() - t0
    if spark is not None:
        t0 = time.perf_counter()
        rset = with_campaigns(spark.relations, log, incidence, roles, params)
        stages["campaigns"] = time.perf_counter() - t0
    else:
        rset = build_relations(log, incidence, params, roles, timings=stages)

    t0 = time.perf_counter()
    # Pooled once: the features read the canonical kinds' degrees, and the graph keeps them.
    canonical = canonical_relations(rset.relations, rset.identifier_names, log.n_accounts, params)
    features, names = account_features(
        log, incidence, rset, roles, params, accounts, params.attributes, canonical=canonical
    )
    stages["features"] = time.perf_counter() - t0

    hubs = {t: int((incidence[t].degree > params.cap(t)).sum()) for t in roles.identifiers if t in incidence}
    sync = {
        name: {
            "windows": list(s.windows),
            "threshold": round(s.threshold, 3) if s.threshold != float("inf") else None,
            "tested_pairs": s.tested_pairs,
            "kept_pairs": s.kept,
            "rows": s.rows,
        }
        for name, s in rset.sync.items()
    }
    if rset.campaigns is not None and "coaction" in sync:
        sync["coaction"]["campaigns"] = rset.campaigns.to_dict()
    if timings is not None:
        timings.update(stages)
    return AccountGraph(
        account_ids=log.account_ids,
        relations=rset.relations,
        features=features,
        feature_names=names,
        incidence=incidence,
        log=log,
        params=params,
        roles=roles,
        identifier_relations=rset.identifier_names,
        meta={
            "_canonical": canonical,
            "hubs": hubs,
            "timings": stages,
            "roles": roles.describe(),
            "role_reasons": dict(roles.reasons),
            "time_resolution_s": rset.resolution,
            "synchrony": sync,
        },
        sync_stats=rset.sync,
    )
