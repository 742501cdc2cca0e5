"""Benchmark: generate a synthetic world and write it, timing both.

Usage:
    python -m bench.generate --accounts 1000000 --out /tmp/world [--fmt csv] [--seed 7]

Prints accounts, events, seconds to generate, seconds to write, file sizes and peak RSS
(``resource.getrusage``, the high-water mark of this process).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

from graphs.synthetic import WorldConfig, generate_world, write_world


def peak_rss_mib() -> float:
    """Peak resident set size of this process in MiB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1_000_000, help="accounts in the world")
    parser.add_argument("--seed", type=int, default=7, help="random seed")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--fmt", default="csv", choices=("csv", "csv.gz", "parquet"), help="file format")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    world = generate_world(WorldConfig(n_accounts=args.accounts, seed=args.seed))
    t1 = time.perf_counter()
    paths = write_world(world, args.out, fmt=args.fmt)
    t2 = time.perf_counter()

    summary = world.summary()
    rows = [
        ("accounts", f"{summary['accounts']:,}"),
        ("events", f"{summary['events']:,}"),
        ("bots", f"{summary['bots']:,} in {summary['rings']} rings"),
        ("generate_s", f"{t1 - t0:.1f}"),
        (f"write_{args.fmt}_s", f"{t2 - t1:.1f}"),
        ("total_s", f"{t2 - t0:.1f}"),
        ("peak_rss_mib", f"{peak_rss_mib():,.0f}"),
    ]
    rows += [(f"{name}_mib", f"{p.stat().st_size / (1 << 20):,.1f}") for name, p in paths.items()]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
