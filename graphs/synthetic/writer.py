"""Writing a world to disk: CSV, gzip CSV or Parquet, each file atomically.

Each table is written to a temporary file in the target directory and moved into place with
``os.replace``, so a reader never sees half a file. CSV goes through ``pyarrow.csv`` in batches
(10M rows in seconds, bounded memory); gzip uses level 1 and a zero mtime, so the bytes only depend
on the world.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..files import atomic_write
from .world import World

FORMATS = ("csv", "csv.gz", "parquet")
_BATCH_ROWS = 1 << 20


def write_world(world: World, out_dir: str | os.PathLike, fmt: str = "csv") -> dict[str, Path]:
    """Writes ``events``, ``accounts`` and ``labels`` as ``<name>.<fmt>`` in ``out_dir``.

    Args:
        world: the generated world.
        out_dir: target directory; created if missing.
        fmt: ``"csv"``, ``"csv.gz"`` or ``"parquet"``.

    Returns:
        Table name -> path of the written file.

    Raises:
        ValueError: on an unknown format.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name, frame in (("events", world.events), ("accounts", world.accounts), ("labels", world.labels)):
        path = out / f"{name}.{fmt}"
        table = pa.Table.from_pandas(frame, preserve_index=False)
        table = table.replace_schema_metadata(None)  # columns are written decoded, not as categoricals
        if fmt == "parquet":
            atomic_write(path, lambda tmp, t=table: _write_parquet(t, tmp))
        else:
            atomic_write(path, lambda tmp, t=table: _write_csv(t, tmp, gz=fmt == "csv.gz"))
        paths[name] = path
    return paths


def _plain_schema(schema: pa.Schema) -> pa.Schema:
    """The schema with dictionary columns replaced by their value type."""
    return pa.schema(
        [pa.field(f.name, f.type.value_type if pa.types.is_dictionary(f.type) else f.type) for f in schema]
    )


def _plain_batches(table: pa.Table) -> Iterator[pa.RecordBatch]:
    """The table in batches of plain (dictionary-decoded) columns.

    Decoding is a ``take`` from the shared dictionary per batch (casting a dictionary column would
    convert the whole dictionary again for every batch).
    """
    schema = _plain_schema(table.schema)
    for batch in table.to_batches(max_chunksize=_BATCH_ROWS):
        cols = [
            col.dictionary.take(col.indices) if pa.types.is_dictionary(col.type) else col
            for col in batch.columns
        ]
        yield pa.RecordBatch.from_arrays(cols, schema=schema)


def _write_csv(table: pa.Table, tmp: str, gz: bool) -> None:
    # Our ids never contain separators or quotes, so no quoting: smaller and faster files.
    opts = pacsv.WriteOptions(quoting_style="none", quoting_header="none", batch_size=1 << 16)
    with open(tmp, "wb") as raw:
        # Python's gzip at level 1: several times faster than Arrow's default level, and with no
        # file name or mtime in the header the bytes depend only on the data.
        sink = gzip.GzipFile(filename="", fileobj=raw, mode="wb", compresslevel=1, mtime=0) if gz else raw
        try:
            with pacsv.CSVWriter(sink, _plain_schema(table.schema), write_options=opts) as writer:
                for batch in _plain_batches(table):
                    writer.write_batch(batch)
        finally:
            if gz:
                sink.close()


def _write_parquet(table: pa.Table, tmp: str) -> None:
    # Dictionary encoding only pays for the small vocabularies; ids have millions of values.
    small = [
        f.name
        for f in table.schema
        if pa.types.is_dictionary(f.type) and _dictionary_size(table, f.name) < 1024
    ]
    with pq.ParquetWriter(
        tmp, _plain_schema(table.schema), compression="zstd", use_dictionary=small or False
    ) as writer:
        for batch in _plain_batches(table):
            writer.write_batch(batch)


def _dictionary_size(table: pa.Table, name: str) -> int:
    chunks = table.column(name).chunks
    return max((len(c.dictionary) for c in chunks), default=0)


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Reads a table written by :func:`write_world` (for tests and notebooks; ids stay strings)."""
    p = Path(path)
    if p.name.endswith(".parquet"):
        return pq.read_table(p).to_pandas()
    opts = pacsv.ConvertOptions(strings_can_be_null=False)
    return pacsv.read_csv(p, convert_options=opts).to_pandas()
