"""Reading input tables (CSV, gzip CSV, Parquet) into validated Arrow tables.

Every error is an :class:`~graphs.errors.InputError` naming the file, the row and the column. Rows are
numbered from 1 for the first data row (the CSV header is not counted), so ``row 1042`` is the 1042nd
record whatever the format.

The format is recognised from the file's first bytes, not its name: a gzip stream is read as gzip CSV,
``PAR1`` as Parquet, anything else as CSV text.
"""

from __future__ import annotations

import csv
import io
import os
import zlib
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .errors import InputError

# Unix seconds outside [1970, 2100) are refused: a 13-digit value is almost always milliseconds.
_MAX_UNIX_SECONDS = 4_102_444_800
_BLOCK_SIZE = 32 << 20


def sniff_format(path: Path) -> str:
    """Returns ``'csv'``, ``'gzip'`` or ``'parquet'`` from the file's first bytes.

    Raises:
        InputError: if the file does not exist, is a directory, is empty or is binary.
    """
    name = str(path)
    if not path.exists():
        raise InputError(name, "file not found; check the path")
    if path.is_dir():
        raise InputError(name, "is a directory, expected a CSV or Parquet file")
    if path.stat().st_size == 0:
        raise InputError(name, "file is empty; expected a header row and data rows")
    with open(path, "rb") as fh:
        head = fh.read(8192)
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head[:4] == b"PAR1":
        return "parquet"
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise _nul_error(name, 0, utf16=True)
    if b"\x00" in head:
        raise _nul_problem(name, path, "csv", head)
    return "csv"


def _nul_problem(name: str, path: Path, fmt: str, head: bytes) -> InputError:
    """The error for a file whose first bytes hold NUL: UTF-16 text, text with a stray NUL (its
    row named), or binary data."""
    nul = head.count(0)
    printable = sum(1 for b in head if 32 <= b < 127 or b in (9, 10, 13))
    if nul >= 0.3 * len(head) and printable + nul >= 0.95 * len(head):
        return _nul_error(name, 0, utf16=True)  # UTF-16 without a byte-order mark
    if printable >= 0.9 * len(head):
        return _nul_error(name, _nul_row(path, fmt))
    return InputError(name, "is a binary file, not CSV (optionally gzip-compressed) or Parquet")


def _read_header(path: Path, fmt: str) -> list[str]:
    name = str(path)
    try:
        if fmt == "gzip":
            with open(path, "rb") as fh:
                raw = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(fh.read(1 << 20), 1 << 16)
        else:
            with open(path, "rb") as fh:
                raw = fh.read(1 << 16)
    except zlib.error as exc:
        raise InputError(name, f"is not a valid gzip file ({exc})") from None
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise _nul_error(name, 0, utf16=True)
    if b"\x00" in raw:
        raise _nul_problem(name, path, fmt, raw[:8192])
    line = raw.split(b"\n", 1)[0]
    try:
        text = line.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(name, "header row is not UTF-8 text; binary data or a wrong encoding") from None
    first = text.splitlines()[0] if text.strip() else ""
    if not first.strip():
        raise InputError(name, "has no header row; the first line must name the columns")
    return [c.strip() for c in next(csv.reader(io.StringIO(first)))]


def _check_columns(name: str, header: Sequence[str], required: Sequence[str]) -> None:
    missing = [c for c in required if c not in header]
    if missing:
        raise InputError(
            name,
            f"the header lacks required column {', '.join(repr(c) for c in missing)}; "
            f"found {', '.join(repr(c) for c in header)}",
        )
    dup = sorted({c for c in header if header.count(c) > 1 and c in required})
    if dup:
        raise InputError(name, f"column {dup[0]!r} appears more than once in the header")


def _wanted(name: str, header: Sequence[str], columns: Sequence[str]) -> list[str]:
    named = [c for c in columns if c != "*"]
    _check_columns(name, header, [c for c in named if not c.endswith("?")])
    wanted = [c.rstrip("?") for c in named if c.rstrip("?") in header]
    if "*" in columns:
        wanted += [c for c in header if c not in wanted and c]
    return wanted


def _decoded_lines(fh) -> Iterable[str]:
    """The file's lines decoded one by one, so a decoding error stops exactly at its line."""
    first = True
    for raw in fh:
        if first:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
            first = False
        yield raw.decode("utf-8")


