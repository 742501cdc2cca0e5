"""The ``ringscope`` command line (see docs/contract.md section 2)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from graphs.errors import InputError, RingscopeError
from service.data_cli import data_app

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


def _store_url(store: str | None) -> str:
    """``--store``, else the service settings (``RINGSCOPE_STORE``, else the default SQLite file)."""
    from service.settings import Settings

    return store or Settings().store_url


def _progress(status):
    def say(msg: str) -> None:
        status.update(msg)
        console.log(msg)

    return say


# Schema options shared by detect and train (give train's to detect too).
IdentifiersOption = Annotated[
    str | None,
    typer.Option(help="Entity types that are shared identifiers (comma-separated); default: inferred."),
]
TargetsOption = Annotated[
    str | None, typer.Option(help="Entity types that are acted on (comma-separated); default: inferred.")
]
StructureOnlyOption = Annotated[
    bool, typer.Option("--structure-only", help="Use structural evidence alone, no GNN.")
]
IgnoreColumnOption = Annotated[
    str | None,
    typer.Option(help="Extra columns (events or accounts table) to leave out, comma-separated."),
]
RecalibrateOption = Annotated[
    float,
    typer.Option(
        help="Score the log's null copy again (to calibrate the ring threshold) once the log has "
        "grown by this share of its events since the last time; until then reuse its scores "
        "(0: at every update). docs/incremental.md.",
        min=0.0,
    ),
]
EngineOption = Annotated[
    str | None,
    typer.Option(
        help="What counts the relations: local (default) or spark (needs 'ringscope[spark]' and Java; "
        "docs/spark.md). Default: the config's graph.engine, else local (update / watch: the "
        "dataset's last)."
    ),
]


def detect_params(
    identifiers: str | None = None,
    targets: str | None = None,
    ignore_columns: str | None = None,
    config: Path | None = None,
    config_text: str | None = None,
    engine: str | None = None,
):
    """Detection knobs: ``--config`` (YAML, :mod:`service.detect_config`; or its text, as an update
    remembers it), then the command line's schema options on top (declared roles, columns switched
    off, the engine). A Spark engine that cannot run here fails now, before any work."""
    import dataclasses

    from graphs.errors import RingscopeError
    from service.detect_config import detect_config_from_text, load_detect_config
    from service.pipeline import DetectParams

    def names(value: str | None) -> tuple[str, ...] | None:
        return None if not value else tuple(v.strip() for v in value.split(",") if v.strip())

    try:
        if config is not None:
            params = load_detect_config(config)
        elif config_text is not None:
            params = detect_config_from_text(config_text, "the detection config remembered by the state")
        else:
            params = DetectParams()
        graph = params.graph
        changes = {}
        if identifiers:
            changes["identifier_types"] = names(identifiers)
        if targets:
            changes["target_types"] = names(targets)
        if ignore_columns:
            changes["attributes"] = dataclasses.replace(graph.attributes, ignore=names(ignore_columns) or ())
        if engine:
            changes["engine"] = engine.strip().lower()
        params = dataclasses.replace(params, graph=dataclasses.replace(graph, **changes))
        if params.graph.engine == "spark":
            from graphs.spark import spark_missing

            why = spark_missing()
            if why:
                raise RingscopeError(f"engine spark (--engine or the config's graph.engine): {why}")
        return params
    except (RingscopeError, ValueError) as exc:
        fail(str(exc))


def read_inputs(events: str, accounts: str | None, engine: str):
    """The event log and the accounts table: local paths by the local loader, URIs (``s3a://...``)
    by Spark, then validated the same way."""
    from graphs.events import EventLog, accounts_from_table, load_accounts, load_events
    from graphs.spark.io import is_uri, read_table_spark

    for path in (events, accounts):
        if path is not None and is_uri(path) and engine != "spark":
            raise RingscopeError(
                f"{path}: a URI is read by the Spark engine: add --engine spark (or give a local path)"
            )
    log = (
        EventLog.from_arrow(read_table_spark(events), source=events)
        if is_uri(events)
        else load_events(events)
    )
    if accounts is None:
        return log, None
    acc = (
        accounts_from_table(accounts, read_table_spark(accounts))
        if is_uri(accounts)
        else load_accounts(accounts)
    )
    return log, acc


def check_store_url(url: str, purpose: str) -> None:
    """Refuses an in-memory store, which would lose the run (detect) or hold nothing (serve)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return  # Store() names a malformed URL
    if parsed.get_backend_name() == "sqlite" and (parsed.database or ":memory:") in ("", ":memory:"):
        what = "the run would be lost when detect exits" if purpose == "detect" else "it would be empty"
        fail(f"verdict store {url!r} is in memory: {what}; give a file, e.g. sqlite:///ringscope.db")


def open_store(url: str):
    """The verdict store, or one line naming what is wrong with it (before any work starts)."""
    from service.store import Store, StoreError

    try:
        return Store(url)
    except StoreError as exc:
        fail(str(exc))


def check_model(model: str | None) -> None:
    """Loads the model once before any work, so a wrong ``--model`` fails at once."""
    if model is None:
        return
    from gnn.scoring import load_default_model, load_model_dir

    if model == "default":
        load_default_model()
    else:
        load_model_dir(model)


def detect_and_publish(log, accounts_df, model, out: Path, store, params=None, dataset=None) -> tuple:
    """:func:`service.runs.detect_and_publish` with a progress spinner; one line on failure."""
    from service.runs import dataset_of
    from service.runs import detect_and_publish as run_and_publish

    dataset = dataset or dataset_of(log.source)
    console.print(f"dataset: {dataset}", highlight=False)
    with console.status("detecting") as status:
        run = run_and_publish(
            log, accounts_df, model, out, store, params, progress=_progress(status), dataset=dataset
        )
    return run.detection, run.published, run.paths


def recover_outputs(out: Path, store) -> None:
    """Finishes or removes what earlier crashed runs left in ``out`` (see :func:`service.outputs.recover`)."""
    from service.runs import recover_outputs as recover

    for line in recover(out, store):
        console.print(f"{out}: {line}", highlight=False)


def print_detection(detection) -> None:
    from graphs.scoring import RING, VERDICTS

    run = detection.params
    if run.get("roles"):
        console.print(f"entity roles: {run['roles']}", highlight=False)
    cal = run.get("calibration") or {}
    if cal.get("null_copies"):
        thr = cal.get("ring_threshold")
        null = (
            "the null copy of an earlier update (reused)" if cal.get("null_reused") else "the log's null copy"
        )
        console.print(
            f"ring threshold {thr:.2f} against {null} at FDR {cal['fdr']:.0%}: "
            f"{cal.get('expected_false_rings', 0):.1f} false rings expected"
            if thr is not None
            else "no cluster beats the log's null copy: no rings",
            highlight=False,
        )
    clusters = detection.clusters
    table = Table(title="verdicts", title_justify="left")
    table.add_column("verdict")
    table.add_column("clusters", justify="right")
    table.add_column("accounts", justify="right")
    for v in VERDICTS:
        sel = clusters[clusters["verdict"] == v]
        n_acc = int((detection.accounts["verdict"] == v).sum())
        table.add_row(v, f"{len(sel):,}", f"{n_acc:,}")
    console.print(table)
    rings = clusters[clusters["verdict"] == RING].sort_values("score", ascending=False).head(5)
    for r in rings.itertuples():
        words = detection.evidence.get(r.cluster_id, {}).get("summary", [])
        console.print(f"[bold]{r.cluster_id}[/] size {r.size}, score {r.score:.2f}: " + " ".join(words[:2]))


@app.command()
def detect(
    events: Annotated[
        str,
        typer.Option(
            help="Event log: CSV, gzip CSV or Parquet; with --engine spark also any URI Spark reads "
            "(s3a://, gs://, hdfs://, ...)."
        ),
    ],
    out: Annotated[Path, typer.Option(help="Directory for accounts.csv and clusters.csv.")],
    accounts: Annotated[str | None, typer.Option(help="Optional accounts table (a path, or a URI).")] = None,
    model: Annotated[
        str | None, typer.Option(help="Model directory from `ringscope train`; default: the shipped model.")
    ] = None,
    structure_only: StructureOnlyOption = False,
    store: Annotated[str | None, typer.Option(help="Verdict store SQLAlchemy URL.")] = None,
    identifiers: IdentifiersOption = None,
    targets: TargetsOption = None,
    ignore_column: IgnoreColumnOption = None,
    config: Annotated[
        Path | None,
        typer.Option(help="Detection knobs (YAML: graph, cluster, evidence, verdict, refine); see docs."),
    ] = None,
    engine: EngineOption = None,
    dataset: Annotated[
        str | None,
        typer.Option(
            help="Which log this is: ids, change feed and matching are per dataset "
            "(default: the events file's folder/name)."
        ),
    ] = None,
) -> None:
    """Detect rings: write accounts.csv / clusters.csv and publish the run to the verdict store."""
    from service.outputs import check_out_dir

    params = detect_params(identifiers, targets, ignore_column, config, engine=engine)
    url = _store_url(store)
    check_store_url(url, "detect")
    chosen = None if structure_only else (model or "default")
    try:
        # Everything that can be wrong with the options fails before the work starts.
        out_dir = check_out_dir(out)
        check_model(chosen)
        with open_store(url) as st:
            recover_outputs(out_dir, st)
            with console.status(f"reading {events}"):
                log, acc = read_inputs(events, accounts, params.graph.engine)
            detection, result, paths = detect_and_publish(log, acc, chosen, out_dir, st, params, dataset)
    except RingscopeError as exc:
        fail(str(exc))
    print_detection(detection)
    console.print(f"published run {result.run_id} to {url}; wrote " + ", ".join(map(str, paths.values())))
    console.print(result.changes_line(), highlight=False)


StateOption = Annotated[
    Path | None,
    typer.Option(
        help="Folder of the datasets' update state (default: RINGSCOPE_STATE, else ./ringscope-state)."
    ),
]
# Options `update` and `watch` share (None: the dataset's remembered value).
UpdateOutOption = Annotated[
    Path, typer.Option(help="Directory for the refreshed accounts.csv and clusters.csv.")
]
UpdateModelOption = Annotated[
    str | None,
    typer.Option(
        help="Model directory, or 'default'; default: the dataset's last one, else the shipped model."
    ),
]
UpdateConfigOption = Annotated[
    Path | None, typer.Option(help="Detection knobs (YAML); default: the dataset's last ones.")
]


def _update_options(model, structure_only, identifiers, targets, ignore_column, config, engine=None) -> dict:
    """This update's options (None: the state's remembered value), checked before any work."""
    opts: dict = {"identifiers": identifiers, "targets": targets, "ignore_column": ignore_column}
    opts["engine"] = engine.strip().lower() if engine else None
    opts["model"] = (
        "none" if structure_only else (str(Path(model).resolve()) if model and model != "default" else model)
    )
    opts["config_text"] = None
    if config is not None:
        try:
            opts["config_text"] = config.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"{config}: cannot be read ({getattr(exc, 'strerror', None) or exc})")
        detect_params(identifiers, targets, ignore_column, config_text=opts["config_text"], engine=engine)
    elif engine:
        detect_params(identifiers, targets, ignore_column, engine=engine)
    if opts["model"] not in (None, "none"):
        check_model(opts["model"])
    return opts


