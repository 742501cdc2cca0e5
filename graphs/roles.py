"""Which entity types are shared identifiers and which are targets, inferred from the log itself.

Every relation ringscope builds depends on the role of an entity type, never on its name:

* an **identifier** (device, IP, phone, payment card, cookie, ...) is something an account *uses*:
  accounts that share one are linked at any time (:func:`graphs.relations.identifier_relation`) and,
  when they use it at the same time, by co-presence (``id_time``);
* a **target** (content, product, URL, hashtag, followed account, ...) is something an account *acts
  on*: accounts that act on the same targets at the same time more often than chance are linked by
  ``coaction``;
* an entity type whose ids are acting accounts (a follow, a message) is a target and also gives the
  ``interaction`` relation.

The rule, in order (the first that applies decides; :attr:`Roles.reasons` says which one did):

1. roles declared by the user (``GraphParams.identifier_types`` / ``target_types``, ``detect
   --identifiers`` / ``--targets``) win;
2. a type whose entity ids are mostly (>= 50%) ids of acting accounts is a target (follows, messages);
3. a type most of whose rows (>= 50%) come with a *session* action (``login``, ``signup``, ``session``,
   ``register``, ... see :data:`SESSION_ACTIONS`; case and ``-``/``_``/space are ignored) is an identifier;
4. otherwise the type's *reuse* decides: an identifier is used again and again by the same account (a
   device at every login, a card at every purchase), a target is acted on once or a few times (a like,
   a review, a share). A type is an identifier when, among accounts with at least 3 rows of it, the
   median ratio of rows to distinct entities is at least :data:`REUSE_RATIO`; else a target. Types with
   too few such accounts are targets.

The rule only reads the log's structure and the action vocabulary; entity ids and type names are
never looked at (except the session-action list, which names common actions, not types).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from .events import EventLog
from .incidence import run_starts, sort_rows

#: Actions that log the context of a session (what the account used), not an action on a target.
SESSION_ACTIONS: frozenset[str] = frozenset(
    {
        "login",
        "logon",
        "signin",
        "signup",
        "register",
        "registration",
        "session",
        "sessionstart",
        "auth",
        "authenticate",
        "authentication",
        "connect",
        "connection",
        "verify",
        "verification",
        "install",
        "appopen",
        "open",
        "visit",
        "passwordreset",
        "profileupdate",
        "accountupdate",
    }
)

#: Median rows per distinct entity (per account) from which a type counts as reused, i.e. an identifier.
REUSE_RATIO = 1.5
#: Accounts with at least this many rows of a type take part in the reuse test.
REUSE_MIN_ROWS = 3
#: Fewer such accounts than this: the reuse test is not trusted and the type is a target.
REUSE_MIN_ACCOUNTS = 20


def normalise_action(name: str) -> str:
    """``"Session_Start"`` -> ``"sessionstart"``: lower case without separators."""
    return re.sub(r"[\s_\-.]+", "", name.lower())


def is_session_action(name: str) -> bool:
    """True for actions that log what an account used (login, signup, ...)."""
    key = normalise_action(name)
    return key in SESSION_ACTIONS or key.startswith(("login", "signup", "signin", "session", "register"))


@dataclass(frozen=True)
class Roles:
    """Entity types by role.

    Attributes:
        identifiers: types shared as identifiers (linked at any time, and by co-presence in time).
        targets: types acted on (linked by synchronised co-action).
        interaction: target types whose ids are acting accounts (follows, messages).
        reasons: type -> the rule that decided its role (for the run summary and the docs).
    """

    identifiers: tuple[str, ...]
    targets: tuple[str, ...]
    interaction: tuple[str, ...] = ()
    reasons: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    def role(self, entity_type: str) -> str:
        """``"identifier"``, ``"target"`` or ``"unknown"``."""
        if entity_type in self.identifiers:
            return "identifier"
        if entity_type in self.targets:
            return "target"
        return "unknown"

    def describe(self) -> str:
        """One line for a terminal: ``identifiers device, ip; targets content (account: interaction)``."""
        ids = ", ".join(self.identifiers) or "none"
        tg = ", ".join(f"{t} (interaction)" if t in self.interaction else t for t in self.targets) or "none"
        return f"identifiers {ids}; targets {tg}"


def _account_target_share(log: EventLog) -> np.ndarray:
    """float [n_types]: share of each type's distinct entities whose id is an acting account's id."""
    n_types = len(log.entity_types)
    found = log.account_codes(log.entity_ids) >= 0
    hits = np.bincount(log.entity_type, weights=found, minlength=n_types)
    total = np.bincount(log.entity_type, minlength=n_types)
    return hits / np.maximum(total, 1)


def _session_share(log: EventLog) -> np.ndarray:
    """float [n_types]: share of each type's rows that carry a session action."""
    n_types = len(log.entity_types)
    session = np.array([is_session_action(a) for a in log.actions], dtype=bool)
    ev_type = log.event_entity_type
    hits = np.bincount(ev_type, weights=session[log.action], minlength=n_types)
    total = np.bincount(ev_type, minlength=n_types)
    return hits / np.maximum(total, 1)


