"""Benchmark: publish 1M accounts to a SQLite verdict store, then load the HTTP service.

Usage:
    python -m bench.service [--accounts 1000000] [--clusters 20000] [--rings 2000]
        [--duration 10] [--concurrency 16] [--workers 1] [--store sqlite:///...] [--seed 7]

Steps (all on 127.0.0.1, bounded in count and time):
1. builds a synthetic Detection with numpy and publishes it twice (the second run moves 5% of the
   clustered accounts and re-judges 5% of the clusters, so stable-id matching does real work);
2. starts ``run_server`` in a subprocess (uvloop + httptools, JSON request log to a file);
3. from a second process, keeps ``--concurrency`` keep-alive connections busy for ``--duration``
   seconds per scenario (account lookups, cluster lookups) and reports requests/s, p50, p99;
4. times a full enforcement pull of every ring verdict (and of every cluster) through the cursor.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from service.detection import Detection

INVESTIGATOR_KEY = "bench-investigator"
ENFORCEMENT_KEY = "bench-enforcement"
API_KEYS = f"{INVESTIGATOR_KEY}:investigator,{ENFORCEMENT_KEY}:enforcement"
VERDICT_NAMES = np.array(["ring", "suspicious", "benign"], dtype=object)


# -- the synthetic run ---------------------------------------------------------------------------


def synthetic_detection(
    n_accounts: int, n_clusters: int, n_rings: int, seed: int, previous: Detection | None = None
) -> Detection:
    """~``n_accounts`` accounts, ``n_clusters`` clusters (3..200 members), ``n_rings`` rings.

    With ``previous``, a next run of it: 5% of the clustered accounts leave or move, 5% of the
    clusters change verdict, and every cluster id is a new run-local key.
    """
    rng = np.random.default_rng(seed)
    if previous is None:
        ids = np.char.add("u", np.char.zfill(np.arange(n_accounts).astype(str), 7)).astype(object)
        sizes = np.minimum(3 + rng.geometric(1 / 8, n_clusters), 200)
        order = rng.permutation(n_accounts)
        label = np.full(n_accounts, -1, dtype=np.int64)
        label[order[: sizes.sum()]] = np.repeat(np.arange(n_clusters), sizes)
        verdict_code = np.full(n_clusters, 2)
        picks = rng.permutation(n_clusters)
        verdict_code[picks[:n_rings]] = 0
        verdict_code[picks[n_rings : n_rings + n_clusters // 8]] = 1
    else:
        ids = previous.accounts["account_id"].to_numpy(dtype=object)
        old = previous.accounts["cluster_id"].to_numpy(dtype=object)
        keys = previous.clusters["cluster_id"].to_numpy(dtype=object)
        label = pd.Series(old).map(pd.Series(np.arange(len(keys)), index=keys)).fillna(-1).to_numpy(np.int64)
        clustered = np.flatnonzero(label >= 0)
        moved = rng.choice(clustered, size=len(clustered) // 20, replace=False)
        label[moved] = np.where(rng.random(len(moved)) < 0.5, -1, rng.integers(0, len(keys), len(moved)))
        verdict_code = pd.Series(previous.clusters["verdict"]).map({"ring": 0, "suspicious": 1, "benign": 2})
        verdict_code = verdict_code.to_numpy().copy()
        flip = rng.random(len(verdict_code)) < 0.05
        verdict_code[flip] = rng.integers(0, 3, flip.sum())
        n_clusters = len(keys)

    run = 0 if previous is None else int(previous.params.get("run", 0)) + 1
    cluster_keys = np.char.add(f"r{run}-", np.arange(n_clusters).astype(str)).astype(object)
    base = np.array([0.9, 0.6, 0.15])[verdict_code]
    cluster_score = np.clip(base + rng.normal(0, 0.05, n_clusters), 0, 1)
    in_cluster = label >= 0
    score = np.where(
        in_cluster,
        np.clip(cluster_score[np.maximum(label, 0)] + rng.normal(0, 0.03, len(ids)), 0, 1),
        rng.beta(1, 12, len(ids)),
    )
    cluster_col = np.where(in_cluster, cluster_keys[np.maximum(label, 0)], "").astype(object)
    verdict = np.where(
        in_cluster,
        VERDICT_NAMES[verdict_code[np.maximum(label, 0)]],
        np.where(score > 0.5, "suspicious", "benign"),
    ).astype(object)
    accounts = pd.DataFrame(
        {"account_id": ids, "score": score, "cluster_id": cluster_col, "verdict": verdict}
    )

    sizes = np.bincount(label[in_cluster], minlength=n_clusters)
    keep = sizes > 0
    clusters = pd.DataFrame(
        {
            "cluster_id": cluster_keys[keep],
            "size": sizes[keep],
            "verdict": VERDICT_NAMES[verdict_code[keep]],
            "score": cluster_score[keep],
        }
    )
    evidence = {
        key: {
            "summary": [f"{n} accounts share {1 + n // 4} devices", "synchronised likes within 90 s"],
            "shared_entities": [{"type": "device", "id": f"dev-{i}", "accounts": int(n), "exclusivity": 0.9}],
            "density": round(float(s), 3),
        }
        for i, (key, n, s) in enumerate(
            zip(clusters["cluster_id"], clusters["size"], clusters["score"], strict=True)
        )
    }
    # Edges: a chain through each cluster's members plus as many random chords.
    members = np.flatnonzero(in_cluster)
    members = members[np.argsort(label[members], kind="stable")]
    lab = label[members]
    same = lab[1:] == lab[:-1]
    src, dst = members[:-1][same], members[1:][same]
    chord = rng.permutation(len(src))
    edges = pd.DataFrame(
        {
            "cluster_id": np.concatenate([cluster_keys[lab[:-1][same]], cluster_keys[lab[:-1][same]][chord]]),
            "src": np.concatenate([ids[src], ids[src][chord]]),
            "dst": np.concatenate([ids[dst], ids[dst]]),
            "relation": np.where(rng.random(2 * len(src)) < 0.5, "device", "co_like").astype(object),
            "weight": np.round(rng.random(2 * len(src)), 3),
        }
    )
    return Detection(accounts, clusters, evidence, edges, "bench-model", params={"run": run, "seed": seed})


# -- the load generator (a second process) -------------------------------------------------------


async def _worker(
    host: str, port: int, paths: list[bytes], key: bytes, deadline: float, lat: list, errs: list
):
    reader, writer = await asyncio.open_connection(host, port)
    i = 0
    try:
        while time.perf_counter() < deadline:
            path = paths[i % len(paths)]
            i += 1
            t0 = time.perf_counter()
            writer.write(b"GET " + path + b" HTTP/1.1\r\nHost: bench\r\nX-API-Key: " + key + b"\r\n\r\n")
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            lat.append(time.perf_counter() - t0)
            status = int(head[9:12])
            if status != 200:
                errs.append(status)
    finally:
        writer.close()


def _load(host: str, port: int, paths: list[str], key: str, seconds: float, concurrency: int, out) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover
        pass
    lat: list[float] = []
    errs: list[int] = []

    async def main() -> float:
        encoded = [p.encode() for p in paths]
        start = time.perf_counter()
        deadline = start + seconds
        # Each connection walks the whole list from its own offset.
        chunks = [encoded[i:] + encoded[:i] for i in range(concurrency)]
        await asyncio.gather(*(_worker(host, port, c, key.encode(), deadline, lat, errs) for c in chunks))
        return time.perf_counter() - start

    elapsed = asyncio.run(main())
    out.put((lat, errs, elapsed))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load(
    host: str, port: int, paths: list[str], key: str, seconds: float, concurrency: int, server_pid: int = 0
) -> dict:
    """Runs the load from another process; returns requests/s, p50/p99 ms, non-200 count and the
    server's CPU time per request (what a dedicated core would allow: 1 / cpu_us_per_request)."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_load, args=(host, port, paths, key, seconds, concurrency, queue))
    cpu0 = cpu_seconds(server_pid) if server_pid else 0.0
    proc.start()
    lat, errs, elapsed = queue.get(timeout=seconds + 120)
    cpu = (cpu_seconds(server_pid) - cpu0) if server_pid else 0.0
    proc.join(timeout=30)
    arr = np.array(lat) * 1000
    return {
        "requests": len(arr),
        "rps": len(arr) / elapsed,
        "p50_ms": float(np.percentile(arr, 50)),
        "p99_ms": float(np.percentile(arr, 99)),
        "non_200": len(errs),
        "server_cpu_us_per_request": cpu / max(len(arr), 1) * 1e6,
    }


