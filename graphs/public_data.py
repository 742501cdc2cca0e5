"""Where data lives, the public datasets ringscope benchmarks on, and how they become event logs.

Data is looked for in :func:`data_dirs`: ``RINGSCOPE_DATA`` (default ``./data``, the checkout's
``data/`` folder when run from its root), then ``../shared/data`` beside the checkout. Nothing large is
committed: ``data/README.md`` says how each dataset is obtained; this module converts them.

* **YelpChi** (Rayana & Akoglu, KDD 2015; research use only): the raw review metadata
  ``yelpchi_metadata.gz`` (``user_id prod_id rating label date`` per line) becomes the event log of
  ``yelpchi_eventlog.zip`` with :func:`yelpchi_from_metadata` (``events.csv.gz``, ``labels.csv``,
  ``review_labels.csv.gz``); :func:`load_yelpchi` reads either form.
* **CooRTweet** coordination logs (Righetti et al.; MIT, unlabelled): ``russian_coord_tweets`` (one
  retweet per row) and ``german_elections`` (posts with up to four shared identifiers) become event
  logs with :func:`coortweet_events`; :func:`load_coortweet` reads them from the zip or a folder.
* **sample**: ``data/sample/`` is a small generated world committed for first steps
  (:func:`sample_paths`; made by ``ringscope data convert sample --out data/sample``).
"""

from __future__ import annotations

import gzip
import io
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from graphs.errors import InputError
from graphs.events import EventLog, load_events, load_labels
from graphs.files import atomic_write

DATA_ENV = "RINGSCOPE_DATA"
#: The generated world committed in ``data/sample`` (regime, accounts, seed): small, every ring kind.
SAMPLE_WORLD = ("minutes", 3000, 1)
YELPCHI_FILES = ("yelpchi_eventlog.zip", "yelpchi_metadata.gz")
COORTWEET_FILE = "coortweet_coordination_logs.zip"
COORTWEET_LOGS = ("russian_coord_tweets", "german_elections")
#: CooRTweet's German election log: the identifier columns and the entity type each becomes.
GERMAN_IDENTIFIERS = {
    "url_id": "url",
    "hashtag_id": "hashtag",
    "domain_id": "domain",
    "phash_id": "image_phash",
}


def data_dir() -> Path:
    """``RINGSCOPE_DATA`` if set, else ``./data``."""
    return Path(os.environ.get(DATA_ENV) or "data")


def data_dirs() -> list[Path]:
    """Folders searched for data, in order: :func:`data_dir`, then ``../shared/data``."""
    dirs = [data_dir(), Path.cwd().parent / "shared" / "data"]
    out: list[Path] = []
    for d in dirs:
        if d.resolve() not in {o.resolve() for o in out}:
            out.append(d)
    return out


def find_data_file(*names: str, path: str | Path | None = None) -> Path:
    """The first of ``names`` found in ``path`` (a file or folder) or else in :func:`data_dirs`.

    Raises:
        InputError: naming every place looked in and pointing to ``data/README.md``.
    """
    dirs = data_dirs()
    if path is not None:
        path = Path(path)
        if path.is_file():
            return path
        dirs = [path]
    looked = [d / n for d in dirs for n in names]
    for candidate in looked:
        if candidate.is_file():
            return candidate
    raise InputError(
        " or ".join(names),
        f"not found (looked for {', '.join(map(str, looked))}); data/README.md says how to obtain it; "
        f"put it in {data_dir()} or set {DATA_ENV}",
    )


# --------------------------------------------------------------------------- YelpChi


def yelpchi_from_metadata(path: str | Path) -> dict[str, pd.DataFrame]:
    """The YelpChi event log from the raw metadata file (``user_id prod_id rating label date``).

    Returns ``events`` (``account_id=u<user>, timestamp=<date>, action=review,
    entity_type=product, entity_id=p<prod>, rating, in_caregnn_subset``: 1 for reviews of products
    with at most 800 reviews, the CARE-GNN subset), ``labels`` (``account_id, is_bot``: 1 when the
    user has a review Yelp filtered, ``label`` -1; users in order of first appearance) and
    ``review_labels`` (``account_id, entity_id, timestamp, is_filtered_review``; keep them out of
    any model input).
    """
    path = Path(path)
    try:
        raw = pd.read_csv(
            path,
            sep=r"\s+",
            header=None,
            names=["user", "prod", "rating", "label", "date"],
            dtype={"user": str, "prod": str, "rating": float, "label": int, "date": str},
            compression="infer",
        )
    except (OSError, ValueError, EOFError) as exc:
        raise InputError(
            str(path), f"not YelpChi metadata (user_id prod_id rating label date): {exc}"
        ) from exc
    bad = ~raw["label"].isin([-1, 1])
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0]) + 1
        got = raw["label"][row - 1]
        raise InputError(str(path), f"expected -1 or 1, got {got}", row=row, column="label")
    reviews = raw["prod"].map(raw["prod"].value_counts())
    events = pd.DataFrame(
        {
            "account_id": "u" + raw["user"],
            "timestamp": raw["date"],
            "action": "review",
            "entity_type": "product",
            "entity_id": "p" + raw["prod"],
            "rating": raw["rating"].round().astype(int),
            "in_caregnn_subset": (reviews <= 800).astype(int),
        }
    )
    filtered = (raw["label"] == -1).astype(int)
    labels = (
        pd.DataFrame({"account_id": events["account_id"], "is_bot": filtered})
        .groupby("account_id", sort=False)["is_bot"]
        .max()
        .reset_index()
    )
    review_labels = pd.DataFrame(
        {
            "account_id": events["account_id"],
            "entity_id": events["entity_id"],
            "timestamp": events["timestamp"],
            "is_filtered_review": filtered,
        }
    )
    return {"events": events, "labels": labels, "review_labels": review_labels}