def _resolved_params(opts: dict):
    return detect_params(
        opts.get("identifiers"),
        opts.get("targets"),
        opts.get("ignore_column"),
        config_text=opts.get("config_text"),
        engine=opts.get("engine"),
    )


def _run_update(batch, source, dataset, root, st, out_dir, opts, accounts, recalibrate_growth):
    from service.update import update_and_publish

    with console.status(f"updating dataset {dataset}") as status:
        up = update_and_publish(
            batch,
            source,
            dataset,
            root,
            st,
            out_dir,
            opts,
            _resolved_params,
            accounts_path=accounts,
            progress=_progress(status),
            recalibrate_growth=recalibrate_growth,
        )
    console.print(f"{source}: {up.batch.line()}", highlight=False)
    console.print(
        f"dataset {dataset}: {up.log_rows:,} rows of {up.log_accounts:,} accounts "
        f"(state version {up.state.version} in {up.state.folder})",
        highlight=False,
    )
    if up.run is None:
        console.print("nothing new: no run published", highlight=False)
        return up
    print_detection(up.run.detection)
    cal = up.calibration
    if cal and cal.get("reused"):
        console.print(
            f"null copy scored at state version {cal['version']} ({cal['events']:,} events; the log has "
            f"grown {up.log_rows / max(cal['events'], 1) - 1:.1%} since, below {recalibrate_growth:.0%})",
            highlight=False,
        )
    result = up.run.published
    console.print(f"published run {result.run_id}; wrote " + ", ".join(map(str, up.run.paths.values())))
    console.print(result.changes_line(), highlight=False)
    return up


