"""Incremental updates against full runs: time, peak memory, equivalence, and how early rings are caught.

    python -m bench.incremental [--accounts 200000] [--new-share 0.01] [--regimes minutes,day,hours]
                                [--equiv-accounts 20000] [--slices 6] [--json out/incremental.json]

Four parts, all on generated worlds with evaluation seeds (9000+, never used for tuning):

1. **Speed** (``--accounts``, default regime): the log cut by time at ``1 - new_share``; the first part
   goes in as the dataset's first update, then the last ``new_share`` of the events as the timed
   update, against a full ``detect`` of all the events (detection and publishing to a fresh store,
   what ``ringscope detect`` does) in the same run: the baseline. The timed update runs twice on
   copies of the same state: once reusing the first update's null scores (the default while the log
   has grown less than ``--recalibrate-growth``), once scoring the null copy again.
   Peak memory of this process (``ru_maxrss``) after each; the null copy of logs of 1M events and
   more is scored in a second process, whose peak is reported apart.
2. **Equivalence** (``--regimes``, ``--equiv-accounts``): per regime, the log in three time slices
   (80%, 10%, 10%) through three updates, against one full run on all events: share of accounts with
   the same verdict, ring clusters matched at Jaccard >= 0.9.
3. **Locality** (``--locality-accounts``): how many accounts a batch of the last ``new_share`` of the
   events can touch (what a region recompute would have to redo).
4. **How early** (``--slices``): the world fed in equal time slices; for every ring member the
   update after which it was first a ``ring`` verdict, and how many of its own events the log held
   then (the ones seen before are in the log; the model is never retrained).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from graphs.events import EventLog
from graphs.synthetic import WorldConfig, generate_world
from graphs.synthetic.regimes import generate_regime_world
from graphs.truth import run_agreement
from service.outputs import check_out_dir
from service.pipeline import DetectParams, run_detection
from service.runs import detect_and_publish
from service.store import Store
from service.update import update_and_publish

EVAL_SEED = 9000


def peak_gb(who: int = resource.RUSAGE_SELF) -> float:
    return round(resource.getrusage(who).ru_maxrss / 2**20, 2)


def arrow(frame: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(frame, preserve_index=False)


def slices(events: pd.DataFrame, cuts) -> list[pd.DataFrame]:
    ts = events["timestamp"].to_numpy()
    edges = [-np.inf, *np.quantile(ts, cuts), np.inf]
    return [arrow(events[(ts > lo) & (ts <= hi)]) for lo, hi in zip(edges[:-1], edges[1:], strict=True)]


class Dataset:
    """A throwaway store, state and output folder that updates go through."""

    def __init__(self, name: str = "bench", copy_of: Path | None = None) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="ringscope-incremental-"))
        if copy_of is not None:
            shutil.copytree(copy_of, self.root, dirs_exist_ok=True)
        self.store = Store(f"sqlite:///{self.root / 'store.db'}")
        self.out = check_out_dir(self.root / "out")
        self.name = name

    def update(self, rows: pa.Table, source: str, accounts: Path | None = None, **kw):
        return update_and_publish(
            rows,
            source,
            self.name,
            self.root / "state",
            self.store,
            self.out,
            {"model": "default"},
            lambda _o: DetectParams(),
            accounts_path=accounts,
            **kw,
        )

    def clone(self) -> Dataset:
        """A copy of this dataset's store, state and outputs, to run the same update two ways."""
        return Dataset(self.name, copy_of=self.root)

    def accounts(self) -> pd.DataFrame:
        return pd.read_csv(self.out / "accounts.csv")

    def close(self) -> None:
        self.store.close()
        shutil.rmtree(self.root, ignore_errors=True)


def accounts_file(world, folder: Path) -> Path:
    path = folder / "accounts.csv"
    world.accounts.to_csv(path, index=False)
    return path


