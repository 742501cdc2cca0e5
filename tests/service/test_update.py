"""``ringscope update`` / ``watch``: batches join a dataset's state, redeliveries are dropped, the
verdicts after a run of updates are those of one full run, and the change feed carries every change
once across updates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from graphs.events import EventLog
from graphs.synthetic.regimes import generate_regime_world
from graphs.truth import run_agreement
from service.cli import app
from service.outputs import check_out_dir
from service.pipeline import DetectParams, run_detection
from service.state import commit, load_state, merge_batch
from service.store import Store
from service.update import read_batches, update_and_publish

runner = CliRunner()


def time_slices(events: pd.DataFrame, cuts: tuple[float, ...]) -> list[pd.DataFrame]:
    """The log cut at the given quantiles of its timestamps (a live platform's successive batches)."""
    ts = events["timestamp"].to_numpy()
    edges = [-np.inf, *np.quantile(ts, cuts), np.inf]
    return [events[(ts > lo) & (ts <= hi)] for lo, hi in zip(edges[:-1], edges[1:], strict=True)]


def write_batches(world, folder: Path, cuts=(0.8, 0.9)) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, part in enumerate(time_slices(world.events, cuts)):
        p = folder / f"batch-{i:03d}.csv"
        part.to_csv(p, index=False)
        paths.append(p)
    return paths


def run_updates(paths, store: Store, tmp: Path, dataset: str, accounts=None):
    ups = []
    for p in paths:
        good, bad = read_batches([p])
        assert not bad
        ups.append(
            update_and_publish(
                good[0][1],
                str(p),
                dataset,
                tmp / "state",
                store,
                check_out_dir(tmp / "out"),
                {"model": "default"},
                lambda _opts: DetectParams(),
                accounts_path=accounts,
            )
        )
    return ups


@pytest.mark.parametrize("regime,seed", [("minutes", 9300), ("day", 9301)])
def test_updates_give_the_verdicts_of_one_full_run(tmp_path: Path, regime: str, seed: int) -> None:
    world = generate_regime_world(regime, 2500, seed)
    acc_path = tmp_path / "accounts.csv"
    world.accounts.to_csv(acc_path, index=False)
    paths = write_batches(world, tmp_path / "feed")
    with Store(f"sqlite:///{tmp_path / 'inc.db'}") as store:
        ups = run_updates(paths, store, tmp_path, "shop", accounts=acc_path)
    assert [u.batch.added for u in ups] == [len(pd.read_csv(p)) for p in paths]
    assert all(u.run is not None for u in ups)
    assert ups[-1].log_rows == len(world.events)
    incremental = pd.read_csv(tmp_path / "out" / "accounts.csv")

    log = EventLog.from_frame(world.events, source="full")
    full = run_detection(log, world.accounts.set_index("account_id"), model="default")
    agree = run_agreement(incremental, full.accounts)
    assert agree["only_a"] == agree["only_b"] == 0
    assert agree["verdict_agreement"] >= 0.999, agree
    assert agree["rings_a"] > 0 and agree["ring_match"] >= 0.9, agree


def test_updates_reuse_the_null_copy_until_the_log_has_grown(tmp_path: Path) -> None:
    # The first update scores the log's null copy; small batches after it reuse those scores (the
    # threshold is still computed against each run's own clusters) until the log has grown by the
    # set share since; then it is measured again. Verdicts stay those of one full run.
    world = generate_regime_world("minutes", 2500, 9302)
    feed = tmp_path / "feed"
    feed.mkdir()
    paths = []
    for i, part in enumerate(time_slices(world.events, (0.9, 0.93, 0.96))):
        paths.append(feed / f"batch-{i}.csv")
        part.to_csv(paths[-1], index=False)
    with Store(f"sqlite:///{tmp_path / 'inc.db'}") as store:
        ups = run_updates(paths, store, tmp_path, "shop")
        state = load_state(tmp_path / "state", "shop")
    used = [u.calibration for u in ups]
    assert [c["reused"] for c in used] == [False, True, True, False], used
    assert [c["version"] for c in used] == [1, 1, 1, 4]
    reused = [u.run.detection.params["calibration"]["null_reused"] for u in ups]
    assert reused == [False, True, True, False]
    assert "null" in ups[1].run.detection.params["timings_s"]
    # The null scores kept are the fourth run's, with the log's size then.
    cal = state.info["calibration"]
    assert cal["version"] == 4 and cal["events"] == len(world.events)
    assert np.allclose(cal["null_scores"], ups[3].run.detection.null_scores)
    incremental = pd.read_csv(tmp_path / "out" / "accounts.csv")
    full = run_detection(EventLog.from_frame(world.events, source="full"), None, model="default")
    agree = run_agreement(incremental, full.accounts)
    assert agree["verdict_agreement"] >= 0.999, agree


def test_recalibration_when_options_change_or_asked_every_time(tmp_path: Path) -> None:
    from service.update import RECALIBRATE_GROWTH, reusable_calibration

    world = generate_regime_world("minutes", 1500, 9303)
    first, second = time_slices(world.events, (0.95,))
    with Store(f"sqlite:///{tmp_path / 'inc.db'}") as store:
        args = (str(tmp_path / "b.csv"), "shop", tmp_path / "state", store, check_out_dir(tmp_path / "out"))
        params = lambda _o: DetectParams()  # noqa: E731
        update_and_publish(pa.Table.from_pandas(first), *args, {"model": "default"}, params)
        state = load_state(tmp_path / "state", "shop")
        n = state.info["calibration"]["events"]
        same = {"model": "default"}
        assert reusable_calibration(state, same, False, n + 1, RECALIBRATE_GROWTH) is not None
        assert reusable_calibration(state, same, False, n + 1, 0.0) is None  # asked every time
        assert (
            reusable_calibration(state, same, True, n + 1, RECALIBRATE_GROWTH) is None
        )  # new accounts table
        assert reusable_calibration(state, {"model": "none"}, False, n + 1, RECALIBRATE_GROWTH) is None
        assert reusable_calibration(state, same, False, int(n * 1.1) + 1, RECALIBRATE_GROWTH) is None
        # Structure-only now: the model changed, so the null copy is scored again.
        up = update_and_publish(pa.Table.from_pandas(second), *args, {"model": "none"}, params)
    assert up.calibration == {"version": 2, "events": len(world.events), "reused": False}


def test_update_says_when_it_reuses_the_null_copy(tmp_path: Path) -> None:
    import inspect

    from service.cli import update, watch
    from service.update import RECALIBRATE_GROWTH

    for command in (update, watch):
        assert inspect.signature(command).parameters["recalibrate_growth"].default == RECALIBRATE_GROWTH
    world = generate_regime_world("minutes", 1500, 9305)
    paths = write_batches(world, tmp_path / "feed", cuts=(0.95,))
    opts = ["--out", str(tmp_path / "out"), "--store", f"sqlite:///{tmp_path / 'c.db'}"]
    opts += ["--state", str(tmp_path / "st"), "--dataset", "shop", "--structure-only"]
    first = runner.invoke(app, ["update", "--events", str(paths[0]), *opts])
    assert first.exit_code == 0, first.output
    assert "against the log's null copy" in first.output and "reused" not in first.output
    second = runner.invoke(app, ["update", "--events", str(paths[1]), *opts])
    assert second.exit_code == 0, second.output
    text = " ".join(second.output.split())
    assert "against the null copy of an earlier update (reused)" in text, text
    assert "null copy scored at state version 1" in text and "below 10%" in text, text
    again = runner.invoke(app, ["update", "--events", str(paths[1]), *opts, "--recalibrate-growth", "0"])
    assert again.exit_code == 0 and "nothing new" in again.output  # a redelivery publishes nothing


def test_redelivered_and_out_of_order_rows(tmp_path: Path) -> None:
    world = generate_regime_world("minutes", 1500, 9302)
    first, second = time_slices(world.events, (0.9,))
    with Store(f"sqlite:///{tmp_path / 's.db'}") as store:
        folder = tmp_path / "feed"
        folder.mkdir()
        # The second batch also carries 30 rows of the first (a retried delivery) and 20 rows
        # stamped before the first batch's last event (late arrivals).
        late = second.head(20).assign(timestamp=int(first["timestamp"].min()) + 1)
        mixed = pd.concat([first.tail(30), late, second.iloc[20:]])
        first.to_csv(folder / "a.csv", index=False)
        mixed.to_csv(folder / "b.csv", index=False)
        up_a, up_b, up_again = run_updates(
            [folder / "a.csv", folder / "b.csv", folder / "b.csv"], store, tmp_path, "shop"
        )
        assert up_b.batch.redelivered == 30
        assert up_b.batch.added == len(second)
        assert up_b.batch.out_of_order >= 20
        assert up_b.log_rows == len(world.events)
        # The same batch again adds nothing and publishes nothing.
        assert up_again.batch.added == 0 and up_again.batch.redelivered == len(mixed)
        assert up_again.run is None
        assert store.latest_run("shop")["run_id"] == up_b.run.published.run_id
    state = load_state(tmp_path / "state", "shop")
    assert state.version == 2 and state.info["rows"] == len(world.events)
    assert [b["added"] for b in state.info["batches"]] == [len(first), len(second)]


def test_genuinely_repeated_rows_are_kept() -> None:
    rows = pd.DataFrame(
        {
            "account_id": ["a", "a", "b"],
            "timestamp": [86400, 86400, 86400],
            "action": ["login"] * 3,
            "entity_type": ["device"] * 3,
            "entity_id": ["d1", "d1", "d1"],
        }
    )
    old = pa.Table.from_pandas(rows, preserve_index=False)
    batch = pa.Table.from_pandas(rows.iloc[[0, 0, 0, 2]], preserve_index=False)
    added, rep = merge_batch(old, batch, "b")
    # The state holds ("a", d1) twice: two of the batch's three copies are redeliveries, one is new.
    assert rep.redelivered == 3 and rep.added == 1 and added.num_rows == 1
    assert added.column("account_id").to_pylist() == ["a"]


def test_a_failed_commit_leaves_the_last_state_live(tmp_path: Path, monkeypatch) -> None:
    import pyarrow.parquet as pq

    state = load_state(tmp_path, "d")
    frame = pd.DataFrame(
        {"account_id": ["a"], "timestamp": [1], "action": ["x"], "entity_type": ["t"], "entity_id": ["e"]}
    )
    table = pa.Table.from_pandas(frame, preserve_index=False)
    added, rep = merge_batch(None, table, "one")
    first = commit(state, added, None, {}, rep, 1, 1)

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pq, "write_table", broken)
    second = table.set_column(1, "timestamp", pa.array([2]))
    with pytest.raises(OSError):
        commit(first, second, None, {}, rep, 2, 1)
    monkeypatch.undo()
    again = load_state(tmp_path, "d")
    assert again.version == 1 and again.table().num_rows == 1
    assert sorted(p.name for p in again.folder.iterdir()) == ["CURRENT", "parts", "v000001.json"]
    assert [p.name for p in (again.folder / "parts").iterdir()] == ["events-000001.parquet"]
    # The next commit works and the log holds both rows.
    third = commit(again, second, None, {}, rep, 2, 1)
    assert third.table().column("timestamp").to_pylist() == [1, 2]