@app.command()
def update(
    events: Annotated[Path, typer.Option(help="The new events: CSV, gzip CSV or Parquet.")],
    out: UpdateOutOption,
    dataset: Annotated[
        str | None,
        typer.Option(help="The dataset the events join (default: the name of the events file's folder)."),
    ] = None,
    accounts: Annotated[
        Path | None, typer.Option(help="Accounts table; its rows replace the same accounts' earlier rows.")
    ] = None,
    store: Annotated[str | None, typer.Option(help="Verdict store SQLAlchemy URL.")] = None,
    state: StateOption = None,
    model: UpdateModelOption = None,
    structure_only: StructureOnlyOption = False,
    identifiers: IdentifiersOption = None,
    targets: TargetsOption = None,
    ignore_column: IgnoreColumnOption = None,
    config: UpdateConfigOption = None,
    engine: EngineOption = None,
    recalibrate_growth: RecalibrateOption = 0.1,
) -> None:
    """Add new events to a dataset and publish its refreshed verdicts (redelivered rows are dropped)."""
    from service.outputs import check_out_dir
    from service.state import state_root
    from service.update import default_dataset, read_batches

    url = _store_url(store)
    check_store_url(url, "detect")
    opts = _update_options(model, structure_only, identifiers, targets, ignore_column, config, engine)
    name = dataset or default_dataset(events)
    try:
        out_dir = check_out_dir(out)
        good, bad = read_batches([events])
        if bad:
            fail(bad[0][1])
        with open_store(url) as st:
            recover_outputs(out_dir, st)
            _run_update(
                good[0][1],
                str(events),
                name,
                state_root(state),
                st,
                out_dir,
                opts,
                accounts,
                recalibrate_growth,
            )
    except RingscopeError as exc:
        fail(str(exc))


