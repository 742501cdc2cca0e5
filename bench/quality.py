"""Detection quality on generated worlds with seeds never used for tuning (9000+).

    python -m bench.quality --accounts 100000 --worlds 3 [--structure-only] [--json FILE]

Prints account ROC-AUC / AP, precision and recall of accounts with verdict ``ring``, ring recall and
precision (Jaccard >= 0.5), and the false-positive rate among benign look-alikes, per world and mean.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time

import numpy as np
import pandas as pd

from graphs.events import EventLog
from graphs.synthetic import WorldConfig, generate_world
from graphs.truth import quality_report
from service.pipeline import run_detection

TEST_SEED = 9000
KEYS = [
    "account_roc_auc",
    "account_ap",
    "account_precision",
    "account_recall",
    "ring_recall",
    "ring_precision",
    "lookalike_fp_rate",
]


def evaluate(n_accounts: int, seed: int, model) -> dict:
    world = generate_world(WorldConfig(n_accounts=n_accounts, seed=seed))
    log = EventLog.from_frame(world.events, source=f"test world {seed}")
    t = time.perf_counter()
    det = run_detection(log, world.accounts.set_index("account_id"), model=model)
    seconds = time.perf_counter() - t
    rep = quality_report(det.accounts, det.clusters, world.labels.set_index("account_id"))
    rep["seed"] = seed
    rep["detect_seconds"] = round(seconds, 2)
    graph_stages = {f"graph.{k}": v for k, v in det.params.get("graph_timings_s", {}).items()}
    rep["stage_seconds"] = {**graph_stages, **det.params["timings_s"]}
    rep["peak_rss_gb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)
    # The null copy is scored in a second process on big logs: its own peak.
    rep["null_process_peak_rss_gb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20, 2)
    return rep


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--worlds", type=int, default=3)
    ap.add_argument("--structure-only", action="store_true", help="no GNN model")
    ap.add_argument("--model", default="default", help="model directory, or 'default'")
    ap.add_argument("--json", default=None, help="write the reports to this file")
    ap.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes per detect (RINGSCOPE_WORKERS; 1: the null copy in line)",
    )
    args = ap.parse_args(argv)
    model = None if args.structure_only else args.model
    if args.workers is not None:
        os.environ["RINGSCOPE_WORKERS"] = str(args.workers)
    reports = [evaluate(args.accounts, TEST_SEED + i, model) for i in range(args.worlds)]
    df = pd.DataFrame(reports).set_index("seed")
    pd.set_option("display.width", 200)
    print(df[KEYS + ["detect_seconds", "peak_rss_gb", "null_process_peak_rss_gb"]].round(4).to_string())
    print("mean:", json.dumps({k: round(float(np.nanmean(df[k])), 4) for k in KEYS}))
    stages = pd.DataFrame([r["stage_seconds"] for r in reports], index=df.index).T
    print("stage seconds (graph build sub-stages first, then the pipeline's):")
    print(stages.round(2).to_string())
    for r in reports:
        print(
            r["seed"],
            "recall by kind",
            r.get("ring_recall_by_kind"),
            "look-alike FP",
            r.get("lookalike_fp_by_kind"),
        )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(reports, fh, indent=1, default=float)


if __name__ == "__main__":
    main()
