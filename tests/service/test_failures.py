"""Trying to break ringscope: every bad option is one line (exit 2) before any work, and a crash at any
point of publishing leaves the outputs and the store in agreement (issue 11)."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from service.cli import app
from service.outputs import recover
from service.store import Store

try:
    from tests.service_fixtures import pg_server, store_url  # noqa: F401 (fixtures)
except ImportError:
    from service_fixtures import pg_server, store_url  # noqa: F401 (fixtures)

runner = CliRunner()


def cli(*args: str, env: dict | None = None):
    return runner.invoke(app, [str(a) for a in args], env=env)


def one_line_error(res, *needles: str) -> str:
    """The command failed with exit 2 and one error line holding every needle, no traceback."""
    out = res.output
    assert res.exit_code == 2, out
    assert "Traceback" not in out and res.exception is None or isinstance(res.exception, SystemExit), out
    lines = [ln for ln in out.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, out
    text = " ".join(out.split())  # rich may wrap the line on a narrow terminal
    for needle in needles:
        assert needle in text, (needle, out)
    return text


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("small")
    assert cli("generate", "--out", out, "--accounts", 1200, "--seed", 7).exit_code == 0
    return out


# -- the verdict store ---------------------------------------------------------------------------


def _foreign_db(tmp_path: Path) -> str:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER)")
    return f"sqlite:///{path}"


def _not_a_db(tmp_path: Path) -> str:
    (tmp_path / "junk.db").write_text("this is not a database\n" * 100)
    return f"sqlite:///{tmp_path / 'junk.db'}"


def _read_only(tmp_path: Path) -> str:
    sqlite3.connect(tmp_path / "ro.db").close()
    return f"sqlite:///file:{tmp_path / 'ro.db'}?mode=ro&uri=true"


STORES = {
    "garbage": (lambda p: "garbage", "not a database URL"),
    "unknown dialect": (lambda p: "oracle9://x/y", "unknown database kind"),
    "missing driver": (lambda p: "postgresql+psycopg2://u@127.0.0.1/db", "driver is not installed"),
    "unreachable": (lambda p: "postgresql+psycopg://u:secretpw@127.0.0.1:1/db", "refused"),
    "read-only": (_read_only, "readonly"),
    "not a database": (_not_a_db, "not a database"),
    "foreign tables": (_foreign_db, "not a ringscope store"),
    "in memory": (lambda p: "sqlite://", "in memory"),
}


@pytest.mark.parametrize("case", list(STORES))
def test_bad_store_is_one_line_before_any_work(tmp_path: Path, case: str, monkeypatch) -> None:
    make, needle = STORES[case]
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    url = make(tmp_path)
    # The events file does not exist: the store is judged first, before anything is read.
    res = cli("detect", "--events", tmp_path / "missing.csv", "--out", tmp_path / "o", "--store", url)
    text = one_line_error(res, needle)
    assert "secretpw" not in text
    assert not (tmp_path / "o" / "accounts.csv").exists()
    assert not list(work.iterdir()), "nothing made in the working folder (a file: URI is no path)"
    if case == "foreign tables":
        with sqlite3.connect(tmp_path / "other.db") as conn:
            names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert names == {"invoices"}, "nothing added to a database that is not ours"


@pytest.mark.parametrize("case", ["foreign tables", "in memory", "garbage", "not a database"])
def test_serve_refuses_a_bad_store(tmp_path: Path, case: str) -> None:
    make, needle = STORES[case]
    one_line_error(cli("serve", "--store", make(tmp_path), "--port", _free_port()), needle)


def test_store_open_error_hides_the_password() -> None:
    from service.store import StoreOpenError

    with pytest.raises(StoreOpenError) as info:
        Store("postgresql+psycopg://u:hunter2@127.0.0.1:1/db")
    assert "hunter2" not in str(info.value) and "\n" not in str(info.value)


# -- --out and --model ---------------------------------------------------------------------------


def test_out_that_is_a_file_or_under_one(tmp_path: Path, small: Path) -> None:
    (tmp_path / "afile").write_text("x")
    store = f"sqlite:///{tmp_path / 's.db'}"
    for out, needle in ((tmp_path / "afile", "is a file"), (tmp_path / "afile" / "sub", "which is a file")):
        one_line_error(
            cli("detect", "--events", small / "events.csv", "--out", out, "--store", store), needle
        )
    with Store(store) as st:
        assert st.latest_run() is None, "nothing published"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_out_that_is_read_only(tmp_path: Path, small: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    res = cli(
        "detect", "--events", small / "events.csv", "--out", ro / "o", "--store", f"sqlite:///{tmp_path}/s.db"
    )
    one_line_error(res, "cannot write")


def test_missing_model_fails_before_reading(tmp_path: Path) -> None:
    res = cli(
        "detect",
        "--events",
        tmp_path / "missing.csv",
        "--model",
        tmp_path / "nonexistent",
        "--out",
        tmp_path / "o",
        "--store",
        f"sqlite:///{tmp_path / 's.db'}",
    )
    text = one_line_error(res, "--model", "ringscope train")
    assert "gnn.train" not in text and "missing.csv" not in text


def test_bad_training_config_names_its_path_once(tmp_path: Path, small: Path) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("model: nosuchmodel\n")
    res = cli(
        "train", "--events", small / "events.csv", "--labels", small / "labels.csv", "--config", cfg,
        "--out", tmp_path / "m",
    )  # fmt: skip
    text = one_line_error(res, "nosuchmodel")
    assert text.count(str(cfg)) == 1, text


# -- outputs and publication together -------------------------------------------------------------


def _detect(small: Path, out: Path, store: str, crash_at: str | None = None) -> int:
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("RINGSCOPE_CRASH_AT", None)
    if crash_at:
        env["RINGSCOPE_CRASH_AT"] = crash_at
    cmd = [sys.executable, "-m", "service.cli", "detect", "--events", str(small / "events.csv")]
    cmd += ["--structure-only", "--out", str(out), "--store", store]
    return subprocess.run(cmd, env=env, capture_output=True, timeout=300).returncode


def _agree(out: Path, store: str) -> None:
    """The output folder holds exactly the store's latest run (or nothing, before any)."""
    with Store(store) as st:
        latest = st.latest_run()
        if latest is None:
            assert not (out / "accounts.csv").exists()
            return
        run = json.loads((out / "run.json").read_text())
        assert run["run_id"] == latest["run_id"] and run["store_id"] == st.store_id
        acc = pd.read_csv(out / "accounts.csv", keep_default_na=False)
        for row in acc.sample(20, random_state=0).itertuples():
            assert st.account(row.account_id)["cluster_id"] == (row.cluster_id or None)


