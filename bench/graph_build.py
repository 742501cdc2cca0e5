"""Benchmark: event log -> account graph with features, and the networkx route at equal output.

Usage:
    python -m bench.graph_build --accounts 1000000            # synthetic world (graphs.synthetic)
    python -m bench.graph_build --events events.parquet [--accounts-table accounts.csv]
    python -m bench.graph_build --accounts 100000 --nx-events 50000 --json out/graph_build.json

Prints events, accounts, edges per relation, seconds per build stage, total build seconds and peak
RSS; then, on a sample of the same world (``--nx-events`` device/IP events of randomly drawn accounts),
times what an analyst would write with networkx (a bipartite account-entity graph and
``bipartite.weighted_projected_graph``) against our route (``EventLog.from_frame`` + incidence + the
device and IP relations without caps), checks both give the same edges with the same number of shared
entities, and prints the speed ratio.

Peak RSS is the kernel's high-water mark (``VmHWM``), reset before the build where the kernel allows,
so ``build_peak_rss`` is the build's own peak including the event log it reads (and whatever the
process still holds); the peak before it (generating and encoding the world) is printed too.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from graphs.build import build_graph
from graphs.events import EventLog, load_accounts, load_events
from graphs.incidence import build_incidence
from graphs.relations import identifier_relation


def _reset_peak_rss() -> bool:
    """Resets the kernel's peak-RSS mark of this process (Linux >= 4.0); False where not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _peak_rss_mib() -> float:
    """Peak RSS in MiB since the last reset (VmHWM), else since the process started."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024


def _world(args: argparse.Namespace) -> tuple[pd.DataFrame | None, EventLog, pd.DataFrame | None, dict]:
    """The events as a DataFrame (for the networkx sample), the encoded log, accounts, seconds."""
    secs: dict[str, float] = {}
    if args.events is not None:
        t0 = time.perf_counter()
        log = load_events(args.events)
        accounts = load_accounts(args.accounts_table) if args.accounts_table else None
        secs["load + validate"] = time.perf_counter() - t0
        return None, log, accounts, secs
    from graphs.synthetic import WorldConfig, generate_world

    t0 = time.perf_counter()
    world = generate_world(WorldConfig(n_accounts=args.accounts, seed=args.seed))
    secs["generate world"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    log = EventLog.from_frame(world.events)
    secs["encode (EventLog.from_frame)"] = time.perf_counter() - t0
    accounts = world.accounts.set_index("account_id")
    return world.events, log, accounts, secs


def _sample(events: pd.DataFrame, n_events: int, seed: int) -> pd.DataFrame:
    """Device and IP rows of randomly drawn accounts, about ``n_events`` of them, as plain strings."""
    rows = events[events["entity_type"].isin(["device", "ip"])]
    per_account = rows.groupby("account_id", observed=True).size()
    order = np.random.default_rng(seed).permutation(per_account.shape[0])
    take = per_account.iloc[order]
    take = take.index[np.cumsum(take.to_numpy()) <= n_events]
    out = rows[rows["account_id"].isin(take)]
    return pd.DataFrame(
        {c: out[c].astype(str).to_numpy() if c != "timestamp" else out[c].to_numpy() for c in out}
    )


def networkx_route(df: pd.DataFrame) -> dict[tuple[str, str], int]:
    """What an analyst writes: bipartite account-entity graph, weighted projection onto accounts."""
    import networkx as nx
    from networkx.algorithms import bipartite

    g = nx.Graph()
    accounts = df["account_id"].unique().tolist()
    g.add_nodes_from(accounts, bipartite=0)
    entities = list(zip(df["entity_type"], df["entity_id"], strict=True))
    g.add_nodes_from(set(entities), bipartite=1)
    g.add_edges_from(zip(df["account_id"], entities, strict=True))
    proj = bipartite.weighted_projected_graph(g, accounts)
    return {tuple(sorted((u, v))): int(d["weight"]) for u, v, d in proj.edges(data=True)}


def our_route(df: pd.DataFrame) -> dict[tuple[str, str], int]:
    """Ours, with no hub cap so the output equals networkx's: pairs sharing a device or an IP."""
    log = EventLog.from_frame(df)
    incidence = build_incidence(log)
    big = log.n_accounts + 1
    rels = [identifier_relation(incidence[t], t, big, 1.0) for t in ("device", "ip") if t in incidence]
    n = log.n_accounts
    key = np.concatenate([r.src.astype(np.int64) * n + r.dst for r in rels])
    shared = np.concatenate([r.evidence["shared"] for r in rels])
    s = pd.Series(shared).groupby(key).sum()
    ids = log.account_ids
    keys = s.index.to_numpy()
    return {tuple(sorted((ids[k // n], ids[k % n]))): int(v) for k, v in zip(keys, s.to_numpy(), strict=True)}


def _our_seconds(df: pd.DataFrame, repeat: int = 3) -> float:
    """Best of ``repeat`` runs of our route up to the relations (the machine is shared: the minimum is
    the least disturbed run)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        log = EventLog.from_frame(df)
        incidence = build_incidence(log)
        for t in ("device", "ip"):
            if t in incidence:
                identifier_relation(incidence[t], t, log.n_accounts + 1, 1.0)
        best = min(best, time.perf_counter() - t0)
    return best


def _compare_networkx(sample) -> tuple[list[tuple[str, str]], dict]:
    """The networkx route and ours on the same sample: table rows and JSON figures."""
    t0 = time.perf_counter()
    nx_edges = networkx_route(sample)
    nx_s = time.perf_counter() - t0
    ours_s = _our_seconds(sample)
    same = nx_edges == our_route(sample)
    rows = [
        ("nx sample events", f"{len(sample):,}"),
        ("nx sample accounts", f"{sample['account_id'].nunique():,}"),
        ("nx sample edges", f"{len(nx_edges):,}"),
        ("s networkx route", f"{nx_s:.3f}"),
        ("s our route", f"{ours_s:.4f}"),
        ("same edges and shared counts", "yes" if same else "NO"),
        ("speed ratio (networkx / ours)", f"{nx_s / ours_s:.0f}x"),
    ]
    figures = {
        "sample_events": len(sample),
        "edges": len(nx_edges),
        "networkx_s": nx_s,
        "ours_s": ours_s,
        "equal": same,
        "ratio": nx_s / ours_s,
    }
    return rows, figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.graph_build", description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1_000_000, help="accounts of the synthetic world")
    parser.add_argument("--seed", type=int, default=7, help="seed of the synthetic world and the sample")
    parser.add_argument("--events", type=Path, help="read this event log instead of generating a world")
    parser.add_argument("--accounts-table", type=Path, help="accounts table for --events (created_at)")
    parser.add_argument(
        "--nx-events", type=int, default=100_000, help="device/IP events in the networkx sample"
    )
    parser.add_argument("--no-nx", action="store_true", help="skip the networkx comparison")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)

    events, log, accounts, prep = _world(args)
    # Draw the networkx sample first so the event frame is not resident during the build.
    sample = None if events is None or args.no_nx else _sample(events, args.nx_events, args.seed)
    del events
    gc.collect()
    prep_peak = _peak_rss_mib()
    reset = _reset_peak_rss()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    graph = build_graph(log, accounts, timings=timings)
    total = time.perf_counter() - t0
    build_peak = _peak_rss_mib()

    rows: list[tuple[str, str]] = [
        ("events", f"{log.n_events:,}"),
        ("accounts", f"{log.n_accounts:,}"),
        ("entities", f"{log.n_entities:,}"),
    ]
    rows += [(f"edges {name}", f"{n:,}") for name, n in graph.n_edges().items()]
    rows += [(f"hubs {name}", f"{n:,}") for name, n in graph.meta["hubs"].items()]
    rows += [(f"s {name}", f"{s:.2f}") for name, s in prep.items()]
    rows += [(f"s build: {name}", f"{s:.2f}") for name, s in timings.items()]
    rows += [("s build total", f"{total:.2f}")]
    rows += [("build_peak_rss MiB" + ("" if reset else " (whole process)"), f"{build_peak:,.0f}")]
    out: dict = {
        "events": log.n_events,
        "accounts": log.n_accounts,
        "edges": graph.n_edges(),
        "hubs": graph.meta["hubs"],
        "prep_s": prep,
        "build_s": timings,
        "build_total_s": total,
        "build_peak_rss_mib": build_peak,
        "prep_peak_rss_mib": prep_peak,
    }
    del graph

    if sample is not None:
        nx_rows, out["networkx"] = _compare_networkx(sample)
        rows += nx_rows
    rows.append(("peak_rss before the build MiB", f"{prep_peak:,.0f}"))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2))
    if "networkx" in out and not out["networkx"]["equal"]:
        print("networkx and our route disagree on the sample", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