def test_the_change_feed_carries_every_change_once_across_updates(tmp_path: Path) -> None:
    world = generate_regime_world("minutes", 2500, 9303)
    paths = write_batches(world, tmp_path / "feed", cuts=(0.6, 0.75, 0.9))
    seen: dict[str, dict] = {}
    seqs: list[int] = []
    cursor = None
    with Store(f"sqlite:///{tmp_path / 'feed.db'}") as store:
        for p in paths:
            run_updates([p], store, tmp_path, "shop")
            while True:  # the puller: everything after its last cursor
                page = store.list_clusters(cursor=cursor, limit=50, dataset="shop")
                for item in page.items:
                    seqs.append(item["updated_seq"])
                    seen[item["cluster_id"]] = item
                cursor = page.next_cursor or page.resume_cursor
                if page.next_cursor is None:
                    break
        # Nothing repeated, nothing lost: the puller's last view of each cluster is the store's.
        assert len(seqs) == len(set(seqs)) and seqs == sorted(seqs)
        current = {}
        c = None
        while True:
            page = store.list_clusters(cursor=c, limit=200, dataset="shop")
            current.update({i["cluster_id"]: i for i in page.items})
            c = page.next_cursor
            if c is None:
                break
    assert current.keys() == seen.keys()
    for cid, item in current.items():
        assert seen[cid]["verdict"] == item["verdict"] and seen[cid]["size"] == item["size"]
    steps = {i["lifecycle"] for i in seen.values()}
    assert "born" in steps and steps & {"grew", "shrank", "changed", "merged", "split", "dissolved"}


