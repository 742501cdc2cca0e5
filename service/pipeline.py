"""The detection pipeline: events -> graph -> communities -> evidence -> scores -> verdicts.

``run_detection`` is what ``ringscope detect`` and ``ringscope demo`` call; it returns a
:class:`~service.detection.Detection` with run-local cluster keys, which the store maps to stable ids.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from graphs.communities import ClusterParams, detect_communities
from graphs.events import EventLog, aligned
from graphs.evidence import ClusterContext, EvidenceParams, cluster_features
from graphs.explain import cluster_evidence
from graphs.null import expected_false, fdr_threshold, null_log
from graphs.outputs import cluster_table, drawn_edges, inside_edge_counts
from graphs.params import GraphParams
from graphs.profiles import account_profiles
from graphs.refine import KEEPS_RINGS, RefineParams, keep_rings, refinement_steps
from graphs.scoring import (
    BENIGN,
    RING,
    StructuralScorer,
    VerdictParams,
    account_scores,
    account_verdicts,
    cluster_verdicts,
    consensus_deviation,
    verdict_reason,
    with_mean_model_score,
)

from .allocator import keep_freed_memory
from .detection import Detection

Progress = Callable[[str], None]


@dataclass(frozen=True)
class DetectParams:
    """All knobs of one detection run."""

    graph: GraphParams = field(default_factory=GraphParams)
    cluster: ClusterParams = field(default_factory=ClusterParams)
    evidence: EvidenceParams = field(default_factory=EvidenceParams)
    verdict: VerdictParams = field(default_factory=VerdictParams)
    refine: RefineParams = field(default_factory=RefineParams)
    # Relation multipliers of the graph clustered (None: GraphParams.relation_weights).
    relation_weights: dict[str, float] | None = None
    max_drawn_edges: int = 2000


def created_at_codes(log: EventLog, accounts: pd.DataFrame | None) -> np.ndarray | None:
    """Account creation times aligned to the log's account codes (first action where unknown)."""
    if accounts is None or "created_at" not in accounts:
        return None
    if "account_id" in accounts.columns:
        accounts = accounts.set_index("account_id")
    values = pd.to_numeric(accounts["created_at"], errors="coerce").to_numpy(dtype=np.float64)
    created = aligned(log, accounts.index, values)
    return np.where(np.isnan(created), log.first_seen, created).astype(np.int64)


@dataclass
class Prepared:
    """Everything up to scoring: the graph, communities and cluster features."""

    graph: object
    edges: tuple[np.ndarray, np.ndarray, np.ndarray]  # the combined (src, dst, weight) clustered
    labels: np.ndarray
    ctx: ClusterContext
    features: pd.DataFrame
    timings: dict[str, float]


def prepare(
    log: EventLog,
    accounts: pd.DataFrame | None = None,
    params: DetectParams | None = None,
    progress: Progress | None = None,
) -> Prepared:
    """Builds the graph, finds communities and computes cluster features."""
    from graphs.build import build_graph

    p = params or DetectParams()
    say = progress or (lambda _msg: None)
    timings: dict[str, float] = {}
    t = time.perf_counter()
    say("building the account graph")
    graph = build_graph(log, accounts=accounts, params=p.graph, progress=say)
    timings["graph"] = time.perf_counter() - t

    say("finding communities")
    t = time.perf_counter()
    src, dst, w = graph.combined(p.relation_weights)
    labels = detect_communities(log.n_accounts, src, dst, w, p.cluster)
    timings["communities"] = time.perf_counter() - t

    say("measuring cluster evidence")
    t = time.perf_counter()
    ctx = cluster_context(graph, labels, accounts, p)
    feats = cluster_features(ctx)
    timings["features"] = time.perf_counter() - t
    return Prepared(graph, (src, dst, w), labels, ctx, feats, timings)


def attribute_columns(log: EventLog, p) -> tuple[str, ...]:
    """The log's extra event columns that :class:`~graphs.attributes.AttributeParams` leaves on."""
    return tuple(c for c in log.attributes if p.use and c not in p.ignore)


