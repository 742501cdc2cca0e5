"""Turning integer events into the contract's tables: filter, order, deduplicate, name entities.

Only entities that occur in the final events get a string id. Each vocabulary is ordered by the
spelling of its ids (not by allocation order, which would cluster a ring's devices), so even
dictionary codes in Parquet files carry nothing. Vocabularies stay Arrow strings: millions of
Python ``str`` objects would cost seconds and gigabytes.
"""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd
import pyarrow as pa

from .buffer import ACTION, ETYPE, EventArrays, Registries
from .config import ACTIONS, ENTITY_TYPES, WorldConfig
from .ids import hex_ids, ip_strings, phone_strings
from .population import Population
from .rand import child_rng


def id_key(seed: int, kind: str) -> int:
    """Seed of the id bijection of one id kind."""
    return (seed * 1_000_003 + zlib.crc32(kind.encode())) & ((1 << 63) - 1)


def time_order(ts: np.ndarray, start: int) -> np.ndarray:
    """Indices that sort ``ts`` stably (ties keep their order), for ``ts >= start``.

    Packs ``(ts - start, position)`` into one int64 and sorts values, which is several times faster
    than a stable ``argsort`` of 10M timestamps.
    """
    n = ts.size
    rel = ts - start
    pos_bits = max(int(n).bit_length(), 1)
    if n == 0 or int(rel.max()).bit_length() + pos_bits > 62:
        return np.argsort(ts, kind="stable")
    key = (rel << pos_bits) | np.arange(n, dtype=np.int64)
    key.sort()
    return key & ((1 << pos_bits) - 1)


def clean_events(cfg: WorldConfig, pop: Population, ev: EventArrays) -> EventArrays:
    """Keeps plausible events only, sorted by time, without repeated follows/likes.

    Drops events outside the window, before the acting account exists, or aimed at an account that
    does not exist yet or at oneself; sorts stably by timestamp (pairs written adjacently stay
    adjacent); keeps only the first follow of a target and the first like of an item.
    """
    ts = ev.timestamp
    keep = (ts >= cfg.start) & (ts < cfg.end) & (ts >= pop.created[ev.account])
    is_acc = ev.etype == ETYPE["account"]
    target = np.where(is_acc, ev.entity, 0)
    keep &= ~is_acc | ((ev.entity != ev.account) & (ts >= pop.created[target]))
    idx = np.flatnonzero(keep)
    ev = ev.take(idx[time_order(ts[idx], cfg.start)])

    rep = np.flatnonzero((ev.action == ACTION["follow"]) | (ev.action == ACTION["like"]))
    key = (ev.action[rep].astype(np.int64) << 58) | (ev.account[rep].astype(np.int64) << 29) | ev.entity[rep]
    _, first = np.unique(key, return_index=True)  # first occurrence in time order = earliest
    mask = np.ones(len(ev), dtype=bool)
    mask[rep] = False
    mask[rep[first]] = True
    return ev.take(mask)


def account_ids(cfg: WorldConfig, n: int) -> tuple[pa.StringArray, np.ndarray]:
    """``(ids_sorted, rank)``: account ids in string order, and each internal index's position in it."""
    ids, key = hex_ids("u", np.arange(n, dtype=np.int64), id_key(cfg.seed, "account"))
    order = np.argsort(key, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n, dtype=np.int64)
    return ids.take(pa.array(order)), rank