def speed(n_accounts: int, new_share: float) -> dict:
    world = generate_world(WorldConfig(n_accounts=n_accounts, seed=EVAL_SEED))
    first, new = slices(world.events, (1 - new_share,))
    ds = Dataset()
    try:
        acc = accounts_file(world, ds.root)
        t = time.perf_counter()
        ds.update(first, "first part", acc)
        first_s = time.perf_counter() - t
        # The same update with the null copy scored again (what every update did before the
        # calibration was kept, and what one does once the log has grown by --recalibrate-growth).
        twin = ds.clone()
        try:
            t = time.perf_counter()
            twin.update(new, "new events", recalibrate_growth=0.0)
            recalibrated_s = time.perf_counter() - t
        finally:
            twin.close()
        t = time.perf_counter()
        up = ds.update(new, "new events")
        update_s = time.perf_counter() - t
        update_peak = peak_gb()
        inc = ds.accounts()
    finally:
        ds.close()
    # The baseline is what a user would do instead: `ringscope detect` of the whole log (detect and
    # publish to a fresh store), timed the same way.
    log = EventLog.from_frame(world.events, source="full")
    base = Dataset()
    try:
        t = time.perf_counter()
        full = detect_and_publish(
            log, world.accounts.set_index("account_id"), "default", base.out, base.store, dataset="full"
        )
        full_s = time.perf_counter() - t
    finally:
        base.close()
    detect_s = sum(full.detection.params["timings_s"].values())
    agree = run_agreement(inc, full.detection.accounts)
    return {
        "accounts": n_accounts,
        "events": len(world.events),
        "new_events": new.num_rows,
        "first_update_s": round(first_s, 2),
        "update_s": round(update_s, 2),
        "full_detect_s": round(full_s, 2),
        "full_detect_pipeline_s": round(detect_s, 2),
        "update_over_full": round(update_s / full_s, 3),
        "update_recalibrated_s": round(recalibrated_s, 2),
        "update_recalibrated_over_full": round(recalibrated_s / full_s, 3),
        "null_reused": bool(up.run.detection.params["calibration"].get("null_reused")),
        "update_stages_s": up.run.detection.params["timings_s"],
        "peak_rss_gb_after_update": update_peak,
        "peak_rss_gb": peak_gb(),
        "null_process_peak_rss_gb": peak_gb(resource.RUSAGE_CHILDREN),
        **{f"equiv_{k}": v for k, v in agree.items()},
    }


def equivalence(regime: str, n_accounts: int, seed: int) -> dict:
    world = generate_regime_world(regime, n_accounts, seed)
    ds = Dataset()
    try:
        acc = accounts_file(world, ds.root)
        for i, part in enumerate(slices(world.events, (0.8, 0.9))):
            ds.update(part, f"slice {i}", acc if i == 0 else None)
        inc = ds.accounts()
    finally:
        ds.close()
    log = EventLog.from_frame(world.events, source="full")
    full = run_detection(log, world.accounts.set_index("account_id"), model="default")
    return {"regime": regime, "seed": seed, **run_agreement(inc, full.accounts)}


def how_early(n_accounts: int, n_slices: int, seed: int) -> dict:
    """When each ring member is first flagged as the log arrives in ``n_slices`` time slices."""
    world = generate_world(WorldConfig(n_accounts=n_accounts, seed=seed))
    labels = world.labels.set_index("account_id")
    members = labels.index[labels["is_bot"] == 1]
    ev = world.events
    cuts = np.linspace(0, 1, n_slices + 1)[1:-1]
    parts = slices(ev, cuts)
    caught_at = pd.Series(-1, index=members)
    events_then = pd.Series(0, index=members)
    ds = Dataset()
    seen = pd.Series(0, index=members)
    first_slice = pd.Series(-1, index=members)
    try:
        acc = accounts_file(world, ds.root)
        for i, part in enumerate(parts):
            counts = (
                part.column("account_id")
                .to_pandas()
                .astype(str)
                .value_counts()
                .reindex(members)
                .fillna(0)
                .astype(int)
            )
            seen = seen + counts
            first_slice[(first_slice < 0) & (seen > 0)] = i
            ds.update(part, f"slice {i}", acc if i == 0 else None)
            v = ds.accounts().set_index("account_id")["verdict"].reindex(members)
            new = (caught_at < 0) & (v == "ring").to_numpy()
            caught_at[new] = i
            events_then[new] = seen[new]
    finally:
        ds.close()
    active = first_slice >= 0
    caught = caught_at >= 0
    delay = (caught_at - first_slice)[caught & active]
    total = ev["account_id"].value_counts().reindex(members).fillna(0)
    share_seen = (events_then[caught] / total[caught].clip(lower=1)).to_numpy()
    return {
        "seed": seed,
        "accounts": n_accounts,
        "slices": n_slices,
        "slice_days": round((ev["timestamp"].max() - ev["timestamp"].min()) / 86400 / n_slices, 1),
        "ring_members": int(len(members)),
        "caught": int(caught.sum()),
        "caught_in_first_update_seen": round(float((delay == 0).mean()), 3) if len(delay) else None,
        "caught_within_one_more": round(float((delay <= 1).mean()), 3) if len(delay) else None,
        "median_events_when_caught": float(np.median(events_then[caught])) if caught.any() else None,
        "p90_events_when_caught": float(np.quantile(events_then[caught], 0.9)) if caught.any() else None,
        "median_share_of_own_events_seen": round(float(np.median(share_seen)), 3) if caught.any() else None,
        "caught_per_slice": caught_at[caught].value_counts().sort_index().to_dict(),
    }


