"""Model zoo: every registered model trains, saves/loads identically, and configs fail clearly."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from sklearn.metrics import log_loss

from gnn import (
    ConfigError,
    GraphDataError,
    available_models,
    build_scorer,
    get_model,
    graph_ops,
    load_config,
    load_model,
    parse_config,
    register_model,
    registry,
    save_model,
    train,
)
from gnn.features import FeatureScaler
from gnn.metrics import best_threshold, evaluate, recall_at_k
from gnn.models.bwgnn import beta_wavelet_coefficients
from gnn.models.gbt import apply_bins, quantile_bin_edges
from gnn.models.ghrn import heterophily_indicator, prune_mask
from gnn.scorers import EarlyStopping
from gnn.synthetic import ring_graph, stratified_masks

MODELS = available_models()


def quick_config(model: str, **overrides) -> dict:
    config = {"model": model, "hidden": 16, "epochs": 15, "patience": 100, "seed": 0, "lr": 0.02}
    if model == "gbt":
        config.update(lr=0.1, epochs=20, params={"min_samples_leaf": 3})
    config.update(overrides)
    return config


@pytest.fixture(scope="module")
def ring() -> tuple:
    """60 accounts; the 12 bots form one clique on relation 0 and have shifted features."""
    data = ring_graph(num_nodes=60, bot_share=0.2, ring_size=12, num_relations=2, feature_shift=2.0, seed=3)
    masks = stratified_masks(data.y, 0.5, 0.25, seed=0)
    return data, masks


def test_registry_lists_builtin_models():
    assert {"mlp", "sage", "gat", "rgcn", "bwgnn", "ghrn", "gbt"} <= set(MODELS)
    assert get_model("bwgnn").model_name == "bwgnn"


@pytest.mark.parametrize("model", MODELS)
def test_training_reduces_loss(model, ring):
    data, (train_mask, val_mask, _) = ring
    # without a validation mask every model runs all its epochs / boosting rounds
    scorer = build_scorer(quick_config(model)).fit(data, train_mask)
    y = data.y.numpy()
    if model == "gbt":
        # boosting has no epoch loss; the staged training log-loss must fall instead
        assert scorer.model.n_iter_ == 20
        matrix = scorer.design_matrix(data)
        probs = [p[:, 1] for p in scorer.model.staged_predict_proba(matrix[train_mask])]
        assert log_loss(y[train_mask], probs[-1]) < log_loss(y[train_mask], probs[0])
    else:
        losses = [h["loss"] for h in scorer.history_]
        assert len(losses) == 15
        assert losses[-1] < losses[0]
    p = scorer.score(data)
    assert p.shape == (60,) and p.dtype == np.float64
    assert np.all((p >= 0) & (p <= 1))
    # with one, training stops early and restores the best validation epoch
    scorer = build_scorer(quick_config(model, patience=3)).fit(data, train_mask, val_mask)
    assert 1 <= scorer.best_epoch_ <= len(scorer.history_)
    assert all("val_ap" in h for h in scorer.history_)


@pytest.mark.parametrize("model", MODELS)
def test_single_relation_and_bare_graph(model, ring):
    """R == 1 works, and so does a graph without edge_type / edge_weight / relation_names."""
    data = ring_graph(num_nodes=40, num_relations=1, ring_size=8, seed=1)
    train_mask, val_mask, _ = stratified_masks(data.y, 0.5, 0.25, seed=0)
    scorer = build_scorer(quick_config(model, epochs=5)).fit(data, train_mask, val_mask)
    bare = data.clone()
    del bare.edge_type, bare.edge_weight, bare.relation_names
    assert scorer.score(bare).shape == (40,)


@pytest.mark.parametrize("model", MODELS)
def test_save_load_gives_identical_scores(model, ring, tmp_path):
    data, (train_mask, val_mask, test_mask) = ring
    scorer, metrics = train(quick_config(model), data, train_mask, val_mask, test_mask)
    names = [f"feat_{i}" for i in range(data.x.size(1))]
    out = save_model(scorer, tmp_path / "m", scorer.config, metrics, names, {"dataset": "ring fixture"})
    expected_weights = "model.joblib" if model == "gbt" else "model.pt"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [expected_weights, "config.yaml", "feature_schema.json", "model_card.md", "metrics.json"]
    )
    assert json.loads((out / "feature_schema.json").read_text())["features"] == names
    record = json.loads((out / "metrics.json").read_text())
    assert record["metrics"]["ap"] == pytest.approx(metrics["ap"]) and record["data"] == {
        "dataset": "ring fixture"
    }
    card = (out / "model_card.md").read_text()
    assert "ring fixture" in card and "roc_auc" in card
    loaded = load_model(out)
    np.testing.assert_array_equal(loaded.score(data), scorer.score(data))
    assert loaded.threshold_ == scorer.threshold_
    # saving again replaces the directory atomically and leaves no temporary siblings
    save_model(loaded, out, feature_names=names)
    assert [p.name for p in tmp_path.iterdir()] == ["m"]


def test_metrics_dict(ring):
    data, (train_mask, val_mask, test_mask) = ring
    _, metrics = train(quick_config("rgcn", epochs=40), data, train_mask, val_mask, test_mask)
    for key in ("roc_auc", "ap", "macro_f1", "recall_at_k", "threshold", "seconds_per_epoch", "fit_seconds"):
        assert key in metrics
    assert metrics["test_nodes"] == int(test_mask.sum())
    assert metrics["roc_auc"] > 0.9  # the planted clique is easy
    assert metrics["seconds_per_epoch"] > 0


def test_training_is_seeded(ring):
    data, (train_mask, val_mask, _) = ring
    a = build_scorer(quick_config("sage", dropout=0.2)).fit(data, train_mask, val_mask).score(data)
    b = build_scorer(quick_config("sage", dropout=0.2)).fit(data, train_mask, val_mask).score(data)
    np.testing.assert_array_equal(a, b)


def test_score_rejects_mismatched_schema(ring):
    data, (train_mask, val_mask, _) = ring
    scorer = build_scorer(quick_config("mlp", epochs=2)).fit(data, train_mask, val_mask)
    other = data.clone()
    other.x = other.x[:, :5]
    with pytest.raises(GraphDataError, match="8 feature columns|5 feature columns"):
        scorer.score(other)
    other = data.clone()
    other.relation_names = ["a", "b"]
    with pytest.raises(GraphDataError, match="relations"):
        scorer.score(other)


def test_unknown_model_lists_available():
    with pytest.raises(ConfigError) as err:
        parse_config({"model": "transformerx"})
    message = str(err.value)
    assert "field 'model'" in message and "unknown model 'transformerx'" in message
    for name in MODELS:
        assert name in message


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"model": "sage", "lr": -0.1}, "lr"),
        ({"model": "sage", "lr": 0}, "lr"),
        ({"model": "sage", "hidden": "big"}, "hidden"),
        ({"model": "sage", "hidden": True}, "hidden"),
        ({"model": "sage", "lr": "fast"}, "lr"),
        ({"model": "sage", "class_weight": "inverse"}, "class_weight"),
        ({"model": "sage", "epochs": 2.5}, "epochs"),
        ({"model": "sage", "dropout": 1.5}, "dropout"),
        ({"model": "sage", "class_weight": -2}, "class_weight"),
        ({"model": "sage", "params": "fast"}, "params"),
        ({"model": "sage", "learning_rate": 0.1}, "learning_rate"),
        ({"hidden": 8}, "model"),
    ],
)
def test_bad_config_names_the_field(raw, field):
    with pytest.raises(ConfigError, match=f"field '{field}'"):
        parse_config(raw, "cfg.yaml")


def test_unknown_param_lists_accepted():
    with pytest.raises(
        ConfigError, match="field 'params': 'order' not accepted by model 'bwgnn'; accepted: hetero"
    ):
        parse_config({"model": "bwgnn", "params": {"order": 3}})


def test_load_config_names_the_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("model: gat\nlr: -1\n")
    with pytest.raises(ConfigError, match=r"bad.yaml, field 'lr': Input should be greater than 0 \(got -1\)"):
        load_config(path)
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "missing.yaml")


def test_example_configs_are_valid():
    from pathlib import Path

    configs = sorted((Path(__file__).resolve().parents[2] / "gnn" / "configs").glob("*.yaml"))
    assert {load_config(p).model for p in configs} == set(MODELS)


def test_new_variant_is_one_decorator(ring, monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))

    @register_model("linear_probe")
    class LinearProbe(torch.nn.Module):
        def __init__(self, in_channels, hidden=64, num_relations=1, bias: bool = True, **kwargs):
            super().__init__()
            self.lin = torch.nn.Linear(in_channels, 1, bias=bias)

        def forward(self, x, edge_index, edge_type=None, edge_weight=None):
            return self.lin(x).squeeze(-1)

    assert "linear_probe" in available_models()
    data, (train_mask, val_mask, _) = ring
    config = parse_config({"model": "linear_probe", "epochs": 3, "params": {"bias": False}})
    assert build_scorer(config).fit(data, train_mask, val_mask).score(data).shape == (60,)


def test_beta_wavelets_match_reference():
    # calculate_theta2(d=2) of the official BWGNN code
    assert beta_wavelet_coefficients(2) == [[3.0, -3.0, 0.75], [0.0, 3.0, -1.5], [0.0, 0.0, 0.75]]
    for order in (1, 3, 4):
        total = np.sum(beta_wavelet_coefficients(order), axis=0)
        np.testing.assert_allclose(total, [order + 1] + [0] * order, atol=1e-9)


def test_ghrn_indicator_flags_inter_class_edges():
    # a 4-clique of bots and a 4-clique of benign accounts joined by two cross edges
    y = torch.tensor([1, 1, 1, 1, 0, 0, 0, 0])
    pairs = [(i, j) for i in range(4) for j in range(i + 1, 4)] + [
        (i, j) for i in range(4, 8) for j in range(i + 1, 8)
    ]
    pairs += [(0, 4), (1, 5)]
    src, dst = zip(*pairs, strict=True)
    edge_index = torch.tensor([src + dst, dst + src])
    adj = graph_ops.adjacency(edge_index, 8, None, "sym", self_loops=True)
    scores = heterophily_indicator(edge_index, y.float(), adj)
    inter = y[edge_index[0]] != y[edge_index[1]]
    assert scores[inter].max() < scores[~inter].min()
    keep = prune_mask(scores, drop_rate=inter.float().mean().item())
    assert torch.equal(keep, ~inter)


def test_best_threshold_and_recall_at_k():
    y = np.array([0, 0, 0, 1, 1, 0, 1])
    p = np.array([0.1, 0.2, 0.3, 0.8, 0.9, 0.4, 0.7])
    threshold, f1 = best_threshold(y, p)
    assert f1 == 1.0 and 0.4 < threshold <= 0.7
    assert recall_at_k(y, p) == 1.0
    m = evaluate(y, p, threshold)
    assert m["roc_auc"] == 1.0 and m["ap"] == 1.0 and m["macro_f1"] == 1.0


def test_scaler_uses_training_rows_only():
    x = np.array([[1.0, 10.0], [3.0, 30.0], [1000.0, -5.0]])
    scaler = FeatureScaler("standard").fit(x[:2])
    np.testing.assert_allclose(scaler.mean_, [2.0, 20.0])
    z = scaler.transform(x)
    np.testing.assert_allclose(z[:2], [[-1, -1], [1, 1]], atol=1e-6)
    assert z[2, 0] == 10.0  # clipped
    restored = FeatureScaler.from_state(scaler.state())
    np.testing.assert_array_equal(restored.transform(x), z)


def test_early_stopping_breaks_saturated_ap_ties_by_loss():
    stop = EarlyStopping(patience=2)
    assert stop.update(1, 1.0, 0.9)
    assert stop.update(2, 1.0, 0.5)  # same AP, lower loss: better
    assert not stop.update(3, 0.9, 0.1)
    assert not stop.update(4, 1.0, 0.6)
    assert stop.exhausted and stop.best_epoch == 2


def test_gbt_binning_is_monotone_and_bounded():
    rng = np.random.default_rng(0)
    matrix = np.c_[rng.lognormal(size=2000), rng.integers(0, 5, 2000), np.zeros(2000)]
    binned = apply_bins(matrix, quantile_bin_edges(matrix))
    for j in range(3):
        assert len(np.unique(binned[:, j])) <= 255
        order = np.argsort(matrix[:, j], kind="stable")
        assert np.all(np.diff(binned[order, j]) >= 0)
    assert len(np.unique(binned[:, 1])) == 5 and len(np.unique(binned[:, 2])) == 1


@pytest.mark.parametrize("name", ["sage", "gbt"])
def test_unfitted_scorer_has_no_fitted_attributes(name: str) -> None:
    """sklearn's convention: only fit (or load) sets the trailing-underscore attributes."""
    from gnn.config import parse_config
    from gnn.scorers import build_scorer

    scorer = build_scorer(parse_config({"model": name}))
    assert not [a for a in vars(scorer) if a.endswith("_") and not a.startswith("_")]


