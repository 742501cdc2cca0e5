"""glibc malloc settings for the pipeline's big temporary arrays.

By default glibc hands every large allocation back to the kernel when it is freed and maps fresh
pages for the next one, so each of the pipeline's many short-lived million-row arrays page-faults
its memory in again: on a 12.5M-row log that was 8-12 s of system time per detect. Keeping freed
memory in the process (a high trim threshold, a padded heap top, large blocks from the heap)
brought it to 3.9 s. The price is memory the process keeps: at 1M accounts the main process
peaked at 4.96 GB instead of 4.08 (docs/benchmarks.md). So it is set only where the log leaves room
(:func:`has_room`: both processes' expected peak under 60% of the machine's memory), once per process,
at the start of a detect and in the null copy's process; ``RINGSCOPE_MALLOC=default`` switches it
off, ``keep`` on whatever the size; a no-op where the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
_done = False


#: Peak bytes per event of one detect process, measured at 1M accounts (4.96 GB / 10.9M events).
PEAK_BYTES_PER_EVENT = 460


def has_room(n_events: int) -> bool:
    """Whether keeping freed memory is safe for a log of ``n_events``: the main and the null copy's
    process together expected under 60% of the machine's memory."""
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return False
    return 2 * n_events * PEAK_BYTES_PER_EVENT < 0.6 * total


def keep_freed_memory(n_events: int | None = None) -> bool:
    """Applies the settings once when the log leaves room (or ``RINGSCOPE_MALLOC=keep``); True when
    they are in force."""
    global _done
    if _done:
        return True
    choice = os.environ.get("RINGSCOPE_MALLOC", "").strip().lower()
    if choice == "default" or (choice != "keep" and (n_events is None or not has_room(n_events))):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    ok = bool(mallopt(M_TRIM_THRESHOLD, 2**31 - 1)) & bool(mallopt(M_TOP_PAD, 256 << 20))
    # Blocks up to 1 GB from the heap (older glibc caps this at 32 MB and refuses more: then 32 MB).
    ok &= bool(mallopt(M_MMAP_THRESHOLD, 1 << 30) or mallopt(M_MMAP_THRESHOLD, 32 << 20))
    _done = ok
    return ok
