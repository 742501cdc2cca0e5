"""Event loading and validation: good tables load typed; every kind of bad input names file/row/column."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphs.errors import InputError
from graphs.events import EventLog, load_accounts, load_events, load_labels

T0 = 1767225600  # 2026-01-01T00:00:00Z

ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.:", min_size=1, max_size=12)


def write(df: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".parquet":
        df.to_parquet(path, index=False)
    else:
        df.to_csv(path, index=False)  # pandas gzips by the .gz suffix
    return path


@pytest.fixture
def events_df() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account_id": ["a", "a", "b", "b", "c", "a"],
            "timestamp": [T0, T0, T0 + 5, T0 + 5, T0 + 60, T0 + 120],
            "action": ["login", "login", "login", "login", "follow", "like"],
            "entity_type": ["device", "ip", "device", "ip", "account", "content"],
            "entity_id": ["d1", "10.0.0.1", "d1", "10.0.0.2", "a", "c1"],
            "note": ["x", "y", "z", "w", "v", "u"],  # extra columns are ignored
        }
    )


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".parquet"])
def test_loads_every_format(tmp_path: Path, events_df: pd.DataFrame, suffix: str) -> None:
    log = load_events(write(events_df, tmp_path / f"events{suffix}"))
    assert log.n_events == 6 and log.n_accounts == 3
    assert log.account.dtype == np.int32 and log.timestamp.dtype == np.int64
    assert log.entity.dtype == np.int32
    assert list(log.account_ids) == ["a", "b", "c"]
    # d1 is one entity shared by a and b; the account target "a" maps to the acting account a.
    assert log.entity[0] == log.entity[2]
    follow = log.entity[4]
    assert log.entity_account[follow] == 0
    assert set(log.entity_types) == {"device", "ip", "account", "content"}
    frame = log.to_frame()
    assert list(frame["entity_id"]) == list(events_df["entity_id"])
    assert list(frame["timestamp"]) == list(events_df["timestamp"])


def test_iso_and_unix_timestamps_agree(tmp_path: Path, events_df: pd.DataFrame) -> None:
    iso = events_df.copy()
    iso["timestamp"] = pd.to_datetime(iso["timestamp"], unit="s", utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    iso.loc[0, "timestamp"] = "2026-01-01T01:00:00+01:00"  # offsets are honoured
    iso.loc[1, "timestamp"] = str(T0)  # and mixed columns work
    log = load_events(write(iso, tmp_path / "iso.csv"))
    assert log.timestamp.tolist() == events_df["timestamp"].tolist()


def test_summary(tmp_path: Path, events_df: pd.DataFrame) -> None:
    s = load_events(write(events_df, tmp_path / "e.csv")).summary()
    assert s["rows"] == 6 and s["accounts"] == 3
    assert s["entity_types"]["device"] == {"events": 2, "distinct": 1}
    assert s["time_span"]["first"].startswith("2026-01-01T00:00:00")


def test_from_frame_matches_file(tmp_path: Path, events_df: pd.DataFrame) -> None:
    a = EventLog.from_frame(events_df)
    b = load_events(write(events_df, tmp_path / "e.csv"))
    assert np.array_equal(a.entity, b.entity) and np.array_equal(a.timestamp, b.timestamp)


def expect_error(path: Path, *, row: int | None = None, column: str | None = None) -> InputError:
    with pytest.raises(InputError) as info:
        load_events(path)
    err = info.value
    assert str(path) in str(err)
    assert err.row == row, str(err)
    assert err.column == column, str(err)
    assert "\n" not in str(err)
    return err


def test_file_level_errors(tmp_path: Path, events_df: pd.DataFrame) -> None:
    expect_error(tmp_path / "missing.csv")
    (tmp_path / "empty.csv").write_bytes(b"")
    expect_error(tmp_path / "empty.csv")
    (tmp_path / "header.csv").write_text("account_id,timestamp,action,entity_type,entity_id\n")
    expect_error(tmp_path / "header.csv")
    (tmp_path / "binary.csv").write_bytes(bytes(range(256)) * 20)
    expect_error(tmp_path / "binary.csv")
    expect_error(tmp_path)
    err = expect_error(write(events_df.drop(columns="action"), tmp_path / "nocol.csv"))
    assert "'action'" in str(err)
    (tmp_path / "bad.parquet").write_bytes(b"PAR1" + b"\x01" * 64)
    expect_error(tmp_path / "bad.parquet")


def test_parquet_corrupt_after_some_rows_or_without_rows(tmp_path: Path, events_df: pd.DataFrame) -> None:
    # The multithreaded reader fails on a damaged row group; the batch reader then names where.
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "damaged.parquet"
    table = pa.Table.from_pandas(pd.concat([events_df] * 200, ignore_index=True), preserve_index=False)
    pq.write_table(table, path, row_group_size=600, compression="none", use_dictionary=False)
    meta = pq.ParquetFile(path).metadata
    chunk = meta.row_group(1).column(0)
    data = bytearray(path.read_bytes())
    start = chunk.data_page_offset
    data[start : start + chunk.total_compressed_size] = b"\xff" * chunk.total_compressed_size
    path.write_bytes(bytes(data))
    err = expect_error(path)
    # Batches hold up to 1M rows, so the row named is where the damaged batch starts (here 0).
    assert "Parquet data is corrupt after row 0" in str(err), err
    empty = tmp_path / "empty.parquet"
    pq.write_table(table.slice(0, 0), empty)
    assert "no data rows" in str(expect_error(empty))


def test_truncated_csv_names_the_row(tmp_path: Path, events_df: pd.DataFrame) -> None:
    text = write(events_df, tmp_path / "e.csv").read_text()
    (tmp_path / "cut.csv").write_text(text[: text.rindex(",")])
    expect_error(tmp_path / "cut.csv", row=6)


def test_truncated_gzip(tmp_path: Path, events_df: pd.DataFrame) -> None:
    big = pd.concat([events_df] * 3000, ignore_index=True)
    raw = gzip.compress(big.to_csv(index=False).encode())
    (tmp_path / "cut.csv.gz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(InputError, match="gzip"):
        load_events(tmp_path / "cut.csv.gz")


def test_milliseconds_are_refused_with_a_hint(tmp_path: Path, events_df: pd.DataFrame) -> None:
    events_df.loc[3, "timestamp"] = T0 * 1000
    err = expect_error(write(events_df, tmp_path / "ms.csv"), row=4, column="timestamp")
    assert "milliseconds" in str(err)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    n=st.integers(min_value=1, max_value=40),
    data=st.data(),
    fmt=st.sampled_from([".csv", ".csv.gz", ".parquet"]),
    fault=st.sampled_from(["empty_id", "bad_time", "null_id"]),
)
def test_generated_bad_cells_are_located(tmp_path_factory, n, data, fmt, fault) -> None:
    rows = data.draw(
        st.lists(st.tuples(ids, st.integers(0, 4_000_000_000), ids, ids, ids), min_size=n, max_size=n)
    )
    df = pd.DataFrame(rows, columns=["account_id", "timestamp", "action", "entity_type", "entity_id"])
    df = df.astype({"timestamp": object})
    bad_row = data.draw(st.integers(0, n - 1))
    column = (
        "timestamp"
        if fault == "bad_time"
        else data.draw(st.sampled_from(["account_id", "action", "entity_type", "entity_id"]))
    )
    if fault == "bad_time":
        df.loc[bad_row, "timestamp"] = data.draw(
            st.sampled_from(["yesterday", "2026-13-45", "12:00", "1.5e", "-", "NaN"])
        )
    elif fault == "empty_id":
        df.loc[bad_row, column] = ""
    else:
        df.loc[bad_row, column] = None
    df = df.astype(str).replace({"None": ""})
    path = write(df, tmp_path_factory.mktemp("h") / f"bad{fmt}")
    expect_error(path, row=bad_row + 1, column=column)


@settings(max_examples=40, deadline=None)
@given(blob=st.binary(min_size=0, max_size=400), gz=st.booleans())
def test_arbitrary_bytes_give_input_error_only(tmp_path_factory, blob: bytes, gz: bool) -> None:
    path = tmp_path_factory.mktemp("b") / "blob.csv"
    path.write_bytes(gzip.compress(blob) if gz else blob)
    try:
        load_events(path)
    except InputError as exc:
        assert str(path) in str(exc)


def test_accounts_and_labels(tmp_path: Path) -> None:
    acc = pd.DataFrame(
        {"account_id": ["a", "b"], "created_at": [T0, "2025-06-01T00:00:00Z"], "country": ["de", "fr"]}
    )
    out = load_accounts(write(acc, tmp_path / "accounts.csv"))
    assert out.loc["a", "created_at"] == T0 and out["created_at"].dtype == np.int64
    assert out["country"].dtype == "category"
    lab = pd.DataFrame({"account_id": ["a", "b"], "is_bot": [1, 0], "ring_id": ["r1", ""]})
    out = load_labels(write(lab, tmp_path / "labels.csv"))
    assert out["is_bot"].tolist() == [1, 0] and out["ring_id"].tolist() == ["r1", ""]
    lab.loc[1, "is_bot"] = 7
    with pytest.raises(InputError, match="row 2, column 'is_bot'"):
        load_labels(write(lab, tmp_path / "bad_labels.csv"))
    dup = pd.DataFrame({"account_id": ["a", "b", "a"], "created_at": [T0, T0, T0]})
    with pytest.raises(InputError, match="row 3, column 'account_id'.*first at row 1"):
        load_accounts(write(dup, tmp_path / "dup.csv"))


# --- issue 11: what a CSV reader lets through silently, exact rows, extreme timestamps ----------------


def big_csv(events_df: pd.DataFrame, n: int = 1200) -> pd.DataFrame:
    df = pd.concat([events_df] * (n // len(events_df)), ignore_index=True)
    df["entity_id"] = df["entity_id"] + "-" + (df.index // 7).astype(str)
    return df


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(row=st.integers(1, 1200), column=st.sampled_from(["entity_id", "note", "action"]), gz=st.booleans())
def test_unclosed_quote_is_refused_at_its_row(tmp_path_factory, events_df, row, column, gz) -> None:
    df = big_csv(events_df)
    lines = df.to_csv(index=False).splitlines()
    cols = lines[0].split(",")
    fields = lines[row].split(",")
    fields[cols.index(column)] = '"abc'
    lines[row] = ",".join(fields)
    raw = ("\n".join(lines) + "\n").encode()
    path = tmp_path_factory.mktemp("q") / ("u.csv.gz" if gz else "u.csv")
    path.write_bytes(gzip.compress(raw) if gz else raw)
    err = expect_error(path, row=row)
    assert "never closed" in str(err)


def test_multiline_extra_column_is_kept_but_not_in_ids(tmp_path: Path, events_df: pd.DataFrame) -> None:
    events_df.loc[2, "note"] = "two\nlines"
    log = load_events(write(events_df, tmp_path / "ml.csv"))
    assert log.n_events == 6
    events_df.loc[4, "entity_id"] = "a\nb"
    err = expect_error(write(events_df, tmp_path / "id.csv"), row=5, column="entity_id")
    assert "line break" in str(err)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(row=st.integers(1, 1200), fault=st.sampled_from(["latin1", "nul"]))
def test_bad_bytes_are_named_at_their_row(tmp_path_factory, events_df, row, fault) -> None:
    lines = big_csv(events_df).to_csv(index=False).encode().split(b"\n")
    lines[row] = lines[row] + (b"\xe9" if fault == "latin1" else b"\x00")
    path = tmp_path_factory.mktemp("enc") / "e.csv"
    path.write_bytes(b"\n".join(lines))
    err = expect_error(path, row=row)
    assert ("UTF-8" in str(err)) if fault == "latin1" else ("NUL" in str(err))


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le"])
def test_utf16_is_named(tmp_path: Path, events_df: pd.DataFrame, encoding: str) -> None:
    path = tmp_path / "u16.csv"
    path.write_bytes(events_df.to_csv(index=False).encode(encoding))
    assert "UTF-16" in str(expect_error(path))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    value=st.one_of(
        st.sampled_from(["0001-01-01T00:00:00", "9999-12-31T23:59:59Z", "1900-01-01", "-1", "-0.5"]),
        st.integers(min_value=10**19, max_value=10**30).map(str),
        st.integers(min_value=-(10**30), max_value=-1).map(str),
    ),
    fmt=st.sampled_from([".csv", ".parquet"]),
    row=st.integers(0, 5),
)
def test_extreme_timestamps_name_the_row(tmp_path_factory, events_df, value, fmt, row) -> None:
    df = events_df.astype({"timestamp": object})
    df.loc[row, "timestamp"] = value
    path = write(df.astype({"timestamp": str}), tmp_path_factory.mktemp("t") / f"t{fmt}")
    err = expect_error(path, row=row + 1, column="timestamp")
    assert "outside 1970..2100" in str(err)


@pytest.mark.parametrize("fmt", [".csv", ".parquet"])
def test_fractional_seconds_are_floored_in_both_formats(tmp_path: Path, events_df, fmt) -> None:
    df = events_df.astype({"timestamp": np.float64})
    df["timestamp"] = df["timestamp"] + 0.75
    log = load_events(write(df, tmp_path / f"f{fmt}"))
    assert list(log.timestamp) == list(events_df["timestamp"])


def test_dictionary_encoded_ids_give_the_same_log_and_errors() -> None:
    # Parquet written from categoricals (and the update state) arrive dictionary-encoded: the log is
    # the one the plain strings give, and an empty or missing id is still named by its row.
    import pyarrow as pa

    df = pd.DataFrame(
        {
            "account_id": ["b", "a", "b", "c"],
            "timestamp": [3, 1, 2, 4],
            "action": ["like", "login", "like", "like"],
            "entity_type": ["content", "device", "content", "content"],
            "entity_id": ["p1", "d1", "p2", "p1"],
        }
    )
    ids = ["account_id", "action", "entity_type", "entity_id"]
    coded = pa.Table.from_pandas(df.astype({c: "category" for c in ids}), preserve_index=False)
    plain = pa.Table.from_pandas(df, preserve_index=False)
    a, b = EventLog.from_arrow(coded, "c"), EventLog.from_arrow(plain, "p")
    assert list(a.account_ids) == list(b.account_ids) == ["b", "a", "c"]  # first appearance
    assert np.array_equal(a.account, b.account) and np.array_equal(a.entity, b.entity)
    assert list(a.entity_ids) == list(b.entity_ids) and a.actions == b.actions
    # A dictionary-encoded timestamp column reads like a plain one.
    stamped = EventLog.from_arrow(pa.Table.from_pandas(df.astype("category"), preserve_index=False), "t")
    assert np.array_equal(stamped.timestamp, b.timestamp)
    for bad in ("", None):
        broken = df.assign(account_id=["b", "a", bad, "c"]).astype({"account_id": "category"})
        with pytest.raises(InputError, match=r"f\.parquet, row 3, column 'account_id': empty id"):
            EventLog.from_arrow(pa.Table.from_pandas(broken, preserve_index=False), "f.parquet")


def test_parquet_chunks_with_their_own_dictionaries_and_ids_under_two_types(tmp_path: Path) -> None:
    # Row groups written from different categoricals each carry their own dictionary (the loader
    # unifies them); one id under two types is two entities (the (type, id) fallback); many actions
    # and one action in a later chunk only keep first-appearance numbering.
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    n = 3000
    df = pd.DataFrame(
        {
            "account_id": [f"u{i}" for i in rng.integers(0, 400, n)],
            "timestamp": T0 + np.arange(n),
            "action": [f"act{i}" for i in rng.integers(0, 70, n)],
            "entity_type": rng.choice(["device", "ip", "content"], n),
            "entity_id": [f"e{i}" for i in rng.integers(0, 500, n)],
        }
    )
    ids = ["account_id", "action", "entity_type", "entity_id"]
    parts = [
        pa.Table.from_pandas(part.astype({c: "category" for c in ids}), preserve_index=False)
        for part in (df.iloc[i : i + 600] for i in range(0, n, 600))
    ]
    path = tmp_path / "chunks.parquet"
    with pq.ParquetWriter(path, parts[0].schema) as w:
        for t in parts:
            w.write_table(t.cast(parts[0].schema))
    plain = tmp_path / "plain.csv"
    df.to_csv(plain, index=False)
    a, b = load_events(path), load_events(plain)
    assert np.array_equal(a.account, b.account) and np.array_equal(a.entity, b.entity)
    assert np.array_equal(a.action, b.action) and a.actions == b.actions
    assert list(a.entity_ids) == list(b.entity_ids) and np.array_equal(a.entity_type, b.entity_type)
    assert list(a.account_ids) == list(dict.fromkeys(df["account_id"]))
    # e.g. "e1" as a device and as content: two entities with one id.
    pairs = set(zip(df["entity_type"], df["entity_id"], strict=True))
    assert a.n_entities == len(pairs) > df["entity_id"].nunique()
    assert list(a.actions) == list(dict.fromkeys(df["action"]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    universe=st.lists(st.text(min_size=1, max_size=4), unique=True, max_size=30),
    values=st.lists(st.text(min_size=0, max_size=4), max_size=40),
)
def test_index_in_agrees_with_pandas(universe: list[str], values: list[str]) -> None:
    from graphs.events import index_in

    expected = pd.Index(universe, dtype=object).get_indexer(values)
    np.testing.assert_array_equal(
        index_in(np.array(values, dtype=object), np.array(universe, dtype=object)), expected
    )


def test_index_in_falls_back_for_ids_that_are_not_strings() -> None:
    from graphs.events import index_in

    np.testing.assert_array_equal(index_in([3, 1, 9], [1, 2, 3]), [2, 0, -1])


def test_aligned_is_a_reindex_on_the_log_accounts() -> None:
    from graphs.events import aligned

    log = EventLog.from_frame(
        pd.DataFrame(
            {
                "account_id": ["a", "b", "c"],
                "timestamp": [1, 2, 3],
                "action": "like",
                "entity_type": "content",
                "entity_id": ["x", "y", "x"],
            }
        )
    )
    ids = pd.Index(["c", "zz", "a"])  # "zz" never acts; "b" has no row
    for values in (np.array([3.0, 9.0, 1.0]), np.array(["C", "Z", "A"], dtype=object)):
        expected = pd.Series(values, index=ids).reindex(log.account_ids).to_numpy()
        got = aligned(log, ids, values)
        assert [None if pd.isna(v) else v for v in got] == [None if pd.isna(v) else v for v in expected]