def test_epochs_are_reported_to_whoever_watches(ring):
    """Inside ``reporting`` every epoch reaches the reporter with its loss, validation AP, the best so
    far and an upper bound on the epochs left; outside it nothing is reported."""
    from gnn.progress import reporting

    data, (train_mask, val_mask, _) = ring
    seen = []
    with reporting(seen.append):
        scorer = build_scorer(quick_config("sage", epochs=30, patience=5)).fit(data, train_mask, val_mask)
    assert [e.epoch for e in seen] == list(range(1, len(scorer.history_) + 1))
    assert [e.loss for e in seen] == [h["loss"] for h in scorer.history_]
    last = seen[-1]
    assert last.best_epoch == scorer.best_epoch_ and last.best_ap == max(h["val_ap"] for h in scorer.history_)
    assert all(0 <= e.left <= 30 - e.epoch for e in seen) and (last.left == 0 or len(seen) == 30)
    assert "val AP" in last.line() and "left" in last.line()
    build_scorer(quick_config("sage", epochs=3)).fit(data, train_mask, val_mask)
    assert len(seen) == len(scorer.history_)  # no reporter any more


@pytest.mark.parametrize("training", [False, True])
def test_sparse_gat_matches_pyg_gatconv(training):
    """The zoo's GAT aggregates attention with sparse products; the result (and its gradients) must
    be PyG's GATConv's, duplicate edges and existing self-loops included."""
    from torch_geometric.nn import GATConv

    from gnn.models.gat import AttentionGraph, sparse_gat

    gen = torch.Generator().manual_seed(0)
    n = 40
    edge_index = torch.randint(0, n, (2, 300), generator=gen)
    edge_index = torch.cat([edge_index, edge_index[:, :20], torch.tensor([[3, 5], [3, 5]])], dim=1)
    x = torch.randn(n, 6, generator=gen)
    torch.manual_seed(1)
    conv = GATConv(6, 4, heads=3, dropout=0.3 if training else 0.0)
    conv.train(training)
    torch.manual_seed(2)
    ours = sparse_gat(conv, x, AttentionGraph(edge_index, n))
    if training:  # dropout draws differ between the two paths: compare without it
        conv.dropout = 0.0
        ours = sparse_gat(conv, x, AttentionGraph(edge_index, n))
    reference = conv(x, edge_index)
    assert torch.allclose(ours, reference, atol=1e-5)
    x.requires_grad_(True)
    wrt = (conv.att_src, conv.att_dst, conv.lin.weight, x)
    g_ours = torch.autograd.grad(sparse_gat(conv, x, AttentionGraph(edge_index, n)).square().sum(), wrt)
    g_ref = torch.autograd.grad(conv(x, edge_index).square().sum(), wrt)
    for a, b in zip(g_ours, g_ref, strict=True):
        assert torch.allclose(a, b, atol=1e-4)


