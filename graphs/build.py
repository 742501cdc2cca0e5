"""From a validated event log to the :class:`~graphs.graph.AccountGraph`.

Example:
    >>> from graphs.events import load_events, load_accounts
    >>> from graphs.build import build_graph
    >>> graph = build_graph(load_events("events.csv.gz"), load_accounts("accounts.csv"))
    >>> graph.n_edges()
    {'device': 1520, 'ip': 8873, 'ip_time': 2210, 'coaction': 940, 'interaction': 12001}
"""

from __future__ import annotations

import time

import pandas as pd

from .events import EventLog
from .features import account_features
from .graph import AccountGraph
from .incidence import build_incidence, run_starts
from .params import GraphParams
from .relations import build_relations, coaction_cells, identifier_types


def build_graph(
    log: EventLog,
    accounts: pd.DataFrame | None = None,
    params: GraphParams | None = None,
    *,
    timings: dict[str, float] | None = None,
) -> AccountGraph:
    """Builds the account graph: incidence, relations, features.

    Args:
        log: the validated event log (:func:`graphs.events.load_events` or ``EventLog.from_frame``).
        accounts: optional accounts table indexed by ``account_id`` with ``created_at`` (as
            :func:`graphs.events.load_accounts` returns); only used for the account-age feature.
        params: windows, caps and weights; :class:`~graphs.params.GraphParams` defaults when None.
        timings: optional dict that receives seconds per stage (also stored in ``graph.meta``).

    Returns:
        The :class:`~graphs.graph.AccountGraph` with one node per acting account of the log.
    """
    params = params or GraphParams()
    stages: dict[str, float] = {}
    t0 = time.perf_counter()
    incidence = build_incidence(log)
    stages["incidence"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    cells = coaction_cells(log, incidence, params)
    stages["coaction cells"] = time.perf_counter() - t0
    relations = build_relations(log, incidence, params, cells=cells, timings=stages)

    t0 = time.perf_counter()
    features, names = account_features(log, incidence, relations, cells, params, accounts)
    stages["features"] = time.perf_counter() - t0

    hubs = {
        t: int((incidence[t].degree > params.cap(t)).sum()) if t in incidence else 0
        for t in identifier_types(log, params)
    }
    # Cell numbers are non-decreasing, so distinct viral cells are runs.
    hubs["coaction cells"] = int(
        run_starts(cells.col0[cells.deg0 > params.coaction_cap]).size
        + run_starts(cells.col1[cells.deg1 > params.coaction_cap]).size
    )
    if timings is not None:
        timings.update(stages)
    return AccountGraph(
        account_ids=log.account_ids,
        relations=relations,
        features=features,
        feature_names=names,
        incidence=incidence,
        log=log,
        params=params,
        meta={"hubs": hubs, "timings": stages},
    )