def cluster_context(graph, labels: np.ndarray, accounts, p: DetectParams) -> ClusterContext:
    """The evidence context of one partition of the graph's accounts."""
    log = graph.log
    strength = graph.features[:, graph.feature_names.index("sync_strength")].astype(np.float64)
    # Creation times looked up once per graph and accounts table (a million id lookups each time).
    cached = graph.meta.get("_created_at")
    if cached is None or cached[0] is not accounts:
        cached = (accounts, created_at_codes(log, accounts))
        graph.meta["_created_at"] = cached
    return ClusterContext(
        log,
        labels,
        graph.relations,
        cached[1],
        p.evidence,
        roles=graph.roles,
        identifier_relations=graph.identifier_relations,
        sync_strength=strength,
        attribute_columns=attribute_columns(log, graph.params.attributes),
    )


def regroup(prep: Prepared, labels: np.ndarray, log: EventLog, accounts, p: DetectParams) -> Prepared:
    """The same prepared run with new community labels.

    A cluster's features depend only on its own members (tested), so the clusters a refinement left
    as they were keep their rows and only the changed ones are measured again, in a context that
    holds just their members.
    """
    ctx = cluster_context(prep.graph, labels, accounts, p)
    old_row, changed = unchanged_clusters(prep.labels, labels)
    feats = pd.DataFrame(
        np.zeros((ctx.n_clusters, prep.features.shape[1])),
        columns=prep.features.columns,
        index=pd.RangeIndex(ctx.n_clusters, name="cluster"),
    )
    kept = old_row >= 0
    feats.iloc[np.flatnonzero(kept)] = prep.features.to_numpy()[old_row[kept]]
    if changed.size:
        remap = np.full(ctx.n_clusters, -1, dtype=np.int64)
        remap[changed] = np.arange(changed.size)
        sub = np.where(labels >= 0, remap[np.maximum(labels, 0)], -1)
        part = cluster_features(cluster_context(prep.graph, sub, accounts, p))
        feats.iloc[changed] = part.to_numpy()
    return Prepared(prep.graph, prep.edges, labels, ctx, feats, prep.timings)


