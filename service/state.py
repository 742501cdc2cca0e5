"""What ``ringscope update`` keeps between runs of one dataset, and how a new batch joins it.

A dataset's state is a folder ``STATE/<dataset>/`` (``--state``, ``RINGSCOPE_STATE``, default
``./ringscope-state``) holding numbered versions ``v000001/``, ``v000002/``, ... and a ``CURRENT`` file
naming the live one. A version holds

- ``events.parquet``: the dataset's accumulated event log, every batch so far, redeliveries removed;
- ``accounts.parquet``: the merged accounts table (the latest row of each account), when one was given;
- ``state.json``: the format, the row and account counts, the last event time, the options of the runs
  (model, declared roles, columns switched off, the detection config's text) and one line per batch.

A new version is written whole into a hidden folder, renamed into place, and only then does
``CURRENT`` (written atomically) name it; the previous version is kept until the next commit. A crash
at any point leaves the last committed version live, so an update either happened or did not.

Redeliveries: a batch row identical in every shared column to a row the state already holds is a
redelivery, counted and dropped, as many times as the state holds that row (multiset semantics: a batch
delivered twice adds nothing the second time, and genuinely repeated rows, such as two logins on the
same day in a day-granularity log, are kept). Rows older than the state's last event (out of order)
are kept and counted: the update recomputes what they touch like any other row.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from hashlib import sha1
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from graphs.errors import InputError
from graphs.events import EventLog
from graphs.files import _umask, atomic_write

#: Bumped when the layout of a version changes; older states are refused with a clear message.
FORMAT = 1
STATE_ENV = "RINGSCOPE_STATE"
DEFAULT_STATE = Path("ringscope-state")
CURRENT = "CURRENT"
#: Options an update remembers and reuses when the next one does not give them.
OPTION_KEYS = ("model", "identifiers", "targets", "ignore_column", "config_text")


def state_root(state: str | os.PathLike[str] | None = None) -> Path:
    """``--state``, else ``RINGSCOPE_STATE``, else ``./ringscope-state``."""
    return Path(state or os.environ.get(STATE_ENV) or DEFAULT_STATE)


def dataset_folder(root: Path, dataset: str) -> Path:
    """The folder of one dataset: its name made safe for a path, plus a short hash so that two names
    that clean up the same (``a/b`` and ``a_b``) never share a folder."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", dataset).strip("._") or "dataset"
    return root / f"{safe[:60]}-{sha1(dataset.encode()).hexdigest()[:8]}"


@dataclass
class BatchReport:
    """What one batch added.

    Attributes:
        source: the batch's file(s).
        rows: rows read.
        added: rows added to the log.
        redelivered: rows the state already held (dropped).
        out_of_order: added rows older than the state's last event before the batch.
        new_accounts: accounts the log had not seen before.
    """

    source: str
    rows: int
    added: int
    redelivered: int
    out_of_order: int
    new_accounts: int

    def line(self) -> str:
        parts = [f"{self.added:,} new"]
        if self.redelivered:
            parts.append(f"{self.redelivered:,} already seen (redelivered, dropped)")
        if self.out_of_order:
            parts.append(f"{self.out_of_order:,} older than the log's last event (out of order, kept)")
        return f"read {self.rows:,} rows: " + ", ".join(parts) + f"; {self.new_accounts:,} new accounts"


@dataclass
class DatasetState:
    """One committed version of a dataset's state (or none yet: ``version == 0``)."""

    folder: Path
    dataset: str
    version: int = 0
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def exists(self) -> bool:
        return self.version > 0

    @property
    def live(self) -> Path:
        return self.folder / _version_name(self.version)

    @property
    def events_path(self) -> Path:
        return self.live / "events.parquet"

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.info.get("options") or {})

    def events(self) -> pd.DataFrame | None:
        """The accumulated log as a frame (contract columns, then extra columns), None before the first."""
        return pd.read_parquet(self.events_path) if self.exists else None

    def accounts(self) -> pd.DataFrame | None:
        """The merged accounts table indexed by ``account_id``, None when no batch had one."""
        path = self.live / "accounts.parquet"
        return pd.read_parquet(path) if self.exists and path.exists() else None


def load_state(root: Path, dataset: str) -> DatasetState:
    """The dataset's committed state (an empty one when it has none).

    Raises:
        InputError: the state folder is unreadable or of a format this version cannot read.
    """
    folder = dataset_folder(root, dataset)
    current = folder / CURRENT
    if not current.exists():
        return DatasetState(folder, dataset)
    name = f"--state {root}"
    try:
        version = int(current.read_text().strip().removeprefix("v"))
        info = json.loads((folder / _version_name(version) / "state.json").read_text())
    except (OSError, ValueError) as exc:
        raise InputError(
            name, f"the state of dataset {dataset!r} in {folder} is unreadable ({exc})"
        ) from None
    if info.get("format") != FORMAT or info.get("dataset") != dataset:
        raise InputError(
            name,
            f"{folder} holds state format {info.get('format')!r} of dataset {info.get('dataset')!r}; "
            f"this ringscope reads format {FORMAT} (run `ringscope update` into a new --state folder)",
        )
    return DatasetState(folder, dataset, version, info)