@app.command()
def watch(
    folder: Annotated[Path, typer.Argument(help="Folder where new event files land (write, then rename).")],
    out: UpdateOutOption,
    dataset: Annotated[
        str | None, typer.Option(help="The dataset the events join (default: the folder's name).")
    ] = None,
    store: Annotated[str | None, typer.Option(help="Verdict store SQLAlchemy URL.")] = None,
    state: StateOption = None,
    model: UpdateModelOption = None,
    structure_only: StructureOnlyOption = False,
    identifiers: IdentifiersOption = None,
    targets: TargetsOption = None,
    ignore_column: IgnoreColumnOption = None,
    config: UpdateConfigOption = None,
    engine: EngineOption = None,
    recalibrate_growth: RecalibrateOption = 0.1,
    interval: Annotated[float, typer.Option(help="Seconds between looks at the folder.", min=0.1)] = 10.0,
    once: Annotated[bool, typer.Option("--once", help="Process what is waiting, then exit.")] = False,
) -> None:
    """Update a dataset from the event files that land in FOLDER, as they land.

    Every file waiting at one look joins one update; processed files move to FOLDER/done, files that
    are not valid logs to FOLDER/failed with NAME.error.txt. Hidden names and *.tmp / *.part files are
    left alone, so a writer writes under such a name and renames when the file is whole.
    """
    import time

    from service.outputs import check_out_dir
    from service.state import state_root
    from service.update import DONE, FAILED, default_dataset, file_away, joined, read_batches, ready_batches

    if not folder.is_dir():
        fail(f"{folder}: no such folder to watch")
    url = _store_url(store)
    check_store_url(url, "detect")
    opts = _update_options(model, structure_only, identifiers, targets, ignore_column, config, engine)
    name = dataset or default_dataset(folder)
    root = state_root(state)
    try:
        out_dir = check_out_dir(out)
        with open_store(url) as st:
            recover_outputs(out_dir, st)
            console.print(
                f"watching {folder} for dataset {name} (Ctrl-C stops)" if not once else f"looking in {folder}"
            )
            while True:
                waiting = ready_batches(folder)
                if waiting:
                    good, bad = read_batches(waiting)
                    for path, message in bad:
                        file_away(path, FAILED, message)
                        err_console.print(
                            f"[bold red]refused:[/] {message} (moved to {FAILED}/)", highlight=False
                        )
                    if good:
                        batch, source = joined(good)
                        _run_update(batch, source, name, root, st, out_dir, opts, None, recalibrate_growth)
                        for path, _ in good:
                            file_away(path, DONE)
                if once:
                    break
                time.sleep(interval)
    except KeyboardInterrupt:
        console.print("stopped")
    except RingscopeError as exc:
        fail(str(exc))


