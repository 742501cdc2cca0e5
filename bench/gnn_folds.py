"""Default-config GNNs each trained without one fit regime, for cross-fitted (out-of-regime) scores.

The ``structure+gnn`` cluster scorer weighs the members' mean GNN score against the structural
evidence. Fitted on the shipped GNN's scores of the fit regimes, it sees a GNN scoring worlds of the
very regimes it was trained on (account AP ~0.95) and learns to trust it accordingly; on a platform we
did not generate the same GNN is much weaker (left-out AP 0.04-0.9, ``bench.gnn_loro``), and the
scorer's trust is misplaced. So ``bench.calibrate`` and ``bench.scorer_loro`` score each fit regime's
tuning worlds with the GNN trained on the *other* fit regimes (stacking on out-of-fold predictions):
the scorer learns what a GNN's score is worth on a platform the GNN has not seen.

    python -m bench.gnn_folds [--worlds 2] [--accounts 30000]

trains (or reuses) one model per fit regime under ``out/gnn_folds/`` on the GNN's own tuning worlds
(seeds 2000+, the cached inputs of ``bench.gnn_loro``) with the default model's config.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bench.gnn_loro import ROOT, TRAIN_SEED, train_without, world_inputs
from gnn.config import load_config
from gnn.scoring import load_model_dir
from gnn.train import save_model
from graphs.synthetic.regimes import FIT_REGIMES

CACHE = ROOT / "out" / "gnn_folds"
CONFIG = ROOT / "gnn" / "default_model" / "config.yaml"


def fold_dir(left_out: str, n_worlds: int, n_accounts: int) -> Path:
    return CACHE / f"{n_worlds}x{n_accounts}" / f"without_{left_out}"


def fold_models(n_worlds: int = 2, n_accounts: int = 30_000, fresh: bool = False) -> dict:
    """Fit regime -> the GNN trained on every other fit regime (a ``GraphScorer``), trained when missing."""
    cfg = load_config(CONFIG)
    out, records = {}, None
    for left_out in FIT_REGIMES:
        path = fold_dir(left_out, n_worlds, n_accounts)
        if fresh or not (path / "config.yaml").is_file():
            if records is None:
                records = {
                    (regime, TRAIN_SEED + i): world_inputs(regime, TRAIN_SEED + i, n_accounts, fresh)
                    for regime in FIT_REGIMES
                    for i in range(n_worlds)
                }
            t = time.perf_counter()
            scorer, metrics, names = train_without(records, left_out, cfg)
            info = {"events": f"fit regimes but {left_out}, seeds {TRAIN_SEED}+, {n_accounts:,} accounts"}
            save_model(scorer, path, cfg, metrics, names, info)
            print(f"GNN without {left_out}: trained in {time.perf_counter() - t:.0f} s", flush=True)
        out[left_out] = load_model_dir(path)
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--worlds", type=int, default=2, help="tuning worlds per fit regime")
    ap.add_argument("--accounts", type=int, default=30_000)
    ap.add_argument("--fresh", action="store_true", help="retrain every fold")
    args = ap.parse_args(argv)
    for regime, model in fold_models(args.worlds, args.accounts, args.fresh).items():
        print(f"without {regime}: {model.version}")


if __name__ == "__main__":
    main()
