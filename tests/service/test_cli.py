"""The ringscope command line end to end: generate -> validate -> detect -> train -> detect --model."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from service.cli import app

runner = CliRunner()


def cli(command: str, *flags: str, **options: object):
    """Invokes ``ringscope COMMAND --option value ... FLAGS`` (underscores in names become dashes)."""
    args = [command]
    for name, value in options.items():
        args += [f"--{name.replace('_', '-')}", str(value)]
    return runner.invoke(app, args + list(flags))


@pytest.fixture(scope="module")
def world_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("world")
    res = cli("generate", out=out, accounts=3000, seed=9200)
    assert res.exit_code == 0, res.output
    return out


def test_help_on_every_command() -> None:
    for cmd in [
        "demo",
        "validate",
        "generate",
        "detect",
        "update",
        "watch",
        "train",
        "serve",
        "evaluate",
        "labels",
    ]:
        res = cli(cmd, "--help")
        assert res.exit_code == 0 and "Usage" in res.output, cmd


def test_validate_prints_summary(world_dir: Path) -> None:
    res = cli(
        "validate",
        events=world_dir / "events.csv",
        accounts=world_dir / "accounts.csv",
        labels=world_dir / "labels.csv",
    )
    assert res.exit_code == 0, res.output
    assert "rows" in res.output and "entity type device" in res.output and "time span" in res.output


def test_validate_refuses_bad_file_in_one_line(tmp_path: Path, world_dir: Path) -> None:
    text = (world_dir / "events.csv").read_text().splitlines()
    text[5] = text[5].replace(text[5].split(",")[1], "yesterday", 1)
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(text) + "\n")
    res = cli("validate", events=bad)
    assert res.exit_code != 0
    assert "row 5" in res.output and "'timestamp'" in res.output and "Traceback" not in res.output


def test_detect_writes_tables_and_publishes(tmp_path: Path, world_dir: Path) -> None:
    store = f"sqlite:///{tmp_path / 'r.db'}"
    out = tmp_path / "out"
    res = cli(
        "detect", events=world_dir / "events.csv", accounts=world_dir / "accounts.csv", out=out, store=store
    )
    assert res.exit_code == 0, res.output
    n_born = len(pd.read_csv(out / "clusters.csv"))
    assert f"changes: {n_born} born" in res.output  # a first run: every cluster is new
    acc = pd.read_csv(out / "accounts.csv", keep_default_na=False)
    clu = pd.read_csv(out / "clusters.csv", keep_default_na=False)
    assert list(acc.columns[:4]) == ["account_id", "score", "cluster_id", "verdict"]
    assert (out / "accounts.parquet").exists() and (out / "clusters.parquet").exists()
    # Cluster ids in the files are the store's stable ids.
    from service.store import Store

    ring = clu[clu["verdict"] == "ring"].iloc[0]
    member = acc[acc["cluster_id"] == ring["cluster_id"]].iloc[0]["account_id"]
    with Store(store) as st:
        assert st.cluster(ring["cluster_id"]) is not None
        assert st.account(member)["cluster_id"] == ring["cluster_id"]
    assert not list(out.glob(".ringscope-*")), "no temporary folders left behind"
    # The same log again: the same clusters, nothing to report.
    res = cli(
        "detect", events=world_dir / "events.csv", accounts=world_dir / "accounts.csv", out=out, store=store
    )
    assert res.exit_code == 0 and "no changes" in res.output, res.output


def test_evaluate_a_run_against_labels(tmp_path: Path, world_dir: Path) -> None:
    """The figures are quality_report's on the labelled accounts; a partial labels table is judged on
    what it knows; bad folders are one line."""
    import json

    from graphs.truth import quality_report

    out = tmp_path / "out"
    res = cli("detect", events=world_dir / "events.csv", accounts=world_dir / "accounts.csv", out=out)
    assert res.exit_code == 0, res.output
    res = cli("evaluate", run=out, labels=world_dir / "labels.csv", json=tmp_path / "q.json")
    assert res.exit_code == 0, res.output
    assert "ring recall (Jaccard >= 0.5)" in res.output and "account AP" in res.output
    got = json.loads((tmp_path / "q.json").read_text())
    acc = pd.read_csv(out / "accounts.csv", keep_default_na=False, dtype={"cluster_id": str})
    clu = pd.read_csv(out / "clusters.csv", keep_default_na=False)
    labels = pd.read_csv(world_dir / "labels.csv", keep_default_na=False).set_index("account_id")
    want = quality_report(acc, clu, labels)
    assert (
        got["account_ap"] == pytest.approx(want["account_ap"]) and got["ring_recall"] == want["ring_recall"]
    )
    assert got["unlabelled_accounts"] == 0 and got["ring_recall_by_kind"]
    # Half the labels: only those accounts count.
    half = labels.iloc[::2].reset_index()
    half.to_csv(tmp_path / "half.csv", index=False)
    res = cli("evaluate", run=out, labels=tmp_path / "half.csv", json=tmp_path / "h.json")
    assert res.exit_code == 0, res.output
    h = json.loads((tmp_path / "h.json").read_text())
    assert h["accounts"] + h["unlabelled_accounts"] == got["accounts"] and h["unlabelled_accounts"] > 0
    res = cli("evaluate", run=world_dir, labels=world_dir / "labels.csv")
    assert res.exit_code == 2 and "lacks column" in res.output and "Traceback" not in res.output
    res = cli("evaluate", run=tmp_path / "nowhere", labels=world_dir / "labels.csv")
    assert res.exit_code == 2 and "not a folder" in res.output


def test_detect_bad_input_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = cli("detect", events=tmp_path / "missing.csv", out=out, store=f"sqlite:///{tmp_path / 'r.db'}")
    assert res.exit_code != 0 and "file not found" in res.output
    assert not (out / "accounts.csv").exists()


def test_train_then_detect_with_model(tmp_path: Path, world_dir: Path) -> None:
    cfg = tmp_path / "mlp.yaml"
    cfg.write_text(
        "model: mlp\nhidden: 16\nepochs: 30\npatience: 10\nseed: 0\n"
        "exclude_features: [log_events, log_account_age_days]\n"
    )
    model = tmp_path / "model"
    res = cli(
        "train",
        events=world_dir / "events.csv",
        labels=world_dir / "labels.csv",
        accounts=world_dir / "accounts.csv",
        config=cfg,
        out=model,
    )
    assert res.exit_code == 0, res.output
    assert (model / "model_card.md").exists() and (model / "feature_schema.json").exists()
    features = json.loads((model / "feature_schema.json").read_text())["features"]
    assert "log_events" not in features and "log_account_age_days" not in features
    assert "sync_share" in features
    res = cli(
        "detect",
        events=world_dir / "events.csv",
        model=model,
        out=tmp_path / "o",
        store=f"sqlite:///{tmp_path / 'r.db'}",
    )
    assert res.exit_code == 0, res.output
    acc = pd.read_csv(tmp_path / "o" / "accounts.csv")
    assert "gnn_score" in acc.columns


def test_splits_are_saved_reused_and_seeded_apart_from_the_model(tmp_path: Path, world_dir: Path) -> None:
    """split.csv and metrics.json land in the model directory; --split reuses a split exactly; the
    split seed moves the split while the initialisation seed does not."""
    import json

    def train(name: str, config: str, *flags: str, **options) -> Path:
        cfg = tmp_path / f"{name}.yaml"
        cfg.write_text(config)
        res = cli(
            "train",
            *flags,
            events=world_dir / "events.csv",
            labels=world_dir / "labels.csv",
            config=cfg,
            out=tmp_path / name,
            **options,
        )
        assert res.exit_code == 0, res.output
        return tmp_path / name

    base = "model: mlp\nhidden: 8\nepochs: 5\npatience: 5\n"
    a = train("a", base + "seed: 0\n")
    b = train("b", base + "seed: 1\nsplit_seed: 0\n")  # another initialisation, the same split
    c = train("c", base + "seed: 0\nsplit_seed: 7\n")
    d = train("d", "model: sage\nhidden: 8\nepochs: 5\npatience: 5\nseed: 3\n", split=a / "split.csv")
    split = (a / "split.csv").read_text()
    assert split == (b / "split.csv").read_text() == (d / "split.csv").read_text()
    assert split != (c / "split.csv").read_text()
    table = pd.read_csv(a / "split.csv")
    assert set(table["split"]) == {"train", "val", "test"}
    record = json.loads((a / "metrics.json").read_text())
    assert record["model"] == "mlp" and "ap" in record["metrics"] and record["metrics"]["test_rings"] >= 1
    assert json.loads((d / "metrics.json").read_text())["data"]["split"] == f"from {a / 'split.csv'}"
    bad = tmp_path / "bad_split.csv"
    bad.write_text("account_id,split\nx,holdout\n")
    res = cli(
        "train",
        events=world_dir / "events.csv",
        labels=world_dir / "labels.csv",
        out=tmp_path / "e",
        split=bad,
    )
    assert res.exit_code == 2 and "row 1" in res.output and "'split'" in res.output


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ("model: nosuchmodel\n", "nosuchmodel"),
        ("model: mlp\nexclude_features: [nope]\n", "'nope', which is no feature column"),
    ],
)
def test_train_bad_config_is_one_clear_error(
    tmp_path: Path, world_dir: Path, config: str, expected: str
) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(config)
    res = cli(
        "train",
        events=world_dir / "events.csv",
        labels=world_dir / "labels.csv",
        config=cfg,
        out=tmp_path / "m",
    )
    assert res.exit_code == 2 and expected in res.output and "Traceback" not in res.output
    assert not (tmp_path / "m").exists()


def test_detect_bad_model_dir(tmp_path: Path, world_dir: Path) -> None:
    res = cli(
        "detect",
        events=world_dir / "events.csv",
        model=tmp_path,
        out=tmp_path / "o",
        store=f"sqlite:///{tmp_path / 'r.db'}",
    )
    assert res.exit_code != 0 and "model" in res.output


def test_demo_without_serving(tmp_path: Path) -> None:
    res = cli(
        "demo",
        "--no-serve",
        accounts=3000,
        workdir=tmp_path / "demo",
        store=f"sqlite:///{tmp_path / 'demo.db'}",
    )
    assert res.exit_code == 0, res.output
    assert "ring recall" in res.output and "published run" in res.output


def test_detect_prints_roles_and_calibration_and_takes_schema_options(
    tmp_path: Path, world_dir: Path
) -> None:
    store = f"sqlite:///{tmp_path / 'r.db'}"
    res = cli("detect", events=world_dir / "events.csv", out=tmp_path / "o", store=store)
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())  # rich wraps long lines
    assert "entity roles: identifiers device, ip" in text
    assert "ring threshold" in text and "false rings expected" in text
    # Declared roles win over inference, and a column can be switched off.
    res = cli(
        "detect",
        "--structure-only",
        events=world_dir / "events.csv",
        out=tmp_path / "o2",
        store=store,
        identifiers="device,ip,content",
        targets="account",
        ignore_column="nothing_here",
    )
    assert res.exit_code == 0, res.output
    roles = " ".join(res.output.split()).split("entity roles: ")[1].split("; targets")[0]
    assert {"content", "device", "ip"} <= set(roles.removeprefix("identifiers ").split(", "))
    res = cli("detect", events=world_dir / "events.csv", out=tmp_path / "o3", identifiers="ip", targets="ip")
    assert res.exit_code == 2 and "both an identifier and a target" in " ".join(res.output.split())
    assert "Traceback" not in res.output


def test_detect_config_reaches_the_run(tmp_path: Path, world_dir: Path) -> None:
    cfg = tmp_path / "detect.yaml"
    cfg.write_text("cluster:\n  resolution: 0.08\nrefine:\n  detach_passive: false\n")
    store = f"sqlite:///{tmp_path / 'r.db'}"
    res = cli(
        "detect",
        "--structure-only",
        events=world_dir / "events.csv",
        out=tmp_path / "o",
        store=store,
        config=cfg,
    )
    assert res.exit_code == 0, res.output
    from service.store import Store

    with Store(store) as st:
        params = st.latest_run()["params"] if "params" in st.latest_run() else st.run(1)["params"]
    assert params["cluster"]["resolution"] == 0.08 and params["refine"]["detach_passive"] is False
    cfg.write_text("cluster:\n  resolutoin: 0.08\n")
    res = cli("detect", events=world_dir / "events.csv", out=tmp_path / "o2", store=store, config=cfg)
    assert res.exit_code == 2 and "cluster.resolutoin" in res.output


def test_two_logs_in_one_store_and_a_rerun(tmp_path: Path, world_dir: Path) -> None:
    """Each log is its own dataset: a second log leaves the first one's rings alone, and running the
    first again keeps every id and adds no change to the feed."""
    other = tmp_path / "other"
    assert cli("generate", out=other, accounts=1500, seed=3).exit_code == 0
    store = f"sqlite:///{tmp_path / 'r.db'}"
    for events in (world_dir / "events.csv", other / "events.csv", world_dir / "events.csv"):
        res = cli("detect", "--structure-only", events=events, out=tmp_path / events.parent.name, store=store)
        assert res.exit_code == 0, res.output
        assert f"dataset: {events.parent.name}/events" in res.output
    from service.store import Store

    with Store(store) as st:
        runs = [st.run(i) for i in (1, 2, 3)]
        assert runs[2]["dataset"] == runs[0]["dataset"] != runs[1]["dataset"]
        assert runs[2]["n_events"] == 0, "the rerun changed nothing"
        page = st.list_clusters(limit=1000)
        assert {c["status"] for c in page.items} == {"active"}, "nobody's rings dissolved"


def test_detect_engine_errors_are_one_line(tmp_path: Path, world_dir: Path, monkeypatch) -> None:
    import graphs.spark

    events = world_dir / "events.csv"
    res = cli("detect", events=events, out=tmp_path / "o", engine="dask")
    text = " ".join(res.output.split())
    assert res.exit_code == 2 and "engine must be one of local, spark, got 'dask'" in text
    # A Spark engine that cannot run here says why before any work (no output folder is made).
    monkeypatch.setattr(graphs.spark, "spark_missing", lambda: "the Spark engine needs a Java runtime")
    res = cli("detect", events=events, out=tmp_path / "o2", engine="spark")
    text = " ".join(res.output.split())
    assert (
        res.exit_code == 2
        and "engine spark (--engine or the config's graph.engine): the Spark engine needs a Java" in text
    )
    assert "Traceback" not in res.output and not (tmp_path / "o2").exists()
    res = cli("detect", events="s3a://bucket/events.parquet", out=tmp_path / "o4")
    text = " ".join(res.output.split())
    assert res.exit_code == 2 and "s3a://bucket/events.parquet: a URI is read by the Spark engine" in text
    cfg = tmp_path / "detect.yaml"
    cfg.write_text("graph:\n  engine: spark\n")
    res = cli("detect", events=events, out=tmp_path / "o3", config=cfg)
    assert res.exit_code == 2 and "engine spark (--engine" in " ".join(res.output.split())