# -- calibration ---------------------------------------------------------------------------------

CALIBRATION_APP = """
from fastapi import FastAPI
from pydantic import BaseModel


class Answer(BaseModel):
    status: str
    latest_run: int


app = FastAPI(telemetry={"tracing": False, "metrics": False, "logs": False})


@app.get("/healthz", response_model=Answer)
async def healthz():
    return {"status": "ok", "latest_run": 1}
"""


def calibrate(seconds: float, concurrency: int, tmp: Path) -> dict:
    """The same load against a one-route FastAPI app (no store, no middleware) under the same uvicorn
    settings: the framework's ceiling on this machine at this moment, to read the figures against."""
    (tmp / "calibration_app.py").write_text(CALIBRATION_APP)
    port = _free_port()
    cmd = [sys.executable, "-m", "uvicorn", "calibration_app:app", "--app-dir", str(tmp), "--port", str(port)]
    cmd += ["--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"]
    server = subprocess.Popen(cmd)
    try:
        _wait_ready(port, server)
        load("127.0.0.1", port, ["/healthz"], "-", 1.0, concurrency)
        return load("127.0.0.1", port, ["/healthz"], "-", seconds, concurrency, server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)


# -- driver --------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ready(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError("server did not become ready")


def enforcement_pull(port: int, verdict: str | None) -> tuple[int, int, float]:
    """Pages through every (ring) verdict with limit=1000; returns (items, pages, seconds)."""
    import httpx

    params: dict[str, str | int] = {"limit": 1000}
    if verdict:
        params["verdict"] = verdict
    items = pages = 0
    t0 = time.perf_counter()
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"X-API-Key": ENFORCEMENT_KEY}) as c:
        while True:
            body = c.get("/v1/clusters", params=params).raise_for_status().json()
            items += len(body["items"])
            pages += 1
            if body["next_cursor"] is None:
                break
            params["cursor"] = body["next_cursor"]
    return items, pages, time.perf_counter() - t0


