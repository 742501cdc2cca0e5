"""``ringscope update`` and ``ringscope watch``: new events in, the dataset's verdicts refreshed.

One update (:func:`update_and_publish`):

1. reads the new batch (validated like any log: one error naming the file, row and column);
2. appends it to the dataset's state (:mod:`service.state`), dropping redelivered rows and counting
   out-of-order ones;
3. runs detection on the accumulated log and publishes it as the dataset's next run (clusters
   that did not change keep their stable ids and verdicts, every change reaches the change feed with
   its lifecycle step), writing ``--out`` with it;
4. commits the new state, after the publish: a crash before the commit leaves the previous state,
   and the same batch given again is then added once, giving the same verdicts.

What an update recomputes is documented in ``docs/incremental.md``: today the whole accumulated log
(the relations' chance levels, the communities and the log's null copy are global), so an update
costs a full run; what is incremental is the state: an update reads the log's parts, compares only
the rows in the batch's time span for redeliveries, and writes only its own rows.

A batch that adds no row (a redelivery) with no accounts table and the same options publishes
nothing.
"""

from __future__ import annotations

import fcntl
import importlib.metadata
import json
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from graphs.errors import InputError, RingscopeError
from graphs.events import EventLog, load_accounts, load_events

from .runs import Run, detect_and_publish
from .state import (
    OPTION_KEYS,
    BatchReport,
    DatasetState,
    commit,
    joined_log,
    load_state,
    merge_accounts,
    merge_batch,
    same_table,
)
from .store import Store

#: An update measures the log's null copy again once the log has grown by this share since the last
#: time (``--recalibrate-growth``; :func:`reusable_calibration`).
RECALIBRATE_GROWTH = 0.1

#: Files ``watch`` picks up; anything else (and hidden or temporary names) is left alone.
BATCH_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq")
DONE, FAILED = "done", "failed"


class StateBusy(RingscopeError):
    """Another update of the same dataset holds its state."""


@dataclass
class Update:
    """One update: what the batch added, the run it published (None when nothing was new), the state."""

    batch: BatchReport
    run: Run | None
    state: DatasetState
    log_rows: int
    log_accounts: int
    #: the calibration the run used: ``version`` and ``events`` when it was measured, ``reused``.
    calibration: dict[str, Any] | None = None