@pytest.mark.parametrize("model", ["sage", "gbt"])
def test_excluded_features_are_left_out_by_name(model, ring, tmp_path):
    """``exclude_features`` drops named columns: the model takes the rest by name, so a graph whose
    columns come in another order (or with more of them) scores the same, and one lacking a column
    it takes is refused naming it."""
    data, (train_mask, val_mask, _) = ring
    named = data.clone()
    named.feature_names = [f"f{i}" for i in range(data.x.size(1))]
    scorer = build_scorer(quick_config(model, exclude_features=["f0", "f3"])).fit(named, train_mask, val_mask)
    assert scorer.feature_names_ == [n for n in named.feature_names if n not in ("f0", "f3")]
    assert scorer.in_channels_ == data.x.size(1) - 2
    # the excluded columns do not matter: changing them leaves every score as it was
    noisy = named.clone()
    noisy.x = named.x.clone()
    noisy.x[:, [0, 3]] = torch.randn(noisy.x.size(0), 2) * 100
    np.testing.assert_array_equal(scorer.score(noisy), scorer.score(named))
    # columns are found by name, not by position
    order = list(reversed(range(data.x.size(1))))
    shuffled = named.clone()
    shuffled.x = named.x[:, order]
    shuffled.feature_names = [named.feature_names[i] for i in order]
    np.testing.assert_array_equal(scorer.score(shuffled), scorer.score(named))
    # and survive saving
    out = save_model(scorer, tmp_path / "m", scorer.config, None, scorer.feature_names_)
    np.testing.assert_array_equal(load_model(out).score(shuffled), scorer.score(named))
    missing = named.clone()
    missing.x = named.x[:, 1:]
    missing.feature_names = named.feature_names[1:]
    missing.feature_names[0] = "other"
    with pytest.raises(GraphDataError, match="no feature column 'f1'"):
        scorer.score(missing)


def test_excluding_an_unknown_feature_names_it(ring):
    data, (train_mask, val_mask, _) = ring
    named = data.clone()
    named.feature_names = [f"f{i}" for i in range(data.x.size(1))]
    with pytest.raises(GraphDataError, match="'nope', which is no feature column"):
        build_scorer(quick_config("sage", exclude_features=["nope"])).fit(named, train_mask, val_mask)
    with pytest.raises(GraphDataError, match="needs named feature columns"):
        build_scorer(quick_config("sage", exclude_features=["f0"])).fit(data, train_mask, val_mask)
