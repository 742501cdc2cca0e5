"""Runs the HTTP service under uvicorn (uvloop + httptools, graceful shutdown)."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import time
from types import FrameType
from typing import TextIO

import uvicorn
from fastapi import FastAPI

from service.app import create_app
from service.settings import Settings

GRACEFUL_SHUTDOWN_S = 10
ACCESS_FLUSH_S = 0.5


class BufferedLineHandler(logging.Handler):
    """Writes records as lines into a block-buffered stream, flushed every ``interval`` seconds.

    One request line per request at thousands of requests/s: a write (and flush) syscall per line,
    or a hand-off to a writer thread per line, costs more CPU than the request itself on a small
    machine. Lines reach the stream at most ``interval`` seconds late; ``close`` (and a clean exit)
    flushes the rest.
    """

    def __init__(self, stream: TextIO | None = None, interval: float = ACCESS_FLUSH_S) -> None:
        super().__init__()
        target = stream if stream is not None else sys.stderr
        self.stream = open(  # noqa: SIM115 (lives as long as the handler)
            os.dup(target.fileno()), "w", buffering=1 << 16, encoding="utf-8", errors="backslashreplace"
        )
        self._flusher = threading.Thread(target=self._flush_every, args=(interval,), daemon=True)
        self._flusher.start()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.stream.write(self.format(record) + "\n")
        except Exception:
            self.handleError(record)

    def flush(self) -> None:
        with self.lock, contextlib.suppress(ValueError, OSError):
            self.stream.flush()

    def _flush_every(self, interval: float) -> None:
        while True:
            time.sleep(interval)
            self.flush()

    def close(self) -> None:
        # Only flush: logging.config.dictConfig (uvicorn configures its loggers at start) "closes"
        # every existing handler but leaves it attached, so the handler must keep working.
        self.flush()
        super().close()


def configure_logging(level: int = logging.INFO) -> logging.Handler | None:
    """Request lines (``ringscope.access``: one JSON object per line) and service messages, on stderr.

    Returns the request-line handler (close it to flush), or None when the logger was already
    configured by someone else.
    """
    service = logging.getLogger("ringscope.service")
    if not service.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        service.addHandler(handler)
        service.setLevel(logging.INFO)
        service.propagate = False
    access = logging.getLogger("ringscope.access")
    access.setLevel(level)
    if access.handlers:
        return None
    lines = BufferedLineHandler()
    lines.setFormatter(logging.Formatter("%(message)s"))
    access.addHandler(lines)
    access.propagate = False
    return lines


def _exit_cleanly(signum: int, _frame: FrameType | None) -> None:
    # uvicorn handles SIGTERM itself while serving, then re-raises it once it has shut down; this
    # turns that last one into a normal exit, so `finally` blocks run and buffered lines are written.
    raise SystemExit(0)


def worker_app() -> FastAPI:
    """The app each worker process builds when ``run_server`` runs several (settings from the
    environment)."""
    configure_logging(logging.INFO if os.environ.get("RINGSCOPE_ACCESS_LOG", "1") == "1" else logging.WARNING)
    return create_app(web=os.environ.get("RINGSCOPE_WEB", "1") == "1")


def run_server(
    store_url: str,
    host: str = "127.0.0.1",
    port: int = 8000,
    api_keys: str | None = None,
    *,
    workers: int = 1,
    access_log: bool = True,
    web: bool = True,
) -> None:
    """Serves the verdict store over HTTP until SIGINT/SIGTERM.

    uvicorn stops accepting connections on SIGTERM, lets requests in flight finish (up to
    ``GRACEFUL_SHUTDOWN_S``), then runs the app's lifespan shutdown, which closes the store's
    connections; the process then exits with status 0.

    Args:
        store_url: SQLAlchemy URL of the verdict store (a missing SQLite file is created empty).
        host: interface to bind; keep 127.0.0.1 unless a proxy fronts the service.
        port: TCP port.
        api_keys: ``key:role,key:role``; None reads ``RINGSCOPE_API_KEYS``.
        workers: uvicorn worker processes (each with its own connections and metrics).
        access_log: write one JSON line per request to stderr.
        web: also serve the investigator web page at ``/``.

    Raises:
        ValueError: ``api_keys`` is malformed.
    """
    keys = api_keys if api_keys is not None else Settings().api_keys
    settings = Settings(store_url=store_url, api_keys=keys)
    settings.key_roles()  # fail fast on a malformed key list
    lines = configure_logging(logging.INFO if access_log else logging.WARNING)
    options = dict(
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        access_log=False,  # ringscope.access writes the JSON lines instead
        log_level="warning",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        server_header=False,
    )
    previous = signal.signal(signal.SIGTERM, _exit_cleanly)
    try:
        if workers > 1:
            # Workers import the app themselves: hand them the settings through the environment.
            os.environ["RINGSCOPE_STORE"] = settings.store_url
            os.environ["RINGSCOPE_API_KEYS"] = settings.api_keys
            os.environ["RINGSCOPE_WEB"] = "1" if web else "0"
            os.environ["RINGSCOPE_ACCESS_LOG"] = "1" if access_log else "0"
            uvicorn.run("service.serve:worker_app", factory=True, workers=workers, **options)
        else:
            uvicorn.run(create_app(settings, web=web), **options)
    finally:
        signal.signal(signal.SIGTERM, previous)
        if lines is not None:
            logging.getLogger("ringscope.access").removeHandler(lines)
            lines.close()
