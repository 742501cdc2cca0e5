"""``/v1/clusters``: the change-ordered verdict listing, one cluster, its graph, its members."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from graphs.scoring import RING
from service.deps import (
    API_KEY_HEADER,
    LIFECYCLE_HELP,
    SECURITY,
    any_role,
    invalid_param,
    investigator_only,
    key_name,
    lifecycle_steps,
)
from service.routers.lookup import LookupRoute
from service.schemas import (
    ClusterDetail,
    ClusterGraph,
    ClusterMembers,
    ClusterPage,
    DecisionIn,
    DecisionRecord,
    EntitySearch,
    Verdict,
    VerdictQuality,
    error_responses,
)
from service.settings import Role
from service.store import MAX_LIMIT, CursorError, Store, decode_cursor, parse_since
from service.store.cursor import MAX_CURSOR_LENGTH

router = APIRouter(prefix="/v1/clusters", tags=["clusters"], route_class=LookupRoute)

_CURSOR_HELP = "Opaque: a next_cursor or resume_cursor from an earlier page. Absent = from the beginning."
_SINCE_HELP = "A run id (changes made by later runs) or an ISO-8601 time (changes published at or after it)."


@router.get(
    "",
    response_model=ClusterPage,
    openapi_extra={"security": SECURITY},
    responses=error_responses(401, 403, 503),
    summary="Cluster verdicts in change order, paged",
)
async def list_clusters(
    verdict: Verdict | None = Query(None, description="only clusters with this current verdict"),
    min_size: int | None = Query(None, ge=1, le=1_000_000_000, description="only clusters this big"),
    since: str | None = Query(None, max_length=64, description=_SINCE_HELP),
    cursor: str | None = Query(
        None,
        min_length=3,
        max_length=MAX_CURSOR_LENGTH,
        pattern=r"^[A-Za-z0-9_-]+$",
        description=_CURSOR_HELP,
    ),
    limit: int = Query(100, ge=1, le=MAX_LIMIT, description="page size"),
    dataset: str | None = Query(
        None, min_length=1, max_length=200, description="only this dataset's clusters"
    ),
    decision: Literal["confirmed", "rejected", "undecided"] | None = Query(
        None, description="only clusters whose latest decision is this (undecided: none yet)"
    ),
    order: Literal["feed", "newest"] = Query(
        "feed", description="feed: oldest change first (resumable); newest: latest change first"
    ),
    lifecycle: str | None = Query(None, max_length=200, description=LIFECYCLE_HELP),
    store: Store = Depends(any_role),
) -> dict:
    """Every cluster once, at its latest change, oldest change first (any role).

    Page with ``next_cursor`` until it is null; keep ``resume_cursor`` of the last page and pass it
    as ``cursor`` next time to get only the clusters that changed since (new, re-judged, re-shaped
    or dissolved), even when runs landed while you were paging.
    """
    if cursor is not None:
        try:
            decode_cursor(cursor)
        except CursorError as exc:
            raise invalid_param("cursor", str(exc), cursor) from None
    since_value = None
    if since is not None:
        try:
            since_value = parse_since(since)
        except ValueError as exc:
            raise invalid_param("since", str(exc), since) from None
    steps = lifecycle_steps(lifecycle)
    try:
        page = store.list_clusters(
            verdict, min_size, since_value, cursor, limit, dataset, decision, order, lifecycle=steps
        )
    except CursorError as exc:
        raise invalid_param("cursor", str(exc), cursor) from None
    # A dict: FastAPI validates it against ClusterPage once (a model would be validated twice).
    return {"items": page.items, "next_cursor": page.next_cursor, "resume_cursor": page.resume_cursor}


@router.get(
    "/{cluster_id}",
    response_model=ClusterDetail,
    openapi_extra={"security": SECURITY},
    responses=error_responses(401, 403, 404, 503),
    summary="A cluster: members, verdict, evidence, history",
)
async def get_cluster(cluster_id: str, store: Store = Depends(investigator_only)) -> dict:
    """Members with scores, verdict, score, evidence, model version, when detected, and the verdict
    history (investigators only)."""
    found = store.cluster(cluster_id)
    if found is None:
        raise HTTPException(404, f"cluster {cluster_id[:100]!r} not found")
    return found


@router.get(
    "/{cluster_id}/graph",
    response_model=ClusterGraph,
    openapi_extra={"security": SECURITY},
    responses=error_responses(401, 403, 404, 503),
    summary="A cluster's nodes and edges, for drawing",
)
async def get_cluster_graph(cluster_id: str, store: Store = Depends(investigator_only)) -> dict:
    """Nodes (accounts with score and verdict) and edges (``source, target, relation, weight``)
    of the cluster (investigators only)."""
    found = store.cluster_graph(cluster_id)
    if found is None:
        raise HTTPException(404, f"cluster {cluster_id[:100]!r} not found")
    return found


@router.get(
    "/{cluster_id}/members",
    response_model=ClusterMembers,
    openapi_extra={"security": SECURITY},
    responses=error_responses(401, 403, 404, 503),
    summary="A cluster's members, paged: who to act on",
)
async def get_cluster_members(
    request: Request,
    cluster_id: str,
    after: str | None = Query(None, max_length=512, description="the next_after of the previous page"),
    limit: int = Query(MAX_LIMIT, ge=1, le=MAX_LIMIT, description="page size"),
    store: Store = Depends(any_role),
) -> dict:
    """Members with their scores in account-id order, the cluster's verdict and change, and its
    strongest evidence line. Enforcement keys may read the members of ``ring`` clusters (active or
    dissolved, to undo actions); investigators any cluster's."""
    found = store.cluster_members(cluster_id, after, limit)
    if found is None:
        raise HTTPException(404, f"cluster {cluster_id[:100]!r} not found")
    if found["verdict"] != RING and request.state.role != Role.investigator:
        raise HTTPException(403, f"cluster {cluster_id[:100]!r} is {found['verdict']}, not a ring")
    return found


