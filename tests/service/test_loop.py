"""The moderator loop on a generated world: detect -> investigators decide -> labels -> retrain.

Investigators decide in two rounds: a first small batch (one ring confirmed, a few look-alikes
rejected), then most of the rest. A model trained on the labels after the second round ranks the
bots of rings nobody decided on (held out) better than one trained after the first: the decisions
became labels that made the next model better.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score
from typer.testing import CliRunner

from service.cli import app
from service.store import Store

runner = CliRunner()
CONFIG = "model: gbt\nlr: 0.1\nepochs: 200\npatience: 30\nseed: 0\nparams:\n  min_samples_leaf: 10\n"


def cli(*args) -> str:
    res = runner.invoke(app, [str(a) for a in args])
    assert res.exit_code == 0, res.output
    return res.output


def _held_out_ap(model: Path, world: Path, tmp: Path, held_out: set[str], decided: set[str]) -> float:
    cli(
        "detect",
        "--events",
        world / "events.csv",
        "--model",
        model,
        "--out",
        tmp,
        "--store",
        f"sqlite:///{tmp}.db",
    )
    acc = pd.read_csv(tmp / "accounts.csv", keep_default_na=False)
    truth = pd.read_csv(world / "labels.csv", keep_default_na=False).set_index("account_id")
    acc = acc[~acc["account_id"].isin(decided)]  # only accounts no investigator looked at
    ring = truth["ring_id"].reindex(acc["account_id"]).to_numpy()
    keep = np.isin(ring, list(held_out)) | (ring == "")
    y = (ring[keep] != "").astype(int)
    return float(average_precision_score(y, acc["gnn_score"].to_numpy()[keep]))


def test_decisions_become_labels_that_improve_the_next_model(tmp_path: Path) -> None:
    world = tmp_path / "world"
    cli("generate", "--out", world, "--accounts", 8000, "--seed", 31)
    store = f"sqlite:///{tmp_path / 'loop.db'}"
    cli(
        "detect",
        "--events",
        world / "events.csv",
        "--structure-only",
        "--out",
        tmp_path / "o",
        "--store",
        store,
    )
    truth = pd.read_csv(world / "labels.csv", keep_default_na=False).set_index("account_id")
    with Store(store) as st:
        clusters = st.list_clusters(limit=1000).items
        members = {
            c["cluster_id"]: [m["account_id"] for m in st.cluster(c["cluster_id"])["members"]]
            for c in clusters
        }

    def true_ring(cid: str) -> str:
        rings = truth["ring_id"].reindex(members[cid]).fillna("")
        top = rings.value_counts()
        return top.index[0] if top.iloc[0] > len(rings) / 2 else ""

    by_ring = {cid: true_ring(cid) for cid in members}
    rings = sorted({r for r in by_ring.values() if r})
    assert len(rings) >= 4
    held_out = set(rings[len(rings) // 2 :])  # nobody decides on these
    ring_clusters = [c for c, r in by_ring.items() if r and r not in held_out]
    lookalikes = [c for c, r in by_ring.items() if not r]
    rounds = [(ring_clusters[:1], lookalikes[:3]), (ring_clusters[1:], lookalikes[3:])]
    cfg = tmp_path / "gbt.yaml"
    cfg.write_text(CONFIG)
    decided: set[str] = set()
    models = []
    for i, (confirm, reject) in enumerate(rounds):
        with Store(store) as st:
            for cid in confirm:
                st.decide(cid, "confirm", "a ring", "investigator-test")
            for cid in reject:
                st.decide(cid, "reject", "a look-alike", "investigator-test")
        for cid in confirm + reject:
            decided.update(members[cid])
        labels = tmp_path / f"labels{i}.csv"
        out = cli("labels", "--store", store, "--out", labels)
        assert "labels" in out
        umask = os.umask(0)
        os.umask(umask)
        assert labels.stat().st_mode & 0o777 == 0o666 & ~umask  # not a temporary file's 0600
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no temporary file left"
        table = pd.read_csv(labels, keep_default_na=False)
        assert set(table["account_id"]) == decided
        # Labels are right where decisions were right: confirmed members are mostly true bots.
        assert truth["is_bot"].reindex(table.loc[table["is_bot"] == 1, "account_id"]).mean() > 0.8
        model = tmp_path / f"model{i}"
        cli("train", "--events", world / "events.csv", "--labels", labels, "--config", cfg, "--out", model)
        models.append(model)
    # Both models on the same accounts: those of held-out rings and benign ones nobody decided on.
    aps = [_held_out_ap(m, world, tmp_path / f"eval{i}", held_out, decided) for i, m in enumerate(models)]
    print(f"held-out AP after round 1: {aps[0]:.3f}, after round 2: {aps[1]:.3f}")
    assert aps[1] > aps[0], aps
