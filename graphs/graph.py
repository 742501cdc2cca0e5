"""The account graph: accounts, typed weighted relations, features; one object every consumer reads.

Built by :func:`graphs.build.build_graph`. Exporters turn it into what each tool speaks: igraph
(community detection), networkx / GraphML / GEXF (Gephi), PyTorch Geometric ``Data`` and
``HeteroData`` (GNNs), a Parquet edge table (Spark, DuckDB, notebooks).

Example:
    >>> graph = build_graph(load_events("events.csv.gz"))
    >>> src, dst, w = graph.combined()                 # one weighted undirected edge list
    >>> g = graph.to_igraph()                          # for Leiden
    >>> data = graph.to_pyg()                          # x, edge_index, edge_type, edge_weight
    >>> graph.subgraph(members).write_gexf("ring.gexf")
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .events import EventLog
from .files import atomic_write
from .incidence import Incidence
from .params import CANONICAL_RELATIONS, GraphParams
from .projection import Relation
from .roles import Roles

if TYPE_CHECKING:  # heavy optional imports, loaded by the exporters that need them
    import igraph
    import networkx
    from torch_geometric.data import Data, HeteroData


@dataclass(frozen=True, eq=False)
class AccountGraph:
    """Accounts with typed, weighted account-account relations and per-account features.

    Node ``i`` is account code ``i`` of the event log (``log.account_ids[i]``), unless the graph is a
    :meth:`subgraph`, whose ``parent_codes[i]`` is node ``i``'s code in the log.

    Attributes:
        account_ids: object [N], the account id of each node.
        relations: relation name -> :class:`~graphs.relations.Relation` (edges ``src < dst``).
        features: float32 [N, F], finite.
        feature_names: the F feature names (:data:`graphs.features.FEATURE_NAMES`).
        incidence: entity type -> :class:`~graphs.incidence.Incidence` (account-entity evidence; the
            ``entities`` codes index ``log.entity_ids``).
        log: the event log the graph was built from.
        params: the parameters it was built with.
        parent_codes: int64 [N] log account code of each node for a subgraph, else None.
        meta: build information (hub counts per type, stage timings, roles, synchrony thresholds).
        roles: which entity types are identifiers and which targets (:mod:`graphs.roles`).
        identifier_relations: names of the per-identifier-type relations in ``relations``.
        sync_stats: ``coaction`` / ``id_time`` -> what the synchrony tests found.
    """

    account_ids: np.ndarray
    relations: dict[str, Relation]
    features: np.ndarray
    feature_names: list[str]
    incidence: dict[str, Incidence]
    log: EventLog | None = None
    params: GraphParams = field(default_factory=GraphParams)
    parent_codes: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    roles: Roles | None = None
    identifier_relations: tuple[str, ...] = ()
    sync_stats: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ basics
    @property
    def n_accounts(self) -> int:
        return int(self.account_ids.shape[0])

    @property
    def relation_names(self) -> list[str]:
        return list(self.relations)

    def n_edges(self) -> dict[str, int]:
        """Edges per relation."""
        return {name: rel.n_edges for name, rel in self.relations.items()}

    def canonical(self) -> dict[str, Relation]:
        """The four relation kinds every graph has (:data:`~graphs.params.CANONICAL_RELATIONS`).

        ``identifier`` pools the per-type identifier relations (their scores add up, then are
        squashed), so a model sees the same inputs whatever the log's identifier types are called.
        """
        cached = self.meta.get("_canonical")
        if cached is None:
            from .relations import canonical_relations

            cached = canonical_relations(
                self.relations, self.identifier_relations, self.n_accounts, self.params
            )
            self.meta["_canonical"] = cached
        return cached

    def default_weight(self, name: str) -> float:
        """The default coefficient of a relation: its kind's (an identifier type's is ``identifier``)."""
        kind = "identifier" if name in self.identifier_relations else name
        return self.params.relation_weight(kind)

    def relation(self, name: str) -> Relation:
        """A relation by name: one of ``relations``, or a canonical kind (``identifier``)."""
        if name in self.relations:
            return self.relations[name]
        if name in CANONICAL_RELATIONS:
            return self.canonical()[name]
        raise KeyError(f"unknown relation {name!r}; the graph has {self.relation_names}")

    def _select(self, relations: Iterable[str] | None) -> list[Relation]:
        names = self.relation_names if relations is None else list(relations)
        known = set(self.relations) | set(CANONICAL_RELATIONS)
        unknown = [r for r in names if r not in known]
        if unknown:
            raise KeyError(f"unknown relation {unknown[0]!r}; the graph has {self.relation_names}")
        return [self.relation(r) for r in names]

    def merged(
        self, relations: Iterable[str] | None = None
    ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """Union of the relations' edges: ``(src, dst, {relation: weight [E], 0 where absent})``.

        Edges are sorted by (src, dst), ``src < dst``, one per account pair.
        """
        rels = self._select(relations)
        n = max(self.n_accounts, 1)
        keys = [r.src.astype(np.int64) * n + r.dst for r in rels]
        # Sort + run detection, then sorted look-ups: streaming, unlike hash-based np.unique.
        uniq = np.sort(np.concatenate(keys + [np.zeros(0, np.int64)]))
        if uniq.size:
            uniq = uniq[np.concatenate([[True], uniq[1:] != uniq[:-1]])]
        per: dict[str, np.ndarray] = {}
        for r, k in zip(rels, keys, strict=True):
            w = np.zeros(uniq.shape[0], dtype=np.float32)
            w[np.searchsorted(uniq, k)] = r.weight
            per[r.name] = w
        return (uniq // n).astype(np.int32), (uniq % n).astype(np.int32), per

    def combined(
        self,
        weights: Mapping[str, float] | None = None,
        how: str = "sum",
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All relations merged into one weighted undirected edge list.

        Args:
            weights: relation name -> coefficient; relations not named are left out. Names are
                relations of the graph or canonical kinds (``identifier`` pools every identifier
                type). ``None`` uses ``params.relation_weights`` over the canonical kinds.
            how: ``"sum"`` (sum of coefficient x weight: more kinds of evidence, heavier edge),
                ``"max"`` (the strongest evidence) or ``"noisy_or"`` (``1 - prod(1 - c*w)``, in (0, 1]).

        Returns:
            ``(src int32 [E], dst int32 [E], weight float32 [E])``, ``src < dst``, sorted, weight > 0.
        """
        if weights is None:
            weights = {r: self.params.relation_weight(r) for r in CANONICAL_RELATIONS}
        names = [r for r, c in weights.items() if c > 0]
        src, dst, per = self.merged(names)
        if how == "sum":
            w = sum((weights[r] * per[r].astype(np.float64) for r in names), np.zeros(src.shape[0]))
        elif how == "max":
            w = np.max([weights[r] * per[r] for r in names], axis=0) if names else np.zeros(0)
        elif how == "noisy_or":
            keep = np.ones(src.shape[0])
            for r in names:
                keep *= 1.0 - np.clip(weights[r] * per[r], 0.0, 1.0)
            w = 1.0 - keep
        else:
            raise ValueError(f"how must be 'sum', 'max' or 'noisy_or', got {how!r}")
        w = np.asarray(w, dtype=np.float32)
        nz = w > 0
        return src[nz], dst[nz], w[nz]

    def edges_frame(self, relations: Iterable[str] | None = None) -> pd.DataFrame:
        """One row per relation edge: ``src_id, dst_id, relation, weight`` (+ ``src, dst`` codes)."""
        rels = self._select(relations)
        src = np.concatenate([r.src for r in rels] + [np.zeros(0, np.int32)])
        dst = np.concatenate([r.dst for r in rels] + [np.zeros(0, np.int32)])
        codes = np.concatenate(
            [np.full(r.n_edges, i, dtype=np.int32) for i, r in enumerate(rels)] + [np.zeros(0, np.int32)]
        )
        return pd.DataFrame(
            {
                "src_id": self.account_ids[src],
                "dst_id": self.account_ids[dst],
                "relation": pd.Categorical.from_codes(codes, [r.name for r in rels]),
                "weight": np.concatenate([r.weight for r in rels] + [np.zeros(0, np.float32)]),
                "src": src,
                "dst": dst,
            }
        )

    # ------------------------------------------------------------------ exporters
    def to_igraph(
        self, relations: Iterable[str] | None = None, weights: Mapping[str, float] | None = None
    ) -> igraph.Graph:
        """Weighted undirected igraph over all N accounts (isolated ones included).

        Edges are :meth:`combined` over ``relations`` (default all, with ``weights`` or the default
        coefficients); attribute ``weight`` holds the combined weight and one attribute per relation its
        own weight (0 where absent). Vertex attribute ``name`` is the account id.
        """
        import igraph as ig

        names = self.relation_names if relations is None else list(relations)
        if weights is None:
            weights = {r: self.default_weight(r) for r in names}
        else:
            weights = {r: weights.get(r, 0.0) for r in names}
        src, dst, w = self.combined(weights)
        m_src, m_dst, per = self.merged(names)
        keep = _member(m_src, m_dst, src, dst, self.n_accounts)
        g = ig.Graph(n=self.n_accounts, edges=np.column_stack([src, dst]), directed=False)
        g.vs["name"] = self.account_ids.tolist()
        g.es["weight"] = w.astype(np.float64).tolist()
        for r, v in per.items():
            g.es[r] = v[keep].astype(np.float64).tolist()
        return g

    def to_networkx(
        self,
        relations: Iterable[str] | None = None,
        weights: Mapping[str, float] | None = None,
        node_features: bool = False,
    ) -> networkx.Graph:
        """Undirected networkx graph keyed by account id.

        Every edge has ``weight`` (the :meth:`combined` weight) and one attribute per relation it
        belongs to holding that relation's weight. With ``node_features`` each node also carries its
        features as attributes (for colouring in Gephi).
        """
        import networkx as nx

        names = self.relation_names if relations is None else list(relations)
        if weights is None:
            weights = {r: self.default_weight(r) for r in names}
        else:
            weights = {r: weights.get(r, 0.0) for r in names}
        src, dst, w = self.combined(weights)
        m_src, m_dst, per = self.merged(names)
        keep = _member(m_src, m_dst, src, dst, self.n_accounts)
        per = {r: v[keep] for r, v in per.items()}
        g = nx.Graph()
        ids = [str(a) for a in self.account_ids]
        if node_features:
            g.add_nodes_from(
                (ids[i], {f: float(v) for f, v in zip(self.feature_names, self.features[i], strict=True)})
                for i in range(self.n_accounts)
            )
        else:
            g.add_nodes_from(ids)
        rel_names = list(per)
        rel_w = np.column_stack([per[r] for r in rel_names]) if rel_names else np.zeros((src.shape[0], 0))
        g.add_edges_from(
            (
                ids[s],
                ids[d],
                {"weight": float(ww), **{r: float(x) for r, x in zip(rel_names, row, strict=True) if x > 0}},
            )
            for s, d, ww, row in zip(src.tolist(), dst.tolist(), w.tolist(), rel_w.tolist(), strict=True)
        )
        return g

    def to_pyg(self, relations: Iterable[str] | None = None, canonical: bool = False) -> Data:
        """Homogeneous multi-relation PyG ``Data``.

        With ``canonical`` the relations are the four kinds of
        :data:`~graphs.params.CANONICAL_RELATIONS` (identifier types pooled), the same on every log:
        what models are trained and scored on.

        Returns:
            ``Data`` with ``x`` float32 [N, F] (raw features), ``edge_index`` int64 [2, E] holding every
            relation edge in both directions, ``edge_type`` int64 [E] (index into ``relation_names``),
            ``edge_weight`` float32 [E], ``relation_names`` list[str] and ``num_nodes``. Edges are
            grouped by relation in ``relation_names`` order, each as (src, dst) then (dst, src).
        """
        import torch
        from torch_geometric.data import Data

        rels = self._select(CANONICAL_RELATIONS if canonical else relations)
        src = np.concatenate([np.concatenate([r.src, r.dst]) for r in rels] + [np.zeros(0, np.int32)])
        dst = np.concatenate([np.concatenate([r.dst, r.src]) for r in rels] + [np.zeros(0, np.int32)])
        etype = np.concatenate([np.full(2 * r.n_edges, i) for i, r in enumerate(rels)] + [np.zeros(0)])
        wt = np.concatenate([np.concatenate([r.weight, r.weight]) for r in rels] + [np.zeros(0, np.float32)])
        return Data(
            x=torch.from_numpy(np.ascontiguousarray(self.features, dtype=np.float32)),
            edge_index=torch.from_numpy(np.stack([src, dst]).astype(np.int64)),
            edge_type=torch.from_numpy(etype.astype(np.int64)),
            edge_weight=torch.from_numpy(wt.astype(np.float32)),
            relation_names=[r.name for r in rels],
            num_nodes=self.n_accounts,
        )

    def to_hetero(self, relations: Iterable[str] | None = None) -> HeteroData:
        """Heterogeneous PyG graph: accounts, entity nodes per type, account->entity and relation edges.

        Node types: ``account`` (``x`` = features) and one per entity type (``device``, ``ip``,
        ``content``, ...; target accounts are ``target_account`` so they do not clash with acting
        accounts). Edge types: ``('account', 'uses', <identifier type>)`` and
        ``('account', 'acts_on', <target type>)`` with ``count``, ``first_seen``, ``last_seen`` (int64)
        and ``edge_weight`` = log1p(count) (float32); ``('account', <relation>, 'account')`` with both
        directions and ``edge_weight``. Entity node ``j`` of a type is ``incidence[type].entities[j]``.
        Reverse account<-entity edges can be added with ``torch_geometric.transforms.ToUndirected``.
        """
        import torch
        from torch_geometric.data import HeteroData

        data = HeteroData()
        data["account"].x = torch.from_numpy(np.ascontiguousarray(self.features, dtype=np.float32))
        data["account"].num_nodes = self.n_accounts
        for etype, inc in self.incidence.items():
            node = "target_account" if etype == "account" else etype
            verb = "acts_on" if self.roles is not None and etype in self.roles.targets else "uses"
            data[node].num_nodes = inc.n_entities
            store = data["account", verb, node]
            store.edge_index = torch.from_numpy(np.stack([inc.account, inc.col]).astype(np.int64))
            store.count = torch.from_numpy(inc.count.astype(np.int64))
            store.first_seen = torch.from_numpy(inc.first_seen.astype(np.int64))
            store.last_seen = torch.from_numpy(inc.last_seen.astype(np.int64))
            store.edge_weight = torch.from_numpy(np.log1p(inc.count).astype(np.float32))
        for rel in self._select(relations):
            store = data["account", rel.name, "account"]
            store.edge_index = torch.from_numpy(
                np.stack([np.concatenate([rel.src, rel.dst]), np.concatenate([rel.dst, rel.src])]).astype(
                    np.int64
                )
            )
            store.edge_weight = torch.from_numpy(np.concatenate([rel.weight, rel.weight]).astype(np.float32))
        return data

    # ------------------------------------------------------------------ files
    def write_graphml(self, path: str | os.PathLike[str], **kwargs: Any) -> None:
        """Writes :meth:`to_networkx` (``kwargs`` go to it) as GraphML, whole or not at all."""
        import networkx as nx

        g = self.to_networkx(**kwargs)
        _atomic_write(path, lambda tmp: nx.write_graphml(g, tmp))

    def write_gexf(self, path: str | os.PathLike[str], **kwargs: Any) -> None:
        """Writes :meth:`to_networkx` (``kwargs`` go to it) as GEXF for Gephi, whole or not at all."""
        import networkx as nx

        g = self.to_networkx(**kwargs)
        _atomic_write(path, lambda tmp: nx.write_gexf(g, tmp))

    def write_edges_parquet(
        self, path: str | os.PathLike[str], relations: Iterable[str] | None = None
    ) -> None:
        """Writes one Parquet table of every relation edge: ``src_id, dst_id, relation, weight``."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        df = self.edges_frame(relations)
        table = pa.table(
            {
                "src_id": pa.array(df["src_id"].astype(str).to_numpy(), pa.string()),
                "dst_id": pa.array(df["dst_id"].astype(str).to_numpy(), pa.string()),
                "relation": pa.array(df["relation"].astype(str).to_numpy(), pa.string()),
                "weight": pa.array(df["weight"].to_numpy(), pa.float32()),
            }
        )
        _atomic_write(path, lambda tmp: pq.write_table(table, tmp))

    # ------------------------------------------------------------------ parts
    def subgraph(self, account_codes: Iterable[int] | Iterable[str] | np.ndarray) -> AccountGraph:
        """The graph induced by some accounts (e.g. a cluster's members), for drawing and evidence.

        Args:
            account_codes: node indices of this graph, or account ids (``accounts.csv``'s
                ``account_id``, mapped with :meth:`codes_of`); duplicates are ignored.

        Returns:
            An :class:`AccountGraph` whose nodes are the given accounts in ascending code order, with the
            relation edges among them, their features and their incidence rows. ``parent_codes`` maps
            its nodes back to log account codes; ``log`` is the parent's log.
        """
        given = np.asarray(
            list(account_codes) if not isinstance(account_codes, np.ndarray) else account_codes
        )
        if given.dtype.kind in "OUS":  # account ids, as a user has them from accounts.csv
            given = self.codes_of(given.tolist())
        codes = np.unique(given.astype(np.int64))
        if codes.size and (codes[0] < 0 or codes[-1] >= self.n_accounts):
            raise IndexError(f"account codes must be in [0, {self.n_accounts}), got {codes[0]}..{codes[-1]}")
        new = np.full(self.n_accounts, -1, dtype=np.int64)
        new[codes] = np.arange(codes.size)
        relations = {}
        for name, rel in self.relations.items():
            part = rel.take((new[rel.src] >= 0) & (new[rel.dst] >= 0))
            # Codes are sorted, so renumbering keeps src < dst and the (src, dst) order.
            relations[name] = Relation(
                name,
                new[part.src].astype(np.int32),
                new[part.dst].astype(np.int32),
                part.weight,
                part.evidence,
            )
        parent = codes if self.parent_codes is None else self.parent_codes[codes]
        return AccountGraph(
            account_ids=self.account_ids[codes],
            relations=relations,
            features=self.features[codes],
            feature_names=list(self.feature_names),
            incidence={t: inc.take_accounts(codes) for t, inc in self.incidence.items()},
            log=self.log,
            params=self.params,
            parent_codes=parent.astype(np.int64),
            meta={k: v for k, v in self.meta.items() if not k.startswith("_")},  # caches stay behind
            roles=self.roles,
            identifier_relations=self.identifier_relations,
            sync_stats=self.sync_stats,
        )

    def codes_of(self, account_ids: Iterable[str]) -> np.ndarray:
        """Node indices of account ids (raises KeyError naming the first unknown id)."""
        ids = list(account_ids)
        pos = pd.Index(self.account_ids).get_indexer(ids)
        if (pos < 0).any():
            raise KeyError(f"unknown account id {ids[int(np.flatnonzero(pos < 0)[0])]!r}")
        return pos.astype(np.int64)


def _member(m_src: np.ndarray, m_dst: np.ndarray, src: np.ndarray, dst: np.ndarray, n: int) -> np.ndarray:
    """Positions in the merged list (m_src, m_dst), sorted by key, of the pairs (src, dst)."""
    mkey = m_src.astype(np.int64) * max(n, 1) + m_dst
    key = src.astype(np.int64) * max(n, 1) + dst
    return np.searchsorted(mkey, key)


def _atomic_write(path: str | os.PathLike[str], write: Callable[[str], None]) -> None:
    """Writes through a temporary file next to ``path`` (its folder made first) and renames it, so ``path``
    appears whole, with the usual permissions (:func:`graphs.files.atomic_write`)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, write)