@app.command()
def train(
    events: Annotated[Path, typer.Option(help="Event log: CSV, gzip CSV or Parquet.")],
    labels: Annotated[Path, typer.Option(help="Labels table: account_id, is_bot, optional ring_id.")],
    out: Annotated[Path, typer.Option(help="Model directory to write (replaced whole).")],
    accounts: Annotated[Path | None, typer.Option(help="Optional accounts table.")] = None,
    config: Annotated[
        Path | None, typer.Option(help="Training config (YAML); default: gnn/configs/default.yaml.")
    ] = None,
    identifiers: IdentifiersOption = None,
    targets: TargetsOption = None,
    ignore_column: IgnoreColumnOption = None,
    split: Annotated[
        Path | None,
        typer.Option(help="Reuse a saved split.csv (from another model directory) instead of drawing one."),
    ] = None,
) -> None:
    """Train a model on labelled events; `detect --model OUT` then uses it."""
    from importlib import resources

    from gnn.errors import GNNError
    from gnn.progress import reporting
    from graphs.events import load_accounts, load_events, load_labels
    from service.training import train_from_log

    cfg = config or Path(str(resources.files("gnn").joinpath("configs", "default.yaml")))
    graph_params = detect_params(identifiers, targets, ignore_column).graph
    try:
        with console.status(f"reading {events}"):
            log = load_events(events)
            lab = load_labels(labels)
            acc = load_accounts(accounts) if accounts is not None else None
        with (
            console.status(f"training ({cfg})") as status,
            reporting(lambda e: status.update(f"training {Path(cfg).stem}: {e.line()}")),
        ):
            metrics = train_from_log(log, lab, acc, cfg, out, graph_params=graph_params, split=split)
    except InputError as exc:
        fail(str(exc))
    except GNNError as exc:
        fail(str(exc) if str(cfg) in str(exc) else f"{cfg}: {exc}")
    table = Table(title=f"model written to {out}", title_justify="left", show_header=False)
    for k in (
        "roc_auc",
        "ap",
        "macro_f1",
        "recall_at_k",
        "val_ap",
        "seconds_per_epoch",
        "fit_seconds",
        "epochs_run",
        "best_epoch",
        "test_positives",
        "test_rings",
    ):
        if k in metrics:
            v = metrics[k]
            table.add_row(k, f"{v:.4f}" if isinstance(v, float) else str(v))
    console.print(table)
    if metrics.get("test_rings", 0) < 5 and metrics.get("test_positives", 0):
        console.print(
            f"[yellow]note:[/] the test split holds {metrics['test_rings']} ring(s): these figures mean "
            "little; label more rings, or compare models on one saved split (--split) over several seeds"
        )


