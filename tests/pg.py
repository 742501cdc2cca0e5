"""A throwaway PostgreSQL server for tests, or a clear reason why there is none.

Looks for ``initdb``/``pg_ctl`` on PATH and under ``/usr/lib/postgresql/*/bin`` (Debian's
``postgresql`` package; ``scripts/install_postgres.sh`` installs it). PostgreSQL refuses to run as
root, so as root the server runs as the ``postgres`` user (``runuser``, else ``su``).

Example:
    >>> with PostgresServer.start() as pg:  # doctest: +SKIP
    ...     url = pg.create_database("t1")  # postgresql+psycopg://postgres@127.0.0.1:PORT/t1
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    """Why no PostgreSQL server could be started (tests skip with this as the reason)."""


def find_bindir() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``, or None."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(os.path.realpath(on_path)).parent
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(candidate) / "pg_ctl").exists() and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """A private PostgreSQL cluster in a temporary folder, on a free 127.0.0.1 port, trust auth."""

    def __init__(self, bindir: Path, user: str | None) -> None:
        self.bindir = bindir
        self.user = user  # OS user to run as (None: the current one)
        self.root = Path(tempfile.mkdtemp(prefix="ringscope-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.started = False

    @classmethod
    def start(cls, timeout: float = 60.0) -> PostgresServer:
        """Initialises and starts a server.

        Raises:
            PostgresUnavailable: PostgreSQL or psycopg is not installed, or the server did not start.
        """
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise PostgresUnavailable("psycopg is not installed (pip install 'psycopg[binary]')") from None
        bindir = find_bindir()
        if bindir is None:
            raise PostgresUnavailable(
                "PostgreSQL is not installed (no initdb/pg_ctl on PATH or under /usr/lib/postgresql/*/bin;"
                " scripts/install_postgres.sh installs it)"
            )
        user = None
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresUnavailable("running as root and there is no 'postgres' user") from None
            if not (shutil.which("runuser") or shutil.which("su")):
                raise PostgresUnavailable("running as root with neither runuser nor su")
            user = "postgres"
        server = cls(bindir, user)
        try:
            server._init_and_start(timeout)
        except Exception as exc:
            log = server._log_tail()
            server.stop()
            raise PostgresUnavailable(f"PostgreSQL did not start: {exc}{log}") from exc
        return server

    def _run(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        cmd = [str(a) for a in args]
        if self.user is not None:
            if shutil.which("runuser"):
                cmd = ["runuser", "-u", self.user, "--", *cmd]
            else:
                cmd = ["su", self.user, "-s", "/bin/sh", "-c", shlex.join(cmd)]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=True)

    def _init_and_start(self, timeout: float) -> None:
        if self.user is not None:
            info = pwd.getpwnam(self.user)
            os.chown(self.root, info.pw_uid, info.pw_gid)
        self._run(
            self.bindir / "initdb",
            "-D",
            self.data,
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--locale=C",
        )
        options = (
            f"-p {self.port} -h 127.0.0.1 -k {self.root} -c fsync=off -c synchronous_commit=off"
            " -c full_page_writes=off -c max_connections=50"
        )
        self._run(
            self.bindir / "pg_ctl",
            "-D",
            self.data,
            "-l",
            self.root / "server.log",
            "-o",
            options,
            "-w",
            "-t",
            str(int(timeout)),
            "start",
            timeout=timeout + 10,
        )
        self.started = True
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.dsn("postgres"), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def _log_tail(self) -> str:
        log = self.root / "server.log"
        try:
            return "\n" + log.read_text()[-800:]
        except OSError:
            return ""

    def dsn(self, database: str) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={database}"

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL of ``database`` on this server (psycopg 3 driver)."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Creates an empty database and returns its SQLAlchemy URL."""
        import psycopg

        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def create_schema(self, name: str, database: str = "postgres") -> str:
        """Creates an empty schema (much faster than a database) and returns a SQLAlchemy URL whose
        connections use it."""
        import psycopg

        with psycopg.connect(self.dsn(database), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
            conn.execute(f'CREATE SCHEMA "{name}"')
        return f"{self.url(database)}?options=-csearch_path%3D{name}"

    def stop(self) -> None:
        """Stops the server (fast mode) and deletes its files."""
        if self.started:
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                self._run(self.bindir / "pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")
            self.started = False
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