def test_update_and_watch_on_the_command_line(tmp_path: Path) -> None:
    world = generate_regime_world("minutes", 1500, 9304)
    inbox = tmp_path / "inbox"
    write_batches(world, inbox, cuts=(0.9,))
    (inbox / ".batch-002.csv.tmp").write_text("half written")
    (inbox / "broken.csv").write_text("account_id,timestamp\nx,1\n")
    store = f"sqlite:///{tmp_path / 'w.db'}"
    opts = ["--out", str(tmp_path / "out"), "--store", store, "--state", str(tmp_path / "st")]
    res = runner.invoke(app, ["watch", str(inbox), "--once", "--structure-only", "--engine", "local", *opts])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (inbox / "done").iterdir()) == ["batch-000.csv", "batch-001.csv"]
    assert sorted(p.name for p in (inbox / "failed").iterdir()) == ["broken.csv", "broken.csv.error.txt"]
    assert "lacks required column" in (inbox / "failed" / "broken.csv.error.txt").read_text()
    assert (inbox / ".batch-002.csv.tmp").exists()
    assert "published run 1" in res.output and "dataset inbox" in res.output
    # The same file given to update again: every row is a redelivery, nothing is published.
    res = runner.invoke(
        app, ["update", "--events", str(inbox / "done" / "batch-001.csv"), "--dataset", "inbox", *opts]
    )
    assert res.exit_code == 0, res.output
    assert "already seen" in res.output and "nothing new: no run published" in res.output
    # The state remembers structure-only: the dataset's run stays without a model.
    with Store(store) as st:
        assert st.latest_run("inbox")["model_version"] == "structure-only"
    from service.state import load_state

    assert load_state(tmp_path / "st", "inbox").options["engine"] == "local"
    res = runner.invoke(
        app, ["update", "--events", str(inbox / "done" / "batch-001.csv"), "--engine", "dask", *opts]
    )
    assert res.exit_code == 2 and "engine must be one of local, spark" in " ".join(res.output.split())
    res = runner.invoke(app, ["update", "--events", str(tmp_path / "missing.csv"), *opts])
    assert res.exit_code != 0 and "missing.csv" in res.output and "Traceback" not in res.output


