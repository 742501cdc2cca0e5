"""The Spark session of ``--engine spark``: local mode by default, any cluster through Spark's own settings.

``pip install 'ringscope[spark]'`` brings PySpark; Spark needs a Java runtime (17 or newer) on
``PATH`` or in ``JAVA_HOME``. Without ``SPARK_MASTER`` (or a ``--master`` given to ``spark-submit``)
the session runs in local mode on this machine's cores. ``RINGSCOPE_SPARK_CONF`` adds settings,
``key=value`` separated by commas (``spark.sql.shuffle.partitions=64``); ``RINGSCOPE_SPARK_MEMORY``
sets the driver's memory (default a quarter of the machine's; in local mode the driver does the work).
"""

from __future__ import annotations

import os
import shutil
import warnings
from functools import lru_cache
from pathlib import Path

from ..errors import EngineUnavailable


def spark_missing() -> str | None:
    """Why ``--engine spark`` cannot run here (one line), or None when it can."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "the Spark engine needs PySpark: pip install 'ringscope[spark]'"
    java_home = os.environ.get("JAVA_HOME")
    if not shutil.which("java") and not (
        java_home and os.path.exists(os.path.join(java_home, "bin", "java"))
    ):
        return "the Spark engine needs a Java runtime (17 or newer): none on PATH or in JAVA_HOME"
    return None


def _machine_gb() -> int:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**30)
    except (ValueError, OSError, AttributeError):
        return 4


def _extra_conf() -> dict[str, str]:
    out = {}
    for item in os.environ.get("RINGSCOPE_SPARK_CONF", "").split(","):
        if "=" in item:
            key, value = item.split("=", 1)
            out[key.strip()] = value.strip()
    return out


@lru_cache(maxsize=1)
def spark_session():
    """The process's Spark session (made once; Spark allows one per process).

    Raises:
        EngineUnavailable: PySpark or Java is missing (the message says which and how to fix it).
    """
    why = spark_missing()
    if why:
        raise EngineUnavailable(why)
    # PySpark 4 warns about pandas 3 on every conversion; the conversions used here are tested.
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
    from pyspark.sql import SparkSession

    log4j = f"-Dlog4j2.configurationFile={(Path(__file__).parent / 'log4j2.properties').as_uri()}"
    # Started by spark-submit (it hands this process its gateway): its --master and memory stand.
    submitted = "PYSPARK_GATEWAY_PORT" in os.environ
    if not submitted and "PYSPARK_SUBMIT_ARGS" not in os.environ:
        # The driver's JVM starts before any session setting is read: its options go on the launch
        # line. In local mode the driver is the executor too: a quarter of the machine's memory
        # (Spark's 1 GB default spills every large join to disk), unless RINGSCOPE_SPARK_MEMORY says.
        memory = os.environ.get("RINGSCOPE_SPARK_MEMORY") or f"{max(1, _machine_gb() // 4)}g"
        os.environ["PYSPARK_SUBMIT_ARGS"] = (
            f'--driver-memory {memory} --driver-java-options "{log4j}" pyspark-shell'
        )
    builder = SparkSession.builder.appName("ringscope")
    if "SPARK_MASTER" in os.environ:
        builder = builder.master(os.environ["SPARK_MASTER"])
    elif not submitted:
        builder = builder.master(f"local[{os.cpu_count() or 1}]")
    conf = {
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": str(max(4, 2 * (os.cpu_count() or 1))),
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        # Relation sums must not depend on how Spark happens to order them beyond float rounding.
        "spark.sql.ansi.enabled": "false",
        **_extra_conf(),
    }
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark
