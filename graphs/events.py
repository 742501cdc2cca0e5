"""The validated event log: one typed, columnar object every later stage reads without copying.

Example:
    >>> log = load_events("events.csv.gz")
    >>> log.n_events, log.n_accounts
    >>> log.summary()["entity_types"]
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .errors import InputError
from .tables import check_ids, check_unique, first_true, parse_binary, parse_timestamps, read_table

EVENT_COLUMNS = ("account_id", "timestamp", "action", "entity_type", "entity_id")


def index_in(values, universe) -> np.ndarray:
    """int64 position of each of ``values`` in ``universe`` (distinct), -1 where absent.

    Arrow's hash lookup: about 4x faster than ``pandas.Index.get_indexer`` on a million string ids
    (0.3 s against 1.1 s). Values that are not all strings fall back to pandas (same answers).
    """
    try:
        found = pc.index_in(_as_arrow(values), value_set=_as_arrow(universe))
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return pd.Index(universe).get_indexer(values).astype(np.int64)
    return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def aligned(log: EventLog, ids, values: np.ndarray, codes: np.ndarray | None = None) -> np.ndarray:
    """``values`` keyed by account ``ids`` (an accounts table's index), one per account of ``log``.

    Like ``pd.Series(values, index=ids).reindex(log.account_ids)``: NaN (or None for non-float
    values) for the log's accounts that ``ids`` lacks; ids that do not act in the log are dropped.
    ``codes`` (``log.account_codes(ids)``) saves the lookup when several columns share ``ids``.
    """
    values = np.asarray(values)
    codes = log.account_codes(ids) if codes is None else codes
    known = codes >= 0
    if values.dtype.kind == "f":
        out = np.full(log.n_accounts, np.nan, dtype=values.dtype)
    else:
        out = np.full(log.n_accounts, None, dtype=object)
    out[codes[known]] = values[known]
    return out


def _as_arrow(values) -> pa.Array:
    if isinstance(values, pa.ChunkedArray | pa.Array):
        return values
    return pa.array(np.asarray(values, dtype=object), type=pa.string())


@dataclass(frozen=True, eq=False)
class EventLog:
    """An event log as integer codes.

    One event links account ``account[i]`` to entity ``entity[i]`` at ``timestamp[i]`` by
    ``action[i]``. Accounts are the acting accounts, numbered by first appearance; entities are
    distinct ``(entity_type, entity_id)`` pairs, numbered by first appearance.

    Attributes:
        account: int32 [n_events], index into ``account_ids``.
        timestamp: int64 [n_events], Unix seconds.
        action: int16 [n_events], index into ``actions``.
        entity: int32 [n_events], index into the entity arrays.
        account_ids: object [n_accounts], the account id of each account code.
        actions: action names.
        entity_types: entity type names.
        entity_type: int16 [n_entities], index into ``entity_types``.
        entity_ids: object [n_entities], the entity id of each entity code.
        source: the file the log came from.
        attributes: extra columns of the log, per event: numbers as float64 (NaN where empty),
            anything else as object strings (see :mod:`graphs.attributes`).
    """

    account: np.ndarray
    timestamp: np.ndarray
    action: np.ndarray
    entity: np.ndarray
    account_ids: np.ndarray
    actions: tuple[str, ...]
    entity_types: tuple[str, ...]
    entity_type: np.ndarray
    entity_ids: np.ndarray
    source: str = "<memory>"
    attributes: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_events(self) -> int:
        return int(self.account.shape[0])

    @property
    def n_accounts(self) -> int:
        return int(self.account_ids.shape[0])

    @property
    def n_entities(self) -> int:
        return int(self.entity_ids.shape[0])

    @cached_property
    def account_index(self) -> pd.Index:
        """Account id -> account code lookup."""
        return pd.Index(self.account_ids)

    def account_codes(self, ids) -> np.ndarray:
        """int64 account codes of ``ids`` (-1 for ids that do not act in the log)."""
        return index_in(ids, self.account_ids)

    @cached_property
    def event_entity_type(self) -> np.ndarray:
        """int16 [n_events]: the entity type code of each event."""
        return self.entity_type[self.entity]

    @cached_property
    def first_seen(self) -> np.ndarray:
        """int64 [n_accounts]: each account's first event time."""
        out = np.full(self.n_accounts, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(out, self.account, self.timestamp)
        return out

    @cached_property
    def entity_users(self) -> np.ndarray:
        """int64 [n_entities]: how many distinct accounts used each entity."""
        key = self.entity.astype(np.int64) * max(self.n_accounts, 1) + self.account
        pairs = pd.unique(key)  # hash-based; np.unique is pathologically slow on numpy 2.4 here
        return np.bincount(pairs // max(self.n_accounts, 1), minlength=self.n_entities)

    @cached_property
    def entity_origin(self) -> np.ndarray:
        """int32 [n_entities]: the account that acted on each entity first (its poster, for content)."""
        from .incidence import sort_rows

        out = np.full(self.n_entities, -1, dtype=np.int32)
        if self.n_events:
            t0 = int(self.timestamp.min())
            e, _, a = sort_rows(self.entity, self.timestamp - t0, self.account)
            first = np.concatenate([[True], e[1:] != e[:-1]])
            out[e[first]] = a[first]
        return out

    def action_code(self, name: str) -> int:
        """Code of an action name, or -1 when the log has none of it."""
        return self.actions.index(name) if name in self.actions else -1

    def type_code(self, name: str) -> int:
        """Code of an entity type name, or -1 when the log has none of it."""
        return self.entity_types.index(name) if name in self.entity_types else -1

    @cached_property
    def entity_account(self) -> np.ndarray:
        """int32 [n_entities]: for entities of type ``account``, the acting-account code they name.

        -1 for other entity types and for target accounts that never act in the log.
        """
        out = np.full(self.n_entities, -1, dtype=np.int32)
        code = self.type_code("account")
        if code >= 0:
            is_acc = np.flatnonzero(self.entity_type == code)
            out[is_acc] = self.account_codes(self.entity_ids[is_acc]).astype(np.int32)
        return out

    def with_rows(self, rows: pd.DataFrame, action_name: str = "attribute") -> EventLog:
        """A log with extra rows ``account, timestamp, action, type, value`` (new or known types).

        ``account`` holds account codes of this log; ``action`` an action code, or -1 for
        ``action_name``. Entities are matched by (type, value) with the existing ones. Extra
        attribute columns are NaN / empty on the new rows.
        """
        if len(rows) == 0:
            return self
        types = list(self.entity_types)
        for t in pd.unique(rows["type"]):
            if t not in types:
                types.append(str(t))
        actions = list(self.actions)
        act = rows["action"].to_numpy(np.int64)
        if (act < 0).any():
            if action_name not in actions:
                actions.append(action_name)
            act = np.where(act < 0, actions.index(action_name), act)
        type_code = pd.Index(types).get_indexer(rows["type"]).astype(np.int64)
        new_key = pd.MultiIndex.from_arrays([type_code, rows["value"].to_numpy(dtype=object)])
        # Only entities of the rows' types can match (attribute types are usually new to the log).
        known = np.flatnonzero(np.isin(self.entity_type, np.unique(type_code)))
        found = np.full(len(rows), -1, dtype=np.int64)
        if known.size:
            old_key = pd.MultiIndex.from_arrays(
                [self.entity_type[known].astype(np.int64), self.entity_ids[known]]
            )
            hit = old_key.get_indexer(new_key)
            found = np.where(hit >= 0, known[np.maximum(hit, 0)], -1)
        missing = found < 0
        inverse, uniq = pd.factorize(new_key[missing])
        codes = found.copy()
        codes[missing] = self.n_entities + inverse
        ent_type = np.concatenate([self.entity_type, np.asarray(uniq.get_level_values(0), np.int16)])
        ent_ids = np.concatenate([self.entity_ids, np.asarray(uniq.get_level_values(1), dtype=object)])
        extra = {}
        for name, values in self.attributes.items():
            pad = np.full(len(rows), np.nan) if values.dtype.kind == "f" else np.full(len(rows), None)
            extra[name] = np.concatenate([values, pad])
        return replace(
            self,
            account=np.concatenate([self.account, rows["account"].to_numpy(np.int32)]),
            timestamp=np.concatenate([self.timestamp, rows["timestamp"].to_numpy(np.int64)]),
            action=np.concatenate([self.action, act.astype(np.int16)]),
            entity=np.concatenate([self.entity, codes.astype(np.int32)]),
            actions=tuple(actions),
            entity_types=tuple(types),
            entity_type=ent_type.astype(np.int16),
            entity_ids=ent_ids,
            attributes=extra,
        )

    def summary(self) -> dict:
        """Rows, accounts, entity types with counts, actions, and the time span."""
        ev_types = np.bincount(self.event_entity_type, minlength=len(self.entity_types))
        ent_types = np.bincount(self.entity_type, minlength=len(self.entity_types))
        acts = np.bincount(self.action, minlength=len(self.actions))
        t0, t1 = int(self.timestamp.min()), int(self.timestamp.max())
        return {
            "source": self.source,
            "rows": self.n_events,
            "accounts": self.n_accounts,
            "entities": self.n_entities,
            "entity_types": {
                name: {"events": int(ev_types[i]), "distinct": int(ent_types[i])}
                for i, name in enumerate(self.entity_types)
            },
            "actions": {name: int(acts[i]) for i, name in enumerate(self.actions)},
            "time_span": {
                "first": pd.Timestamp(t0, unit="s", tz="UTC").isoformat(),
                "last": pd.Timestamp(t1, unit="s", tz="UTC").isoformat(),
                "days": round((t1 - t0) / 86400, 2),
            },
        }

    def to_frame(self) -> pd.DataFrame:
        """The log as a DataFrame of the contract's columns (categoricals, no string copies)."""
        return pd.DataFrame(
            {
                "account_id": pd.Categorical.from_codes(self.account, self.account_ids),
                "timestamp": self.timestamp,
                "action": pd.Categorical.from_codes(self.action, list(self.actions)),
                "entity_type": pd.Categorical.from_codes(self.event_entity_type, list(self.entity_types)),
                "entity_id": self.entity_ids[self.entity],
            }
        )

    def to_arrow(self) -> pa.Table:
        """The log as an Arrow table: the contract's columns (ids dictionary-encoded, Unix seconds),
        then its extra columns; :meth:`from_arrow` reads it back."""

        def coded(codes: np.ndarray, values) -> pa.DictionaryArray:
            return pa.DictionaryArray.from_arrays(
                pa.array(codes.astype(np.int32, copy=False)), pa.array(list(values), pa.string())
            )

        cols = {
            "account_id": coded(self.account, self.account_ids),
            "timestamp": pa.array(self.timestamp, pa.int64()),
            "action": coded(self.action, self.actions),
            "entity_type": coded(self.event_entity_type, self.entity_types),
            "entity_id": pc.take(pa.array(self.entity_ids, pa.string()), pa.array(self.entity)),
        }
        for name, values in self.attributes.items():
            if name not in cols:
                kind = pa.float64() if values.dtype.kind == "f" else pa.string()
                cols[name] = pa.array(values, kind, from_pandas=True)
        return pa.table(cols)

    @classmethod
    def from_arrow(cls, table: pa.Table, source: str = "<memory>") -> EventLog:
        """Builds a validated log from an Arrow table with the contract's columns (and any extra ones)."""
        missing = [c for c in EVENT_COLUMNS if c not in table.column_names]
        if missing:
            raise InputError(source, f"the table lacks required column {missing[0]!r}")
        return _encode(source, table)

    @classmethod
    def from_frame(cls, df: pd.DataFrame, source: str = "<memory>") -> EventLog:
        """Builds a validated log from a DataFrame with the contract's columns."""
        missing = [c for c in EVENT_COLUMNS if c not in df.columns]
        if missing:
            raise InputError(source, f"the table lacks required column {missing[0]!r}")
        cols = {}
        for c in EVENT_COLUMNS:
            arr = pa.array(df[c], from_pandas=True)
            if pa.types.is_dictionary(arr.type):
                arr = arr.cast(pa.string())
            if c != "timestamp" and not pa.types.is_string(arr.type):
                arr = arr.cast(pa.string())
            cols[c] = arr
        extra = {c: df[c].to_numpy() for c in df.columns if c not in EVENT_COLUMNS}
        return _encode(source, pa.table(cols), extra)


def _encode_ids(name: str, table: pa.Table, column: str) -> tuple[np.ndarray, np.ndarray]:
    """Codes (first-appearance order) and values of an id column, checked (one error naming the
    first empty id's row). A dictionary-encoded column (Parquet written from categoricals, the
    state of ``ringscope update``) is checked and recoded through its dictionary, without
    materialising a string per row."""
    col = table.column(column)
    if not pa.types.is_dictionary(col.type) or col.num_chunks == 0:
        return _dict_encode(check_ids(name, table, column))
    first = col.chunk(0).dictionary
    # Chunks of one Parquet file usually share one dictionary: checking that is a memory compare
    # (18 ms for 558k ids), unifying them hashes every value of every chunk again (1.5 s).
    if not all(c.dictionary is first or c.dictionary.equals(first) for c in col.chunks[1:]):
        col = pa.table({column: col}).unify_dictionaries().column(0)
    values = col.chunk(0).dictionary
    if not pa.types.is_string(values.type) and not pa.types.is_large_string(values.type):
        values = values.cast(pa.string())
    indices = np.concatenate(
        [
            c.indices.to_numpy(zero_copy_only=False) if c.null_count == 0 else _with_nulls(c)
            for c in col.chunks
        ]
    )
    empty = np.asarray(pc.fill_null(pc.equal(pc.utf8_length(values), 0), True).to_numpy(zero_copy_only=False))
    bad = indices < 0
    if empty.any():
        bad |= empty[np.maximum(indices, 0)] & (indices >= 0)
    row = first_true(bad)
    if row >= 0:
        raise InputError(name, "empty id; every row needs a non-empty value", row=row + 1, column=column)
    codes, used = _first_appearance(indices, len(values))
    return codes.astype(np.int32), values.to_numpy(zero_copy_only=False)[used]


def _first_appearance(indices: np.ndarray, n_values: int) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize(indices)``: codes numbered by first appearance, and the values they stand for.
    For a small dictionary (actions, entity types) one scan per value finds each first appearance,
    25x faster than hashing 12M indices."""
    if n_values > 64:
        return pd.factorize(indices, sort=False)
    present = np.flatnonzero(np.bincount(indices, minlength=n_values))
    first = np.array([int(np.argmax(indices == v)) for v in present], dtype=np.int64)
    used = present[np.argsort(first, kind="stable")]
    recode = np.full(n_values, -1, dtype=np.int64)
    recode[used] = np.arange(used.size)
    return recode[indices], used


def _with_nulls(chunk: pa.DictionaryArray) -> np.ndarray:
    """A dictionary chunk's indices with -1 where the value is null."""
    return np.asarray(pc.fill_null(chunk.indices, -1).to_numpy(zero_copy_only=False), dtype=np.int64)


def _dict_encode(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    enc = pc.dictionary_encode(arr)
    codes = enc.indices.to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
    return codes, enc.dictionary.to_numpy(zero_copy_only=False)


def _attribute(values) -> np.ndarray:
    """An extra column as float64 when it is numbers (empty cells NaN), else as object strings."""
    if isinstance(values, pa.ChunkedArray | pa.Array):
        values = values.to_pandas()
    s = pd.Series(values)
    if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
        return s.to_numpy(dtype=np.float64, na_value=np.nan)
    text = s.astype("string")
    blank = text.isna() | (text.str.strip().str.len() == 0)
    num = pd.to_numeric(text.where(~blank), errors="coerce")
    if num.notna().sum() >= 0.95 * max(int((~blank).sum()), 1) and (~blank).any():
        return num.to_numpy(dtype=np.float64, na_value=np.nan)
    return text.where(~blank).to_numpy(dtype=object, na_value=None)


def _entities(type_codes: np.ndarray, id_codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Entity codes (first appearance of each (type, id) pair), and each entity's type and id code.

    When every id occurs under one type only (the usual log), the id codes, already numbered by
    first appearance, are the entity codes: checking that is a scatter and a gather, where hashing
    the (type, id) keys of 12M rows takes half a second."""
    n_ids = int(id_codes.max()) + 1 if id_codes.size else 0
    type_of = np.zeros(n_ids, dtype=np.int64)
    type_of[id_codes] = type_codes
    if np.array_equal(type_of[id_codes], type_codes):
        return id_codes, type_of, np.arange(n_ids)
    key = type_codes.astype(np.int64) * max(n_ids, 1) + id_codes
    entity, uniq = pd.factorize(key, sort=False)
    return entity, uniq // max(n_ids, 1), uniq % max(n_ids, 1)


def _encode(name: str, table: pa.Table, extra: dict | None = None) -> EventLog:
    if extra is None:
        extra = {c: table.column(c) for c in table.column_names if c not in EVENT_COLUMNS}
    attributes = {c: _attribute(v) for c, v in extra.items()}
    table = table.select(list(EVENT_COLUMNS))
    account, account_ids = _encode_ids(name, table, "account_id")
    action, actions = _encode_ids(name, table, "action")
    type_codes, types = _encode_ids(name, table, "entity_type")
    id_codes, ids = _encode_ids(name, table, "entity_id")
    timestamp = parse_timestamps(name, table.column("timestamp"), "timestamp")
    del table
    entity, entity_type, entity_id = _entities(type_codes, id_codes)
    del id_codes
    return EventLog(
        account=account,
        timestamp=timestamp,
        action=action.astype(np.int16),
        entity=entity.astype(np.int32),
        account_ids=account_ids.astype(object),
        actions=tuple(str(a) for a in actions),
        entity_types=tuple(str(t) for t in types),
        entity_type=entity_type.astype(np.int16),
        entity_ids=ids[entity_id].astype(object),
        source=name,
        attributes=attributes,
    )


def load_events(path: str | os.PathLike[str]) -> EventLog:
    """Reads and validates an event log (CSV, gzip CSV or Parquet).

    Raises:
        InputError: naming the file, row and column of the first problem.
    """
    name = str(path)
    table = read_table(path, [*EVENT_COLUMNS, "*"])
    return _encode(name, table)


def load_accounts(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Reads the optional accounts table: ``account_id``, ``created_at`` and any attributes.

    Returns:
        A DataFrame indexed by ``account_id`` with ``created_at`` as int64 Unix seconds and the other
        columns as numbers where they parse as numbers, else as categoricals.
    """
    return accounts_from_table(str(path), read_table(path, ["account_id", "created_at"] + ["*"]))


def accounts_from_table(name: str, table: pa.Table) -> pd.DataFrame:
    """:func:`load_accounts` of an Arrow table already read (``name`` names it in errors)."""
    missing = [c for c in ("account_id", "created_at") if c not in table.column_names]
    if missing:
        raise InputError(name, f"the table lacks required column {missing[0]!r}")
    ids = check_ids(name, table, "account_id")
    check_unique(name, ids, "account_id")
    created = parse_timestamps(name, table.column("created_at"), "created_at")
    out = pd.DataFrame(
        {"created_at": created}, index=pd.Index(ids.to_numpy(zero_copy_only=False), name="account_id")
    )
    for col in table.column_names:
        if col in ("account_id", "created_at"):
            continue
        values = table.column(col).to_pandas()
        numeric = pd.to_numeric(values, errors="coerce")
        if numeric.notna().sum() >= values.replace("", np.nan).notna().sum():
            out[col] = numeric.to_numpy()
        else:
            out[col] = pd.Categorical(values.to_numpy())
    return out


def load_labels(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Reads the optional labels table: ``account_id``, ``is_bot`` (0/1), optional ``ring_id``.

    Returns:
        A DataFrame indexed by ``account_id`` with int8 ``is_bot`` and string ``ring_id`` ("" when
        none), plus any other columns as strings.
    """
    name = str(path)
    table = read_table(path, ["account_id", "is_bot", "*"])
    ids = check_ids(name, table, "account_id")
    check_unique(name, ids, "account_id")
    out = pd.DataFrame(
        {"is_bot": parse_binary(name, table.column("is_bot"), "is_bot")},
        index=pd.Index(ids.to_numpy(zero_copy_only=False), name="account_id"),
    )
    for col in table.column_names:
        if col in ("account_id", "is_bot"):
            continue
        out[col] = table.column(col).cast(pa.string()).to_pandas().fillna("").to_numpy()
    if "ring_id" not in out:
        out["ring_id"] = ""
    return out
