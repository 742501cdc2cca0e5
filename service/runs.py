"""One run end to end: detect, publish to the verdict store and write the output tables together.

This is the use case ``ringscope detect`` and ``ringscope demo`` run; the CLI only parses options,
shows progress and prints. The outputs are staged (with the run's stable ids) inside the publish
transaction and moved into ``out`` after the commit (:mod:`service.outputs`): if writing fails nothing
is published, and a crash after the commit is finished by the next run into ``out``
(:func:`recover_outputs`).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy.exc import SQLAlchemyError

from graphs.errors import RingscopeError
from graphs.events import EventLog

from .detection import Detection
from .outputs import crash_point, finish, recover, stage
from .pipeline import DetectParams, run_detection
from .store import PublishResult, Store


class PublishError(RingscopeError):
    """Publishing or writing the outputs failed; nothing was published."""


@dataclass
class Run:
    """What one run produced: the detection under its stable ids, the publish, the files written."""

    detection: Detection
    published: PublishResult
    paths: dict[str, Path]


def detect_and_publish(
    log: EventLog,
    accounts: pd.DataFrame | None,
    model: str | Path | None,
    out: Path,
    store: Store,
    params: DetectParams | None = None,
    progress: Callable[[str], None] | None = None,
    dataset: str | None = None,
    null_scores=None,
) -> Run:
    """Runs detection on ``log``, publishes it to ``store`` as a run of ``dataset`` (default:
    :func:`dataset_of`) and writes ``out``, all or nothing.

    ``null_scores``: an earlier calibration's null scores to reuse (:func:`run_detection`).

    Raises:
        PublishError: the outputs could not be written or the store refused the run (one line).
    """
    say = progress or (lambda _msg: None)
    dataset = dataset or dataset_of(log.source)
    detection = run_detection(
        log, accounts, model=model, params=params, progress=say, null_scores=null_scores
    )
    say("publishing to the verdict store")
    staged: dict = {}

    def write(result: PublishResult) -> None:
        renamed = detection.renamed(result.id_map)
        run = {
            "run_id": result.run_id,
            "dataset": dataset,
            "store": store.display_url,
            "store_id": store.store_id,
            "model_version": renamed.model_version,
            "detected_at": renamed.detected_at.isoformat(),
            "source": str(log.source),
        }
        staged["tmp"] = stage(renamed, out, run)
        staged["detection"] = renamed
        crash_point("staged")

    try:
        result = store.publish(detection, before_commit=write, dataset=dataset)
    except OSError as exc:
        _drop(staged)
        raise PublishError(
            f"--out {out}: cannot write the outputs ({exc.strerror or exc}); nothing was published"
        ) from None
    except SQLAlchemyError as exc:
        _drop(staged)
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        raise PublishError(
            f"publishing to {store.display_url!r} failed "
            f"({reason[0] if reason else type(exc).__name__}); nothing was published"
        ) from None
    except BaseException:
        _drop(staged)
        raise
    crash_point("committed")
    say(f"writing {out}")
    paths = finish(staged["tmp"], out)
    return Run(staged["detection"], result, paths)


def dataset_of(source: str) -> str:
    """The default dataset of a log: its folder and file name without extensions
    (``worlds/shop/events.csv.gz`` -> ``shop/events``), so two logs from different folders never
    share ids, feeds or matching unless ``--dataset`` says they do."""
    path = Path(str(source))
    name = path.name
    for suffix in (".gz", ".csv", ".parquet", ".pq"):
        name = name.removesuffix(suffix)
    folder = path.resolve().parent.name if str(source) not in ("", "<memory>") else ""
    return f"{folder}/{name}" if folder else (name or "default")


def recover_outputs(out: Path, store: Store) -> list[str]:
    """Finishes or removes what earlier crashed runs left in ``out``; one line per thing done."""
    return recover(out, store.store_id, store.has_run)


def _drop(staged: dict) -> None:
    if "tmp" in staged:
        shutil.rmtree(staged["tmp"], ignore_errors=True)
