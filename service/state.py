"""What ``ringscope update`` keeps between runs of one dataset, and how a new batch joins it.

A dataset's state is a folder ``STATE/<dataset>/`` (``--state``, ``RINGSCOPE_STATE``, default
``./ringscope-state``):

- ``parts/events-NNNNNN.parquet``: the rows each update added (redeliveries removed), one immutable
  file per update; the accumulated log is their concatenation in order, so an update writes only its
  own rows;
- ``accounts-NNNNNN.parquet``: the merged accounts table (the latest row of each account), rewritten
  by an update that brings one;
- ``vNNNNNN.json``: version ``N``'s manifest: the format, its parts and accounts file, the row and
  account counts, the last event time, the options of its runs (model, declared roles, columns
  switched off, the detection config's text) and one line per batch;
- ``CURRENT``: the live version's name.

An update writes its part and accounts file (each atomically, under the new version's number), then
the manifest, then switches ``CURRENT``; files no kept manifest names (a crashed update's) are removed
at the next commit. A crash at any point leaves the last committed version live, so an update either
happened or did not.

Redeliveries: a batch row identical in every shared column to a row the state already holds is a
redelivery, counted and dropped, as many times as the state holds that row (multiset semantics: a batch
delivered twice adds nothing the second time, and genuinely repeated rows, such as two logins on the
same day in a day-granularity log, are kept). Only the state's rows inside the batch's time span are
compared (a repeated row has the same timestamp), so the check costs what the batch costs. Rows older
than the state's last event (out of order) are kept and counted: the update recomputes what they
touch like any other row.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from hashlib import sha1
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from graphs.errors import InputError
from graphs.files import atomic_write

#: Bumped when the layout changes; older states are refused with a clear message.
FORMAT = 2
STATE_ENV = "RINGSCOPE_STATE"
DEFAULT_STATE = Path("ringscope-state")
CURRENT = "CURRENT"
PARTS = "parts"
#: Options an update remembers and reuses when the next one does not give them.
OPTION_KEYS = ("model", "identifiers", "targets", "ignore_column", "config_text", "engine")


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
    new_accounts: int = 0

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
    def options(self) -> dict[str, Any]:
        return dict(self.info.get("options") or {})

    @property
    def n_accounts(self) -> int:
        return int(self.info.get("accounts") or 0)

    def table(self) -> pa.Table | None:
        """The accumulated log (contract columns, then extra columns), None before the first update."""
        parts = [pq.read_table(self.folder / PARTS / name) for name in self.info.get("parts") or []]
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else pa.concat_tables(parts, promote_options="default")

    def accounts(self) -> pd.DataFrame | None:
        """The merged accounts table indexed by ``account_id``, None when no batch had one."""
        name = self.info.get("accounts_file")
        return pd.read_parquet(self.folder / name) if name else None


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
        info = json.loads((folder / f"{_version_name(version)}.json").read_text())
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


def merge_batch(old: pa.Table | None, batch: pa.Table, source: str) -> tuple[pa.Table, BatchReport]:
    """The batch's rows that are not redeliveries (see the module docstring), and what it held.

    ``new_accounts`` is left 0: the caller knows it once the accumulated log is encoded.
    """
    n = batch.num_rows
    if old is None or old.num_rows == 0 or n == 0:
        return batch, BatchReport(source, n, n, 0, 0)
    ts = batch.column("timestamp")
    lo, hi = pc.min(ts), pc.max(ts)
    old_ts = old.column("timestamp")
    near = old.filter(pc.and_(pc.greater_equal(old_ts, lo), pc.less_equal(old_ts, hi)))
    fresh = np.ones(n, dtype=bool)
    if near.num_rows:
        shared = [c for c in old.column_names if c in batch.column_names]
        h_old = _row_hashes(near.select(shared).to_pandas(), shared)
        h_new = _row_hashes(batch.select(shared).to_pandas(), shared)
        held = pd.Series(h_old).value_counts()
        nth = pd.Series(h_new).groupby(h_new).cumcount().to_numpy()
        fresh = nth >= held.reindex(h_new).fillna(0).to_numpy()
    added = batch.filter(pa.array(fresh))
    last = pc.max(old_ts).as_py()
    late = int(pc.sum(pc.less(added.column("timestamp"), last)).as_py() or 0)
    return added, BatchReport(source, n, int(fresh.sum()), int(n - fresh.sum()), late)


def joined_log(old: pa.Table | None, added: pa.Table) -> pa.Table:
    """The accumulated log after an update: the state's rows, then the added ones."""
    if old is None or old.num_rows == 0:
        return added
    return pa.concat_tables([old, added], promote_options="default")


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
    added: pa.Table,
    accounts: pd.DataFrame | None,
    options: dict[str, Any],
    batch: BatchReport,
    run_id: int | None,
    n_accounts: int,
    calibration: dict[str, Any] | None = None,
) -> DatasetState:
    """Writes the next version (the added rows, the accounts table when given, the manifest), then
    switches ``CURRENT`` to it; returns the new state.

    Args:
        accounts: the merged accounts table when this update changed it, else None (kept as it was).
        n_accounts: acting accounts of the accumulated log.
        calibration: the null scores the run's ring threshold was calibrated on, with the log's
            events and the options then (``service.update.reusable_calibration``); None: none kept.
    """
    version = state.version + 1
    tag = f"{version:06d}"
    (state.folder / PARTS).mkdir(parents=True, exist_ok=True)
    parts = list(state.info.get("parts") or [])
    if added.num_rows:
        name = f"events-{tag}.parquet"
        atomic_write(state.folder / PARTS / name, lambda p: pq.write_table(added, p))
        parts.append(name)
    accounts_file = state.info.get("accounts_file")
    if accounts is not None:
        accounts_file = f"accounts-{tag}.parquet"
        atomic_write(state.folder / accounts_file, lambda p: accounts.to_parquet(p))
    batches = [*(state.info.get("batches") or []), {**asdict(batch), "run_id": run_id, "at": _now()}]
    last = state.info.get("last_event")
    if added.num_rows:
        top = pc.max(added.column("timestamp")).as_py()
        last = top if last is None else max(last, top)
    info = {
        "format": FORMAT,
        "dataset": state.dataset,
        "version": version,
        "parts": parts,
        "accounts_file": accounts_file,
        "rows": int(state.info.get("rows") or 0) + added.num_rows,
        "accounts": n_accounts,
        "last_event": last,
        "last_run_id": run_id,
        "options": {k: options.get(k) for k in OPTION_KEYS},
        "batches": batches[-1000:],
    }
    if calibration is not None:
        info["calibration"] = {"accounts_file": accounts_file, **calibration}
    text = json.dumps(info, indent=1)
    atomic_write(state.folder / f"{_version_name(version)}.json", lambda p: Path(p).write_text(text))
    atomic_write(state.folder / CURRENT, lambda p: Path(p).write_text(_version_name(version) + "\n"))
    _prune(state.folder, keep=[info, state.info])
    return DatasetState(state.folder, state.dataset, version, info)


def _prune(folder: Path, keep: list[dict[str, Any]]) -> None:
    """Removes manifests other than the kept ones, and parts and accounts files none of them names."""
    manifests = {f"{_version_name(i['version'])}.json" for i in keep if i}
    named = {n for i in keep if i for n in (i.get("parts") or [])}
    accounts = {i.get("accounts_file") for i in keep if i}
    for child in folder.iterdir():
        stale_manifest = re.fullmatch(r"v\d+\.json", child.name) and child.name not in manifests
        stale_accounts = re.fullmatch(r"accounts-\d+\.parquet", child.name) and child.name not in accounts
        if stale_manifest or stale_accounts:
            child.unlink(missing_ok=True)
    for child in (folder / PARTS).iterdir():
        if re.fullmatch(r"events-\d+\.parquet", child.name) and child.name not in named:
            child.unlink(missing_ok=True)


def _now() -> str:
    return datetime.now(UTC).isoformat()


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