def _publish_two_runs(args, url: str, rows: list) -> tuple[list[str], list[str]]:
    """Synthesises and publishes two runs; returns account and cluster request paths to replay."""
    from service.store import Store

    t0 = time.perf_counter()
    first = synthetic_detection(args.accounts, args.clusters, args.rings, args.seed)
    second = synthetic_detection(args.accounts, args.clusters, args.rings, args.seed + 1, previous=first)
    rows.append(("synthesise 2 runs (s)", f"{time.perf_counter() - t0:.1f}"))
    n_clustered = int((first.accounts["cluster_id"] != "").sum())
    rows.append(("accounts / clustered", f"{len(first.accounts):,} / {n_clustered:,}"))
    rows.append(
        ("clusters / rings / edges", f"{len(first.clusters):,} / {args.rings:,} / {len(first.edges):,}")
    )
    with Store(url) as store:
        r1 = store.publish(first)
        rows.append(("publish run 1 (s)", f"{r1.seconds:.2f}"))
        rows.append(("  steps (s)", " ".join(f"{k} {v:.1f}" for k, v in r1.timings.items())))
        r2 = store.publish(second)
        kept = len(r2.id_map) - len(r2.new_clusters)
        rows.append(("publish run 2 (s)", f"{r2.seconds:.2f}"))
        rows.append(("  steps (s)", " ".join(f"{k} {v:.1f}" for k, v in r2.timings.items())))
        rows.append(
            (
                "run 2 kept ids / new / dissolved",
                f"{kept:,} / {len(r2.new_clusters):,} / {len(r2.dissolved):,}",
            )
        )
        rows.append(("run 2 feed events", f"{r2.events:,}"))
        rng = np.random.default_rng(args.seed)
        account_ids = second.accounts["account_id"].to_numpy(dtype=object)
        account_paths = [f"/v1/accounts/{a}" for a in rng.choice(account_ids, size=50_000)]
        stable_ids = np.array(sorted(r2.id_map.values()), dtype=object)
        cluster_paths = [f"/v1/clusters/{c}" for c in rng.choice(stable_ids, size=50_000)]
    if url.startswith("sqlite:///"):
        rows.append(("store file (MiB)", f"{Path(url[len('sqlite:///') :]).stat().st_size / 2**20:,.0f}"))
    return account_paths, cluster_paths


