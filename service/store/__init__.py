"""The verdict store: published detection runs, stable cluster ids, verdict history, change feed."""

from service.store.cursor import CursorError, decode_cursor, encode_cursor, parse_since
from service.store.matching import match_clusters
from service.store.publish import PublishResult
from service.store.queries import ClusterPage
from service.store.store import (
    DEFAULT_URL,
    MAX_LIMIT,
    Store,
    StoreError,
    StoreOpenError,
    StoreSchemaError,
    StoreUnavailable,
)

__all__ = [
    "DEFAULT_URL",
    "MAX_LIMIT",
    "ClusterPage",
    "CursorError",
    "PublishResult",
    "Store",
    "StoreError",
    "StoreOpenError",
    "StoreSchemaError",
    "StoreUnavailable",
    "decode_cursor",
    "encode_cursor",
    "match_clusters",
    "parse_since",
]
