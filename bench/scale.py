"""Events to verdicts at growing sizes, on both engines: time and peak memory (issue 16).

    python -m bench.scale [--accounts 20000,100000,1000000] [--engines local,spark]
                          [--timeout 3600] [--json out/scale.json]

For each size a world of the default generator (seed 9000, about 11 events per account) is written
to Parquet; then each engine runs one ``detect`` with the shipped model in a fresh process
(``load_events`` + the whole pipeline, the log's null copy included), and the table gives:

* seconds of the whole detect and of its graph stage (where the engines differ: Spark counts the
  roles' statistics and the relations, :mod:`graphs.spark`);
* peak RSS of the Python process, of the processes it started (the local engine's null-copy
  process on logs of 1M events and more; Spark's JVM in local mode), sampled twice a second, and
  their sum as an upper bound of the machine's peak;
* whether both engines gave the same verdicts (accounts and clusters tables equal);
* ``failed`` / ``timeout`` where a run died (memory) or ran past ``--timeout`` seconds.

The baseline is the local engine in the same run. Spark runs in local mode on this machine's cores
(``SPARK_MASTER`` points it at a cluster; ``RINGSCOPE_SPARK_CONF`` adds settings, e.g.
``spark.driver.memory=8g``).
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import contextlib
import hashlib
import json
import multiprocessing as mp
import resource
import tempfile
import time
from pathlib import Path

import pandas as pd

SEED = 9000


def _peak_gb(who) -> float:
    return round(resource.getrusage(who).ru_maxrss / 2**20, 2)


class _ChildPeak:
    """Samples the RSS of this process's descendants (the null copy's process, Spark's JVM) twice a
    second; ``peak_gb`` is the largest sum seen (``getrusage`` misses a JVM that is still running)."""

    def __init__(self) -> None:
        import threading

        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psutil

        me = psutil.Process()
        while not self._stop.wait(0.5):
            total = 0
            for child in me.children(recursive=True):
                with contextlib.suppress(psutil.Error):  # a child that just ended
                    total += child.memory_info().rss
            self.peak = max(self.peak, total)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return round(self.peak / 2**30, 2)


def _digest(frame: pd.DataFrame) -> str:
    data = pd.util.hash_pandas_object(frame.reset_index(drop=True), index=False).to_numpy().tobytes()
    return hashlib.sha1(data).hexdigest()


def _detect(events: str, accounts: str, engine: str) -> dict:
    """One detect in this (fresh) process."""
    import dataclasses

    from graphs.events import load_accounts, load_events
    from graphs.params import GraphParams
    from service.pipeline import DetectParams, run_detection

    children = _ChildPeak()
    t = time.perf_counter()
    log = load_events(events)
    acc = load_accounts(accounts)
    params = dataclasses.replace(DetectParams(), graph=GraphParams(engine=engine))
    det = run_detection(log, acc, model="default", params=params)
    seconds = time.perf_counter() - t
    return {
        "seconds": round(seconds, 1),
        "graph_s": round(det.params["timings_s"].get("graph", float("nan")), 1),
        "events": log.n_events,
        "rings": int((det.clusters["verdict"] == "ring").sum()),
        "accounts_digest": _digest(det.accounts),
        "clusters_digest": _digest(det.clusters),
        "python_peak_gb": _peak_gb(resource.RUSAGE_SELF),
        "children_peak_gb": max(children.stop(), _peak_gb(resource.RUSAGE_CHILDREN)),
    }


def run_one(events: str, accounts: str, engine: str, timeout: float) -> dict:
    """``_detect`` in a spawned process; ``failed`` or ``timeout`` when it does not come back."""
    pool = cf.ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn"))
    try:
        return pool.submit(_detect, events, accounts, engine).result(timeout=timeout)
    except cf.TimeoutError:
        return {"status": "timeout"}
    except Exception as exc:  # a worker killed for memory, or a Spark failure
        return {"status": f"failed ({type(exc).__name__})"}
    finally:
        for proc in list(getattr(pool, "_processes", {}).values()):
            proc.kill()
        pool.shutdown(wait=False, cancel_futures=True)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--accounts", default="20000,100000,1000000")
    ap.add_argument("--engines", default="local,spark")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per detect")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    from graphs.synthetic import WorldConfig, generate_world, write_world

    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    rows = []
    with tempfile.TemporaryDirectory(prefix="ringscope-scale-") as tmp:
        for n in [int(x) for x in args.accounts.split(",") if x.strip()]:
            folder = Path(tmp) / str(n)
            paths = write_world(generate_world(WorldConfig(n_accounts=n, seed=SEED)), folder, fmt="parquet")
            for engine in engines:
                print(f"{n:,} accounts, {engine} ...", flush=True)
                res = run_one(str(paths["events"]), str(paths["accounts"]), engine, args.timeout)
                rows.append({"accounts": n, "engine": engine, **res})
                print(f"  {res}", flush=True)
    table = pd.DataFrame(rows)
    base = {r["accounts"]: r for r in rows if r["engine"] == "local" and "seconds" in r}
    if "seconds" in table:
        table["same_verdicts"] = [
            (r.get("accounts_digest"), r.get("clusters_digest"))
            == (base[r["accounts"]]["accounts_digest"], base[r["accounts"]]["clusters_digest"])
            if r["accounts"] in base and "seconds" in r
            else None
            for r in rows
        ]
        table["total_peak_gb"] = table["python_peak_gb"] + table["children_peak_gb"]
    cols = [
        c
        for c in (
            "accounts",
            "engine",
            "events",
            "seconds",
            "graph_s",
            "python_peak_gb",
            "children_peak_gb",
            "total_peak_gb",
            "rings",
            "same_verdicts",
            "status",
        )
        if c in table
    ]
    print(table[cols].to_string(index=False))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
