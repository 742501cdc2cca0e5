"""The ``ringscope`` command line (see CONTRACT.md section 2)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from graphs.errors import InputError

app = typer.Typer(
    name="ringscope",
    help="Find coordinated account abuse (bot rings, farms, pods) in event logs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=False)
err_console = Console(stderr=True)


def fail(message: str, code: int = 2) -> None:
    """Prints one line to stderr and exits non-zero, no traceback."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def print_log_summary(summary: dict, title: str) -> None:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_row("rows", f"{summary['rows']:,}")
    table.add_row("accounts", f"{summary['accounts']:,}")
    table.add_row("entities", f"{summary['entities']:,}")
    span = summary["time_span"]
    table.add_row("time span", f"{span['first']} .. {span['last']} ({span['days']} days)")
    for name, c in summary["entity_types"].items():
        table.add_row(f"entity type {name}", f"{c['events']:,} events, {c['distinct']:,} distinct")
    for name, n in summary["actions"].items():
        table.add_row(f"action {name}", f"{n:,}")
    console.print(table)


@app.command()
def validate(
    events: Annotated[Path, typer.Option(help="Event log: CSV, gzip CSV or Parquet.")],
    accounts: Annotated[Path | None, typer.Option(help="Optional accounts table.")] = None,
    labels: Annotated[Path | None, typer.Option(help="Optional labels table.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Check the input tables and print a summary, or the first error."""
    from graphs.events import load_accounts, load_events, load_labels

    try:
        log = load_events(events)
        summary = log.summary()
        if accounts is not None:
            acc = load_accounts(accounts)
            known = log.account_index.isin(acc.index)
            summary["accounts_table"] = {
                "rows": len(acc),
                "event_accounts_missing": int((~known).sum()),
            }
        if labels is not None:
            lab = load_labels(labels)
            summary["labels_table"] = {
                "rows": len(lab),
                "bots": int(lab["is_bot"].sum()),
                "rings": int(lab.loc[lab["ring_id"] != "", "ring_id"].nunique()),
            }
    except InputError as exc:
        fail(str(exc))
    if as_json:
        console.print_json(json.dumps(summary))
        return
    print_log_summary(summary, f"{events}: valid")
    for key in ("accounts_table", "labels_table"):
        if key in summary:
            console.print(
                f"{key.replace('_', ' ')}: " + ", ".join(f"{k} {v:,}" for k, v in summary[key].items())
            )


@app.command()
def generate(
    out: Annotated[Path, typer.Option(help="Directory for events, accounts and labels tables.")],
    accounts: Annotated[int, typer.Option(help="Number of accounts.", min=200)] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    fmt: Annotated[str, typer.Option("--format", help="csv, csv.gz or parquet.")] = "csv",
) -> None:
    """Generate a synthetic world with ground truth (events, accounts, labels)."""
    from graphs.synthetic import WorldConfig, generate_world, write_world

    if fmt not in ("csv", "csv.gz", "parquet"):
        fail(f"--format {fmt!r}: choose csv, csv.gz or parquet")
    with console.status(f"generating {accounts:,} accounts (seed {seed})"):
        world = generate_world(WorldConfig(n_accounts=accounts, seed=seed))
    with console.status(f"writing {len(world.events):,} events to {out}"):
        paths = write_world(world, out, fmt=fmt)
    n_rings = world.labels.loc[world.labels["ring_id"] != "", "ring_id"].nunique()
    console.print(
        f"wrote {len(world.events):,} events, {len(world.accounts):,} accounts, "
        f"{int(world.labels['is_bot'].sum()):,} bots in {n_rings} rings:"
    )
    for name, path in paths.items():
        console.print(f"  {name}: {path}")


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except InputError as exc:  # a command that forgot to catch still prints one line
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
