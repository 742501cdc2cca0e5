"""The log's own null: the same accounts, activity and popularity, with coordination destroyed.

A verdict threshold chosen on our generated worlds means little on a platform we did not generate.
So each run also scores a *null copy* of its own log and calls a cluster a ``ring`` only where its
score beats what the null copy produces, at a stated false-discovery rate (:func:`fdr_threshold`);
each run reports how many of its rings are expected to be false.

The null copy keeps every row's account, time and action, and rewires *which entity* each
(account, entity) pair names among the pairs of the same entity type: the configuration model of
the account-entity graph. Kept: each account's volume, timestamps and actions (its rhythm and
bursts), each entity's number of accounts, each account's number of devices, IPs, targets, the
schema. Destroyed: *who* shares and co-acts with whom; a farm's emulator goes to random accounts, a
ring's likes of a customer's post to random accounts at random times.
Clusters the null copy still calls rings are what the scoring produces from activity and popularity
alone, on this very log.

Two nulls that keep more time structure were tried and rejected, because coordination survives them:
shifting each account's events in time (accounts whose random shifts differ by less than a window stay
synchronised at that window: large rings survive as pieces at the one-day scale), and shuffling
entities only within each hour (a campaign that is most of its hour's activity keeps its targets).
Rewiring rows instead of pairs was rejected too: a personal device with 30 logins would be shared
by 30 random accounts in the null. The price of the global rewiring: bursts of one target (a viral
post) are spread out in the null.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from .events import EventLog
from .incidence import sort_rows


def null_log(
    log: EventLog, accounts: pd.DataFrame | None = None, seed: int = 0
) -> tuple[EventLog, pd.DataFrame | None]:
    """The null copy: every (account, entity) pair gets a random entity of the same type.

    The distinct (account, entity) pairs of each entity type are rewired at random (a bipartite
    configuration model): every entity keeps its number of accounts, every account its number of
    entities of each type, and all rows of a pair (a login's repeats, a like and a comment on one
    post) move together, keeping their times and actions.

    Args:
        log: the event log.
        accounts: the optional accounts table (returned unchanged).
        seed: random seed of the rewiring.

    Returns:
        ``(null log, accounts)`` with the same accounts, times, actions and rows as ``log``.
    """
    if log.n_events == 0:
        return log, accounts
    rng = np.random.default_rng(seed)
    n = max(log.n_accounts, 1)
    pair, uniq = pd.factorize(log.entity.astype(np.int64) * n + log.account, sort=False)
    pair_entity = (uniq // n).astype(np.int64)
    pair_type = log.entity_type[pair_entity].astype(np.int64)
    idx = np.arange(pair_entity.size, dtype=np.int64)
    # Pairs in type order, once as they are and once in random order; the entities of the first go
    # to the pairs of the second: a uniformly random permutation within every type.
    _, in_order = sort_rows(pair_type, idx)
    rand = rng.permutation(idx.size)
    pair_of = np.empty_like(rand)
    pair_of[rand] = idx  # the pair that drew each random key
    _, keys = sort_rows(pair_type, rand)
    new_entity = np.empty_like(pair_entity)
    new_entity[pair_of[keys]] = pair_entity[in_order]
    null = replace(log, entity=new_entity[pair].astype(np.int32), source=f"{log.source} (null copy)")
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
