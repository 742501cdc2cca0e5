"""``ringscope data``: where the public datasets are found, and their conversion to event logs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from graphs.errors import InputError

data_app = typer.Typer(
    name="data",
    help="Public datasets: where they are found (RINGSCOPE_DATA, ../shared/data), converted to event logs.",
    no_args_is_help=True,
)

CONVERTIBLE = ("yelpchi", "russian_coord_tweets", "german_elections", "sample")


@data_app.command("list")
def list_data() -> None:
    """Each dataset, where it was found (or that it was not), and what it holds."""
    from graphs import public_data as pd_
    from service.cli import console

    console.print(f"data folders searched: {', '.join(str(d.resolve()) for d in pd_.data_dirs())}")
    rows = [
        ("YelpChi event log (labelled reviews)", "yelpchi_eventlog.zip"),
        ("YelpChi raw metadata", "yelpchi_metadata.gz"),
        ("YelpChi CARE-GNN graph (rebuilt)", "YelpChi_structure_rebuilt.mat"),
        ("CooRTweet coordination logs", pd_.COORTWEET_FILE),
    ]
    missing = "[yellow]not found[/] (data/README.md says how to obtain it)"
    for label, name in rows:
        try:
            where = str(pd_.find_data_file(name))
        except InputError:
            where = missing
        console.print(f"{label}: {where}", soft_wrap=True, highlight=False)
    try:
        where = str(pd_.sample_paths()["events"].parent)
    except InputError:
        where = missing
    console.print(f"sample world (generated, committed): {where}", soft_wrap=True, highlight=False)


@data_app.command("convert")
def convert(
    dataset: Annotated[str, typer.Argument(help=f"One of: {', '.join(CONVERTIBLE)}.")],
    out: Annotated[Path, typer.Option(help="Where to write: a file (.csv, .csv.gz, .parquet) or a folder.")],
    source: Annotated[
        Path | None,
        typer.Option("--from", help="The raw file or its folder (default: the data folders searched)."),
    ] = None,
) -> None:
    """Convert a public dataset into ringscope's event-log schema (docs/contract.md section 1).

    yelpchi: the raw metadata (yelpchi_metadata.gz) -> yelpchi_eventlog.zip (events, user labels,
    review labels). russian_coord_tweets, german_elections: CooRTweet's logs -> one events file.
    sample: the committed sample world, generated again.
    """
    from graphs import public_data as pd_
    from graphs.files import atomic_write
    from service.cli import console, fail

    if dataset not in CONVERTIBLE:
        fail(f"unknown dataset {dataset!r}; one of: {', '.join(CONVERTIBLE)}")
    one_file = dataset not in ("yelpchi", "sample") and out.suffix and not out.is_dir()
    if one_file and not out.name.endswith((".csv", ".csv.gz", ".parquet")):
        fail(f"--out {out}: expected a folder or a .csv, .csv.gz or .parquet file")
    try:
        if dataset == "yelpchi":
            raw = pd_.find_data_file("yelpchi_metadata.gz", path=source)
            written = pd_.write_yelpchi_eventlog(raw, out)
        elif dataset == "sample":
            written = pd_.write_sample(out)["events"].parent
        else:
            log = pd_.load_coortweet(dataset, path=source)
            written = out if one_file else out / f"{dataset}.csv.gz"
            written.parent.mkdir(parents=True, exist_ok=True)
            frame = log.to_frame()
            if written.suffix == ".parquet":
                atomic_write(written, lambda tmp: frame.to_parquet(tmp, index=False))
            else:  # .csv or .csv.gz (checked above)
                gz = "gzip" if written.suffix == ".gz" else None
                atomic_write(written, lambda tmp: frame.to_csv(tmp, index=False, compression=gz))
    except InputError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"--out {out}: cannot write ({exc.strerror or exc})")
    console.print(f"wrote {dataset} to {written}")
