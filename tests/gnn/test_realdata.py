"""Loader for the CARE-GNN ``.mat`` fraud graphs, on tiny files written here in the same format."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp
import torch
from torch_geometric.data import Data

from bench import realdata
from gnn.datasets import find_dataset_file, load_fraud_mat
from gnn.errors import DatasetError, GNNError


def _adjacency(n: int, pairs: list[tuple[int, int]]) -> sp.csc_matrix:
    """Symmetric 0/1 adjacency, as the CARE-GNN files store it."""
    rows = [a for a, b in pairs] + [b for a, b in pairs]
    cols = [b for a, b in pairs] + [a for a, b in pairs]
    return sp.csc_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))


def write_mat(path, relations: dict[str, list[tuple[int, int]]], n: int, num_features: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    label = (rng.random(n) < 0.2).astype(np.float64)
    label[-2:] = [0, 1]
    mats = {name: _adjacency(n, pairs) for name, pairs in relations.items()}
    homo = sp.csc_matrix((sum(mats.values()) + sp.eye(n) != 0).astype(np.float64))  # with self-loops
    scipy.io.savemat(
        path,
        {
            "features": sp.csc_matrix(rng.random((n, num_features))),
            "label": label[None, :],
            "homo": homo,
            **mats,
        },
    )
    return label


def test_amazon_loader(tmp_path):
    n = 3305 + 40
    relations = {
        "net_upu": [(0, 1), (3305, 3306), (3306, 3307)],
        "net_usu": [(3305, 3306), (3310, 3311)],
        "net_uvu": [(3320, 3321), (3321, 3321)],  # the self-loop must be dropped
    }
    label = write_mat(tmp_path / "Amazon.mat", relations, n, 25)
    data = load_fraud_mat("amazon", tmp_path)
    assert data.x.shape == (n, 25) and data.x.dtype == torch.float32
    assert data.relation_names == ["net_upu", "net_usu", "net_uvu"]
    assert data.edge_index.dtype == torch.int64 and data.edge_type.dtype == torch.int64
    assert data.edge_index.shape[1] == 2 * 6 == data.edge_type.numel() == data.edge_weight.numel()
    assert torch.bincount(data.edge_type).tolist() == [6, 4, 2]
    pairs = set(map(tuple, data.edge_index.t().tolist()))
    assert all((b, a) in pairs for a, b in pairs)  # both directions present
    assert not any(a == b for a, b in pairs)
    assert (data.y[:3305] == -1).all()  # left out of every split, as in CARE-GNN / PC-GNN
    np.testing.assert_array_equal(data.y[3305:].numpy(), label[3305:].astype(int))
    assert data.homo_edge_index.shape[1] == 2 * 5  # the union without self-loops


def test_yelpchi_loader_accepts_file_path(tmp_path):
    relations = {"net_rur": [(0, 1)], "net_rtr": [(1, 2), (2, 3)], "net_rsr": []}
    write_mat(tmp_path / "YelpChi.mat", relations, 30, 32)
    data = load_fraud_mat("yelpchi", tmp_path / "YelpChi.mat")
    assert data.x.shape == (30, 32)
    assert data.relation_names == ["net_rur", "net_rtr", "net_rsr"]
    assert torch.bincount(data.edge_type, minlength=3).tolist() == [2, 4, 0]
    assert (data.y >= 0).all()


def test_missing_file_says_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.setattr("gnn.datasets.SHARED_DATA", tmp_path / "shared" / "data")
    where = r"YelpChi.mat not found .*shared/data.*CARE-GNN.*unzip it into .*RINGSCOPE_DATA"
    with pytest.raises(DatasetError, match=where):
        find_dataset_file("yelpchi", tmp_path / "nowhere")


def test_missing_key_is_named(tmp_path):
    scipy.io.savemat(tmp_path / "YelpChi.mat", {"features": np.ones((3, 2)), "label": np.zeros((1, 3))})
    with pytest.raises(DatasetError, match="missing key.*homo.*net_rur"):
        load_fraud_mat("yelpchi", tmp_path)


def test_bench_smoke_on_synthetic(tmp_path, capsys):
    out = tmp_path / "result.json"
    code = realdata.main(
        [
            "--dataset",
            "yelpchi",
            "--synthetic",
            "--seeds",
            "2",
            "--models",
            "mlp,rgcn",
            "--epochs",
            "3",
            "--json",
            str(out),
        ]
    )
    assert code == 0
    table = capsys.readouterr().out
    assert "| mlp |" in table and "| rgcn |" in table and "±" in table
    result = json.loads(out.read_text())
    assert len(result["runs"]) == 4 and set(result["summary"]) == {"mlp", "rgcn"}
    assert result["info"]["relations"] == ["net_rur", "net_rtr", "net_rsr"]


def test_bench_reports_missing_data(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("gnn.datasets.SHARED_DATA", tmp_path)
    assert realdata.main(["--dataset", "amazon", "--seeds", "1", "--models", "mlp"]) == 2
    assert "Amazon.mat not found" in capsys.readouterr().err


def test_drop_features_removes_named_columns():
    data = Data(x=torch.arange(12, dtype=torch.float32).reshape(3, 4))
    data.feature_names = ["rank", "rd", "user_pr", "prod_pr"]
    data.feature_source = "rebuilt"
    realdata.drop_columns(data, ["user_*", "prod_*"])
    assert data.feature_names == ["rank", "rd"]
    assert data.x.tolist() == [[0.0, 1.0], [4.0, 5.0], [8.0, 9.0]]
    assert "kept 2 of 4" in data.feature_source


def test_drop_features_refuses_what_it_cannot_do(capsys):
    data = Data(x=torch.zeros(2, 2))
    data.feature_names = ["a", "b"]
    with pytest.raises(GNNError, match="'c\\*' matches no feature; features: a, b"):
        realdata.drop_columns(data, ["c*"])
    with pytest.raises(GNNError, match="every feature"):
        realdata.drop_columns(data, ["*"])
    # The synthetic smoke graph's features have no names: one line, exit 2.
    assert realdata.main(["--dataset", "yelpchi", "--synthetic", "--drop-features", "x"]) == 2
    assert "features have no names" in capsys.readouterr().err


def test_first_seed_adds_seeds_to_an_earlier_run(tmp_path):
    both, later = tmp_path / "both.json", tmp_path / "later.json"
    common = ["--dataset", "yelpchi", "--synthetic", "--models", "mlp", "--epochs", "3"]
    assert realdata.main([*common, "--seeds", "2", "--json", str(both)]) == 0
    assert realdata.main([*common, "--seeds", "1", "--first-seed", "1", "--json", str(later)]) == 0
    run_both = json.loads(both.read_text())["runs"][1]
    run_later = json.loads(later.read_text())["runs"][0]
    assert run_later["seed"] == run_both["seed"] == 1
    assert run_later["roc_auc"] == run_both["roc_auc"] and run_later["test_nodes"] == run_both["test_nodes"]