@app.command()
def evaluate(
    run: Annotated[Path, typer.Option(help="A `detect --out` folder (accounts and clusters tables).")],
    labels: Annotated[Path, typer.Option(help="Labels: account_id, is_bot, optional ring_id, ring_kind.")],
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the figures here.")] = None,
) -> None:
    """The quality of a detection run against labels: account ROC-AUC/AP, ring recall/precision."""
    import json

    from service.evaluation import evaluate_run

    try:
        rep = evaluate_run(run, labels)
    except InputError as exc:
        fail(str(exc))
    table = Table(title=f"{run} against {labels}", title_justify="left", show_header=False)
    rows = [
        ("accounts (labelled)", f"{rep['accounts']:,} ({rep['unlabelled_accounts']:,} unlabelled left out)"),
        ("labelled accounts not in the run", f"{rep['labelled_not_in_run']:,}"),
        ("bots", f"{rep['bots']:,}"),
        ("account ROC-AUC", rep["account_roc_auc"]),
        ("account AP", rep["account_ap"]),
        ("ring verdicts: account precision", rep["account_precision"]),
        ("ring verdicts: account recall", rep["account_recall"]),
        ("true rings / ring clusters", f"{rep['true_rings']} / {rep['ring_clusters']}"),
        ("ring recall (Jaccard >= 0.5)", rep["ring_recall"]),
        ("ring precision (Jaccard >= 0.5)", rep["ring_precision"]),
    ]
    rows += [(f"ring recall: {k}", v) for k, v in rep.get("ring_recall_by_kind", {}).items()]
    if "lookalike_fp_rate" in rep:
        rows.append(("benign look-alikes flagged", rep["lookalike_fp_rate"]))
    for name, value in rows:
        table.add_row(name, f"{value:.4f}" if isinstance(value, float) else str(value))
    console.print(table)
    if json_out is not None:
        from graphs.files import atomic_write

        text = json.dumps(rep, indent=1, default=float) + "\n"
        try:
            atomic_write(json_out, lambda tmp: Path(tmp).write_text(text))
        except OSError as exc:
            fail(f"{json_out}: cannot write ({exc.strerror or exc})")


@app.command()
def labels(
    out: Annotated[Path, typer.Option(help="Labels table to write (CSV): account_id, is_bot, ring_id, ...")],
    store: Annotated[str | None, typer.Option(help="Verdict store SQLAlchemy URL.")] = None,
    dataset: Annotated[str | None, typer.Option(help="Only this dataset's decisions.")] = None,
) -> None:
    """Export investigators' decisions as training labels; `ringscope train --labels OUT` takes them."""
    import pandas as pd

    from graphs.files import atomic_write

    url = _store_url(store)
    check_store_url(url, "serve")
    with open_store(url) as st:
        rows = st.labels(dataset)
    if not rows:
        fail(
            f"no decisions in {url}"
            + (f" for dataset {dataset!r}" if dataset else "")
            + "; nothing to export"
        )
    frame = pd.DataFrame(rows)
    if frame["account_id"].duplicated().any():
        fail("the same account id was decided in several datasets: pass --dataset")
    columns = [
        "account_id",
        "is_bot",
        "ring_id",
        "cluster_id",
        "decision",
        "reason",
        "decided_by",
        "decided_at",
    ]
    columns += ["dataset"]
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(out, lambda tmp: frame[columns].to_csv(tmp, index=False))
    except OSError as exc:
        fail(f"--out {out}: cannot write ({exc.strerror or exc})")
    bots = int(frame["is_bot"].sum())
    rings = frame.loc[frame["is_bot"] == 1, "ring_id"].nunique()
    console.print(
        f"wrote {len(frame):,} labels ({bots:,} bots in {rings:,} confirmed rings, "
        f"{len(frame) - bots:,} rejected) to {out}"
    )


@app.command()
def serve(
    store: Annotated[str | None, typer.Option(help="Verdict store SQLAlchemy URL.")] = None,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    workers: Annotated[
        int, typer.Option(help="Worker processes (each with its own connections).", min=1, max=64)
    ] = 1,
) -> None:
    """Serve the HTTP API and the web page over the verdict store."""
    import os

    from service.serve import run_server
    from service.settings import parse_api_keys

    url = _store_url(store)
    check_store_url(url, "serve")
    keys = os.environ.get("RINGSCOPE_API_KEYS")
    try:
        parse_api_keys(keys)
    except ValueError as exc:
        fail(str(exc))
    open_store(url).close()
    check_port(host, port)
    if not keys:
        err_console.print("warning: RINGSCOPE_API_KEYS is not set; every /v1 request will be refused (401)")
    console.print(f"serving {url} on http://{host}:{port}/ (API docs at /docs)")
    run_server(url, host=host, port=port, workers=workers)


