"""The log's own null: the same accounts, activity and popularity, with coordination destroyed.

A verdict threshold chosen on our generated worlds means little on a platform we did not generate.
So each run also scores a *null copy* of its own log and calls a cluster a ``ring`` only where its
score beats what the null copy produces, at a stated false-discovery rate (:func:`fdr_threshold`);
each run reports how many of its rings are expected to be false.

The null copy keeps every row's account, time and action, and shuffles *which entity* a row names
among all rows of the same entity type: the configuration model of the account-entity graph. Kept:
each account's volume, timestamps and actions (its rhythm and bursts), each entity's popularity
(its number of rows), the schema. Destroyed: *who* shares and co-acts with whom; a farm's emulator
rows land on random accounts, a ring's likes of a customer's post on random accounts at random times.
Clusters the null copy still calls rings are what the scoring produces from activity and popularity
alone, on this very log.

Two nulls that keep more time structure were tried and rejected, because coordination survives them:
shifting each account's events in time (accounts whose random shifts differ by less than a window stay
synchronised at that window: large rings survive as pieces at the one-day scale), and shuffling
entities only within each hour (a campaign that is most of its hour's activity keeps its targets).
The price of the global shuffle: bursts of one target (a viral post) are spread out in the null.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from .events import EventLog
from .incidence import sort_rows

def null_log(
    log: EventLog, accounts: pd.DataFrame | None = None, seed: int = 0, window: int | None = None
) -> tuple[EventLog, pd.DataFrame | None]:
    """The null copy: each row's entity drawn from the rows of its entity type.

    Args:
        log: the event log.
        accounts: the optional accounts table (returned unchanged).
        seed: random seed of the shuffle.
        window: seconds; when given, rows are only shuffled within (entity type,
            ``timestamp // window``) groups (keeps more time structure; see the module docstring).

    Returns:
        ``(null log, accounts)``: same accounts, times, actions and entities as ``log``, rows in the
        same order, each row's entity a random one of its group's.
    """
    if log.n_events == 0:
        return log, accounts
    rng = np.random.default_rng(seed)
    t0 = int(log.timestamp.min())
    group_t = (log.timestamp - t0) // window if window else np.zeros(log.n_events, dtype=np.int64)
    etype = log.event_entity_type.astype(np.int64)
    idx = np.arange(log.n_events, dtype=np.int64)
    # Rows in group order, once in file order and once in random order; the entities of the first
    # go to the rows of the second: a uniformly random permutation within every group.
    _, _, in_order = sort_rows(etype, group_t, idx)
    rand = rng.permutation(log.n_events)
    row_of = np.empty_like(rand)
    row_of[rand] = idx  # the row that drew each random key
    _, _, keys = sort_rows(etype, group_t, rand)
    shuffled = row_of[keys]
    entity = np.empty_like(log.entity)
    entity[shuffled] = log.entity[in_order]
    null = replace(log, entity=entity, source=f"{log.source} (null copy)")
    return null, accounts


def fdr_threshold(real: np.ndarray, null: np.ndarray, fdr: float, floor: float, n_null: int = 1) -> float:
    """The lowest score threshold at or above ``floor`` whose estimated false-discovery rate is <= ``fdr``.

    At a threshold ``tau`` the expected number of false rings is the number of null clusters scoring
    at least ``tau`` (per null copy); the estimated FDR is that over the real clusters at least as
    high. Returns the smallest candidate (``floor``, a real score, or just above a null score) that
    meets ``fdr``.

    Args:
        real: scores of the real log's ring-sized clusters.
        null: scores of the null copies' ring-sized clusters (all copies together).
        fdr: the target false-discovery rate.
        floor: the scorer's own ring threshold; the result is never below it.
        n_null: number of null copies behind ``null``.
    """
    real = np.sort(np.asarray(real, dtype=np.float64))
    null = np.sort(np.asarray(null, dtype=np.float64))
    candidates = np.unique(np.concatenate([[floor], real, np.nextafter(null, np.inf)]))
    candidates = candidates[candidates >= floor]
    for tau in candidates:
        n_real = real.size - np.searchsorted(real, tau, side="left")
        n_false = (null.size - np.searchsorted(null, tau, side="left")) / max(n_null, 1)
        if n_real == 0 or n_false <= fdr * n_real:
            return float(tau)
    return float(candidates[-1]) if candidates.size else float(floor)


def expected_false(null: np.ndarray, tau: float, n_null: int = 1) -> float:
    """Null clusters at or above ``tau`` per null copy: the run's expected number of false rings."""
    null = np.asarray(null, dtype=np.float64)
    return float((null >= tau).sum() / max(n_null, 1))
