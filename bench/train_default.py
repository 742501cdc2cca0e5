"""The recipe of the default model shipped in the package (``gnn/default_model``).

    python -m bench.train_default [--accounts 40000] [--config gnn/configs/default.yaml]

Trains on a generated world with a tuning seed (2000; evaluation worlds use 9000+), saves the model
into the package, and prints its test metrics (ring-grouped split of that world).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from gnn.fit_events import train_from_log
from gnn.scoring import default_model_path
from graphs.events import EventLog
from graphs.synthetic import WorldConfig, generate_world

TRAIN_SEED = 2000
ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--accounts", type=int, default=40_000)
    ap.add_argument("--config", type=Path, default=ROOT / "gnn" / "configs" / "default.yaml")
    ap.add_argument("--out", type=Path, default=None, help="default: the package's default_model")
    args = ap.parse_args(argv)
    world = generate_world(WorldConfig(n_accounts=args.accounts, seed=TRAIN_SEED))
    log = EventLog.from_frame(world.events, source=f"generated world seed {TRAIN_SEED}")
    out = args.out or default_model_path()
    metrics = train_from_log(
        log,
        world.labels.set_index("account_id"),
        world.accounts.set_index("account_id"),
        args.config,
        out,
        card={"recipe": f"python -m bench.train_default --accounts {args.accounts}"},
    )
    print(
        json.dumps(
            {k: v for k, v in metrics.items() if not isinstance(v, list | dict)}, indent=1, default=str
        )
    )
    print(f"saved {out}")


if __name__ == "__main__":
    main()
