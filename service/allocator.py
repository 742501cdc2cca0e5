"""glibc malloc settings for the pipeline's big temporary arrays.

By default glibc hands every large allocation back to the kernel when it is freed and maps fresh
pages for the next one, so each of the pipeline's many short-lived million-row arrays page-faults
its memory in again: on a 12.5M-row log that was 8-12 s of system time per detect. Keeping freed
memory in the process (a high trim threshold, a padded heap top, large blocks from the heap)
brought it to 3.9 s, the same peak RSS (measured: docs/benchmarks.md). Set once per process, at
the start of a detect (and in the null copy's process); a no-op where the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
_done = False


def keep_freed_memory() -> bool:
    """Applies the settings once; True when glibc accepted them."""
    global _done
    if _done:
        return True
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