def _reuse(log: EventLog) -> tuple[np.ndarray, np.ndarray]:
    """Median rows-per-distinct-entity per type over accounts with >= REUSE_MIN_ROWS rows, and counts."""
    n_types = len(log.entity_types)
    ev_type = log.event_entity_type.astype(np.int64)
    # (type, account) rows and (type, account, entity) distinct pairs, by sorting packed keys.
    t, a, e = sort_rows(ev_type, log.account, log.entity)
    starts_ta = run_starts(t, a)
    rows = np.diff(np.concatenate([starts_ta, [t.size]]))
    starts_tae = run_starts(t, a, e)
    # Distinct entities per (type, account): count distinct-pair starts inside each (type, account) run.
    group = np.searchsorted(starts_ta, starts_tae, side="right") - 1
    distinct = np.bincount(group, minlength=starts_ta.size)
    ratio = rows / np.maximum(distinct, 1)
    types = t[starts_ta]
    med = np.zeros(n_types)
    count = np.zeros(n_types, dtype=np.int64)
    ok = rows >= REUSE_MIN_ROWS
    for code in range(n_types):
        sel = ok & (types == code)
        count[code] = int(sel.sum())
        if count[code]:
            med[code] = float(np.median(ratio[sel]))
    return med, count


def infer_roles(
    log: EventLog,
    identifiers: tuple[str, ...] | None = None,
    targets: tuple[str, ...] | None = None,
) -> Roles:
    """Roles of every entity type of the log (see the module docstring for the rule).

    Args:
        log: the event log.
        identifiers: types declared as identifiers (they win over inference).
        targets: types declared as targets.

    Returns:
        :class:`Roles` covering every entity type of the log. Declared types absent from the log are
        ignored.
    """
    acc_share = _account_target_share(log) if log.n_entities else np.zeros(0)
    session = _session_share(log) if log.n_events else np.zeros(len(log.entity_types))
    reuse, reuse_n = _reuse(log) if log.n_events else (np.zeros(0), np.zeros(0, dtype=np.int64))
    return decide_roles(log.entity_types, acc_share, session, reuse, reuse_n, identifiers, targets)


def decide_roles(
    types: tuple[str, ...] | list[str],
    account_share: np.ndarray,
    session_share: np.ndarray,
    reuse: np.ndarray,
    reuse_accounts: np.ndarray,
    identifiers: tuple[str, ...] | None = None,
    targets: tuple[str, ...] | None = None,
) -> Roles:
    """The rule of the module docstring on per-type statistics, in ``types`` order.

    Both engines measure the statistics (this module on an :class:`EventLog`, :mod:`graphs.spark`
    with Spark aggregations) and decide here, so they cannot drift.

    Args:
        types: the entity types, in the log's order.
        account_share: per type, share of its distinct entities whose id is an acting account's.
        session_share: per type, share of its rows that carry a session action.
        reuse: per type, median rows per distinct entity over accounts with >= ``REUSE_MIN_ROWS`` rows.
        reuse_accounts: per type, the number of such accounts.
        identifiers, targets: declared roles (they win).
    """
    declared_ids = set(identifiers or ())
    declared_tg = set(targets or ())
    both = declared_ids & declared_tg
    if both:
        raise ValueError(f"entity type {sorted(both)[0]!r} is declared both an identifier and a target")
    ids, tgs, inter, reasons = [], [], [], {}
    for code, name in enumerate(types):
        names_accounts = bool(account_share[code] >= 0.5)
        if name in declared_ids:
            ids.append(name)
            reasons[name] = "declared identifier"
            continue
        if name in declared_tg:
            tgs.append(name)
            reasons[name] = "declared target"
        elif names_accounts:
            tgs.append(name)
            reasons[name] = f"{100 * account_share[code]:.0f}% of its ids are acting accounts"
        elif session_share[code] >= 0.5:
            ids.append(name)
            reasons[name] = (
                f"{100 * session_share[code]:.0f}% of its rows are session actions (login, signup, ...)"
            )
        elif reuse_accounts[code] >= REUSE_MIN_ACCOUNTS and reuse[code] >= REUSE_RATIO:
            ids.append(name)
            reasons[name] = f"reused: median {reuse[code]:.2f} rows per distinct entity per account"
        else:
            tgs.append(name)
            reasons[name] = (
                f"acted on: median {reuse[code]:.2f} rows per distinct entity per account"
                if reuse_accounts[code] >= REUSE_MIN_ACCOUNTS
                else "too few repeat users to call it an identifier"
            )
        if name in tgs and names_accounts:
            inter.append(name)
    return Roles(tuple(ids), tuple(tgs), tuple(inter), reasons)