@router.post(
    "/{cluster_id}/decisions",
    response_model=list[DecisionRecord],
    status_code=201,
    openapi_extra={"security": SECURITY},
    responses=error_responses(400, 401, 403, 404, 503),
    summary="Confirm or reject a cluster, or some of its members",
)
async def post_decision(
    request: Request, cluster_id: str, body: DecisionIn, store: Store = Depends(investigator_only)
) -> list[dict]:
    """Records an investigator's decision (investigators only): ``confirm`` (a ring: enforcement may
    act) or ``reject`` (not a ring), with a reason and an optional note, on the whole cluster or on the
    listed members. Decisions are kept forever and follow the ring across runs; the answer is what
    was recorded (who, when, on which run, the cluster's verdict and size then)."""
    who = key_name(request.headers.get(API_KEY_HEADER, ""), request.state.role)
    try:
        made = store.decide(cluster_id, body.decision, body.reason, who, body.note, body.members)
    except ValueError as exc:
        raise invalid_param("members", str(exc), cluster_id, where="body") from None
    if made is None:
        raise HTTPException(404, f"cluster {cluster_id[:100]!r} not found")
    return made


@router.get(
    "/{cluster_id}/decisions",
    response_model=list[DecisionRecord],
    openapi_extra={"security": SECURITY},
    responses=error_responses(401, 403, 404, 503),
    summary="A cluster's decisions, oldest first (the audit trail with its history)",
)
async def get_decisions(cluster_id: str, store: Store = Depends(investigator_only)) -> list[dict]:
    """Every decision on the cluster, oldest first (investigators only)."""
    found = store.cluster(cluster_id)
    if found is None:
        raise HTTPException(404, f"cluster {cluster_id[:100]!r} not found")
    return found["decisions"]


quality_router = APIRouter(prefix="/v1/quality", tags=["clusters"])


@quality_router.get(
    "",
    response_model=list[VerdictQuality],
    openapi_extra={"security": SECURITY},
    responses=error_responses(401, 403, 503),
    summary="Verdict quality from investigators' decisions, per dataset and model",
)
async def get_quality(
    dataset: str | None = Query(None, min_length=1, max_length=200, description="only this dataset"),
    store: Store = Depends(investigator_only),
) -> list[dict]:
    """Confirmed, rejected and waiting verdicts, the precision of ``ring`` verdicts among the decided
    ones and the median time from first seen to decision, per dataset and model version
    (investigators only)."""
    return store.quality(dataset)


entity_router = APIRouter(prefix="/v1/entities", tags=["clusters"], route_class=LookupRoute)


@entity_router.get(
    "/{entity_id:path}",
    response_model=EntitySearch,
    openapi_extra={"security": SECURITY},
    responses=error_responses(401, 403, 404, 503),
    summary="Search by identifier or target: the clusters whose evidence names it",
)
async def get_entity(
    entity_id: str,
    entity_type: str | None = Query(None, alias="type", min_length=1, max_length=64, description="e.g. ip"),
    store: Store = Depends(investigator_only),
) -> dict:
    """The clusters that share an identifier (an IP, a device, a phone) or act in sync on a target (a
    post, a product) named ``entity_id``, with how many members are on it (investigators only)."""
    found = store.entity(entity_id, entity_type)
    if not found:
        raise HTTPException(404, f"no cluster's evidence names {entity_id[:100]!r}")
    return {"entity_id": entity_id, "clusters": found}