@pytest.mark.parametrize("crash_at", ["staged", "committed", "moved_one"])
def test_kill_during_publishing_leaves_outputs_and_store_in_agreement(
    tmp_path: Path, small: Path, crash_at: str, store_url: str
) -> None:
    """kill -9 at each point of publishing, on SQLite and PostgreSQL: staged (before the commit),
    committed (before any file moved), moved_one (one file moved)."""
    out, store = tmp_path / "out", store_url
    assert _detect(small, out, store) == 0  # run 1, complete
    _agree(out, store)
    assert _detect(small, out, store, crash_at) == -9  # killed during run 2
    with Store(store) as st:
        done = recover(out, st.store_id, st.has_run)
        assert done, "the crashed run left a staged folder"
    _agree(out, store)
    assert not list(out.glob(".ringscope-*"))
    # The next detect into the same folder works and agrees too.
    assert _detect(small, out, store) == 0
    _agree(out, store)


def test_kill_at_random_moments_then_recover(tmp_path: Path, small: Path) -> None:
    """kill -9 after seeded random delays across a whole detect; after recovery the outputs always
    hold exactly the store's latest run."""
    import random
    import signal
    import time

    out, store = tmp_path / "out", f"sqlite:///{tmp_path / 's.db'}"
    t0 = time.perf_counter()
    assert _detect(small, out, store) == 0
    took = time.perf_counter() - t0
    rng = random.Random(11)
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("RINGSCOPE_CRASH_AT", None)
    cmd = [sys.executable, "-m", "service.cli", "detect", "--events", str(small / "events.csv")]
    cmd += ["--structure-only", "--out", str(out), "--store", store]
    for _ in range(4):
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.5, 1.1) * took)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        with Store(store) as st:
            recover(out, st.store_id, st.has_run)
        _agree(out, store)


def test_failed_output_write_publishes_nothing(tmp_path: Path, small: Path, monkeypatch) -> None:
    import service.runs

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(service.runs, "stage", full_disk)
    store = f"sqlite:///{tmp_path / 's.db'}"
    res = cli(
        "detect",
        "--events",
        small / "events.csv",
        "--structure-only",
        "--out",
        tmp_path / "o",
        "--store",
        store,
    )
    one_line_error(res, "No space left", "nothing was published")
    with Store(store) as st:
        assert st.latest_run() is None


# -- serve -----------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_malformed_api_keys_never_echo_the_secret(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 's.db'}"
    for keys in ("secretvalue", "secretvalue:admin", "ok1:investigator,secretvalue"):
        res = cli("serve", "--store", store, "--port", _free_port(), env={"RINGSCOPE_API_KEYS": keys})
        text = one_line_error(res, "RINGSCOPE_API_KEYS entry")
        assert "secretvalue" not in text and "ok1" not in text


def test_busy_port_is_one_line_before_serving(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        res = cli(
            "serve",
            "--store",
            f"sqlite:///{tmp_path / 's.db'}",
            "--port",
            port,
            env={"RINGSCOPE_API_KEYS": "k:investigator"},
        )
    one_line_error(res, f"127.0.0.1:{port}", "in use")
    assert "serving" not in res.output
