"""The exporters agree with each other and with the relations: same edges, same weights."""

from __future__ import annotations

from pathlib import Path

import igraph as ig
import networkx as nx
import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
from torch_geometric.data import Data, HeteroData

from graphs.build import build_graph
from graphs.graph import AccountGraph
from graphs.params import CANONICAL_RELATIONS
from graphs.relations import idf

try:
    from tests.logs import DAY, HOUR, T0, background_rows, edges, login, make_log
except ImportError:
    from logs import DAY, HOUR, T0, background_rows, edges, login, make_log

PLANTED = {"f0", "f1", "f2", "f3", "a", "b", "c", "lone"}
FARM_PAIRS = {(f"f{i}", f"f{j}") for i in range(4) for j in range(i + 1, 4)}


@pytest.fixture(scope="module")
def graph() -> AccountGraph:
    """Every relation present: a device farm on one IP, a lockstep pair, follows, a shared phone, in a
    background of 1000 ordinary accounts (the chance level of the synchrony relations)."""
    rows = []
    for i in range(4):  # farm: one emulator, one proxy IP, within a minute on 6 days; they follow each other
        for day in range(6):
            rows += login(f"f{i}", T0 + day * DAY + 20 * i, "emu", "proxy")
        rows += [(f"f{i}", T0 + k * HOUR + i, "like", "content", f"p{k}") for k in range(4)]
        rows.append((f"f{i}", T0 + DAY, "follow", "account", f"f{(i + 1) % 4}"))
    for k in range(5):  # a and b like five posts together; a follows b, b follows back
        rows += [("a", T0 + 2 * DAY + k * HOUR, "like", "content", f"q{k}")]
        rows += [("b", T0 + 2 * DAY + k * HOUR + 30, "like", "content", f"q{k}")]
    rows += [("a", T0, "follow", "account", "b"), ("b", T0 + 9, "follow", "account", "a")]
    rows += [("a", T0, "signup", "phone", "+1555"), ("c", T0 + DAY, "signup", "phone", "+1555")]
    rows += [("c", T0 + 5 * DAY, "login", "ip", "proxy"), ("lone", T0, "login", "device", "own")]
    return build_graph(make_log(rows + background_rows(1000, seed=5)))


def _as_dict(
    src: np.ndarray, dst: np.ndarray, w: np.ndarray, ids: np.ndarray
) -> dict[tuple[str, str], float]:
    return {tuple(sorted((str(ids[s]), str(ids[d])))): float(x) for s, d, x in zip(src, dst, w, strict=True)}


@pytest.fixture(scope="module")
def combined(graph: AccountGraph) -> dict[tuple[str, str], float]:
    """The default combination: the canonical kinds with their kind weights."""
    src, dst, w = graph.combined()
    return _as_dict(src, dst, w, graph.account_ids)


@pytest.fixture(scope="module")
def per_type(graph: AccountGraph) -> dict[tuple[str, str], float]:
    """What the graph exporters weigh by default: every relation of the graph, each with its kind's weight."""
    src, dst, w = graph.combined({r: graph.default_weight(r) for r in graph.relation_names})
    return _as_dict(src, dst, w, graph.account_ids)


def test_fixture_has_every_relation(graph: AccountGraph) -> None:
    assert list(graph.relations) == ["device", "ip", "phone", "id_time", "coaction", "interaction"]
    assert graph.identifier_relations == ("device", "ip", "phone")
    assert all(n > 0 for n in graph.n_edges().values())
    assert set(edges(graph, "device", PLANTED)) == FARM_PAIRS
    assert set(edges(graph, "ip", PLANTED)) == FARM_PAIRS | {("c", f"f{i}") for i in range(4)}
    assert set(edges(graph, "phone", PLANTED)) == {("a", "c")}
    assert set(edges(graph, "id_time", PLANTED)) == FARM_PAIRS
    assert set(edges(graph, "coaction", PLANTED)) == FARM_PAIRS | {("a", "b")}
    assert set(edges(graph, "interaction")) == {
        ("f0", "f1"),
        ("f1", "f2"),
        ("f2", "f3"),
        ("f0", "f3"),
        ("a", "b"),
    }
    # The emulator (4 accounts) and the proxy (5) pool into one identifier score for the farm pairs.
    ident = edges(graph, "identifier", PLANTED)
    assert ident[("f0", "f1")] == pytest.approx(1 - np.exp(-idf(4) - idf(5)), rel=1e-5)
    assert edges(graph, "identifier", PLANTED, key="types")[("f0", "f1")] == 2


