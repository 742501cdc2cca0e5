"""Loading benchmark: time and peak memory of ``load_events`` on a large generated log.

    python -m bench.load_events --accounts 1000000 [--formats csv.gz,parquet] [--dir DIR]

Generates a world (about 10 events per account) once, writes it in each format, then loads each file
in a fresh subprocess so that its peak RSS is the loader's own. As a baseline it also loads the same
CSV with plain ``pandas.read_csv`` (object strings, no validation) in the same run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
path, how = sys.argv[1], sys.argv[2]
t = time.perf_counter()
if how == "ringscope":
    from graphs.events import load_events
    log = load_events(path)
    rows = log.n_events
else:
    import pandas as pd
    df = pd.read_csv(path) if not path.endswith(".parquet") else pd.read_parquet(path)
    rows = len(df)
seconds = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
print(json.dumps({"rows": rows, "seconds": round(seconds, 2), "peak_gb": round(peak, 2)}))
"""


def measure(path: Path, how: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), how], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--accounts", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--formats", default="csv.gz,parquet")
    ap.add_argument("--dir", type=Path, default=None, help="keep the files here (default: a temp dir)")
    ap.add_argument("--no-baseline", action="store_true")
    args = ap.parse_args(argv)

    from graphs.synthetic import WorldConfig, generate_world, write_world

    work = args.dir or Path(tempfile.mkdtemp(prefix="ringscope-load-"))
    world = generate_world(WorldConfig(n_accounts=args.accounts, seed=args.seed))
    n_events = len(world.events)
    rows = []
    for fmt in args.formats.split(","):
        t = time.perf_counter()
        path = write_world(world, work / fmt.replace(".", "_"), fmt=fmt)["events"]
        write_s = time.perf_counter() - t
        size_mb = path.stat().st_size / 1e6
        r = measure(path, "ringscope")
        rows.append((fmt, "ringscope load_events", n_events, size_mb, write_s, r["seconds"], r["peak_gb"]))
        if not args.no_baseline:
            b = measure(path, "pandas")
            rows.append(
                (fmt, "pandas read (no validation)", n_events, size_mb, write_s, b["seconds"], b["peak_gb"])
            )
    del world
    print(
        f"{'format':8} {'loader':28} {'events':>11} {'file MB':>8} "
        f"{'write s':>8} {'load s':>7} {'peak GB':>8}"
    )
    for fmt, how, n, mb, ws, s, gb in rows:
        print(f"{fmt:8} {how:28} {n:>11,} {mb:>8.0f} {ws:>8.1f} {s:>7.1f} {gb:>8.2f}")


if __name__ == "__main__":
    main()
