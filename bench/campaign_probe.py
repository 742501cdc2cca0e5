"""Probe (not shipped in ``detect``): a group-level campaign test, cell-pair participant overlap.

The pair test of :mod:`graphs.synchrony` cannot see rings whose members co-act only once or twice
(opinion-spam rings writing one review per campaign, stealth rings joining a few campaigns): with
every pair of active accounts tested, two co-occurrences never beat the false-discovery cut. At the
group level the evidence is strong: two campaign cells (target, window) that share many participants.

For two cells ``C1``, ``C2`` (different targets, at least 3 participants each, same window grid) the
overlap ``|C1 & C2|`` is compared with what chance predicts given who is in them and when:

    mu = max(k2 * sum_{a in C1} x_a(b2) / X(b2),  k1 * sum_{a in C2} x_a(b1) / X(b1))

where ``x_a(b)`` is how many kept cells account ``a`` is in during ``C``'s time bucket ``b`` and
``X(b)`` all rows of kept cells in that bucket (a time-local configuration null: heavy reviewers active
in the same weeks do not count as evidence). Poisson surprise, Benjamini-Hochberg over every pair of
kept cells. The accounts in the intersection of a significant cell pair are linked.

It prints, per world: how pure the linked pairs are (same ring), how many ring accounts and benign
accounts (by look-alike kind) they touch, and per ring kind the share of rings with at least half of
their members touched. Findings are in docs/detection.md ("Tried, not shipped").

    python -m bench.campaign_probe --regime reviews --windows 86400,604800,1209600,2592000
    python -m bench.campaign_probe --regime minutes --windows 60,600,3600
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import scipy.sparse as sp

from graphs.events import EventLog
from graphs.incidence import build_incidence, run_ids, sort_rows
from graphs.params import GraphParams
from graphs.projection import half_cells
from graphs.relations import target_rows
from graphs.roles import infer_roles
from graphs.synchrony import fdr_threshold, log10_poisson_sf, time_resolution
from graphs.synthetic.regimes import generate_regime_world


def cell_pairs(account, entity, t, n, window, grid, kmin=3, cap=500, origin=None):
    """Significance inputs of every overlapping pair of kept cells at one window and grid."""
    h, _ = half_cells(t, window)
    g = h // 2 if grid == 0 else (h + 1) // 2
    e, b, a = sort_rows(entity, g, account)
    cell, size = run_ids(e, b)
    ok = (size[cell] >= kmin) & (size[cell] <= cap)
    a, cell, e, b = a[ok], cell[ok], e[ok], b[ok]
    if not a.size:
        return None
    _, cell = np.unique(cell, return_inverse=True)
    nc = int(cell.max()) + 1
    k = np.bincount(cell, minlength=nc).astype(float)
    ent = np.zeros(nc, np.int64)
    ent[cell] = e
    bucket = np.zeros(nc, np.int64)
    bucket[cell] = b - b.min()
    nb = int(bucket.max()) + 1
    inc = sp.csr_matrix((np.ones(a.size), (cell, a)), shape=(nc, n))
    xb = sp.csr_matrix((np.ones(a.size), (a, bucket[cell])), shape=(n, nb))
    total_b = np.bincount(bucket, k, minlength=nb)
    s_cb = (inc @ xb).tocsr()  # sum over a cell's members of their rows in each bucket
    o = (inc @ inc.T).tocoo()
    m = (o.row < o.col) & (o.data >= 3) & (ent[o.row] != ent[o.col])
    r, c, ov = o.row[m], o.col[m], o.data[m]
    if origin is not None:
        # A group engaging with its own members' content (friends, pods) is a community, not a
        # campaign on outside targets: drop cell pairs where one target's originator is in the other cell.
        oa, ob = origin[ent[r]], origin[ent[c]]
        keys = set(zip(cell.tolist(), a.tolist(), strict=True))
        inside = np.array(
            [(ci, x) in keys or (cj, y) in keys for ci, cj, x, y in zip(c, r, oa, ob, strict=True)], bool
        )
        r, c, ov = r[~inside], c[~inside], ov[~inside]
    s_rc = np.asarray(s_cb[r, bucket[c]]).ravel()
    s_cr = np.asarray(s_cb[c, bucket[r]]).ravel()
    mu = np.maximum(k[c] * s_rc / total_b[bucket[c]], k[r] * s_cr / total_b[bucket[r]])
    return inc, r, c, -log10_poisson_sf(ov, mu), nc * (nc - 1) / 2


def linked_pairs(account, entity, t, n, windows, fdr=0.01, origin=None):
    """Account pairs in the intersection of a significant cell pair; the FDR cut; per-window counts."""
    found = [(w, g, cell_pairs(account, entity, t, n, w, g, origin=origin)) for w in windows for g in (0, 1)]
    found = [(w, g, f) for w, g, f in found if f is not None]
    tested = sum(f[4] for _, _, f in found)
    threshold = fdr_threshold(np.concatenate([f[3] for _, _, f in found] or [np.zeros(0)]), tested, fdr)
    linked: set[tuple[int, int]] = set()
    per_window = []
    for w, g, (inc, r, c, s, _) in found:
        sel = np.flatnonzero(s >= threshold)
        per_window.append((w, g, int(r.size), int(sel.size)))
        for i in sel:
            inter = np.intersect1d(
                inc.indices[inc.indptr[r[i]] : inc.indptr[r[i] + 1]],
                inc.indices[inc.indptr[c[i]] : inc.indptr[c[i] + 1]],
            )
            linked.update((int(p), int(q)) for j, p in enumerate(inter) for q in inter[j + 1 :])
    return linked, threshold, per_window


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--regime", default="reviews")
    ap.add_argument("--accounts", type=int, default=40_000)
    ap.add_argument("--seed", type=int, default=3000, help="a tuning seed (evaluation seeds are 9000+)")
    ap.add_argument("--windows", default="86400,604800,1209600,2592000")
    ap.add_argument(
        "--origin", action="store_true", help="drop cell pairs whose target's originator is in the other cell"
    )
    args = ap.parse_args()
    world = generate_regime_world(args.regime, args.accounts, args.seed)
    log = EventLog.from_frame(world.events)
    roles = infer_roles(log)
    res = time_resolution(log.timestamp)
    acc, tgt, first, _ = target_rows(log, build_incidence(log), roles, GraphParams(), res)
    windows = sorted({max(int(w), res) for w in args.windows.split(",")})
    t0 = time.perf_counter()
    linked, threshold, per_window = linked_pairs(
        acc.astype(np.int64),
        tgt.astype(np.int64),
        first.astype(np.int64),
        log.n_accounts,
        windows,
        origin=log.entity_origin.astype(np.int64) if args.origin else None,
    )
    lab = world.labels.set_index("account_id").reindex(log.account_ids)
    ring = lab["ring_id"].fillna("").to_numpy()
    look = lab["lookalike"].fillna("").to_numpy()
    src = np.array([p for p, _ in linked], dtype=np.int64)
    dst = np.array([q for _, q in linked], dtype=np.int64)
    touched = np.zeros(log.n_accounts, bool)
    touched[src] = touched[dst] = True
    same = float(((ring[src] == ring[dst]) & (ring[src] != "")).mean()) if src.size else float("nan")
    benign = touched & (ring == "")
    print(
        f"{args.regime} seed {args.seed}: {len(linked)} linked pairs in {time.perf_counter() - t0:.1f} s, "
        f"cut {threshold:.1f}, same-ring {same:.3f}, ring accounts touched "
        f"{int((touched & (ring != '')).sum())}/{int((ring != '').sum())}, "
        f"benign touched {int(benign.sum())} "
        f"{pd.Series(look[benign]).replace('', 'ordinary').value_counts().to_dict()}"
    )
    print("(window, grid, overlapping cell pairs, significant):", per_window)
    df = pd.DataFrame({"ring": ring, "t": touched, "kind": lab["ring_kind"].fillna("").to_numpy()})
    g = df[ring != ""].groupby("ring").agg(kind=("kind", "first"), cov=("t", "mean"))
    g["half"] = g["cov"] >= 0.5
    print(g.groupby("kind").agg(rings=("half", "size"), half_touched=("half", "mean")).to_string())


if __name__ == "__main__":
    main()