@contextmanager
def locked(state: DatasetState) -> Iterator[None]:
    """Holds the dataset's state for one update (a second concurrent update fails at once)."""
    state.folder.mkdir(parents=True, exist_ok=True)
    path = state.folder / ".lock"
    with open(path, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise StateBusy(
                f"another update of dataset {state.dataset!r} is running (it holds {path}); try again later"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def read_batches(paths: Sequence[Path]) -> tuple[list[tuple[Path, pa.Table]], list[tuple[Path, str]]]:
    """Loads batch files: ``(path, rows)`` of the valid logs, ``(path, one-line error)`` of the rest."""
    good, bad = [], []
    for p in paths:
        try:
            table = load_events(p).to_arrow()
        except RingscopeError as exc:
            bad.append((p, str(exc)))
        except OSError as exc:
            bad.append((p, f"{p}: cannot be read ({exc.strerror or exc})"))
        else:
            good.append((p, table))
    return good, bad


def joined(batches: Sequence[tuple[Path, pa.Table]]) -> tuple[pa.Table, str]:
    """Several loaded batches as one, and a name for them."""
    tables = [t for _, t in batches]
    table = tables[0] if len(tables) == 1 else pa.concat_tables(tables, promote_options="default")
    first = batches[0][0]
    return table, str(first) if len(batches) == 1 else f"{first} and {len(batches) - 1} more"


def update_and_publish(
    batch: pa.Table,
    source: str,
    dataset: str,
    root: Path,
    store: Store,
    out: Path,
    options: dict[str, Any],
    params_of: Callable[[dict[str, Any]], Any],
    accounts_path: Path | None = None,
    progress: Callable[[str], None] | None = None,
    recalibrate_growth: float = RECALIBRATE_GROWTH,
) -> Update:
    """Adds ``batch`` to ``dataset``'s state and publishes the refreshed verdicts.

    Args:
        batch: the new rows as an Arrow table (:func:`read_batches`, or ``EventLog.to_arrow()``).
        source: the batch's file name(s), for messages and the state's batch list.
        dataset: the dataset (ids, feed and state are per dataset).
        root: the state folder (:func:`service.state.state_root`).
        store: the verdict store.
        out: where the run's output tables go.
        options: this update's options (``service.state.OPTION_KEYS``); ``None`` values fall back to
            the state's remembered ones.
        params_of: turns the resolved options into :class:`~service.pipeline.DetectParams`.
        accounts_path: an accounts table whose rows replace the state's for the same accounts.
        progress: called with a short message as each stage starts.
        recalibrate_growth: the ring threshold's null scores are measured again once the log has
            grown by this share of its events since they were (0: at every update); see
            :func:`reusable_calibration`.
    """
    say = progress or (lambda _msg: None)
    state = load_state(root, dataset)
    with locked(state):
        state = load_state(root, dataset)  # what the last update committed, now that we hold it
        resolved = {**state.options, **{k: v for k, v in options.items() if v is not None}}
        new_accounts = load_accounts(accounts_path) if accounts_path is not None else None
        say("joining the batch to the dataset's log")
        batch = EventLog.from_arrow(batch, source).to_arrow()  # validated, in the state's column types
        old = state.table()
        added, report = merge_batch(old, batch, source)
        old_accounts = state.accounts()
        accounts = merge_accounts(old_accounts, new_accounts)
        accounts_changed = new_accounts is not None and not same_table(accounts, old_accounts)
        rows = (old.num_rows if old is not None else 0) + added.num_rows
        if rows == 0:
            raise InputError(source, "the batch has no rows and the dataset has no events yet")
        if report.added == 0 and not accounts_changed and state.exists and resolved == state.options:
            return Update(report, None, state, rows, state.n_accounts)
        log = EventLog.from_arrow(
            joined_log(old, added), source=f"{dataset} (accumulated log, {rows:,} rows)"
        )
        del old
        report.new_accounts = log.n_accounts - state.n_accounts
        params = params_of(resolved)
        model = resolved.get("model") or "default"
        kept = reusable_calibration(state, resolved, accounts_changed, log.n_events, recalibrate_growth)
        run = detect_and_publish(
            log,
            accounts,
            None if model == "none" else model,
            out,
            store,
            params,
            progress=say,
            dataset=dataset,
            null_scores=kept,
        )
        reused = kept is not None
        calibration = state.info["calibration"] if reused else None  # carried forward as measured
        if not reused and run.detection.null_scores is not None:
            calibration = {
                "events": log.n_events,
                "version": state.version + 1,
                "options": option_key(resolved),
                "null_scores": [float(x) for x in run.detection.null_scores],
            }
        say("saving the dataset's state")
        try:
            new_state = commit(
                state,
                added,
                accounts if accounts_changed else None,
                resolved,
                report,
                run.published.run_id,
                log.n_accounts,
                calibration,
            )
        except OSError as exc:
            raise InputError(
                f"--state {root}",
                f"run {run.published.run_id} was published but the state could not be saved "
                f"({exc.strerror or exc}); give the same batch again: its rows will be added once",
            ) from None
        used = None
        if calibration is not None:
            used = {"version": calibration["version"], "events": calibration["events"], "reused": reused}
        return Update(report, run, new_state, log.n_events, log.n_accounts, used)


def option_key(options: dict[str, Any]) -> str:
    """The remembered options, and this ringscope's version (its model and knobs), as one comparable
    text (absent and None alike; tuples as lists)."""
    try:
        version = importlib.metadata.version("ringscope")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    key = {k: options.get(k) for k in OPTION_KEYS}
    return json.dumps({**key, "ringscope": version}, sort_keys=True, default=str)


def reusable_calibration(
    state: DatasetState, options: dict[str, Any], accounts_changed: bool, n_events: int, growth: float
) -> np.ndarray | None:
    """The null scores of the state's last calibration when this update may reuse them, else None
    (measure them again).

    The ring threshold is calibrated on the scores of the log's null copy (the log with synchrony
    destroyed, scored by the same pipeline: as much work as the run itself). Between updates the log
    changes by a batch, so the null's score distribution barely moves: an update reuses the null
    scores of the last calibration (the threshold is still computed against this run's own cluster
    scores) while the log holds fewer than ``1 + growth`` times the events it had then, the options
    (model, roles, config) are the same and no accounts table changed since. ``growth <= 0``
    measures at every update.
    """
    cal = state.info.get("calibration")
    if growth <= 0 or not cal or accounts_changed or cal.get("options") != option_key(options):
        return None
    if cal.get("accounts_file") != state.info.get("accounts_file"):
        return None
    if n_events >= (1 + growth) * int(cal.get("events") or 0):
        return None
    return np.asarray(cal.get("null_scores") or [], dtype=np.float64)


def ready_batches(folder: Path) -> list[Path]:
    """The batch files waiting in ``folder``, in name order.

    Writers follow the atomic-rename convention: write ``.name.tmp`` (or any hidden or ``.tmp`` /
    ``.part`` name), then rename it to its final name; only final names are picked up.
    """
    out = []
    for p in sorted(folder.iterdir()):
        name = p.name
        if not p.is_file() or name.startswith((".", "~")) or name.endswith((".tmp", ".part")):
            continue
        if name.lower().endswith(BATCH_SUFFIXES):
            out.append(p)
    return out


def file_away(path: Path, where: str, note: str | None = None) -> Path:
    """Moves a processed batch to ``folder/done`` or ``folder/failed`` (with ``NAME.error.txt``)."""
    dest_dir = path.parent / where
    dest_dir.mkdir(exist_ok=True)
    dest = dest_dir / path.name
    i = 1
    while dest.exists():
        dest = dest_dir / f"{path.name}.{i}"
        i += 1
    shutil.move(str(path), dest)
    if note is not None:
        (dest_dir / f"{dest.name}.error.txt").write_text(note + "\n")
    return dest


def default_dataset(path: Path) -> str:
    """The dataset of a batch file when ``--dataset`` is not given: the name of its folder (the
    batches of one feed land in one folder); of a watched folder, its own name."""
    folder = path if path.is_dir() else path.resolve().parent
    return folder.resolve().name or "default"