def unchanged_clusters(old: np.ndarray, new: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which clusters of ``new`` have exactly the members of a cluster of ``old``.

    Returns:
        ``(old_row, changed)``: for each new cluster its old label (-1 when its members changed), and
        the new labels whose members changed.
    """
    k = int(new.max()) + 1 if new.size and new.max() >= 0 else 0
    if k == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    m = new >= 0
    nl, ol = new[m].astype(np.int64), old[m].astype(np.int64)
    size_new = np.bincount(nl, minlength=k)
    lo = np.full(k, np.iinfo(np.int64).max)
    hi = np.full(k, -2, dtype=np.int64)
    np.minimum.at(lo, nl, ol)
    np.maximum.at(hi, nl, ol)
    size_old = np.bincount(old[old >= 0].astype(np.int64), minlength=max(int(old.max()) + 1, 1))
    same = (lo == hi) & (lo >= 0) & (size_new > 0)
    same[same] = size_old[lo[same]] == size_new[same]
    old_row = np.where(same, lo, -1)
    return old_row, np.flatnonzero(~same & (size_new > 0))


@dataclass
class Scored:
    """One partition of a log's accounts into clusters, with cluster and account model scores."""

    prep: Prepared
    features: pd.DataFrame
    score: np.ndarray  # cluster score per cluster label
    own: np.ndarray | None  # the model's score per account, None without a model
    model_version: str


def score_log(
    log: EventLog,
    accounts: pd.DataFrame | None,
    model: str | Path | None,
    p: DetectParams,
    say: Progress,
    scorer: StructuralScorer | None = None,
) -> Scored:
    """Graph, communities, model scores, membership refinements and cluster scores of one log
    (``scorer``: the cluster scorer to use instead of the shipped one of the model's variant)."""
    prep = prepare(log, accounts, p, say)
    timings = prep.timings
    own = None
    model_version = "structure-only"
    if model is not None:
        say("scoring accounts with the GNN model")
        t = time.perf_counter()
        own, model_version = _gnn_scores(prep.graph, model)
        timings["gnn"] = time.perf_counter() - t
    scorer = scorer or StructuralScorer.load(variant=scorer_variant(model))

    def cluster_scores(prep: Prepared) -> tuple[pd.DataFrame, np.ndarray]:
        feats = prep.features if own is None else with_mean_model_score(prep.features, prep.labels, own)
        return feats, (scorer.score(feats) if len(feats) else np.zeros(0))

    feats, c_score = cluster_scores(prep)
    # Membership refinements, each over the clusters flagged so far, each followed by a re-score.
    steps = refinement_steps(p.refine, p.cluster.min_size, own)
    for key, message, step in steps:
        say(message)
        t = time.perf_counter()
        new = step(prep.labels, prep.edges, prep.ctx, np.flatnonzero(c_score >= p.verdict.suspicious))
        if not np.array_equal(new, prep.labels):
            after = regroup(prep, new, prep.graph.log, accounts, p)
            feats_after, score_after = cluster_scores(after)
            if key in KEEPS_RINGS:
                kept = keep_rings(prep.labels, new, c_score, score_after, p.verdict.ring, p.cluster.min_size)
                if kept is not new:
                    after = regroup(prep, kept, prep.graph.log, accounts, p)
                    feats_after, score_after = cluster_scores(after)
            prep, feats, c_score = after, feats_after, score_after
        timings[key] = time.perf_counter() - t
    return Scored(prep, feats, c_score, own, model_version)


def null_ring_scores(
    log: EventLog,
    accounts: pd.DataFrame | None,
    model: str | Path | None,
    p: DetectParams,
    scorer: StructuralScorer | None = None,
) -> np.ndarray:
    """Scores of the ring-sized clusters of the log's null copies (:mod:`graphs.null`), all copies."""
    keep_freed_memory(log.n_events)  # also in the null copy's own process
    out = []
    for i in range(p.verdict.null_copies):
        copy, null_acc = null_log(log, accounts, seed=p.verdict.null_seed + i)
        scored = score_log(copy, null_acc, model, p, lambda _msg: None, scorer)
        size = scored.prep.ctx.size
        out.append(scored.score[size >= p.verdict.min_ring_size])
    return np.concatenate(out) if out else np.zeros(0)


#: Logs with at least this many events score their null copy in a second process (below it, starting
#: the process costs more than it saves).
PARALLEL_NULL_EVENTS = 1_000_000


def workers() -> int:
    """Processes one detect may use: ``RINGSCOPE_WORKERS`` (1 keeps everything in one process),
    else the machine's cores. With 2 or more the null copy is scored in a second process."""
    value = os.environ.get("RINGSCOPE_WORKERS", "").strip()
    try:
        return max(1, int(value)) if value else (os.cpu_count() or 1)
    except ValueError:
        return os.cpu_count() or 1


def _start_null(log: EventLog, accounts, model, p: DetectParams, scorer=None):
    """Starts scoring the null copies in a spawned process; None when the log is small or it fails."""
    if log.n_events < PARALLEL_NULL_EVENTS or workers() < 2 or p.graph.engine == "spark":
        # Spark already spreads its work over the cores; a second process would start a second JVM.
        return None
    import concurrent.futures as cf
    import multiprocessing as mp

    try:
        pool = cf.ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn"))
        return pool, pool.submit(null_ring_scores, log, accounts, model, p, scorer)
    except (OSError, RuntimeError):
        return None


def _finish_null(background, log: EventLog, accounts, model, p: DetectParams, scorer=None) -> np.ndarray:
    """The null copies' ring-sized cluster scores: from the background process, or computed here."""
    if background is not None:
        pool, future = background
        try:
            return future.result()
        except Exception:  # a dead worker (memory) or an unpicklable argument: do it here instead
            pass
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    return null_ring_scores(log, accounts, model, p, scorer)


def run_detection(
    log: EventLog,
    accounts: pd.DataFrame | None = None,
    model: str | Path | None = "default",
    params: DetectParams | None = None,
    progress: Progress | None = None,
    null_scores: np.ndarray | None = None,
    scorer: StructuralScorer | None = None,
) -> Detection:
    """Runs the whole pipeline on a validated log.

    Args:
        log: the event log.
        accounts: optional accounts table (``load_accounts``), for creation times and attributes.
        model: a model directory from ``ringscope train``, ``"default"`` for the model shipped in
            the package, or ``None`` for structural evidence alone.
        params: knobs; defaults were chosen on generated tuning worlds.
        progress: called with a short message as each stage starts.
        null_scores: the null copies' ring-sized cluster scores of an earlier calibration on (an
            earlier version of) the same log, with the same knobs and model: the ring threshold is
            calibrated on them and no null copy is scored (``ringscope update`` while the log has
            grown little; docs/incremental.md).
        scorer: a cluster scorer to use instead of the shipped one (``bench.robustness --loro``
            scores each fit regime with the scorer fitted without it).
    """
    keep_freed_memory(log.n_events)
    p = with_model_defaults(params or DetectParams(), model)
    say = progress or (lambda _msg: None)
    input_log = log
    # The null copy is scored in a second process while this one scores the log (both cores busy).
    reuse = null_scores is not None and p.verdict.null_copies > 0
    background = None if reuse or p.verdict.null_copies == 0 else _start_null(log, accounts, model, p, scorer)
    scored = score_log(log, accounts, model, p, say, scorer)
    prep, feats, c_score, own, model_version = (
        scored.prep,
        scored.features,
        scored.score,
        scored.own,
        scored.model_version,
    )
    log = prep.graph.log  # the input rows plus one identifier row per categorical attribute value
    labels, ctx, timings = prep.labels, prep.ctx, prep.timings

    def measure(flagged: np.ndarray) -> tuple[dict, dict]:
        t = time.perf_counter()
        evidence = cluster_evidence(ctx, np.arange(ctx.n_clusters), feats, detailed=flagged)
        profiles = account_profiles(ctx, flagged)
        timings["evidence"] = time.perf_counter() - t
        return evidence, profiles

    # The clusters that get detailed evidence (all but benign) do not depend on the calibrated ring
    # threshold, which never falls below verdict.ring: when that is at least the suspicious level,
    # the evidence is written while the other process is still scoring the null copy.
    early = p.verdict.ring >= p.verdict.suspicious
    if early:
        say("writing evidence")
        evidence, profiles = measure(np.flatnonzero(c_score >= p.verdict.suspicious))

    # The verdict threshold against the log's own null: a ring must beat what chance produces here.
    ring_threshold, calibration = p.verdict.ring, {"null_copies": p.verdict.null_copies, "fdr": p.verdict.fdr}
    null = None
    if p.verdict.null_copies > 0:
        t = time.perf_counter()
        if reuse:
            null = np.asarray(null_scores, dtype=np.float64)
        else:
            say("scoring the log's null copy (synchrony destroyed)")
            null = _finish_null(background, input_log, accounts, model, p, scorer)
        ring_threshold, calibration = calibrate(c_score[ctx.size >= p.verdict.min_ring_size], null, p.verdict)
        calibration["null_reused"] = reuse
        timings["null"] = time.perf_counter() - t

    say("scoring clusters")
    c_verdict = cluster_verdicts(c_score, ctx.size, p.verdict, ring_threshold)
    graph = prep.graph
    lone = consensus_deviation(graph.features, graph.feature_names)
    a_score = account_scores(labels, c_score, own, p.verdict, lone)
    a_verdict = account_verdicts(labels, c_verdict, own, p.verdict)
    if not early:
        evidence, profiles = measure(np.flatnonzero(c_verdict != BENIGN))

    keys = np.array([f"k{i}" for i in range(ctx.n_clusters)], dtype=object)
    acc = account_table(log.account_ids, labels, keys, a_score, a_verdict, own)
    clusters = cluster_table(keys, ctx, c_score, c_verdict, feats, evidence)
    edges = drawn_edges(ctx, keys, p.max_drawn_edges)
    n_inside = inside_edge_counts(ctx)
    for i, key in enumerate(keys):
        evidence[key] = evidence.pop(i)
        # What the page's drawing shows of the cluster's links, so it can say when it is cut.
        evidence[key]["drawing"] = {
            "edges_total": int(n_inside[i]),
            "edges_drawn": int(min(n_inside[i], p.max_drawn_edges)),
            "cut": "the strongest links by weight" if n_inside[i] > p.max_drawn_edges else None,
        }
        reason = verdict_reason(c_verdict[i], c_score[i], p.verdict, ring_threshold)
        strongest = evidence[key].get("summary", [])
        if len(strongest) > 1:  # the last line (density) is not evidence of its own
            reason += f"; strongest evidence: {strongest[0].rstrip('.')}"
        against = evidence[key].get("against") or []
        if c_verdict[i] != RING and against:
            reason += f"; against a ring: {'; '.join(against)}"
        evidence[key]["verdict_reason"] = reason
    run_params = _run_params(p, model, timings, prep.graph, log.source, calibration)
    if scorer is not None:
        run_params["cluster_scorer"] = "given"
    return Detection(
        acc, clusters, evidence, edges, model_version, params=run_params, profiles=profiles, null_scores=null
    )


def is_shipped_model(model: str | Path | None) -> bool:
    """Whether ``model`` is the default model shipped in the package (trained on generated worlds
    only, so on a user's log it scores a platform it has not seen)."""
    if model is None:
        return False
    if str(model) == "default":
        return True
    from gnn.scoring import default_model_path

    try:
        return Path(model).resolve() == default_model_path().resolve()
    except OSError:
        return False


def scorer_variant(model: str | Path | None) -> str:
    """The shipped structural scorer's variant for a run with ``model``: ``structure`` without one,
    ``structure+gnn`` with the shipped default model (fitted on GNN scores of regimes the GNN had not
    seen; it leaves the GNN's score out, docs/detection.md), ``structure+trained`` with a model trained
    on the platform's own labels (``ringscope train``; fitted on a GNN scoring its own training
    regimes, it weighs the members' mean score)."""
    if model is None:
        return "structure"
    return "structure+gnn" if is_shipped_model(model) else "structure+trained"


#: ``VerdictParams.lone_gnn_share`` when left unset: a lone account's own score from the shipped model
#: is left out next to its consensus evidence (chosen with cross-fitted GNN scores and on YelpChi);
#: a model trained on the platform's own labels keeps the even blend of before.
LONE_GNN_SHARE = {"shipped": 0.0, "trained": 0.5}


def with_model_defaults(p: DetectParams, model: str | Path | None) -> DetectParams:
    """``p`` with the knobs whose default depends on the model filled in."""
    if p.verdict.lone_gnn_share is not None:
        return p
    share = LONE_GNN_SHARE["shipped" if model is None or is_shipped_model(model) else "trained"]
    return replace(p, verdict=replace(p.verdict, lone_gnn_share=share))


def _gnn_scores(graph, model: str | Path) -> tuple[np.ndarray, str]:
    from gnn.scoring import load_default_model, load_model_dir

    scorer = load_default_model() if str(model) == "default" else load_model_dir(model)
    return np.asarray(scorer.score_graph(graph), dtype=np.float64), scorer.version


def calibrate(real: np.ndarray, null: np.ndarray, v: VerdictParams) -> tuple[float, dict]:
    """The ring threshold against the null copies' cluster scores, and what the run reports of it.

    Args:
        real: scores of the log's ring-sized clusters.
        null: scores of the null copies' ring-sized clusters.
        v: the verdict knobs (``fdr``, ``ring`` as the floor, ``null_copies``).
    """
    threshold = fdr_threshold(real, null, v.fdr, v.ring, v.null_copies)
    return threshold, {
        "null_copies": v.null_copies,
        "fdr": v.fdr,
        "null_ring_sized_clusters": int(null.size),
        "null_max_score": round(float(null.max()), 4) if null.size else None,
        "ring_threshold": threshold if np.isfinite(threshold) else None,
        "expected_false_rings": expected_false(null, threshold, v.null_copies),
    }


def account_table(account_ids, labels, keys, score, verdict, own) -> pd.DataFrame:
    """``accounts.csv``: ``account_id, score, cluster_id, verdict`` (+ ``gnn_score`` with a model)."""
    cluster_key = np.full(len(account_ids), "", dtype=object)
    cluster_key[labels >= 0] = keys[labels[labels >= 0]]
    acc = pd.DataFrame(
        {"account_id": account_ids, "score": score.round(6), "cluster_id": cluster_key, "verdict": verdict}
    )
    if own is not None:
        acc["gnn_score"] = own.round(6)
    return acc


def _run_params(p: DetectParams, model, timings: dict, graph, source: str, calibration: dict) -> dict:
    """What a run records of itself (``runs.params`` in the store): knobs, timings, roles, calibration."""
    return {
        "graph": asdict(p.graph),
        "cluster": asdict(p.cluster),
        "evidence": asdict(p.evidence),
        "verdict": asdict(p.verdict),
        "relation_weights": p.relation_weights,
        "refine": asdict(p.refine),
        "model": str(model),
        "cluster_scorer": scorer_variant(model),
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
        "graph_timings_s": {k: round(v, 3) for k, v in graph.meta.get("timings", {}).items()},
        "source": source,
        "roles": graph.meta.get("roles"),
        "time_resolution_s": graph.meta.get("time_resolution_s"),
        "synchrony": graph.meta.get("synchrony"),
        "edges": {k: int(v) for k, v in graph.n_edges().items()},
        "calibration": calibration,
        "expected_false_rings": calibration.get("expected_false_rings"),
    }