def locality(n_accounts: int, new_share: float, max_users: int = 50) -> dict:
    """How much of the graph the last ``new_share`` of the events can touch: accounts acting in the
    batch, new (account, entity) pairs (repeat logins and re-likes change no pair), accounts on an
    entity the batch gave a new pair (with at most ``max_users`` users: below the hub caps), and
    accounts that acted on such an entity within the day before the batch."""
    world = generate_world(WorldConfig(n_accounts=n_accounts, seed=EVAL_SEED))
    log = EventLog.from_frame(world.events, source="locality")
    ts = log.timestamp
    new = ts > np.quantile(ts, 1 - new_share)
    key = log.account.astype(np.int64) * log.n_entities + log.entity
    fresh = pd.Index(pd.unique(key[~new])).get_indexer(key[new]) < 0
    touched = np.zeros(log.n_entities, dtype=bool)
    touched[log.entity[new][fresh]] = True
    small = touched & (log.entity_users <= max_users)
    on_small = np.unique(log.account[small[log.entity]]).size
    day = touched[log.entity] & (ts > ts[new].min() - 86400)
    return {
        "accounts": log.n_accounts,
        "batch_rows": int(new.sum()),
        "acting_in_batch": int(np.unique(log.account[new]).size),
        "with_new_pair": int(np.unique(log.account[new][fresh]).size),
        "new_pairs": int(fresh.sum()),
        "on_touched_small_entities": int(on_small),
        "on_touched_entities_within_a_day": int(np.unique(log.account[day]).size),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--accounts", type=int, default=200_000, help="world size of the speed part (0: skip)")
    ap.add_argument("--new-share", type=float, default=0.01, help="share of the events in the timed update")
    ap.add_argument(
        "--regimes", default="minutes,day,hours", help="regimes of the equivalence part ('': skip)"
    )
    ap.add_argument("--equiv-accounts", type=int, default=20_000)
    ap.add_argument("--slices", type=int, default=6, help="time slices of the how-early part (0: skip)")
    ap.add_argument("--early-accounts", type=int, default=20_000)
    ap.add_argument(
        "--locality-accounts", type=int, default=100_000, help="world of the locality part (0: skip)"
    )
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    report: dict = {}
    pd.set_option("display.width", 200)
    if args.regimes:
        rows = [
            equivalence(r, args.equiv_accounts, EVAL_SEED + i) for i, r in enumerate(args.regimes.split(","))
        ]
        report["equivalence"] = rows
        print("equivalence: three updates (80% / 10% / 10% of the events by time) against one full run")
        print(pd.DataFrame(rows).to_string(index=False))
    if args.slices:
        early = how_early(args.early_accounts, args.slices, EVAL_SEED + 50)
        report["how_early"] = early
        print("how early ring members are caught, the log fed in time slices:")
        print(json.dumps(early, indent=1))
    if args.locality_accounts:
        loc = locality(args.locality_accounts, args.new_share)
        report["locality"] = loc
        share = {
            k: f"{v / loc['accounts']:.1%}"
            for k, v in loc.items()
            if k not in ("accounts", "batch_rows", "new_pairs")
        }
        print(f"locality of a batch of the last {args.new_share:.0%} of the events:", json.dumps(loc), share)
    if args.accounts:
        sp = speed(args.accounts, args.new_share)
        report["speed"] = sp
        print(f"speed: one update of {sp['new_events']:,} new events against a full run of {sp['events']:,}")
        table = pd.DataFrame(
            [
                {"run": "full detect and publish (baseline)", "seconds": sp["full_detect_s"]},
                {"run": "first update (state written)", "seconds": sp["first_update_s"]},
                {
                    "run": f"update with {args.new_share:.0%} new events, null copy scored again",
                    "seconds": sp["update_recalibrated_s"],
                },
                {
                    "run": f"update with {args.new_share:.0%} new events, null scores reused",
                    "seconds": sp["update_s"],
                },
            ]
        )
        print(table.to_string(index=False))
        print(
            f"update / full = {sp['update_over_full']} (null copy scored again: "
            f"{sp['update_recalibrated_over_full']}); peak RSS {sp['peak_rss_gb']} GB "
            f"(null process {sp['null_process_peak_rss_gb']} GB); update stages {sp['update_stages_s']}"
        )
        print("equivalence of that update:", {k: v for k, v in sp.items() if k.startswith("equiv_")})
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=1, default=float))


if __name__ == "__main__":
    main()
