"""The Spark engine (``detect --engine spark``): the same relations as the local engine, counted by Spark.

:func:`spark_relation_set` is what :func:`graphs.build.build_graph` calls when
``GraphParams.engine == "spark"``; :mod:`.relations` holds the DataFrame operations and
:mod:`.session` the session (local mode unless Spark is told otherwise). Needs
``pip install 'ringscope[spark]'`` and a Java runtime.
"""

from __future__ import annotations

import tempfile

from ..events import EventLog
from ..params import GraphParams
from .session import spark_missing, spark_session

__all__ = ["spark_missing", "spark_relation_set", "spark_session"]


def spark_relation_set(log: EventLog, params: GraphParams, declared: tuple[str, ...] = ()):
    """The roles and relations of ``log`` counted by Spark (:class:`.relations.SparkRelations`).

    ``log`` is the log with its attribute rows (:func:`graphs.attributes.with_attribute_entities`),
    ``declared`` the attribute types (identifiers by declaration).
    """
    from .relations import build_relations_spark

    with tempfile.TemporaryDirectory(prefix="ringscope-spark-") as tmp:
        return build_relations_spark(spark_session(), log, params, tmp, declared)