def log_frame(log: EventLog) -> pd.DataFrame:
    """An event log as a frame: the contract's columns (timestamps in Unix seconds) and its extra columns."""
    df = log.to_frame()
    for name, values in log.attributes.items():
        if name not in df.columns:
            df[name] = values
    return df


def merge_events(
    old: pd.DataFrame | None, batch: pd.DataFrame, source: str
) -> tuple[pd.DataFrame, BatchReport]:
    """The accumulated log with ``batch`` appended, redeliveries dropped (see the module docstring)."""
    n = len(batch)
    if old is None or len(old) == 0:
        report = BatchReport(source, n, n, 0, 0, int(batch["account_id"].nunique()) if n else 0)
        return batch.reset_index(drop=True), report
    shared = [c for c in old.columns if c in batch.columns]
    h_old = _row_hashes(old, shared)
    h_new = _row_hashes(batch, shared)
    held = pd.Series(h_old).value_counts()
    nth = pd.Series(h_new).groupby(h_new).cumcount().to_numpy()
    seen = held.reindex(h_new).fillna(0).to_numpy()
    fresh = nth >= seen
    added = batch.loc[fresh]
    last = int(old["timestamp"].max())
    known = pd.Index(old["account_id"].astype(str).unique())
    new_acc = pd.Index(added["account_id"].astype(str).unique()).difference(known)
    report = BatchReport(
        source,
        n,
        int(fresh.sum()),
        int(n - fresh.sum()),
        int((added["timestamp"].to_numpy() < last).sum()),
        len(new_acc),
    )
    merged = pd.concat([_plain(old), _plain(added)], ignore_index=True)
    return merged, report


def merge_accounts(old: pd.DataFrame | None, new: pd.DataFrame | None) -> pd.DataFrame | None:
    """The accounts table with ``new``'s rows replacing the same accounts' old rows."""
    if new is None:
        return old
    if old is None:
        return new
    kept = old.loc[~old.index.isin(new.index)]
    return pd.concat([_plain(kept), _plain(new)])


def same_table(a: pd.DataFrame | None, b: pd.DataFrame | None) -> bool:
    """Whether two accounts tables hold the same rows (whatever their dtypes and row order)."""
    if a is None or b is None:
        return a is None and b is None
    if sorted(a.columns) != sorted(b.columns) or len(a) != len(b):
        return False
    cols = sorted(a.columns)
    left = _plain(a)[cols].sort_index().astype(str)
    right = _plain(b)[cols].sort_index().astype(str)
    return bool(left.index.equals(right.index) and (left.to_numpy() == right.to_numpy()).all())


def commit(
    state: DatasetState,
    events: pd.DataFrame,
    accounts: pd.DataFrame | None,
    options: dict[str, Any],
    batch: BatchReport,
    run_id: int | None,
) -> DatasetState:
    """Writes the next version whole, then switches ``CURRENT`` to it; returns the new state."""
    state.folder.mkdir(parents=True, exist_ok=True)
    version = state.version + 1
    tmp = Path(tempfile.mkdtemp(prefix=f".{_version_name(version)}.", dir=state.folder))
    try:
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700 folders
        events.to_parquet(tmp / "events.parquet", index=False)
        if accounts is not None:
            accounts.to_parquet(tmp / "accounts.parquet")
        batches = list(state.info.get("batches") or [])
        batches.append({**batch.__dict__, "run_id": run_id, "at": datetime.now(UTC).isoformat()})
        info = {
            "format": FORMAT,
            "dataset": state.dataset,
            "version": version,
            "rows": len(events),
            "accounts": int(events["account_id"].nunique()),
            "last_event": int(events["timestamp"].max()) if len(events) else None,
            "last_run_id": run_id,
            "options": {k: options.get(k) for k in OPTION_KEYS},
            "batches": batches[-1000:],
        }
        (tmp / "state.json").write_text(json.dumps(info, indent=1))
        final = state.folder / _version_name(version)
        if final.exists():  # left by a crash after the rename, before CURRENT named it
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    atomic_write(state.folder / CURRENT, lambda p: Path(p).write_text(_version_name(version) + "\n"))
    _prune(state.folder, keep={version, state.version})
    return DatasetState(state.folder, state.dataset, version, info)


def _prune(folder: Path, keep: set[int]) -> None:
    """Removes versions other than ``keep`` and staging folders of dead writers."""
    for child in folder.iterdir():
        m = re.fullmatch(r"v(\d+)", child.name)
        if m and int(m.group(1)) not in keep:
            shutil.rmtree(child, ignore_errors=True)


def _version_name(version: int) -> str:
    return f"v{version:06d}"


def _row_hashes(df: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """A 64-bit hash of each row over ``columns``, the same for equal values whatever the dtype."""
    parts = {}
    for c in columns:
        s = df[c]
        if c == "timestamp":
            parts[c] = s.astype(np.int64)
        elif pd.api.types.is_float_dtype(s):
            parts[c] = s
        else:
            parts[c] = s.astype(object).where(s.notna(), None).astype(str)
    return pd.util.hash_pandas_object(pd.DataFrame(parts), index=False).to_numpy()


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """Categorical columns as strings, so frames with different categories concatenate cleanly."""
    out = df.copy(deep=False)
    for c in out.columns:
        if isinstance(out[c].dtype, pd.CategoricalDtype):
            out[c] = out[c].astype(object)
    return out