def _serve_and_load(args, url: str, tmp: Path, paths: tuple[list[str], list[str]], rows: list) -> dict:
    """Serves the store in a second process and replays lookups and enforcement pulls against it."""
    port = _free_port()
    code = (
        "from service.serve import run_server; "
        f"run_server({url!r}, '127.0.0.1', {port}, api_keys={API_KEYS!r}, workers={args.workers})"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    with open(tmp / "requests.log", "w") as log:
        server = subprocess.Popen([sys.executable, "-c", code], stderr=log, env=env)
    results = {}
    try:
        _wait_ready(port, server)
        for name, replay, key in (
            ("account lookup", paths[0], ENFORCEMENT_KEY),
            ("cluster lookup", paths[1], INVESTIGATOR_KEY),
        ):
            load("127.0.0.1", port, replay[:200], key, 1.0, args.concurrency)  # warm-up
            res = load("127.0.0.1", port, replay, key, args.duration, args.concurrency, server.pid)
            results[name] = res
            rows.append(
                (
                    f"{name}: req/s, p50 ms, p99 ms",
                    f"{res['rps']:,.0f}, {res['p50_ms']:.2f}, {res['p99_ms']:.2f}"
                    f"  ({res['requests']:,} requests, {res['non_200']} non-200)",
                )
            )
            cpu_us = res["server_cpu_us_per_request"]
            rows.append(
                (
                    f"{name}: server CPU per request",
                    f"{cpu_us:,.0f} us (= {1e6 / max(cpu_us, 1):,.0f} req/s per dedicated core)",
                )
            )
        items, pages, secs = enforcement_pull(port, "ring")
        rows.append(("enforcement pull, rings (s)", f"{secs:.2f}  ({items:,} items, {pages} pages)"))
        items, pages, secs = enforcement_pull(port, None)
        rows.append(("enforcement pull, all clusters (s)", f"{secs:.2f}  ({items:,} items, {pages} pages)"))
    finally:
        server.terminate()
        server.wait(timeout=30)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.service", description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--clusters", type=int, default=20_000)
    parser.add_argument("--rings", type=int, default=2_000)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per load scenario")
    parser.add_argument("--concurrency", type=int, default=16, help="keep-alive connections")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--store", help="SQLAlchemy URL (default: a SQLite file in a temp folder)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--no-calibrate", dest="calibrate", action="store_false", help="skip the one-route FastAPI baseline"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary store and request log")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="ringscope-bench-"))
    url = args.store or f"sqlite:///{tmp / 'verdicts.db'}"
    rows: list[tuple[str, str]] = []
    paths = _publish_two_runs(args, url, rows)
    results = _serve_and_load(args, url, tmp, paths, rows)
    if args.calibrate:
        res = calibrate(args.duration, args.concurrency, tmp)
        results["calibration"] = res
        rows.append(
            (
                "baseline one-route FastAPI: req/s, p50, p99",
                f"{res['rps']:,.0f}, {res['p50_ms']:.2f}, {res['p99_ms']:.2f}"
                f"  ({res['server_cpu_us_per_request']:,.0f} us CPU per request)",
            )
        )
    with open(tmp / "requests.log") as log:
        lines = sum(1 for line in log if line.startswith("{"))
    rows.append(("request log lines", f"{lines:,}"))
    rows.append(("concurrency / workers / cpus", f"{args.concurrency} / {args.workers} / {os.cpu_count()}"))
    rows.append(("load average (1 min)", f"{os.getloadavg()[0]:.2f}"))
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
        url += "  (deleted; --keep keeps it)"
    width = max(len(k) for k, _ in rows)
    print(f"{'measure':<{width}}  value")
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    print(json.dumps({"url": url, **{k: v for k, v in results.items()}}, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
