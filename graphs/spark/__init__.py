"""The Spark engine (``detect --engine spark``): the same relations as the local engine, counted by Spark.

:func:`spark_relation_set` is what :func:`graphs.build.build_graph` calls when
``GraphParams.engine == "spark"``; :mod:`.relations` holds the DataFrame operations and
:mod:`.session` the session (local mode unless Spark is told otherwise). Needs
``pip install 'ringscope[spark]'`` and a Java runtime.
"""

from __future__ import annotations

import os
import tempfile

from ..events import EventLog
from ..params import GraphParams
from .session import spark_missing, spark_session

__all__ = ["spark_missing", "spark_relation_set", "spark_session"]


def spark_relation_set(
    log: EventLog,
    params: GraphParams,
    declared: tuple[str, ...] = (),
    timings: dict[str, float] | None = None,
    progress=None,
):
    """The roles and relations of ``log`` counted by Spark (:class:`.relations.SparkRelations`).

    ``log`` is the log with its attribute rows (:func:`graphs.attributes.with_attribute_entities`),
    ``declared`` the attribute types (identifiers by declaration). Spark reads the log from a
    Parquet copy in a temporary folder, or under ``RINGSCOPE_SPARK_TMP`` when that is set (a folder
    a cluster's executors can read). ``timings`` receives seconds per step; ``progress`` (a callable)
    a short message as each step starts.
    """
    from .relations import build_relations_spark

    shared = os.environ.get("RINGSCOPE_SPARK_TMP", "").strip()
    if not shared:  # local mode: the executors run in this machine's JVM and read its disk
        with tempfile.TemporaryDirectory(prefix="ringscope-spark-") as tmp:
            return build_relations_spark(
                spark_session(), log, params, tmp, declared, timings=timings, progress=progress
            )
    # On a cluster the executors must read the log's copy: a folder they all reach (hdfs://, s3a://,
    # gs://, or a shared mount), one subfolder per run, removed afterwards.
    import uuid

    import pyarrow.fs as pafs

    fs, root = pafs.FileSystem.from_uri(shared) if "://" in shared else (pafs.LocalFileSystem(), shared)
    name = f"ringscope-{uuid.uuid4().hex}"
    folder = f"{root.rstrip('/')}/{name}"
    fs.create_dir(folder)
    try:
        # pyarrow writes to the folder's path, Spark reads the URI as given (s3a://, gs://, hdfs://).
        spark_folder = f"{shared.rstrip('/')}/{name}"
        return build_relations_spark(
            spark_session(),
            log,
            params,
            folder,
            declared,
            fs,
            spark_folder,
            timings=timings,
            progress=progress,
        )
    finally:
        fs.delete_dir(folder)