def check_port(host: str, port: int) -> None:
    """One line when ``host:port`` cannot be bound (in use, no such interface, no permission)."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        fail(f"--host {host!r}: {exc.strerror}")
    family, kind, proto, _, addr = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(addr)
        except OSError as exc:
            fail(f"cannot serve on {host}:{port}: {exc.strerror or exc}")


@app.command()
def demo(
    accounts: Annotated[int, typer.Option(help="Accounts in the generated world.", min=500)] = 20_000,
    seed: Annotated[int, typer.Option(help="World seed.")] = 42,
    workdir: Annotated[Path, typer.Option(help="Where the world and outputs go.")] = Path("demo"),
    store: Annotated[str | None, typer.Option(help="Verdict store SQLAlchemy URL.")] = None,
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the results afterwards.")
    ] = True,
    port: Annotated[int, typer.Option(help="TCP port for the service.")] = 8000,
) -> None:
    """The main job on the embedded default: generate a world, detect rings, print a summary, serve."""
    import os
    import secrets

    from graphs.events import load_accounts, load_events, load_labels
    from graphs.synthetic import WorldConfig, generate_world, write_world
    from graphs.truth import quality_report
    from service.outputs import check_out_dir

    url = _store_url(store)
    check_store_url(url, "detect")
    try:
        out_dir = check_out_dir(workdir / "out")
    except InputError as exc:
        fail(str(exc))
    if serve_after:
        check_port("127.0.0.1", port)
    st = open_store(url)
    with console.status(f"generating a world of {accounts:,} accounts (seed {seed})"):
        paths = write_world(
            generate_world(WorldConfig(n_accounts=accounts, seed=seed)), workdir / "world", fmt="csv.gz"
        )
    console.print(f"world written to {workdir / 'world'}")
    try:
        log = load_events(paths["events"])
        acc = load_accounts(paths["accounts"])
        truth = load_labels(paths["labels"])
    except InputError as exc:
        fail(str(exc))
    print_log_summary(log.summary(), f"{paths['events']}")
    with st:
        recover_outputs(out_dir, st)
        detection, result, out_paths = detect_and_publish(log, acc, "default", out_dir, st, dataset="demo")
    print_detection(detection)
    q = quality_report(detection.accounts, detection.clusters, truth)
    console.print(
        f"against the world's ground truth: ring recall {q['ring_recall']:.3f}, ring precision "
        f"{q['ring_precision']:.3f}, account ROC-AUC {q['account_roc_auc']:.3f}, AP {q['account_ap']:.3f}, "
        f"false positives among benign look-alikes {100 * q['lookalike_fp_rate']:.2f}%"
    )
    console.print(f"published run {result.run_id} to {url}; tables in {workdir / 'out'}")
    console.print(result.changes_line(), highlight=False)
    if not serve_after:
        return
    keys = os.environ.get("RINGSCOPE_API_KEYS")
    if not keys:
        key = secrets.token_urlsafe(16)
        keys = f"{key}:investigator"
        console.print(f"API key (investigator): [bold]{key}[/]")
    else:
        key = keys.split(",")[0].split(":")[0]
    ring = (
        detection.clusters.sort_values("score", ascending=False).iloc[0]["cluster_id"]
        if len(detection.clusters)
        else ""
    )
    console.print(f"open http://127.0.0.1:{port}/?key={key}#/cluster/{ring}", soft_wrap=True)
    console.print(
        f"curl -H 'X-API-Key: {key}' 'http://127.0.0.1:{port}/v1/clusters?verdict=ring'", soft_wrap=True
    )
    from service.serve import run_server

    run_server(url, host="127.0.0.1", port=port, api_keys=keys)


app.add_typer(data_app)


def main() -> None:
    """Console-script entry point: any user-fixable error a command did not catch is one line."""
    try:
        app()
    except RingscopeError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
