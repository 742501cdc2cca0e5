"""The recipe of the default model shipped in the package (``gnn/default_model``).

    python -m bench.train_default [--worlds 2] [--accounts 30000] [--config gnn/configs/default.yaml]

Trains on generated worlds of every fit regime (:data:`graphs.synthetic.regimes.FIT_REGIMES`, seeds
2000+; evaluation uses seeds 9000+ and the held-out regimes), as one disjoint union of their graphs,
with a ring-grouped split inside every world (all members of a ring in one split). Saves the model
into the package and prints its test metrics.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from gnn.config import load_config
from gnn.scoring import default_model_path, disjoint_union, graph_data
from gnn.train import save_model, train
from graphs.build import build_graph
from graphs.events import EventLog
from graphs.synthetic.regimes import FIT_REGIMES, generate_regime_world
from service.training import ring_split

TRAIN_SEED = 2000
ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--worlds", type=int, default=2, help="worlds per fit regime")
    ap.add_argument("--accounts", type=int, default=30_000)
    ap.add_argument("--config", type=Path, default=ROOT / "gnn" / "configs" / "default.yaml")
    ap.add_argument("--out", type=Path, default=None, help="default: the package's default_model")
    args = ap.parse_args(argv)
    cfg = load_config(args.config)
    datas, masks, names = [], [[], [], []], None
    t0 = time.perf_counter()
    for regime in FIT_REGIMES:
        for i in range(args.worlds):
            seed = TRAIN_SEED + i
            world = generate_regime_world(regime, args.accounts, seed)
            log = EventLog.from_frame(world.events, source=f"{regime} world {seed}")
            labels = world.labels.set_index("account_id")
            graph = build_graph(log, world.accounts.set_index("account_id"))
            names = graph.feature_names
            datas.append(graph_data(graph, labels))
            for m, part in zip(masks, ring_split(graph.account_ids, labels, seed=cfg.seed), strict=True):
                m.append(part)
            print(f"{regime} {seed}: {graph.n_accounts:,} accounts", flush=True)
    data = disjoint_union(datas)
    train_mask, val_mask, test_mask = (torch.from_numpy(np.concatenate(m)) for m in masks)
    graph_seconds = time.perf_counter() - t0
    scorer, metrics = train(cfg, data, train_mask, val_mask, test_mask)
    metrics["graph_seconds"] = round(graph_seconds, 2)
    out = args.out or default_model_path()
    info = {
        "events": f"generated worlds of regimes {', '.join(FIT_REGIMES)}, seeds {TRAIN_SEED}.."
        f"{TRAIN_SEED + args.worlds - 1}, {args.accounts:,} accounts each ({int(data.num_nodes):,} accounts)",
        "labelled accounts": int((data.y >= 0).sum()),
        "split": "ring-grouped 60/20/20 inside every world (all members of a ring in one split)",
        "recipe": f"python -m bench.train_default --worlds {args.worlds} --accounts {args.accounts}",
    }
    # The names of the columns the model takes (all of them unless the config excludes some).
    save_model(scorer, out, cfg, metrics, scorer.feature_names_ or list(names), info)
    print(
        json.dumps(
            {k: v for k, v in metrics.items() if not isinstance(v, list | dict)}, indent=1, default=str
        )
    )
    print(f"saved {out}")


if __name__ == "__main__":
    main()
