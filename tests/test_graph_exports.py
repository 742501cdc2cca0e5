"""The exporters agree with each other and with the relations: same edges, same weights."""

from __future__ import annotations

from pathlib import Path

import igraph as ig
import networkx as nx
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import torch
from torch_geometric.data import Data, HeteroData

from graphs.build import build_graph
from graphs.events import EventLog
from graphs.graph import AccountGraph

T0 = 1_700_000_000
MIN, HOUR, DAY = 60, 3600, 86400


@pytest.fixture(scope="module")
def graph() -> AccountGraph:
    """Every relation present: a device farm on one IP, a lockstep pair, follows, a shared phone."""
    rows = []
    for i in range(4):  # farm: one emulator, one proxy IP, same minutes; they also follow each other
        rows += [
            (f"f{i}", T0 + i * MIN, "login", "device", "emu"),
            (f"f{i}", T0 + i * MIN, "login", "ip", "proxy"),
        ]
        rows += [(f"f{i}", T0 + k * HOUR + i, "like", "content", f"p{k}") for k in range(4)]
        rows.append((f"f{i}", T0 + DAY, "follow", "account", f"f{(i + 1) % 4}"))
    for k in range(3):  # a and b like three posts together; a follows b, b follows back
        rows += [("a", T0 + 2 * DAY + k * HOUR, "like", "content", f"q{k}")]
        rows += [("b", T0 + 2 * DAY + k * HOUR + 30, "like", "content", f"q{k}")]
    rows += [("a", T0, "follow", "account", "b"), ("b", T0 + 9, "follow", "account", "a")]
    rows += [("a", T0, "signup", "phone", "+1555"), ("c", T0 + DAY, "signup", "phone", "+1555")]
    rows += [("c", T0 + 5 * DAY, "login", "ip", "proxy"), ("lone", T0, "login", "device", "own")]
    log = EventLog.from_frame(
        pd.DataFrame(rows, columns=["account_id", "timestamp", "action", "entity_type", "entity_id"])
    )
    return build_graph(log)


def _as_dict(
    src: np.ndarray, dst: np.ndarray, w: np.ndarray, ids: np.ndarray
) -> dict[tuple[str, str], float]:
    return {tuple(sorted((str(ids[s]), str(ids[d])))): float(x) for s, d, x in zip(src, dst, w, strict=True)}


@pytest.fixture(scope="module")
def combined(graph: AccountGraph) -> dict[tuple[str, str], float]:
    src, dst, w = graph.combined()
    return _as_dict(src, dst, w, graph.account_ids)


def test_fixture_has_every_relation(graph: AccountGraph) -> None:
    counts = graph.n_edges()
    assert counts["device"] == 6 and counts["ip"] == 10 and counts["coaction"] == 7
    assert counts["phone"] == 1 and counts["interaction"] == 5 and counts["ip_time"] == 6


def test_combined_is_the_weighted_union(graph: AccountGraph, combined: dict) -> None:
    per_rel = {
        name: _as_dict(r.src, r.dst, r.weight, graph.account_ids) for name, r in graph.relations.items()
    }
    pairs = set().union(*per_rel.values())
    assert set(combined) == pairs
    for pair, w in combined.items():
        expected = sum(graph.params.relation_weight(r) * e.get(pair, 0.0) for r, e in per_rel.items())
        assert w == pytest.approx(expected, rel=1e-5)
    # Only the named relations, with the given coefficients; noisy-or stays in (0, 1].
    src, dst, w = graph.combined({"device": 2.0})
    assert np.allclose(w, 2 * graph.relations["device"].weight)
    _, _, w = graph.combined(how="noisy_or")
    assert np.all((w > 0) & (w <= 1))
    with pytest.raises(ValueError):
        graph.combined(how="mean")
    with pytest.raises(KeyError):
        graph.merged(["nope"])


def test_igraph(graph: AccountGraph, combined: dict) -> None:
    g = graph.to_igraph()
    assert isinstance(g, ig.Graph) and not g.is_directed()
    assert g.vcount() == graph.n_accounts and g.ecount() == len(combined)
    assert g.vs["name"] == list(graph.account_ids)
    names = g.vs["name"]
    got = {tuple(sorted((names[e.source], names[e.target]))): e["weight"] for e in g.es}
    assert got == pytest.approx(combined)
    dev = {tuple(sorted((names[e.source], names[e.target]))): e["device"] for e in g.es if e["device"] > 0}
    assert dev == pytest.approx(_as_dict(*_rel(graph, "device"), graph.account_ids))
    only = graph.to_igraph(relations=["coaction"])
    assert only.ecount() == graph.relations["coaction"].n_edges


def test_networkx(graph: AccountGraph, combined: dict) -> None:
    g = graph.to_networkx()
    assert g.number_of_nodes() == graph.n_accounts and g.number_of_edges() == len(combined)
    got = {tuple(sorted((u, v))): d["weight"] for u, v, d in g.edges(data=True)}
    assert got == pytest.approx(combined)
    for name, rel in graph.relations.items():
        mine = _as_dict(rel.src, rel.dst, rel.weight, graph.account_ids)
        theirs = {tuple(sorted((u, v))): d[name] for u, v, d in g.edges(data=True) if name in d}
        assert theirs == pytest.approx(mine)
    g = graph.to_networkx(node_features=True)
    assert g.nodes["a"]["log_events"] == pytest.approx(graph.features[graph.codes_of(["a"])[0], 0])


