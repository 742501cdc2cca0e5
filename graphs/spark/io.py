"""Tables at any URI Spark reads (``s3a://``, ``gs://``, ``hdfs://``, ``abfss://``, ``file://``).

``ringscope detect --engine spark --events s3a://bucket/logs/events.parquet`` reads the log with
Spark, collects it to the driver as Arrow and validates it as any log (:meth:`EventLog.from_arrow`):
the same checks and the same one-line errors, rows numbered in Spark's reading order (a single
file's order). A path without a scheme is read by the local loader, whatever the engine.
"""

from __future__ import annotations

import pyarrow as pa

from ..errors import InputError


def is_uri(path: str) -> bool:
    """A location with a scheme (``s3a://...``), not a local path."""
    head, sep, _ = str(path).partition("://")
    return bool(sep) and head.replace("+", "").replace("-", "").isalnum() and len(head) > 1


def read_table_spark(uri: str) -> pa.Table:
    """The table at ``uri``: Parquet (``.parquet``, ``.pq``, or a folder of them) or CSV with a
    header (``.csv``, ``.csv.gz``), every CSV column as text (the loader parses them)."""
    from .session import spark_session

    spark = spark_session()
    lower = uri.lower().rstrip("/")
    try:
        if lower.endswith((".csv", ".csv.gz", ".tsv")):
            frame = spark.read.option("header", "true").option("inferSchema", "false").csv(uri)
        else:
            frame = spark.read.parquet(uri)
        table = frame.toArrow()
    except Exception as exc:  # Spark's errors are Java stack traces: keep their first line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(uri, f"Spark cannot read it ({first[:300]})") from None
    if table.num_rows == 0:
        raise InputError(uri, "has no data rows")
    return table