def test_combined_is_the_weighted_union(graph: AccountGraph, combined: dict) -> None:
    canon = graph.canonical()
    assert list(canon) == list(CANONICAL_RELATIONS)
    per_kind = {name: _as_dict(r.src, r.dst, r.weight, graph.account_ids) for name, r in canon.items()}
    pairs = set().union(*per_kind.values())
    assert set(combined) == pairs
    for pair, w in combined.items():
        expected = sum(graph.params.relation_weight(k) * e.get(pair, 0.0) for k, e in per_kind.items())
        assert w == pytest.approx(expected, rel=1e-5)
    # Only the named relations, with the given coefficients: per-type relations and kinds alike.
    src, dst, w = graph.combined({"device": 2.0})
    assert np.array_equal(src, graph.relations["device"].src) and np.array_equal(
        dst, graph.relations["device"].dst
    )
    assert np.allclose(w, 2 * graph.relations["device"].weight)
    _, _, w = graph.combined({"identifier": 1.0})
    assert np.allclose(w, canon["identifier"].weight)
    src, dst, w = graph.combined(how="max")
    strongest = _as_dict(src, dst, w, graph.account_ids)
    assert set(strongest) == pairs
    for pair, w in strongest.items():
        expected = max(graph.params.relation_weight(k) * e.get(pair, 0.0) for k, e in per_kind.items())
        assert w == pytest.approx(expected, rel=1e-5)
    _, _, w = graph.combined(how="noisy_or")
    assert np.all((w > 0) & (w <= 1))
    with pytest.raises(ValueError):
        graph.combined(how="mean")
    with pytest.raises(KeyError):
        graph.merged(["nope"])
    with pytest.raises(KeyError):
        graph.combined({"nope": 1.0})


def test_igraph(graph: AccountGraph, per_type: dict, combined: dict) -> None:
    g = graph.to_igraph()
    assert isinstance(g, ig.Graph) and not g.is_directed()
    assert g.vcount() == graph.n_accounts and g.ecount() == len(per_type)
    assert g.vs["name"] == list(graph.account_ids)
    names = g.vs["name"]
    got = {tuple(sorted((names[e.source], names[e.target]))): e["weight"] for e in g.es}
    assert got == pytest.approx(per_type)
    for rel in graph.relation_names:
        mine = {tuple(sorted((names[e.source], names[e.target]))): e[rel] for e in g.es if e[rel] > 0}
        assert mine == pytest.approx(_as_dict(*_rel(graph, rel), graph.account_ids))
    only = graph.to_igraph(relations=["coaction"])
    assert only.ecount() == graph.relations["coaction"].n_edges
    # Over the canonical kinds the igraph weights are the default combination.
    canon = graph.to_igraph(relations=list(CANONICAL_RELATIONS))
    got = {tuple(sorted((names[e.source], names[e.target]))): e["weight"] for e in canon.es}
    assert got == pytest.approx(combined)


def test_networkx(graph: AccountGraph, per_type: dict) -> None:
    g = graph.to_networkx()
    assert g.number_of_nodes() == graph.n_accounts and g.number_of_edges() == len(per_type)
    got = {tuple(sorted((u, v))): d["weight"] for u, v, d in g.edges(data=True)}
    assert got == pytest.approx(per_type)
    for name, rel in graph.relations.items():
        mine = _as_dict(rel.src, rel.dst, rel.weight, graph.account_ids)
        theirs = {tuple(sorted((u, v))): d[name] for u, v, d in g.edges(data=True) if name in d}
        assert theirs == pytest.approx(mine)
    g = graph.to_networkx(node_features=True)
    a = graph.codes_of(["a"])[0]
    assert g.nodes["a"]["log_events"] == pytest.approx(
        graph.features[a, graph.feature_names.index("log_events")]
    )


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
    _check_pyg_edges(data, {name: graph.relations[name] for name in data.relation_names})
    assert set(data.keys()) == {"x", "edge_index", "edge_type", "edge_weight", "relation_names", "num_nodes"}


def test_pyg_canonical(graph: AccountGraph) -> None:
    data = graph.to_pyg(canonical=True)
    assert data.relation_names == ["identifier", "id_time", "coaction", "interaction"]
    canon = graph.canonical()
    assert tuple(data.edge_index.shape) == (2, 2 * sum(r.n_edges for r in canon.values()))
    assert data.is_undirected()
    data.validate(raise_on_error=True)
    _check_pyg_edges(data, canon)
    assert torch.equal(data.x, graph.to_pyg().x)


