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


def test_gnn_folds_train_each_model_without_its_regime(monkeypatch):
    """Cross-fitted GNN scores for the cluster scorer: the fold of regime R sees every world but R's."""
    import pytest
    import torch
    from torch_geometric.data import Data

    from bench import gnn_folds, gnn_loro
    from bench.scorer_loro import regime_gnns

    def record(n: int) -> dict:
        empty = torch.zeros(0)
        data = Data(x=torch.ones(n, 2), edge_index=torch.zeros(2, 0, dtype=torch.long), y=torch.zeros(n))
        data.edge_type, data.edge_weight, data.relation_names = empty.long(), empty, ["device"]
        mask = np.zeros(n, bool)
        mask[: n // 2] = True
        return {"data": data, "names": ["a", "b"], "train": mask, "val": ~mask}

    records = {("minutes", 0): record(3), ("minutes", 1): record(5), ("day", 0): record(7)}
    records[("reviews", 0)] = record(11)
    seen = []

    class Fitted:
        feature_names_ = None

    def fake_train(cfg, data, train_mask, val_mask):
        seen.append((int(data.num_nodes), int(train_mask.sum()), int(val_mask.sum())))
        return Fitted(), {}

    monkeypatch.setattr(gnn_loro, "train", fake_train)
    assert gnn_folds.train_without is gnn_loro.train_without  # one training of a fold for both benches
    _, _, names = gnn_folds.train_without(records, "minutes", cfg=None)
    assert seen == [(18, 8, 10)] and names == ["a", "b"]  # day's 7 and reviews' 11, no minutes world
    gnn_folds.train_without(records, "reviews", cfg=None)
    assert seen[-1] == (15, 6, 9)
    with pytest.raises(ValueError, match="no training worlds"):
        gnn_folds.train_without({("day", 0): record(3)}, "day", cfg=None)
    with pytest.raises(ValueError, match="'fold' or 'shipped'"):
        regime_gnns("mine")


def test_scorer_loro_choose_prefers_fewer_features_on_a_tie():
    """bench.scorer_loro.choose: best mean F1, then best worst regime, then the setting leaving out
    more features (the GNN feature counts as one), then the stronger regularisation."""
    import pandas as pd

    from bench.scorer_loro import FEATURE_SETS, choose

    def table(*rows):
        return pd.DataFrame(rows, columns=["features", "C", "mean_f1", "worst_f1"])

    assert "-age,activity,gnn" in FEATURE_SETS and "mean_gnn_score" in FEATURE_SETS["-gnn"]
    pick = choose(table(("all", 1.0, 0.90, 0.5), ("-gnn", 1.0, 0.80, 0.5)))
    assert pick["features"] == "all"
    pick = choose(table(("all", 1.0, 0.80, 0.5), ("-age,activity,gnn", 1.0, 0.86, 0.4)))
    assert pick["features"] == "-age,activity,gnn"
    tie = table(("-age,activity", 1.0, 0.865, 0.43), ("-age,activity,gnn", 1.0, 0.863, 0.43))
    assert choose(tie)["features"] == "-age,activity,gnn"  # within 0.005: one feature fewer
    tie = table(("-gnn", 1.0, 0.866, 0.43), ("-gnn", 0.1, 0.866, 0.43), ("all", 0.1, 0.87, 0.2))
    assert choose(tie)["C"] == 0.1 and choose(tie)["features"] == "-gnn"  # the worst regime first


def test_robustness_loro_scores_a_fit_regime_with_models_that_never_saw_it(monkeypatch):
    """bench.robustness --loro: a fit regime's scorers are fitted on the other regimes' worlds only;
    a held-out regime keeps the shipped models."""
    import pandas as pd

    from bench import gnn_folds, robustness, scorer_loro

    def world(regime: str, level: float) -> dict:
        real = pd.DataFrame({"size": [5, 6, 7, 8], "a": [level, level, level + 1, level + 1]})
        real["mean_gnn_score"] = [0.1, 0.2, 0.9, 0.8]
        return {"regime": regime, "real": real, "y": np.array([0, 0, 1, 1])}

    worlds = [world("minutes", 0.0), world("day", 100.0), world("reviews", 20.0)]
    monkeypatch.setattr(scorer_loro, "load_worlds", lambda *a, **k: worlds)
    monkeypatch.setattr(gnn_folds, "fold_models", lambda *a, **k: {})
    robustness.left_out_models.cache_clear()
    assert robustness.left_out_models("quiet") is None  # held out: the shipped models
    got = robustness.left_out_models("day")
    assert got["model"].name == "without_day"
    for variant in ("default", "structure"):
        scorer = got[variant]
        assert scorer.meta["left_out_regime"] == "day"
        assert scorer.mean[scorer.feature_names.index("a")] == 10.5  # minutes (0.5) and reviews (20.5)
    assert "mean_gnn_score" not in got["structure"].feature_names
    robustness.left_out_models.cache_clear()  # nothing fitted on these fakes outlives the test