def _locate_bad_row(
    path: Path, fmt: str, n_fields: int | None, strict: bool = False
) -> tuple[int | None, str]:
    """Finds the first bad data row the slow way: ``(row, 'fields'|'gzip'|'text'|'quote'|'')``.

    Lines are decoded one at a time (a chunked decoder would blame a row some way before the bad
    byte). With ``strict`` a quoted field still open at the end of the file is reported as
    ``'quote'`` at the row where it opened.
    """
    import gzip

    opener = gzip.open if fmt == "gzip" else open
    row = 0
    try:
        with opener(path, "rb") as fh:
            reader = csv.reader(_decoded_lines(fh), strict=strict)
            next(reader, None)
            for fields in reader:
                row += 1
                if n_fields is not None and len(fields) != n_fields:
                    return row, "fields"
    except (EOFError, OSError, zlib.error):
        return row + 1, "gzip"
    except UnicodeDecodeError:
        return row + 1, "text"
    except csv.Error as exc:
        unclosed = "end of data" in str(exc) or "field limit" in str(exc)
        return row + 1, "quote" if unclosed else "fields"
    return None, ""


def _nul_row(path: Path, fmt: str) -> int | None:
    """Data row (1-based; 0 for the header) of the first NUL byte, or None."""
    import gzip

    opener = gzip.open if fmt == "gzip" else open
    newlines = 0
    with opener(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            at = chunk.find(b"\x00")
            if at >= 0:
                return newlines + chunk.count(b"\n", 0, at)
            newlines += chunk.count(b"\n")
    return None


def _nul_error(name: str, row: int | None, utf16: bool = False) -> InputError:
    if utf16:
        return InputError(name, "is UTF-16 text; ringscope reads UTF-8: save the file as UTF-8")
    where = "the header row" if row == 0 else None
    msg = "holds a NUL byte: binary data, or UTF-16 text (save the file as UTF-8)"
    if where:
        return InputError(name, f"{where} {msg}")
    return InputError(name, msg, row=row)


def _csv_batches(path: Path, fmt: str, columns: Sequence[str]) -> Iterable[pa.RecordBatch]:
    name = str(path)
    header = _read_header(path, fmt)
    wanted = _wanted(name, header, columns)
    bad: dict[str, object] = {}

    def on_invalid(row: pacsv.InvalidRow) -> str:
        bad["row"] = row
        return "error"

    stream = pa.input_stream(str(path), compression="gzip" if fmt == "gzip" else None)
    rows_done = 0
    try:
        reader = pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(block_size=_BLOCK_SIZE, use_threads=True),
            parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                include_columns=wanted,
                column_types={c: pa.string() for c in wanted},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        for batch in reader:
            rows_done += batch.num_rows
            yield batch
    except (pa.ArrowInvalid, OSError, EOFError, zlib.error) as exc:
        # Arrow reads in parallel blocks and does not always know row numbers: re-scan slowly
        # with the csv module (error path only) to name the exact row.
        row, problem = _locate_bad_row(path, fmt, len(header), strict=True)
        if problem == "quote":
            raise InputError(
                name, "a quoted field opened in this row is never closed; close the quote", row=row
            ) from None
        if "row" in bad or problem == "fields":
            inv = bad.get("row")
            found = f", found {inv.actual_columns}" if inv is not None else ""
            raise InputError(
                name,
                f"expected {len(header)} fields{found}; the file may be truncated or a field has an "
                "unquoted comma",
                row=row,
            ) from None
        if problem == "gzip":
            raise InputError(
                name, "gzip stream is truncated or corrupt here; re-export the file", row=row
            ) from None
        if problem == "text":
            raise InputError(
                name, "is not UTF-8 text here; binary data or a wrong encoding", row=row
            ) from None
        msg = str(exc).splitlines()[0]
        raise InputError(name, f"cannot be read as CSV after row {rows_done}: {msg}") from None
    finally:
        stream.close()


def _open_parquet(path: Path, columns: Sequence[str]) -> tuple[pq.ParquetFile, list[str]]:
    """The Parquet file and the names of its wanted columns (one error when it cannot be opened)."""
    name = str(path)
    try:
        pf = pq.ParquetFile(str(path))
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(name, f"is not a readable Parquet file ({str(exc).splitlines()[0]})") from None
    return pf, _wanted(name, pf.schema_arrow.names, columns)


def _parquet_batches(pf: pq.ParquetFile, name: str, wanted: list[str]) -> Iterable[pa.RecordBatch]:
    done = 0
    try:
        for batch in pf.iter_batches(batch_size=1 << 20, columns=wanted):
            done += batch.num_rows
            yield batch
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(
            name, f"Parquet data is corrupt after row {done} ({str(exc).splitlines()[0]})"
        ) from None


def _parquet_table(path: Path, columns: Sequence[str]) -> pa.Table:
    """A Parquet file's wanted columns with pyarrow's multithreaded reader (1.6x faster than
    reading batch by batch on 12M rows); when it fails, the file is read again batch by batch so
    that the error names the row after which the data is corrupt."""
    pf, wanted = _open_parquet(path, columns)
    try:
        return pq.read_table(str(path), columns=wanted, use_threads=True)
    except (pa.ArrowInvalid, OSError):
        batches = list(_parquet_batches(pf, str(path), wanted))  # raises, naming the row
        if batches:
            return pa.Table.from_batches(batches)
        return pa.schema([pf.schema_arrow.field(c) for c in wanted]).empty_table()


def read_table(path: str | os.PathLike[str], columns: Sequence[str]) -> pa.Table:
    """Reads the named columns of a CSV / gzip CSV / Parquet file.

    Args:
        path: the file.
        columns: column names to read; a trailing ``?`` marks a column as optional, ``"*"`` asks
            for every other column too. Required columns that are absent raise; other columns in
            the file are ignored.

    Returns:
        An Arrow table with the columns present (CSV columns as strings, Parquet as stored).
    """
    path = Path(path)
    fmt = sniff_format(path)
    if fmt == "parquet":
        table = _parquet_table(path, columns)
        if table.num_rows == 0:
            raise InputError(str(path), "has a header but no data rows")
        return table
    batch_list = list(_csv_batches(path, fmt, columns))
    if not batch_list or sum(b.num_rows for b in batch_list) == 0:
        raise InputError(str(path), "has a header but no data rows")
    table = pa.Table.from_batches(batch_list)
    if fmt != "parquet":
        _check_values(path, fmt, table, [c.rstrip("?") for c in columns if c != "*"])
    return table


def _check_values(path: Path, fmt: str, table: pa.Table, named: Sequence[str]) -> None:
    """Refuses what a CSV reader lets through silently: a quote never closed (it swallows the rest
    of the file into one value), line breaks in ids, NUL bytes.

    Named (contract) columns may hold no line break; another column may (a quoted multi-line text)
    when the file still parses strictly as CSV.
    """
    name = str(path)
    multiline = None
    for col in table.column_names:
        arr = table.column(col)
        if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
            continue
        nul = first_true(np.asarray(pc.fill_null(pc.match_substring(arr, "\x00"), False)))
        if nul >= 0:
            raise InputError(name, "holds a NUL byte (binary data in a text field)", row=nul + 1, column=col)
        brk = first_true(np.asarray(pc.fill_null(pc.match_substring_regex(arr, "[\r\n]"), False)))
        if brk < 0:
            continue
        if col in named:
            row, problem = _locate_bad_row(path, fmt, None, strict=True)
            if problem == "quote":
                raise InputError(
                    name, "a quoted field opened in this row is never closed; close the quote", row=row
                )
            raise InputError(
                name, "a value holds a line break; ids and names must be one line", row=brk + 1, column=col
            )
        multiline = brk if multiline is None else min(multiline, brk)
    if multiline is not None:
        row, problem = _locate_bad_row(path, fmt, None, strict=True)
        if problem == "quote":
            raise InputError(
                name, "a quoted field opened in this row is never closed; close the quote", row=row
            )


def first_true(mask: np.ndarray) -> int:
    """Index of the first True in ``mask``, or -1."""
    idx = np.flatnonzero(mask)
    return int(idx[0]) if idx.size else -1


def check_ids(name: str, table: pa.Table, column: str) -> pa.Array:
    """Returns the column as a non-empty string array, or raises naming the first empty id."""
    arr = table.column(column).combine_chunks()
    if not pa.types.is_string(arr.type) and not pa.types.is_large_string(arr.type):
        if pa.types.is_integer(arr.type) or pa.types.is_dictionary(arr.type):
            arr = arr.cast(pa.string())
        else:
            raise InputError(name, f"ids must be strings, found {arr.type}", column=column)
    empty = pc.fill_null(pc.equal(pc.utf8_length(arr), 0), True)
    bad = first_true(np.asarray(empty.to_numpy(zero_copy_only=False)))
    if bad >= 0:
        raise InputError(name, "empty id; every row needs a non-empty value", row=bad + 1, column=column)
    return arr


def parse_timestamps(name: str, arr: pa.ChunkedArray | pa.Array, column: str) -> np.ndarray:
    """Parses Unix seconds or ISO-8601 strings into int64 Unix seconds.

    ISO-8601 values without a UTC offset are taken as UTC. Fractional seconds (``1767225600.5``,
    ``...T00:00:00.5Z``) are floored to the second, the same in CSV and Parquet.
    """
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_dictionary(arr.type):  # a categorical column: its values, row by row
        arr = arr.dictionary_decode()
    t = arr.type
    if pa.types.is_timestamp(t):
        out = pc.cast(arr, pa.timestamp("s", tz=t.tz), safe=False).cast(pa.int64())
        values = out.to_numpy(zero_copy_only=False)
        nulls = np.asarray(arr.is_null().to_numpy(zero_copy_only=False))
    elif pa.types.is_integer(t) or pa.types.is_floating(t):
        nulls = np.asarray(arr.is_null().to_numpy(zero_copy_only=False))
        f = arr.to_numpy(zero_copy_only=False).astype("float64")
        nulls |= ~np.isfinite(f)
        f = np.where(nulls, 0.0, np.nan_to_num(f))
        values = np.where(np.abs(f) < 2.0**62, np.floor(f), _MAX_UNIX_SECONDS).astype(np.int64)
    elif pa.types.is_string(t) or pa.types.is_large_string(t):
        try:
            values = pc.cast(arr, pa.int64()).to_numpy(zero_copy_only=False)
            nulls = np.zeros(len(values), dtype=bool)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            values, nulls = _parse_mixed(arr)
    else:
        raise InputError(name, f"timestamps must be Unix seconds or ISO-8601, found {t}", column=column)
    bad = first_true(nulls)
    if bad >= 0:
        raw = arr[bad].as_py()
        raise InputError(
            name,
            f"cannot read {raw!r} as Unix seconds or ISO-8601 (e.g. 1767225600 or 2026-01-01T00:00:00Z)",
            row=bad + 1,
            column=column,
        )
    out_of_range = (values < 0) | (values >= _MAX_UNIX_SECONDS)
    bad = first_true(out_of_range)
    if bad >= 0:
        raw = arr[bad].as_py()
        ms = 10**11 <= values[bad] < 10**14 and not isinstance(raw, datetime)
        hint = " (it looks like milliseconds; give Unix seconds)" if ms else ""
        shown = raw if isinstance(raw, str) else int(values[bad])
        raise InputError(
            name,
            f"timestamp {shown!r} is outside 1970..2100{hint}"
            if isinstance(shown, str)
            else f"timestamp {shown} is outside 1970..2100{hint}",
            row=bad + 1,
            column=column,
        )
    return np.ascontiguousarray(values, dtype=np.int64)


def _parse_mixed(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Slow path: a string column holding ISO-8601 values, (fractional) Unix seconds, or both.

    Values far outside the representable range (a year 1, a 23-digit number) come back as
    ``_MAX_UNIX_SECONDS`` so that the range check names them.
    """
    s = pd.Series(arr.to_numpy(zero_copy_only=False), dtype=object)
    stripped = s.str.strip()
    is_num = stripped.str.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)").fillna(False).to_numpy(dtype=bool)
    values = np.zeros(len(s), dtype=np.int64)
    nulls = np.zeros(len(s), dtype=bool)
    if is_num.any():
        f = pd.to_numeric(stripped[is_num], errors="coerce").to_numpy(dtype=np.float64)
        ok = np.isfinite(f) & (np.abs(f) < 2.0**62)
        values[is_num] = np.where(ok, np.floor(np.where(ok, f, 0.0)), _MAX_UNIX_SECONDS).astype(np.int64)
    rest = ~is_num
    if rest.any():
        text = stripped[rest]
        year = pd.to_numeric(text.str.extract(r"^([+-]?\d{4,})-", expand=False), errors="coerce")
        far = (year.notna() & ((year < 1900) | (year > 2200))).to_numpy()
        parsed = pd.to_datetime(text.where(~far), format="ISO8601", utc=True, errors="coerce")
        ok = parsed.notna().to_numpy()
        secs = np.zeros(len(parsed), dtype=np.int64)
        epoch = pd.Timestamp(0, tz="UTC")
        secs[ok] = ((parsed[ok] - epoch) // pd.Timedelta(seconds=1)).to_numpy(dtype=np.int64)
        secs[far] = _MAX_UNIX_SECONDS
        values[rest] = secs
        nulls[rest] = ~ok & ~far
    return values, nulls


def parse_binary(name: str, arr: pa.ChunkedArray, column: str) -> np.ndarray:
    """Parses a 0/1 column (also true/false) into int8."""
    s = pd.Series(arr.combine_chunks().to_numpy(zero_copy_only=False), dtype=object).astype(str)
    s = s.str.strip().str.lower()
    mapped = s.map({"0": 0, "1": 1, "0.0": 0, "1.0": 1, "false": 0, "true": 1})
    bad = first_true(mapped.isna().to_numpy())
    if bad >= 0:
        raise InputError(name, f"cannot read {arr[bad].as_py()!r} as 0 or 1", row=bad + 1, column=column)
    return mapped.to_numpy(dtype=np.int8)


def check_unique(name: str, ids: pa.Array, column: str) -> None:
    """Raises on the first repeated id, naming both rows."""
    values = pd.Series(ids.to_numpy(zero_copy_only=False))
    bad = first_true(values.duplicated().to_numpy())
    if bad >= 0:
        first = first_true((values == values.iloc[bad]).to_numpy())
        raise InputError(
            name,
            f"duplicate id {values.iloc[bad]!r} (first at row {first + 1})",
            row=bad + 1,
            column=column,
        )
