"""Public fraud-detection graphs (Amazon, YelpChi) in the ``.mat`` format of CARE-GNN (CIKM 2020).

Each file holds ``features`` (sparse [N, F]), ``label`` ([1, N]), ``homo`` (all relations merged)
and one sparse adjacency per relation:

* ``Amazon.mat`` (users; 11,944 nodes, 25 features): ``net_upu`` (same product reviewed),
  ``net_usu`` (same star rating within a week), ``net_uvu`` (top-5% review-text similarity);
* ``YelpChi.mat`` (reviews; 45,954 nodes, 32 features): ``net_rur`` (same user), ``net_rtr`` (same
  product, same month), ``net_rsr`` (same product, same star rating).

Source: https://github.com/YingtongDou/CARE-GNN (``data/Amazon.zip``, ``data/YelpChi.zip``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.io
import scipy.sparse as sp
import torch
from torch_geometric.data import Data

from gnn.errors import DatasetError
from graphs.public_data import DATA_ENV, data_dir

#: Where benchmark data is looked for when no path is given: ``RINGSCOPE_DATA`` (default ``./data``),
#: then this folder, ``../shared/data`` from the working directory (a checkout beside ``shared/``);
#: never a path inside the installed package.
SHARED_DATA = Path.cwd().parent / "shared" / "data"


def _search_dirs() -> list[Path]:
    return [data_dir(), SHARED_DATA]


SOURCE_URL = "https://github.com/YingtongDou/CARE-GNN/tree/master/data"


@dataclass(frozen=True)
class FraudDatasetSpec:
    """Where a dataset lives and how to read it."""

    name: str
    file: str
    relations: tuple[str, ...]
    unlabelled_prefix: int = 0  # leading nodes excluded from train/val/test (y set to -1)
    #: Other files holding the same graph without features, and the raw metadata they are rebuilt from.
    rebuilt: tuple[str, ...] = ()
    metadata: str | None = None


DATASETS = {
    "amazon": FraudDatasetSpec(
        "amazon", "Amazon.mat", ("net_upu", "net_usu", "net_uvu"), unlabelled_prefix=3305
    ),
    "yelpchi": FraudDatasetSpec(
        "yelpchi",
        "YelpChi.mat",
        ("net_rur", "net_rtr", "net_rsr"),
        rebuilt=("YelpChi_structure_rebuilt.mat",),
        metadata="yelpchi_metadata.gz",
    ),
}
ALIASES = {"yelp": "yelpchi"}


def dataset_spec(name: str) -> FraudDatasetSpec:
    """The spec for ``amazon`` or ``yelpchi`` (case-insensitive, ``yelp`` accepted)."""
    key = ALIASES.get(name.lower(), name.lower())
    if key not in DATASETS:
        raise DatasetError(f"unknown dataset {name!r}; available: {', '.join(DATASETS)}")
    return DATASETS[key]


def find_dataset_file(name: str, path: str | Path | None = None) -> Path:
    """Locate a dataset file: ``path`` (the file or its directory), else ``RINGSCOPE_DATA`` (default
    ``./data``), else :data:`SHARED_DATA`.

    Raises:
        DatasetError: saying where the file was looked for and where to put it.
    """
    spec = dataset_spec(name)
    candidates = []
    if path is not None:
        path = Path(path)
        if path.suffix == ".mat":
            candidates.append(path)
        else:
            candidates += [path / spec.file, *(path / f for f in spec.rebuilt)]
    for d in _search_dirs():
        candidates += [d / spec.file, *(d / f for f in spec.rebuilt)]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    looked = " and ".join(str(c) for c in candidates)
    raise DatasetError(
        f"{spec.file} not found (looked in {looked}); download it from {SOURCE_URL} "
        f"({spec.file.replace('.mat', '.zip')}), unzip it into {data_dir()} (or set {DATA_ENV}; "
        "data/README.md) or pass its directory with --data-dir"
    )


def _edges(matrix: sp.spmatrix, num_nodes: int, key: str, file: Path) -> np.ndarray:
    if not sp.issparse(matrix) and not isinstance(matrix, np.ndarray):
        raise DatasetError(
            f"{file}, key {key!r}: expected a sparse adjacency matrix, got {type(matrix).__name__}"
        )
    matrix = sp.csr_matrix(matrix)
    if matrix.shape != (num_nodes, num_nodes):
        raise DatasetError(
            f"{file}, key {key!r}: adjacency is {matrix.shape}, expected ({num_nodes}, {num_nodes})"
        )
    coo = sp.triu((matrix + matrix.T) != 0, k=1).tocoo()  # symmetric, no self-loops, no duplicates
    src, dst = coo.row.astype(np.int64), coo.col.astype(np.int64)
    return np.stack([np.r_[src, dst], np.r_[dst, src]])


def load_fraud_mat(name: str, path: str | Path | None = None) -> Data:
    """Load Amazon or YelpChi as a graph in the GNN input interface.

    Args:
        name: ``"amazon"`` or ``"yelpchi"``.
        path: the ``.mat`` file or its directory; defaults to ``/work/shared/data`` (``../shared/data``
            from the repository root).

    Returns:
        ``Data`` with ``x`` (float32 features), ``edge_index`` (both directions, self-loops removed),
        ``edge_type`` (index into ``relation_names``), ``edge_weight`` (ones), ``y`` (0 benign,
        1 fraud, -1 for Amazon's first 3,305 users, which CARE-GNN and PC-GNN leave out of every
        split), and ``homo_edge_index`` (the file's merged ``homo`` graph, for reference).
    """
    spec = dataset_spec(name)
    file = find_dataset_file(name, path)
    try:
        mat = scipy.io.loadmat(file)
    except (ValueError, OSError, NotImplementedError) as exc:
        raise DatasetError(f"{file}: cannot read as a MATLAB .mat file ({exc})") from None
    missing = [k for k in ("label", "homo", *spec.relations) if k not in mat]
    if "features" not in mat and not (spec.metadata and "review_user_id" in mat):
        missing.insert(0, "features")
    if missing:
        raise DatasetError(f"{file}: missing key(s) {', '.join(missing)}; expected the CARE-GNN format")
    if "features" in mat:
        features = mat["features"]
        x = (features.toarray() if sp.issparse(features) else np.asarray(features)).astype(np.float32)
        feature_source, names = "the file's features", None
    else:
        x, names = _rebuilt_features(spec, file, mat)
        feature_source = f"{len(names)} behavioural features rebuilt from {spec.metadata} (no text features)"
    y = np.asarray(mat["label"]).reshape(-1).astype(np.int64)
    n = x.shape[0]
    if y.shape[0] != n:
        raise DatasetError(f"{file}: {y.shape[0]} labels for {n} feature rows")
    if not np.isin(y, (0, 1)).all():
        raise DatasetError(f"{file}, key 'label': labels must be 0 or 1")
    if spec.unlabelled_prefix:
        if n <= spec.unlabelled_prefix:
            raise DatasetError(
                f"{file}: {n} nodes, expected more than the {spec.unlabelled_prefix} unlabelled users"
            )
        y[: spec.unlabelled_prefix] = -1
    edges = [_edges(mat[r], n, r, file) for r in spec.relations]
    edge_type = np.concatenate([np.full(e.shape[1], i, dtype=np.int64) for i, e in enumerate(edges)])
    edge_index = np.concatenate(edges, axis=1)
    return Data(
        x=torch.from_numpy(x),
        edge_index=torch.from_numpy(edge_index),
        edge_type=torch.from_numpy(edge_type),
        edge_weight=torch.ones(edge_index.shape[1], dtype=torch.float32),
        y=torch.from_numpy(y),
        relation_names=list(spec.relations),
        homo_edge_index=torch.from_numpy(_edges(mat["homo"], n, "homo", file)),
        dataset=spec.name,
        feature_source=feature_source,
        feature_names=names,
    )


def _rebuilt_features(spec: FraudDatasetSpec, file: Path, mat: dict) -> tuple[np.ndarray, list[str]]:
    """A features-less rebuilt graph's behavioural features from the raw metadata beside it."""
    from gnn.yelpchi_features import feature_names, node_features, read_metadata

    meta = next(
        (d / spec.metadata for d in (file.parent, *_search_dirs()) if (d / spec.metadata).is_file()),
        None,
    )
    if meta is None:
        raise DatasetError(
            f"{file} has no features; they are rebuilt from {spec.metadata}, "
            f"not found beside it or in {' or '.join(map(str, _search_dirs()))}"
        )
    users = np.asarray(mat["review_user_id"]).ravel()
    prods = np.asarray(mat["review_prod_id"]).ravel()
    return node_features(read_metadata(meta), users, prods), feature_names()


def write_synthetic_mat(
    path: str | Path, name: str = "amazon", num_labelled: int = 2000, seed: int = 0
) -> Path:
    """Write a small generated graph in the exact CARE-GNN ``.mat`` format (for smoke runs and tests).

    The graph is :func:`gnn.synthetic.ring_graph` with three relations, Amazon's 25 or YelpChi's 32
    features, and (for Amazon) 3,305 extra leading nodes standing in for the unlabelled users.

    Returns:
        The path of the written file (``path`` itself, or ``path/<Amazon|YelpChi>.mat`` for a directory).
    """
    from gnn.synthetic import ring_graph

    spec = dataset_spec(name)
    path = Path(path)
    if path.suffix != ".mat":
        path.mkdir(parents=True, exist_ok=True)
        path = path / spec.file
    n = num_labelled + spec.unlabelled_prefix
    data = ring_graph(
        num_nodes=n,
        bot_share=0.1,
        ring_size=10,
        num_relations=3,
        avg_degree=6.0,
        num_features=25 if spec.name == "amazon" else 32,
        feature_shift=0.6,
        camouflage=0.6,
        seed=seed,
    )
    ei, et = data.edge_index.numpy(), data.edge_type.numpy()
    mats = {}
    for r, rel in enumerate(spec.relations):
        e = ei[:, et == r]
        mats[rel] = sp.csc_matrix((np.ones(e.shape[1]), (e[0], e[1])), shape=(n, n))
    homo = sp.csc_matrix((sum(mats.values()) != 0).astype(np.float64))
    scipy.io.savemat(
        path,
        {
            "features": sp.csc_matrix(data.x.numpy().astype(np.float64)),
            "label": data.y.numpy().astype(np.float64)[None, :],
            "homo": homo,
            **mats,
        },
    )
    return path
