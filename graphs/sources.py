"""Where a target comes from: the account that created it, inferred from the log.

Fans of one creator like most of her posts, each soon after it appears: her quiet fans fill the cells
of post after post together, which the campaign-group test's configuration null
(:mod:`graphs.campaigns`) reads as a campaign, while it is one shared interest. A ring serving
customers fills the cells of many unrelated sources' targets. So the campaign-group test never pairs
two cells of one source (``GraphParams.campaign_skip_same_source``). The pairwise test
(:mod:`graphs.synchrony`) is left as it is: counting a pair's co-actions on one source once there
was measured and cost rings (docs/detection.md, "Fans of one creator").

A target's *source* is read from the log's structure, never from names:

* an action is a **creation** action when almost every entity it occurs on has exactly one such row
  and it is the entity's first event (a ``post`` on a piece of content; not a ``review`` of a
  product, not a ``like``): :func:`creation_actions`, at least :data:`CREATION_SHARE` of its rows
  (and :data:`CREATION_MIN_ROWS` rows);
* the source of an entity created that way is its creator; an entity that names an acting account
  (a followed account) is its own source; every other target has none (``-1``) and counts as its
  own source (product reviews, URLs, hashtags: unchanged).
"""

from __future__ import annotations

import numpy as np

from .events import EventLog

#: Share of an action's rows that must be the single, first row of their entity.
CREATION_SHARE = 0.95
#: Fewer rows than this never make an action a creation action.
CREATION_MIN_ROWS = 20


def _rows_of(log: EventLog, target_codes: np.ndarray | None) -> np.ndarray:
    """bool [n_events]: the rows on entities of ``target_codes`` (None = every type)."""
    if target_codes is None:
        return np.ones(log.n_events, dtype=bool)
    return np.isin(log.entity_type, target_codes)[log.entity]


def creation_actions(log: EventLog, target_codes: np.ndarray | None = None) -> list[int]:
    """Codes of the log's creation actions (module docstring), among rows of ``target_codes``
    (entity type codes; None = every type): actions whose rows are, for at least
    :data:`CREATION_SHARE` of them, the only row of that action on their entity, by the entity's
    first actor (``EventLog.entity_origin``)."""
    if not log.n_events:
        return []
    return _creation_actions(log, _rows_of(log, target_codes))


def _creation_actions(log: EventLog, on: np.ndarray, ties: bool = False) -> list[int]:
    """:func:`creation_actions` among the rows ``on``."""
    origin = log.entity_origin
    # The entity's first instant: on a log of whole days a post and its first likes share one, and
    # any row at that instant counts as first (the origin's tie-break by account code would not).
    if ties:
        first_ts = np.full(log.n_entities, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(first_ts, log.entity, log.timestamp)
    out = []
    for code in range(len(log.actions)):
        rows = on & (log.action == code)
        n = int(rows.sum())
        if n < CREATION_MIN_ROWS:
            continue
        ent = log.entity[rows]
        once = np.bincount(ent, minlength=log.n_entities)[ent] == 1
        first = log.timestamp[rows] == first_ts[ent] if ties else origin[ent] == log.account[rows]
        if float((once & first).mean()) >= CREATION_SHARE:
            out.append(code)
    return out


def entity_sources(log: EventLog, target_codes: np.ndarray | None = None, ties: bool = False) -> np.ndarray:
    """int32 [n_entities]: each entity's source account (module docstring), -1 where it has none;
    creators are read from the same rows :func:`creation_actions` judged. With ``ties``, a row
    counts as its entity's first when it is at the entity's first instant (on a log of whole days a
    post shares its day with its first likes, and the first actor is then whoever sorts first); the
    campaign-group test keeps the strict reading (``ties`` on there, the day regime's tuning seed
    3000 doubled its benign FP through fan-club clusters; docs/detection.md)."""
    out = np.full(log.n_entities, -1, dtype=np.int32)
    on = _rows_of(log, target_codes)
    for code in _creation_actions(log, on, ties) if log.n_events else []:
        rows = on & (log.action == code)
        out[log.entity[rows]] = log.account[rows]
    named = log.entity_account >= 0
    out[named] = log.entity_account[named]
    return out
