"""The output folder of ``detect``: checked before detection, written together with the publish.

A run's outputs (``accounts.csv``, ``clusters.csv``, their Parquet twins and ``run.json``) and its
publication in the verdict store succeed or fail together:

1. :func:`check_out_dir` before detection starts: ``--out`` is (or can become) a writable folder.
2. :func:`stage` inside the publish transaction, once the run id and stable cluster ids are known:
   every file is written into a hidden folder ``OUT/.ringscope-<pid>-<random>``, with
   ``run.json`` naming the run and the store. If that fails, the transaction rolls back.
3. After the commit, :func:`finish` moves the files into place, ``run.json`` last.

A crash between the commit and the last move (kill -9) leaves a staged folder whose run is in the
store: :func:`recover` (run by the next ``detect`` into the same folder) finishes those moves; a
staged folder whose run never committed, or whose process is still alive, is removed or left alone.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from graphs.errors import InputError
from service.detection import ACCOUNT_COLUMNS, CLUSTER_COLUMNS, Detection

STAGE_PREFIX = ".ringscope-"
RUN_FILE = "run.json"
FILES = ("accounts.csv", "clusters.csv", "accounts.parquet", "clusters.parquet", RUN_FILE)


def check_out_dir(out: str | os.PathLike[str]) -> Path:
    """Makes sure ``out`` is a folder ringscope can write, creating it when missing.

    Raises:
        InputError: ``out`` is a file, sits under a file, or cannot be written.
    """
    out = Path(out)
    name = f"--out {out}"
    for parent in [out, *out.parents]:
        if parent.exists() and not parent.is_dir():
            what = "is a file" if parent == out else f"is under {parent}, which is a file"
            raise InputError(name, f"{what}; give a folder for the output tables")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=STAGE_PREFIX):
            pass
    except OSError as exc:
        raise InputError(name, f"cannot write there ({exc.strerror or exc})") from None
    return out


def stage(detection: Detection, out: Path, run: dict[str, Any]) -> Path:
    """Writes every output of ``detection`` (stable ids already applied) into a staged folder."""
    tmp = Path(tempfile.mkdtemp(prefix=f"{STAGE_PREFIX}{os.getpid()}-", dir=out))
    try:
        acc = detection.accounts[ACCOUNT_COLUMNS + _extra(detection.accounts, ACCOUNT_COLUMNS)]
        clu = detection.clusters[CLUSTER_COLUMNS + _extra(detection.clusters, CLUSTER_COLUMNS)]
        acc.to_csv(tmp / "accounts.csv", index=False, float_format="%.6g")
        clu.to_csv(tmp / "clusters.csv", index=False, float_format="%.6g")
        acc.to_parquet(tmp / "accounts.parquet", index=False)
        clu.to_parquet(tmp / "clusters.parquet", index=False)
        (tmp / RUN_FILE).write_text(json.dumps(run, indent=1, default=str) + "\n")
        for f in FILES:
            os.chmod(tmp / f, 0o644)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return tmp


def finish(tmp: Path, out: Path) -> dict[str, Path]:
    """Moves a staged folder's files into ``out`` (``run.json`` last) and removes the folder."""
    paths = {}
    for f in FILES:
        if (tmp / f).exists():
            os.replace(tmp / f, out / f)
            crash_point("moved_one")
        paths[f] = out / f
    shutil.rmtree(tmp, ignore_errors=True)
    return paths


def write_outputs(detection: Detection, out_dir: str | os.PathLike[str], run: dict | None = None):
    """Writes the outputs of ``detection`` without a store (stage, then finish at once)."""
    out = check_out_dir(out_dir)
    return finish(stage(detection, out, run or {}), out)


def recover(out: Path, store_id: int | None, committed) -> list[str]:
    """Tidies the staged folders of earlier runs that crashed; returns what was done, one line each.

    Args:
        out: the output folder.
        store_id: the id of the store this detect publishes to.
        committed: ``run_id -> bool``, whether the store holds that run.
    """
    done = []
    current = _run_id(out / RUN_FILE)
    for tmp in sorted(out.glob(f"{STAGE_PREFIX}*")):
        if not tmp.is_dir():
            tmp.unlink(missing_ok=True)
            continue
        pid = _pid(tmp.name)
        if pid is not None and pid != os.getpid() and _alive(pid):
            continue  # another detect is writing there now
        run = _read_json(tmp / RUN_FILE)
        run_id = run.get("run_id") if run else None
        ours = run is not None and run.get("store_id") == store_id and store_id is not None
        if ours and isinstance(run_id, int) and committed(run_id) and (current is None or run_id > current):
            finish(tmp, out)
            current = run_id
            done.append(f"finished writing the outputs of run {run_id}, published before a crash")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
            done.append(f"removed {tmp.name}, left by a run that did not finish")
    return done


def crash_point(name: str) -> None:
    """Fault injection for the crash tests: ``RINGSCOPE_CRASH_AT=name`` kills this process (SIGKILL)
    here, as a power cut or ``kill -9`` would. Unset in normal use."""
    if os.environ.get("RINGSCOPE_CRASH_AT") == name:
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


def _extra(frame, base: list[str]) -> list[str]:
    return [c for c in frame.columns if c not in base]


def _read_json(path: Path) -> dict | None:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _run_id(path: Path) -> int | None:
    run = _read_json(path)
    value = run.get("run_id") if run else None
    return value if isinstance(value, int) else None


def _pid(name: str) -> int | None:
    head = name[len(STAGE_PREFIX) :].split("-", 1)[0]
    return int(head) if head.isdigit() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
