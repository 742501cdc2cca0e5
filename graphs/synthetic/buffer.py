"""Integer event buffer and entity registries used while the world is generated.

Events are collected as integer arrays (account index, timestamp, action code, entity type code,
entity index local to its type) and only turned into strings once, at the end, for the entities
that are actually used.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .config import ACTIONS, ENTITY_TYPES

ACTION = {name: np.int8(i) for i, name in enumerate(ACTIONS)}
ETYPE = {name: np.int8(i) for i, name in enumerate(ENTITY_TYPES)}


@dataclass
class EventArrays:
    """Events as parallel integer arrays (see module docstring)."""

    account: np.ndarray
    timestamp: np.ndarray
    action: np.ndarray
    etype: np.ndarray
    entity: np.ndarray

    def __len__(self) -> int:
        return int(self.account.size)

    def take(self, idx: np.ndarray) -> EventArrays:
        """The events at ``idx`` (an index array or boolean mask), in that order."""
        return EventArrays(
            self.account[idx], self.timestamp[idx], self.action[idx], self.etype[idx], self.entity[idx]
        )


class EventBuffer:
    """Collects chunks of events; scalars are broadcast to the chunk length."""

    def __init__(self) -> None:
        self._parts: list[EventArrays] = []

    def add(self, account, timestamp, action: str, etype: str, entity) -> None:
        """Appends one chunk of events of one action and entity type."""
        account = np.asarray(account)
        n = account.size
        if n == 0:
            return
        self._parts.append(
            EventArrays(
                account.astype(np.int32, copy=False),
                np.broadcast_to(np.asarray(timestamp, dtype=np.int64), (n,)).copy(),
                np.full(n, ACTION[action], dtype=np.int8),
                np.full(n, ETYPE[etype], dtype=np.int8),
                np.broadcast_to(np.asarray(entity, dtype=np.int32), (n,)).copy(),
            )
        )

    def add_pair(
        self, account, timestamp, action: str, first: tuple[str, object], second: tuple[str, object]
    ) -> None:
        """Appends rows that come in pairs with one timestamp (a login: device row then IP row).

        The two rows of a pair are adjacent in the buffer, so a stable sort by timestamp keeps them
        adjacent in the output.
        """
        account = np.asarray(account)
        n = account.size
        if n == 0:
            return
        ent = np.empty((n, 2), dtype=np.int32)
        ent[:, 0] = first[1]
        ent[:, 1] = second[1]
        etype = np.empty((n, 2), dtype=np.int8)
        etype[:, 0] = ETYPE[first[0]]
        etype[:, 1] = ETYPE[second[0]]
        ts = np.broadcast_to(np.asarray(timestamp, dtype=np.int64), (n,))
        self._parts.append(
            EventArrays(
                np.repeat(account.astype(np.int32, copy=False), 2),
                np.repeat(ts, 2),
                np.full(2 * n, ACTION[action], dtype=np.int8),
                etype.ravel(),
                ent.ravel(),
            )
        )

    def build(self) -> EventArrays:
        """All events so far, in insertion order; the buffer is emptied."""
        parts, self._parts = self._parts, []
        if not parts:
            empty = np.empty(0, dtype=np.int32)
            return EventArrays(
                empty, empty.astype(np.int64), empty.astype(np.int8), empty.astype(np.int8), empty
            )
        out = EventArrays(
            *(
                np.concatenate([getattr(p, f) for p in parts])
                for f in ("account", "timestamp", "action", "etype", "entity")
            )
        )
        return out


class Counter:
    """Allocates consecutive local indices for one entity type (devices, content, phones)."""

    def __init__(self) -> None:
        self.n = 0

    def alloc(self, k: int) -> np.ndarray:
        """Returns ``k`` fresh indices."""
        out = np.arange(self.n, self.n + k, dtype=np.int64)
        self.n += int(k)
        return out


@dataclass
class IpRegistry:
    """Allocates IP indices, remembering the kind (residential, mobile, ...) of each block."""

    n: int = 0
    blocks: list[tuple[str, int, int]] = field(default_factory=list)

    def alloc(self, k: int, kind: str) -> np.ndarray:
        """Returns ``k`` fresh IP indices of ``kind`` (a key of :data:`ids.IP_KINDS`)."""
        out = np.arange(self.n, self.n + k, dtype=np.int64)
        if k:
            self.blocks.append((kind, self.n, int(k)))
        self.n += int(k)
        return out

    def kinds(self) -> tuple[np.ndarray, list[str]]:
        """``(kind_code [n], kind_names)`` of every allocated IP."""
        names = sorted({b[0] for b in self.blocks})
        code = np.zeros(self.n, dtype=np.int8)
        for kind, start, k in self.blocks:
            code[start : start + k] = names.index(kind)
        return code, names


@dataclass
class Registries:
    """The entity registries of one world."""

    device: Counter = field(default_factory=Counter)
    ip: IpRegistry = field(default_factory=IpRegistry)
    phone: Counter = field(default_factory=Counter)
    content: Counter = field(default_factory=Counter)
    email_domains: list[str] = field(default_factory=list)

    def email_domain(self, names: list[str]) -> np.ndarray:
        """Indices of e-mail domains, registering new names."""
        out = np.empty(len(names), dtype=np.int64)
        for i, name in enumerate(names):
            if name not in self.email_domains:
                self.email_domains.append(name)
            out[i] = self.email_domains.index(name)
        return out