def _check_pyg_edges(data: Data, rels: dict) -> None:
    """Each relation's edges, in relation_names order, as (src, dst) then (dst, src), with its weights."""
    start = 0
    for i, name in enumerate(data.relation_names):
        rel = rels[name]
        sel = (data.edge_type == i).numpy()
        k = 2 * rel.n_edges
        assert int(sel.sum()) == k and sel[start : start + k].all()
        ei = data.edge_index[:, start : start + k].numpy()
        assert np.array_equal(ei[0], np.concatenate([rel.src, rel.dst]))
        assert np.array_equal(ei[1], np.concatenate([rel.dst, rel.src]))
        assert np.array_equal(data.edge_weight[start : start + k].numpy(), np.tile(rel.weight, 2))
        start += k


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
    assert data["account", "acts_on", "content"].edge_index.shape[1] == graph.incidence["content"].nnz
    assert data["account", "acts_on", "target_account"].edge_index.shape[1] == graph.incidence["account"].nnz
    for name, rel in graph.relations.items():
        store = data["account", name, "account"]
        assert store.edge_index.shape[1] == 2 * rel.n_edges
        assert store.edge_weight.dtype == torch.float32
        assert np.array_equal(store.edge_weight.numpy(), np.tile(rel.weight, 2))
    canon = graph.to_hetero(relations=["identifier"])
    assert (
        canon["account", "identifier", "account"].edge_index.shape[1]
        == 2 * graph.canonical()["identifier"].n_edges
    )


def test_file_round_trips(graph: AccountGraph, per_type: dict, tmp_path: Path) -> None:
    graph.write_graphml(tmp_path / "g.graphml")
    graph.write_gexf(tmp_path / "g.gexf")
    graph.write_edges_parquet(tmp_path / "edges.parquet")
    for g in (nx.read_graphml(tmp_path / "g.graphml"), nx.read_gexf(tmp_path / "g.gexf")):
        assert g.number_of_nodes() == graph.n_accounts
        got = {tuple(sorted((u, v))): float(d["weight"]) for u, v, d in g.edges(data=True)}
        assert got == pytest.approx(per_type, rel=1e-6)
    table = pq.read_table(tmp_path / "edges.parquet")
    assert table.column_names == ["src_id", "dst_id", "relation", "weight"]
    df = table.to_pandas()
    assert len(df) == sum(graph.n_edges().values())
    assert set(df["relation"]) == set(graph.relation_names)
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
    assert "_canonical" not in sub.meta  # the parent's pooled relations are not carried over
    assert list(sub.account_ids) == ["f0", "f1", "f2", "a"]  # ascending node order of the parent
    assert np.array_equal(graph.account_ids[sub.parent_codes], sub.account_ids)
    assert sub.relation_names == graph.relation_names
    assert sub.n_edges() == {
        "device": 3,
        "ip": 3,
        "phone": 0,  # a's phone partner c is not kept
        "id_time": 3,
        "coaction": 3,
        "interaction": 2,  # f0 -> f1 -> f2
    }
    # The subgraph keeps its parent's edges and weights among the members.
    for name, rel in sub.relations.items():
        assert edges(sub, name) == edges(graph, name, {"f0", "f1", "f2", "a"})
        assert np.all(rel.src < rel.dst) and np.all(rel.dst < sub.n_accounts)
    assert edges(sub, "identifier") == edges(graph, "identifier", {"f0", "f1", "f2", "a"})
    assert np.array_equal(sub.features, graph.features[np.sort(members)])
    inc = sub.incidence["device"]
    assert inc.n_accounts == 4 and inc.n_entities == 1  # the emulator; "own" belongs to nobody kept
    assert list(inc.entity_ids(graph.log)) == ["emu"]
    # Exports work on the subgraph, and a subgraph of a subgraph maps back to the log.
    assert sub.to_igraph().vcount() == 4
    assert sub.to_pyg().num_nodes == 4
    assert sub.to_pyg(canonical=True).relation_names == list(CANONICAL_RELATIONS)
    subsub = sub.subgraph([0, 1])
    assert list(graph.account_ids[subsub.parent_codes]) == list(subsub.account_ids)
    with pytest.raises(IndexError):
        graph.subgraph([graph.n_accounts])


def test_subgraph_of_account_ids_exports_for_gephi(graph: AccountGraph, tmp_path: Path) -> None:
    """docs/graph.md's `graph.subgraph(members).write_gexf(...)` with the account ids a user has; the
    file gets the usual permissions (not mkstemp's 0600) and its folder is made."""
    import os

    sub = graph.subgraph(["f2", "f0", "f1", "a", "f0"])
    assert list(sub.account_ids) == ["f0", "f1", "f2", "a"]
    assert sub.n_edges() == graph.subgraph(graph.codes_of(["f0", "f1", "f2", "a"])).n_edges()
    with pytest.raises(KeyError, match="unknown account id 'nobody'"):
        graph.subgraph(["f0", "nobody"])
    path = tmp_path / "exports" / "ring.gexf"
    sub.write_gexf(path)
    assert nx.read_gexf(path).number_of_nodes() == 4
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    with pytest.raises(KeyError):
        graph.codes_of(["nobody"])


def _rel(graph: AccountGraph, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rel = graph.relations[name]
    return rel.src, rel.dst, rel.weight