def write_yelpchi_eventlog(metadata: str | Path, out: str | Path) -> Path:
    """Writes ``yelpchi_eventlog.zip`` (the three tables of :func:`yelpchi_from_metadata`), atomically."""
    tables = yelpchi_from_metadata(metadata)
    out = Path(out)
    if out.is_dir() or not out.suffix:
        out = out / "yelpchi_eventlog.zip"
    out.parent.mkdir(parents=True, exist_ok=True)
    members = {
        "events.csv.gz": _gzip_csv(tables["events"]),
        "labels.csv": tables["labels"].to_csv(index=False).encode(),
        "review_labels.csv.gz": _gzip_csv(tables["review_labels"]),
    }

    def write(tmp: str) -> None:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as z:
            for name, blob in members.items():
                z.writestr(name, blob)

    atomic_write(out, write)
    return out


def load_yelpchi(path: str | Path | None = None) -> tuple[EventLog, pd.DataFrame]:
    """The YelpChi event log and its user labels, from ``yelpchi_eventlog.zip`` or the raw metadata.

    Args:
        path: the zip, the metadata file or a folder holding either; default :func:`data_dirs`.
    """
    file = find_data_file(*YELPCHI_FILES, path=path)
    if file.suffix == ".zip":
        with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(file) as z:
            z.extractall(tmp)
            return load_events(Path(tmp) / "events.csv.gz"), load_labels(Path(tmp) / "labels.csv")
    tables = yelpchi_from_metadata(file)
    return EventLog.from_frame(tables["events"], source=str(file)), tables["labels"]


# --------------------------------------------------------------------------- CooRTweet


def coortweet_events(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """A CooRTweet log as a ringscope event log (the rules of ``data/README.md``).

    ``russian_coord_tweets``: one ``share`` of ``content`` ``object_id`` (the retweeted tweet) per
    row at ``timestamp_share``. ``german_elections``: one ``post`` row per non-empty identifier of a
    post (url, hashtag, domain, image_phash).
    """
    if name == "russian_coord_tweets":
        need = ["account_id", "object_id", "timestamp_share"]
        _need(frame, need, name)
        return pd.DataFrame(
            {
                "account_id": frame["account_id"].astype(str),
                "timestamp": frame["timestamp_share"].astype("int64"),
                "action": "share",
                "entity_type": "content",
                "entity_id": frame["object_id"].astype(str),
            }
        )
    if name == "german_elections":
        _need(frame, ["account_id", "timestamp", *GERMAN_IDENTIFIERS], name)
        parts = []
        for column, kind in GERMAN_IDENTIFIERS.items():
            rows = frame[frame[column].notna()]
            parts.append(
                pd.DataFrame(
                    {
                        "account_id": rows["account_id"].astype(str),
                        "timestamp": rows["timestamp"].astype("int64"),
                        "action": "post",
                        "entity_type": kind,
                        "entity_id": rows[column].astype("int64").astype(str),
                    }
                )
            )
        return pd.concat(parts, ignore_index=True).sort_values("timestamp", kind="stable", ignore_index=True)
    raise InputError(name, f"not a CooRTweet log; available: {', '.join(COORTWEET_LOGS)}")


def load_coortweet(name: str = "russian_coord_tweets", path: str | Path | None = None) -> EventLog:
    """One CooRTweet log as an :class:`EventLog` (from the zip, or a folder holding ``NAME.csv.gz``)."""
    if name not in COORTWEET_LOGS:
        raise InputError(name, f"not a CooRTweet log; available: {', '.join(COORTWEET_LOGS)}")
    file = find_data_file(COORTWEET_FILE, f"{name}.csv.gz", path=path)
    if file.suffix == ".zip":
        with zipfile.ZipFile(file) as z:
            frame = pd.read_csv(io.BytesIO(z.read(f"{name}.csv.gz")), compression="gzip")
    else:
        frame = pd.read_csv(file)
    return EventLog.from_frame(coortweet_events(frame, name), source=f"{file} ({name})")


def _need(frame: pd.DataFrame, columns: list[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(f"CooRTweet log {name}", f"columns {missing} missing (has {list(frame.columns)})")


def _gzip_csv(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz:
        gz.write(frame.to_csv(index=False).encode())
    return buf.getvalue()


# --------------------------------------------------------------------------- the committed sample


def sample_dir() -> Path:
    """``data/sample`` of the checkout (the committed first-steps world)."""
    return Path(__file__).resolve().parents[1] / "data" / "sample"


def sample_paths() -> dict[str, Path]:
    """``events``, ``accounts`` and ``labels`` of the sample world: ``RINGSCOPE_DATA/sample``, else
    the checkout's ``data/sample``."""
    d = next(
        (d for d in (data_dir() / "sample", sample_dir()) if (d / "events.csv.gz").is_file()), sample_dir()
    )
    paths = {k: d / f"{k}.csv.gz" for k in ("events", "accounts", "labels")}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise InputError(
            missing[0], "sample world missing; make it with: ringscope data convert sample --out data/sample"
        )
    return paths


def write_sample(out: str | Path | None = None) -> dict[str, Path]:
    """(Re)makes the committed sample world of :data:`SAMPLE_WORLD` with the generator."""
    from graphs.synthetic import write_world
    from graphs.synthetic.regimes import generate_regime_world

    regime, n, seed = SAMPLE_WORLD
    return write_world(generate_regime_world(regime, n, seed), Path(out or sample_dir()), fmt="csv.gz")