def test_pyg_data(graph: AccountGraph) -> None:
    data = graph.to_pyg()
    assert isinstance(data, Data)
    n_edges = sum(graph.n_edges().values())
    assert data.num_nodes == graph.n_accounts
    assert data.x.dtype == torch.float32 and tuple(data.x.shape) == graph.features.shape
    assert data.edge_index.dtype == torch.int64 and tuple(data.edge_index.shape) == (2, 2 * n_edges)
    assert data.edge_type.dtype == torch.int64 and tuple(data.edge_type.shape) == (2 * n_edges,)
    assert data.edge_weight.dtype == torch.float32 and tuple(data.edge_weight.shape) == (2 * n_edges,)
    assert data.relation_names == graph.relation_names
    assert data.is_undirected()
    data.validate(raise_on_error=True)
    for i, name in enumerate(data.relation_names):
        sel = data.edge_type == i
        assert int(sel.sum()) == 2 * graph.relations[name].n_edges
        w = data.edge_weight[sel].numpy()
        assert np.allclose(np.sort(w), np.sort(np.tile(graph.relations[name].weight, 2)))
    assert set(data.keys()) == {"x", "edge_index", "edge_type", "edge_weight", "relation_names", "num_nodes"}


def test_hetero_data(graph: AccountGraph) -> None:
    data = graph.to_hetero()
    assert isinstance(data, HeteroData)
    data.validate(raise_on_error=True)
    assert data["account"].num_nodes == graph.n_accounts
    assert set(data.node_types) == {"account", "device", "ip", "content", "target_account", "phone"}
    assert data["device"].num_nodes == graph.incidence["device"].n_entities
    uses = data["account", "uses", "ip"]
    assert uses.edge_index.shape[1] == graph.incidence["ip"].nnz
    assert int(uses.count.sum()) == int(graph.incidence["ip"].count.sum())
    assert data["account", "acts_on", "target_account"].edge_index.shape[1] == graph.incidence["account"].nnz
    for name, rel in graph.relations.items():
        store = data["account", name, "account"]
        assert store.edge_index.shape[1] == 2 * rel.n_edges
        assert store.edge_weight.dtype == torch.float32


def test_file_round_trips(graph: AccountGraph, combined: dict, tmp_path: Path) -> None:
    graph.write_graphml(tmp_path / "g.graphml")
    graph.write_gexf(tmp_path / "g.gexf")
    graph.write_edges_parquet(tmp_path / "edges.parquet")
    for g in (nx.read_graphml(tmp_path / "g.graphml"), nx.read_gexf(tmp_path / "g.gexf")):
        assert g.number_of_nodes() == graph.n_accounts
        got = {tuple(sorted((u, v))): float(d["weight"]) for u, v, d in g.edges(data=True)}
        assert got == pytest.approx(combined, rel=1e-6)
    table = pq.read_table(tmp_path / "edges.parquet")
    assert table.column_names == ["src_id", "dst_id", "relation", "weight"]
    df = table.to_pandas()
    assert len(df) == sum(graph.n_edges().values())
    for name, rel in graph.relations.items():
        part = df[df["relation"] == name]
        got = {tuple(sorted((s, d))): w for s, d, w in part[["src_id", "dst_id", "weight"]].itertuples(False)}
        assert got == pytest.approx(_as_dict(rel.src, rel.dst, rel.weight, graph.account_ids))
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_failed_write_leaves_nothing(
    graph: AccountGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def half_then_fail(g: nx.Graph, path: str) -> None:
        Path(path).write_text("<gexf")
        raise OSError("disk full")

    monkeypatch.setattr(nx, "write_gexf", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        graph.write_gexf(tmp_path / "g.gexf")
    with pytest.raises(KeyError):
        graph.write_edges_parquet(tmp_path / "edges.parquet", relations=["nope"])
    assert list(tmp_path.iterdir()) == []


def test_subgraph(graph: AccountGraph) -> None:
    members = graph.codes_of(["f2", "f0", "f1", "a"])
    sub = graph.subgraph(members)
    assert list(sub.account_ids) == ["f0", "f1", "f2", "a"]  # ascending node order of the parent
    assert np.array_equal(graph.account_ids[sub.parent_codes], sub.account_ids)
    assert sub.n_edges()["device"] == 3 and sub.n_edges()["interaction"] == 2
    assert np.array_equal(sub.features, graph.features[np.sort(members)])
    for rel in sub.relations.values():
        assert np.all(rel.src < rel.dst) and np.all(rel.dst < sub.n_accounts)
    inc = sub.incidence["device"]
    assert inc.n_accounts == 4 and inc.n_entities == 1  # the emulator; "own" belongs to nobody kept
    assert list(inc.entity_ids(graph.log)) == ["emu"]
    # Exports work on the subgraph, and a subgraph of a subgraph maps back to the log.
    assert sub.to_igraph().vcount() == 4
    assert sub.to_pyg().num_nodes == 4
    subsub = sub.subgraph([0, 1])
    assert list(graph.account_ids[subsub.parent_codes]) == list(subsub.account_ids)
    with pytest.raises(IndexError):
        graph.subgraph([graph.n_accounts])
    with pytest.raises(KeyError):
        graph.codes_of(["nobody"])


def _rel(graph: AccountGraph, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rel = graph.relations[name]
    return rel.src, rel.dst, rel.weight
