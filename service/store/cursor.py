"""Opaque list cursors and the ``since`` filter's parsing."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime

_MAX_SEQ = 2**62
# "s<seq>" (before cursors named their store) or "s<seq>k<store id, hex>".
_CURSOR = re.compile(r"s(\d{1,19})(?:k([0-9a-f]{1,16}))?")
#: Longest cursor text accepted (the API's schema says the same).
MAX_CURSOR_LENGTH = 64
_RUN_ID = re.compile(r"\d{1,18}")


class CursorError(ValueError):
    """A cursor this store did not hand out."""


def encode_cursor(seq: int, store_id: int | None = None) -> str:
    """The opaque cursor for "everything after change-feed seq ``seq``" of the store ``store_id``."""
    raw = f"s{seq}" if store_id is None else f"s{seq}k{store_id:x}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, int | None]:
    """``(seq, store id)`` inside a cursor from :func:`encode_cursor` (store id None for cursors
    made before cursors named their store).

    Raises:
        CursorError: the cursor is malformed.
    """
    if not cursor or len(cursor) > MAX_CURSOR_LENGTH:
        raise CursorError("malformed cursor: pass back a next_cursor or resume_cursor unchanged")
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        match = _CURSOR.fullmatch(raw.decode("ascii"))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        match = None
    if match is None or int(match.group(1)) > _MAX_SEQ:
        raise CursorError("malformed cursor: pass back a next_cursor or resume_cursor unchanged")
    return int(match.group(1)), (int(match.group(2), 16) if match.group(2) else None)


def check_cursor(seq: int, cursor_store: int | None, high: int, store_id: int | None) -> None:
    """Refuses a cursor this store did not hand out: another store's, or beyond its change feed.

    Raises:
        CursorError: naming why (the client should start again without a cursor).
    """
    if cursor_store is not None and store_id is not None and cursor_store != store_id:
        raise CursorError(
            "cursor from another verdict store (it was recreated or replaced): start again without a cursor"
        )
    if seq > high:
        raise CursorError(
            "cursor beyond this store's change feed (it was never handed out here, or the store was "
            "recreated): start again without a cursor"
        )


def parse_since(text: str) -> int | datetime:
    """``since`` is a run id (changes in later runs) or an ISO-8601 time (changes at or after it).

    A time without a zone is taken as UTC.

    Raises:
        ValueError: neither a run id nor an ISO-8601 time.
    """
    text = text.strip()
    if _RUN_ID.fullmatch(text):
        return int(text)
    try:
        when = datetime.fromisoformat(text)
        if when.tzinfo is not None:
            when = when.astimezone(UTC)
    except (ValueError, OverflowError):
        raise ValueError(
            f"since={text[:40]!r} is neither a run id nor an ISO-8601 time like 2024-05-01T12:00:00Z"
        ) from None
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    return when
