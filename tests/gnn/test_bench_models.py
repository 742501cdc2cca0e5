"""The experiment runner: fixed, saved splits; init seeds apart from split seeds; one table."""

from __future__ import annotations

import json

import numpy as np

from bench import models as runner


def test_runner_saves_and_reuses_its_splits(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("gnn.datasets.SHARED_DATA", tmp_path / "no-data")
    out = tmp_path / "out"
    args = ["--models", "mlp,gbt", "--datasets", "quiet,yelpchi", "--split-seeds", "2", "--init-seeds", "2"]
    args += ["--accounts", "2000", "--epochs", "3", "--out", str(out)]
    assert runner.main(args) == 0
    err = capsys.readouterr().err
    assert "yelpchi: skipped" in err  # no real data here: said, not fatal
    rows = json.loads((out / "results.json").read_text())
    assert len(rows) == 2 * 2 * 2  # models x split seeds x init seeds
    assert {(r["split_seed"], r["init_seed"]) for r in rows} == {(0, 0), (0, 1), (1, 0), (1, 1)}
    split0 = np.load(out / "splits" / "quiet-0.npz")
    split1 = np.load(out / "splits" / "quiet-1.npz")
    assert not np.array_equal(split0["test"], split1["test"])
    assert not (split0["train"] & split0["test"]).any()
    # Rings stay whole: every row of one split shares its test positives and rings.
    assert len({(r["split_seed"], r["test_positives"], r["test_rings"]) for r in rows}) == 2
    table = (out / "results.md").read_text()
    assert "| quiet | mlp | 4 |" in table and "| quiet | gbt | 4 |" in table
    # A second run reads the saved split instead of drawing one.
    before = (out / "splits" / "quiet-0.npz").stat().st_mtime_ns
    again = ["--models", "mlp", *args[2:]]
    assert runner.main(again) == 0
    assert (out / "splits" / "quiet-0.npz").stat().st_mtime_ns == before


def test_runner_refuses_unknown_datasets(tmp_path, capsys):
    assert runner.main(["--datasets", "nosuch", "--out", str(tmp_path)]) == 2
    assert "unknown dataset(s) nosuch" in capsys.readouterr().err


def test_transfer_trains_once_and_scores_unseen_worlds(tmp_path):
    """--transfer: one model per init seed on the union of training worlds, scored on each dataset's
    evaluation world whole; a regime never trained on is marked held out."""
    out = tmp_path / "t"
    args = ["--transfer", "--models", "mlp", "--datasets", "minutes,quiet", "--train-regimes", "minutes"]
    args += [
        "--train-worlds",
        "1",
        "--init-seeds",
        "2",
        "--accounts",
        "2000",
        "--epochs",
        "3",
        "--out",
        str(out),
    ]
    assert runner.main(args) == 0
    rows = json.loads((out / "results.json").read_text())
    assert [(r["dataset"], r["init_seed"], r["held_out"]) for r in rows] == [
        ("minutes", 0, False),
        ("quiet", 0, True),
        ("minutes", 1, False),
        ("quiet", 1, True),
    ]
    assert (out / "splits" / "transfer-0.npz").is_file()
    table = (out / "results.md").read_text()
    assert "| quiet (held out) | mlp | 2 |" in table
    # The held-out summary the default model is chosen by: one row per model, 2 paired cells.
    assert "best AP in how many of 2 paired cells" in table and "| mlp | " in table.split("best AP in |")[1]


def test_transfer_repeats_draw_new_worlds(tmp_path):
    """--transfer --split-seeds 2: each repeat has its own training split and evaluation world, so even
    a deterministic model's figures move between repeats."""
    out = tmp_path / "t"
    args = ["--transfer", "--models", "gbt", "--datasets", "quiet", "--train-regimes", "minutes"]
    args += ["--train-worlds", "1", "--split-seeds", "2", "--init-seeds", "1", "--accounts", "2000"]
    args += ["--epochs", "5", "--out", str(out)]
    assert runner.main(args) == 0
    rows = json.loads((out / "results.json").read_text())
    assert [(r["split_seed"], r["init_seed"]) for r in rows] == [(0, 0), (1, 0)]
    assert rows[0]["test_positives"] != rows[1]["test_positives"] or rows[0]["ap"] != rows[1]["ap"]
    assert (out / "splits" / "transfer-0.npz").is_file() and (out / "splits" / "transfer-1.npz").is_file()
    assert "| quiet (held out) | gbt | 2 |" in (out / "results.md").read_text()


def test_loro_scores_each_regime_trained_on_the_others(tmp_path):
    out = tmp_path / "l"
    args = ["--loro", "--models", "mlp", "--train-regimes", "minutes,quiet", "--train-worlds", "1"]
    args += ["--init-seeds", "1", "--accounts", "2000", "--epochs", "3", "--out", str(out)]
    assert runner.main(args) == 0
    rows = json.loads((out / "results.json").read_text())
    assert [(r["dataset"], r["trained_on"], r["held_out"]) for r in rows] == [
        ("minutes", "quiet", True),
        ("quiet", "minutes", True),
    ]
    assert (out / "loro-minutes" / "splits" / "transfer-0.npz").is_file()


def test_on_trained_sees_every_fit_with_its_scorer(tmp_path):
    seen = []

    def keep(dataset, model, split_seed, init_seed, scorer, data, masks):
        scores = scorer.score(data)
        assert scores.shape == (int(data.num_nodes),) and masks[2].shape == scores.shape
        seen.append((dataset, model, split_seed, init_seed))

    rows = runner.run(["mlp"], ["quiet"], 1, 2, 2000, tmp_path, epochs=2, on_trained=keep)
    assert seen == [("quiet", "mlp", 0, 0), ("quiet", "mlp", 0, 1)]
    assert [(r["split_seed"], r["init_seed"]) for r in rows] == [(0, 0), (0, 1)]


def test_gnn_feature_choice_rule():
    """bench.gnn_loro.choose: best mean left-out AP; near ties go to the better worst regime, then to
    the set that leaves out more platform-unit features."""
    from bench.gnn_loro import choose

    def table(**sets):
        return {k: {r: {"ap": a} for r, a in zip("abc", aps, strict=True)} for k, aps in sets.items()}

    assert choose(table(**{"all": [0.9, 0.9, 0.9], "-age,activity": [0.8, 0.8, 0.8]})) == "all"
    # within 0.005 of the best mean: the one whose worst regime is better
    assert choose(table(**{"all": [0.99, 0.99, 0.72], "-age,activity": [0.9, 0.9, 0.9]})) == "-age,activity"
    # a full tie: the set that leaves out more
    tie = {"all": [0.9, 0.9, 0.9], "-age,activity": [0.9, 0.9, 0.9], "-age,activity,breadth": [0.9, 0.9, 0.9]}
    assert choose(table(**tie)) == "-age,activity,breadth"
