"""Opaque list cursors and the ``since`` filter's parsing."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime

_MAX_SEQ = 2**62
_CURSOR = re.compile(r"s(\d{1,19})")
_RUN_ID = re.compile(r"\d{1,18}")


class CursorError(ValueError):
    """A cursor this store did not hand out."""


def encode_cursor(seq: int) -> str:
    """The opaque cursor for "everything after change-feed seq ``seq``"."""
    return base64.urlsafe_b64encode(f"s{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The change-feed seq inside a cursor from :func:`encode_cursor`.

    Raises:
        CursorError: the cursor is malformed.
    """
    if not cursor or len(cursor) > 32:
        raise CursorError("malformed cursor: pass back a next_cursor or resume_cursor unchanged")
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        match = _CURSOR.fullmatch(raw.decode("ascii"))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        match = None
    if match is None or int(match.group(1)) > _MAX_SEQ:
        raise CursorError("malformed cursor: pass back a next_cursor or resume_cursor unchanged")
    return int(match.group(1))


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
    except ValueError:
        raise ValueError(
            f"since={text[:40]!r} is neither a run id nor an ISO-8601 time like 2024-05-01T12:00:00Z"
        ) from None
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    return when.astimezone(UTC)