def entity_vocabulary(
    cfg: WorldConfig, ev: EventArrays, reg: Registries, acc_ids: pa.StringArray, acc_rank: np.ndarray
) -> tuple[np.ndarray, pa.StringArray]:
    """Names the entities used by ``ev``.

    Returns:
        ``(codes, vocab)``: int32 [n_events] index of each event's entity into ``vocab``, distinct
        strings (types in ``ENTITY_TYPES`` order, each in id string order).
    """
    rng = child_rng(cfg.seed, "ip_addresses")
    sizes = {
        "device": reg.device.n,
        "ip": reg.ip.n,
        "phone": reg.phone.n,
        "email_domain": len(reg.email_domains),
        "account": len(acc_ids),
        "content": reg.content.n,
    }
    order_by_type = np.argsort(ev.etype, kind="stable")
    bounds = np.searchsorted(ev.etype[order_by_type], np.arange(len(ENTITY_TYPES) + 1))
    codes = np.empty(len(ev), dtype=np.int32)
    vocab: list[pa.Array] = []
    offset = 0
    for t, name in enumerate(ENTITY_TYPES):
        rows = order_by_type[bounds[t] : bounds[t + 1]]
        local = ev.entity[rows].astype(np.int64)
        used = np.flatnonzero(np.bincount(local, minlength=sizes[name]) > 0)
        if name == "device":
            strings, key = hex_ids("d", used, id_key(cfg.seed, "device"))
        elif name == "content":
            strings, key = hex_ids("c", used, id_key(cfg.seed, "content"))
        elif name == "phone":
            strings, key = phone_strings(used, id_key(cfg.seed, "phone"))
        elif name == "account":
            strings, key = acc_ids.take(pa.array(acc_rank[used])), acc_rank[used]
        elif name == "email_domain":
            names = [reg.email_domains[i] for i in used]
            strings, key = pa.array(names, pa.string()), np.argsort(np.argsort(names, kind="stable"))
        else:
            strings, key = _ip_names(used, reg, rng)
        order = np.argsort(key, kind="stable")
        pos = np.empty(used.size, dtype=np.int64)
        pos[order] = np.arange(used.size)
        remap = np.full(sizes[name], -1, dtype=np.int64)
        remap[used] = pos + offset
        codes[rows] = remap[local]
        vocab.append(strings.take(pa.array(order)))
        offset += used.size
    return codes, pa.concat_arrays(vocab)


def _ip_names(used: np.ndarray, reg: Registries, rng: np.random.Generator) -> tuple[pa.Array, np.ndarray]:
    """Dotted quads for the used IPs, kind by kind (residential, mobile, datacenter, ...)."""
    kind_code, kind_names = reg.ip.kinds()
    k_used = kind_code[used]
    parts: list[pa.Array] = []
    keys: list[np.ndarray] = []
    rows: list[np.ndarray] = []
    for code, name in enumerate(kind_names):
        sel = np.flatnonzero(k_used == code)
        s, addr = ip_strings(name, sel.size, rng)
        parts.append(s)
        keys.append(addr)
        rows.append(sel)
    # Back to the order of ``used``.
    back = np.empty(used.size, dtype=np.int64)
    back[np.concatenate(rows)] = np.arange(used.size)
    return pa.concat_arrays(parts).take(pa.array(back)), np.concatenate(keys)[back]


def categorical(codes: np.ndarray, categories: pa.Array | list[str]) -> pd.Categorical:
    """A pandas Categorical over known-distinct categories.

    pandas re-checks that categories are distinct by hashing them (seconds for millions of
    strings); ours are distinct by construction (bijective ids, distinct addresses), so the
    fast path skips the check when this pandas version has it.
    """
    index = (
        pd.Index(pd.array(categories, dtype="str"))
        if isinstance(categories, pa.Array)
        else pd.Index(categories)
    )
    from_fastpath = getattr(pd.CategoricalDtype, "_from_fastpath", None)
    if from_fastpath is not None and isinstance(categories, pa.Array):
        try:
            dtype = from_fastpath(index, False)
            return pd.Categorical.from_codes(codes, dtype=dtype, validate=False)
        except TypeError:  # a pandas whose private fast path changed: take the checked path
            pass
    return pd.Categorical.from_codes(codes, categories=index)


def events_frame(
    ev: EventArrays, acc_ids: pa.StringArray, acc_rank: np.ndarray, codes: np.ndarray, vocab: pa.Array
) -> pd.DataFrame:
    """The events table with categorical string columns (cheap at 10M rows).

    Every categorical's categories are exactly the values present (dormant accounts are not
    categories of ``account_id``), so ``cat.categories`` can be used as "the accounts seen".
    """
    rank = acc_rank[ev.account]
    seen = np.flatnonzero(np.bincount(rank, minlength=len(acc_ids)) > 0)
    remap = np.full(len(acc_ids), -1, dtype=np.int32)
    remap[seen] = np.arange(seen.size, dtype=np.int32)
    return pd.DataFrame(
        {
            "account_id": categorical(remap[rank], acc_ids.take(pa.array(seen))),
            "timestamp": ev.timestamp.astype(np.int64),
            "action": categorical(ev.action, list(ACTIONS)),
            "entity_type": categorical(ev.etype, list(ENTITY_TYPES)),
            "entity_id": categorical(codes, vocab),
        }
    )
