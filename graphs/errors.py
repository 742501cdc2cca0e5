"""The project's error base and the error for bad input files.

Every error a user can fix derives from :class:`RingscopeError` (bad input, a wrong config or model,
an unusable verdict store); its message is one line, without secrets, and the CLI prints it as
``error: ...`` with exit status 2, never a traceback.
"""

from __future__ import annotations


class RingscopeError(Exception):
    """Base of every user-fixable ringscope error; the message is one line meant for the user."""


class InputError(RingscopeError):
    """Bad user input: a file that is missing, unreadable or malformed.

    The message is one sentence naming the file, the row and the column where they are known, and
    the fix. The CLI prints it without a traceback and exits non-zero.
    """

    def __init__(
        self,
        path: str,
        message: str,
        *,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.path = path
        self.row = row
        self.column = column
        self.detail = message
        where = [path]
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column '{column}'")
        super().__init__(f"{', '.join(where)}: {message}")


class EngineUnavailable(RingscopeError):
    """An engine asked for (``--engine spark``) cannot run here: a missing package or runtime."""