def test_update_takes_any_arrow_table_of_the_contract(tmp_path: Path) -> None:
    # Regime worlds carry large_string dictionaries; the state keeps one schema whatever comes in.
    world = generate_regime_world("hours", 1200, 9305)
    first, second = time_slices(world.events, (0.9,))
    with Store(f"sqlite:///{tmp_path / 't.db'}") as store:
        for i, part in enumerate((first, second)):
            up = update_and_publish(
                pa.Table.from_pandas(part, preserve_index=False),
                f"part {i}",
                "t",
                tmp_path / "state",
                store,
                check_out_dir(tmp_path / "out"),
                {"model": "none"},
                lambda _opts: DetectParams(),
            )
        assert up.log_rows == len(world.events) and up.run is not None
        assert up.run.detection.model_version == "structure-only"


def test_accounts_new_in_an_update_are_scored_and_served_at_once(tmp_path: Path) -> None:
    # Accounts whose first events arrive in the second batch: scored by the saved model from those
    # events and their links to earlier accounts (no retraining), and served right after the update.
    from fastapi.testclient import TestClient

    from service.app import create_app
    from service.settings import Settings

    world = generate_regime_world("minutes", 1500, 9306)
    first, second = time_slices(world.events, (0.85,))
    newcomers = sorted(set(second["account_id"].astype(str)) - set(first["account_id"].astype(str)))
    assert newcomers, "the second slice should bring accounts of its own"
    url = f"sqlite:///{tmp_path / 'n.db'}"
    with Store(url) as store:
        for i, part in enumerate((first, second)):
            update_and_publish(
                pa.Table.from_pandas(part, preserve_index=False),
                f"part {i}",
                "live",
                tmp_path / "state",
                store,
                check_out_dir(tmp_path / "out"),
                {"model": "default"},
                lambda _opts: DetectParams(),
            )
        app = create_app(Settings(store_url=url, api_keys="k:investigator"), store=store)
        with TestClient(app) as client:
            for account in newcomers[:5]:
                res = client.get(f"/v1/accounts/{account}", headers={"X-API-Key": "k"})
                assert res.status_code == 200, res.text
                body = res.json()
                assert 0.0 <= body["score"] <= 1.0 and body["verdict"] in ("ring", "suspicious", "benign")
    acc = pd.read_csv(tmp_path / "out" / "accounts.csv").set_index("account_id")
    assert acc.loc[newcomers, "gnn_score"].notna().all()
