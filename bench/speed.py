"""Detection speed against a bare baseline on the same log, and peak memory against the data it holds.

    python -m bench.speed [--accounts 200000] [--sessions 20] [--memory-accounts 1000000,3000000]
                          [--json out/speed.json]

1. **Log shape** (issue 18): a generated world whose accounts log in several times a day
   (``--sessions`` login sessions per account over the 30 days, other actions per session scaled down
   to keep the same totals: about 64 rows per account, 13M rows at 200k accounts), written to
   Parquet. In the same run:

   * **bare baseline**: ``pandas.read_parquet``, the account x identifier incidence of the
     identifier types (``device``, ``ip``, ``phone``, ``email_domain``) with scipy.sparse, its
     projection ``B B^T`` over identifiers with at most 50 accounts, and connected components
     (``scipy.sparse.csgraph``) of the pairs sharing one: what a first prototype does;
   * ``detect --structure-only`` and ``detect`` (the shipped model): ``load_events`` + the whole
     pipeline, the log's null copy included (in a second process on logs of 1M events and more).

2. **Memory** (``--memory-accounts``): for worlds of the default generator, the peak RSS of one
   ``detect`` (this process, and the null copy's process) against the bytes of the loaded
   ``EventLog`` plus the account graph (relations, features, incidence) it builds.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from graphs.events import EventLog, load_events
from graphs.synthetic import WorldConfig, generate_world
from graphs.synthetic.config import BenignConfig
from service.pipeline import run_detection

SEED = 9000
IDENTIFIERS = ("device", "ip", "phone", "email_domain")


def peak_gb(who=resource.RUSAGE_SELF) -> float:
    return round(resource.getrusage(who).ru_maxrss / 2**20, 2)


def login_heavy_world(n_accounts: int, sessions: float):
    b = BenignConfig()
    f = b.sessions_per_account / sessions
    benign = dataclasses.replace(
        b,
        sessions_per_account=sessions,
        likes_per_session=b.likes_per_session * f,
        follows_per_session=b.follows_per_session * f,
        comments_per_session=b.comments_per_session * f,
        shares_per_session=b.shares_per_session * f,
        posts_per_session=b.posts_per_session * f,
        messages_per_session=b.messages_per_session * f,
    )
    return generate_world(WorldConfig(n_accounts=n_accounts, seed=SEED, benign=benign))


def bare_baseline(path: Path, cap: int = 50) -> dict:
    """Read, incidence, capped projection of shared identifiers, connected components."""
    t = time.perf_counter()
    df = pd.read_parquet(path, columns=["account_id", "entity_type", "entity_id"])
    ids = df[df["entity_type"].isin(IDENTIFIERS)]
    acc, _ = pd.factorize(ids["account_id"])
    ent, _ = pd.factorize(ids["entity_type"].astype(str) + "|" + ids["entity_id"].astype(str))
    n, m = int(acc.max()) + 1, int(ent.max()) + 1
    b = sp.csr_matrix((np.ones(acc.size), (acc, ent)), shape=(n, m))
    b.data[:] = 1.0  # duplicates summed: back to 0/1
    users = np.diff(b.tocsc().indptr)
    b = b @ sp.diags((users <= cap).astype(np.float64))
    b.eliminate_zeros()
    proj = b @ b.T
    proj.setdiag(0)
    proj.eliminate_zeros()
    k, labels = connected_components(proj, directed=False)
    sizes = np.bincount(labels)
    return {
        "seconds": round(time.perf_counter() - t, 2),
        "pairs": int(proj.nnz // 2),
        "groups_5plus": int((sizes >= 5).sum()),
    }


def ringscope_detect(path: Path, model) -> dict:
    """One ``detect`` in a fresh process, as ``ringscope detect`` runs (nothing the previous runs of
    this bench left in memory counts against it)."""
    import concurrent.futures as cf
    import multiprocessing as mp

    with cf.ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(_detect_run, path, model).result()


def _detect_run(path: Path, model) -> dict:
    t = time.perf_counter()
    log = load_events(path)
    loaded = time.perf_counter() - t
    det = run_detection(log, None, model=model)
    return {
        "seconds": round(time.perf_counter() - t, 2),
        "load_s": round(loaded, 2),
        "stages_s": {
            **{f"graph.{k}": v for k, v in det.params["graph_timings_s"].items()},
            **det.params["timings_s"],
        },
        "rings": int((det.clusters["verdict"] == "ring").sum()),
    }


def log_shape(n_accounts: int, sessions: float) -> dict:
    world = login_heavy_world(n_accounts, sessions)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.parquet"
        world.events.to_parquet(path, index=False)
        rows = len(world.events)
        del world
        base = bare_baseline(path)
        structure = ringscope_detect(path, None)
        default = ringscope_detect(path, "default")
    return {
        "accounts": n_accounts,
        "rows": rows,
        "baseline": base,
        "structure_only": structure,
        "default": default,
        "structure_over_baseline": round(structure["seconds"] / base["seconds"], 2),
        "default_over_baseline": round(default["seconds"] / base["seconds"], 2),
    }


def nbytes(obj) -> int:
    """Bytes held by the numpy arrays of an EventLog or AccountGraph (one level of containers deep)."""
    total = 0
    for value in vars(obj).values():
        items = value.values() if isinstance(value, dict) else [value]
        for item in items:
            if isinstance(item, np.ndarray):
                total += item.nbytes
            elif dataclasses.is_dataclass(item) and not isinstance(item, type):
                total += sum(v.nbytes for v in vars(item).values() if isinstance(v, np.ndarray))
                for v in vars(item).values():
                    if isinstance(v, dict):
                        total += sum(a.nbytes for a in v.values() if isinstance(a, np.ndarray))
    return total


def memory(n_accounts: int) -> dict:
    """Peak RSS of one detect in a fresh process, against the loaded log and the graph."""
    import concurrent.futures as cf
    import multiprocessing as mp

    # Not a multiprocessing.Pool: its daemonic workers could not start the null copy's process.
    with cf.ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(_memory_run, n_accounts).result()


def _memory_run(n_accounts: int) -> dict:
    from graphs.build import build_graph

    world = generate_world(WorldConfig(n_accounts=n_accounts, seed=SEED))
    log = EventLog.from_frame(world.events, source="memory")
    accounts = world.accounts.set_index("account_id")
    del world
    before = peak_gb()
    graph = build_graph(log, accounts)
    data_gb = (nbytes(log) + nbytes(graph)) / 2**30
    del graph
    t = time.perf_counter()
    run_detection(log, accounts, model="default")
    return {
        "accounts": n_accounts,
        "events": log.n_events,
        "detect_s": round(time.perf_counter() - t, 1),
        "log_plus_graph_gb": round(data_gb, 2),
        "peak_rss_gb": peak_gb(),
        "peak_before_detect_gb": before,
        "null_process_peak_rss_gb": peak_gb(resource.RUSAGE_CHILDREN),
        "peak_over_data": round(peak_gb() / max(data_gb, 1e-9), 2),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--accounts", type=int, default=200_000, help="accounts of the log-shape part (0: skip)")
    ap.add_argument("--sessions", type=float, default=32.0, help="login sessions per account over 30 days")
    ap.add_argument("--memory-accounts", default="1000000", help="world sizes of the memory part ('': skip)")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    report: dict = {}
    if args.accounts:
        shape = log_shape(args.accounts, args.sessions)
        report["log_shape"] = shape
        print(f"log shape: {shape['accounts']:,} accounts, {shape['rows']:,} rows")
        rows = [
            {"run": "bare baseline (read, capped identifier projection, components)", **shape["baseline"]},
            {"run": "detect --structure-only", "seconds": shape["structure_only"]["seconds"]},
            {"run": "detect (shipped model)", "seconds": shape["default"]["seconds"]},
        ]
        print(pd.DataFrame(rows).to_string(index=False))
        print(
            f"structure-only / baseline = {shape['structure_over_baseline']}, "
            f"default / baseline = {shape['default_over_baseline']}"
        )
        print("structure-only stages:", shape["structure_only"]["stages_s"])
    if args.memory_accounts:
        mem = [memory(int(n)) for n in args.memory_accounts.split(",")]
        report["memory"] = mem
        print("memory of one detect against the loaded log plus its graph:")
        print(pd.DataFrame(mem).to_string(index=False))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=1, default=float))


if __name__ == "__main__":
    main()
