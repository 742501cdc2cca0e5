"""Sparse building blocks of the account-account relations: the ``Relation`` container, IDF weights,
and projections ``B W B^T`` of an account x (pseudo-)entity incidence.

Every relation is a sparse product of an account x column matrix with itself: an entity (or an
(entity, time window) cell) shared by ``d`` accounts adds to each of its pairs. Entities above a cap
add nothing, so nothing quadratic is ever built.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True, eq=False)
class Relation:
    """Weighted account-account edges of one kind (shared device, co-like, ...).

    Attributes:
        name: the relation name (``device``, ``ip``, ``ip_time``, ``coaction``, ``interaction``, ...).
        src: int32 [E] account code, ``src < dst``; edges sorted by (src, dst), no duplicates.
        dst: int32 [E] account code.
        weight: float32 [E] evidence weight in (0, 1].
        evidence: per-edge arrays [E] explaining the weight, e.g. ``shared`` (number of shared
            entities), ``targets`` (distinct co-acted targets), ``score`` (the unsquashed sum).
    """

    name: str
    src: np.ndarray
    dst: np.ndarray
    weight: np.ndarray
    evidence: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_edges(self) -> int:
        return int(self.src.shape[0])

    @classmethod
    def empty(cls, name: str, evidence: tuple[str, ...] = ()) -> Relation:
        """A relation without edges (its entity type is absent or nothing qualifies)."""
        i32 = np.zeros(0, dtype=np.int32)
        return cls(name, i32, i32.copy(), np.zeros(0, dtype=np.float32), {k: i32.copy() for k in evidence})

    def take(self, mask: np.ndarray) -> Relation:
        """The edges where ``mask`` (bool [E]) is true."""
        return Relation(
            self.name,
            self.src[mask],
            self.dst[mask],
            self.weight[mask],
            {k: v[mask] for k, v in self.evidence.items()},
        )

    def degree(self, n_accounts: int) -> np.ndarray:
        """int64 [n_accounts]: number of neighbours of each account in this relation."""
        return np.bincount(self.src, minlength=n_accounts) + np.bincount(self.dst, minlength=n_accounts)

    def weighted_degree(self, n_accounts: int) -> np.ndarray:
        """float64 [n_accounts]: sum of edge weights of each account in this relation."""
        w = self.weight.astype(np.float64)
        return np.bincount(self.src, w, n_accounts) + np.bincount(self.dst, w, n_accounts)


def idf(degree: np.ndarray) -> np.ndarray:
    """Evidence one entity shared by ``degree`` accounts adds to each of its pairs: ``1 / log2(d)``.

    A device shared by two accounts gives 1.0, by 10 accounts 0.30, by 100 accounts 0.15.
    """
    return 1.0 / np.log2(np.maximum(np.asarray(degree, dtype=np.float64), 2.0))


def squash(score: np.ndarray, scale: float) -> np.ndarray:
    """Maps a non-negative evidence score to a float32 weight in (0, 1]: ``1 - exp(-score / scale)``."""
    w = -np.expm1(-np.asarray(score, dtype=np.float64) / scale)
    return np.clip(w, 1e-6, 1.0).astype(np.float32)


def project(
    rows: np.ndarray,
    cols: np.ndarray,
    vals: np.ndarray,
    n_rows: int,
    n_cols: int,
    right: tuple[np.ndarray, np.ndarray] | None = None,
    min_count: int = 1,
    right_vals: np.ndarray | None = None,
) -> sp.csr_matrix:
    """Upper triangle of ``L R^T`` where ``L`` holds ``vals`` at ``(rows, cols)`` and ``R`` is binary.

    ``R`` is ``L``'s pattern (binary, or ``right_vals``) unless ``right = (rows, cols)`` is given
    (the product must then be symmetric by construction). Complex ``vals`` carry two sums at once:
    the real part the IDF weight and the imaginary part 1, so one sparse product yields both the
    weighted score (real) and the number of shared columns (imaginary); real ``vals`` give a real
    product (half the memory and a third of the time of a complex one), counting when they are
    1. Entries with fewer than ``min_count`` shared columns (the imaginary part, or the value of a
    real product) are dropped before anything is sorted. Rows are compacted to the accounts
    present, which keeps the product's dense accumulator small and in cache.

    Returns:
        A canonical CSR matrix [n_rows, n_rows] holding only entries with row < column.
    """
    r_rows, r_cols = (rows, cols) if right is None else right
    dtype = np.complex128 if np.iscomplexobj(vals) else np.float64
    if rows.size == 0 or r_rows.size == 0:
        return sp.csr_matrix((n_rows, n_rows), dtype=dtype)
    present = np.zeros(n_rows, dtype=bool)
    present[rows] = True
    present[r_rows] = True
    ids = np.flatnonzero(present)
    compact = np.full(n_rows, -1, dtype=np.int64)
    compact[ids] = np.arange(ids.size)
    m = ids.size
    left = sp.csr_matrix((vals.astype(dtype), (compact[rows], cols)), shape=(m, n_cols))
    r_vals = np.ones(r_rows.shape[0]) if right_vals is None else right_vals
    right_t = sp.csr_matrix((np.asarray(r_vals, dtype=dtype), (r_cols, compact[r_rows])), shape=(n_cols, m))
    srcs, dsts, datas = [], [], []
    for r0, prod in _upper_blocks(left, right_t):
        # Entries below min_count first (most pairs share one column), then the row of each
        # survivor by a search in indptr: no row index is ever built for the whole product.
        if min_count > 1:
            counted = prod.data.imag if dtype is np.complex128 else prod.data
            idx = np.flatnonzero(counted > min_count - 0.5)
        else:
            idx = np.arange(prod.nnz)
        row = np.searchsorted(prod.indptr, idx, side="right") - 1
        upper = prod.indices[idx] > row  # the block's columns start at its first row, r0
        idx, row = idx[upper], row[upper]
        srcs.append(ids[r0 + row])
        dsts.append(ids[r0 + prod.indices[idx]])
        datas.append(prod.data[idx])
        del prod
    del left, right_t
    src = np.concatenate(srcs)
    out = sp.csr_matrix(
        (
            np.concatenate(datas),
            np.concatenate(dsts),
            np.concatenate([[0], np.cumsum(np.bincount(src, minlength=n_rows))]),
        ),
        shape=(n_rows, n_rows),
    )
    out.sort_indices()
    return out


#: Products are computed in row blocks of at most about this many multiply-adds, each only against
#: the columns from its first row on (the upper triangle is all that is kept): the product's
#: transient memory stays bounded and about half the multiply-adds of ``L R^T`` are never done.
BLOCK_FLOPS = 25_000_000


def _upper_blocks(left: sp.csr_matrix, right_t: sp.csr_matrix):
    """Yields ``(r0, left[r0:r1] @ right_t[:, r0:])`` over row blocks ``[r0, r1)`` covering ``left``.

    Every entry of the upper triangle of ``left @ right_t`` is in exactly one block (row ``i`` in
    ``[r0, r1)``, column ``j >= r0``), with the same sums in the same order as the whole product.
    """
    m = left.shape[0]
    pattern = sp.csr_matrix((np.ones(left.nnz), left.indices, left.indptr), shape=left.shape)
    per_row = pattern @ np.diff(right_t.indptr).astype(np.float64)  # multiply-adds of each row
    total = float(per_row.sum())
    if total <= BLOCK_FLOPS or m < 2:
        yield 0, left @ right_t
        return
    right_c = right_t.tocsc()
    bounds = np.searchsorted(np.cumsum(per_row), np.arange(BLOCK_FLOPS, total, BLOCK_FLOPS), side="right")
    edges = np.unique(np.concatenate([[0], bounds, [m]]))
    for r0, r1 in zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True):
        if r1 > r0:
            yield r0, left[r0:r1] @ right_c[:, r0:]


def pairs(m: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(src, dst, data) of a canonical upper-triangular CSR matrix, sorted by (src, dst)."""
    src = np.repeat(np.arange(m.shape[0], dtype=np.int32), np.diff(m.indptr))
    return src, m.indices.astype(np.int32), m.data


def half_cells(t: np.ndarray, window: int) -> tuple[np.ndarray, int]:
    """Half-window cell of each time, from which both bucket grids follow.

    Grid 0 has buckets ``t // window`` (aligned to the Unix epoch), grid 1 the same shifted by half a
    window. Cell ``h = 2 * g0 + (g1 - g0)`` is the intersection of the two buckets, so grid 0's bucket is
    ``h // 2`` and grid 1's ``(h + 1) // 2``; both are non-decreasing in ``h``. Numbered from the
    earliest bucket so keys stay small.

    Returns:
        ``(h int64 [len(t)], number of h values)``.
    """
    if t.size == 0:
        return np.zeros(0, dtype=np.int64), 1
    base = int(t.min()) // window
    g0 = t // window - base
    g1 = (t + window // 2) // window - base
    h = 2 * g0 + (g1 - g0)
    return h, int(h.max()) + 2
