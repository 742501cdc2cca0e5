"""YelpChi's behavioural features rebuilt from review metadata, on tiny metadata written here."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp

from gnn.datasets import load_fraud_mat
from gnn.errors import DatasetError
from gnn.yelpchi_features import feature_names, node_features, read_metadata, review_features

# user prod rating label date: product 0 gets 5, 5, 1 stars on days 0, 10, 400; user 7 writes twice on
# one day and once 14 days later; user 9 writes once.
LINES = [
    "7 0 5.0 1 2010-01-01",
    "8 0 5.0 1 2010-01-11",
    "9 0 1.0 -1 2011-02-05",
    "7 1 4.0 1 2010-01-01",
    "7 2 2.0 1 2010-01-15",
]


def _metadata(tmp_path):
    path = tmp_path / "yelpchi_metadata.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(LINES) + "\n")
    return path


def test_features_match_their_definitions(tmp_path):
    f = review_features(read_metadata(_metadata(tmp_path))).set_index(["user", "prod"])
    one_star = f.loc[(9, 0)]
    assert one_star["rank"] == 3 and one_star["rd"] == pytest.approx(11 / 3 - 1)  # |1 - mean|
    assert one_star["ext"] == 1 and one_star["dev"] == 1 and one_star["etf"] == 0 and one_star["isr"] == 1
    assert f.loc[(8, 0), "etf"] == pytest.approx(1 - 10 / (7 * 30.4)) and f.loc[(8, 0), "etf_bin"] == 1
    u7 = f.loc[(7, 0)]
    assert u7["isr"] == 0 and u7["user_count"] == 3
    assert u7["user_mnr"] == 1.0  # two reviews on one day, the most of any user
    assert u7["user_bst"] == pytest.approx(1 - 14 / 28)
    assert u7["user_pr"] == pytest.approx(2 / 3) and u7["user_nr"] == pytest.approx(1 / 3)
    assert u7["user_erd"] == pytest.approx(np.log(3))  # ratings 5, 4, 2: three equally likely values
    assert f.loc[(8, 0), "prod_count"] == 3 and f.loc[(8, 0), "prod_pr"] == pytest.approx(2 / 3)


def test_nodes_are_matched_by_user_and_product(tmp_path):
    meta = read_metadata(_metadata(tmp_path))
    x = node_features(meta, np.array([9, 7]), np.array([0, 2]))
    assert x.shape == (2, len(feature_names())) and x.dtype == np.float32
    assert x[0, feature_names().index("isr")] == 1 and x[1, feature_names().index("isr")] == 0
    with pytest.raises(DatasetError, match="node 0 .*user 9, product 5"):
        node_features(meta, np.array([9]), np.array([5]))


def test_bad_metadata_is_one_error(tmp_path):
    path = tmp_path / "m.txt"
    path.write_text("7 0 5.0 1 yesterday\n")
    with pytest.raises(DatasetError, match="line 1: the date"):
        read_metadata(path)


def test_a_rebuilt_graph_without_features_gets_them_from_the_metadata(tmp_path, monkeypatch):
    monkeypatch.setattr("gnn.datasets.SHARED_DATA", tmp_path / "shared")
    _metadata(tmp_path)
    users, prods = np.array([7, 8, 9, 7, 7]), np.array([0, 0, 0, 1, 2])
    n = users.size
    rur = sp.csc_matrix((np.ones(6), ([0, 3, 0, 4, 3, 4], [3, 0, 4, 0, 4, 3])), shape=(n, n))
    empty = sp.csc_matrix((n, n))
    scipy.io.savemat(
        tmp_path / "YelpChi_structure_rebuilt.mat",
        {
            "net_rur": rur,
            "net_rtr": empty,
            "net_rsr": empty,
            "homo": rur,
            "label": np.array([[0, 0, 1, 0, 0]], dtype=np.float64),
            "review_user_id": users[None, :].astype(np.int32),
            "review_prod_id": prods[None, :].astype(np.int32),
        },
    )
    data = load_fraud_mat("yelpchi", tmp_path)
    assert data.x.shape == (5, len(feature_names())) and data.feature_names == feature_names()
    assert "rebuilt from yelpchi_metadata.gz" in data.feature_source
    assert data.x[2, feature_names().index("isr")] == 1
    (tmp_path / "yelpchi_metadata.gz").unlink()
    with pytest.raises(DatasetError, match="has no features"):
        load_fraud_mat("yelpchi", tmp_path)
