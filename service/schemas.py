"""Response models of the HTTP API, version 1 (docs/contract.md section 4)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from graphs.scoring import VERDICTS

Verdict = Literal[VERDICTS]  # type: ignore[valid-type]
Decision = Literal["confirm", "reject"]
Change = Literal["new", "verdict", "members", "dissolved"]
Lifecycle = Literal[
    "born", "returned", "grew", "shrank", "changed", "unchanged", "merged", "split", "dissolved"
]
Status = Literal["active", "dissolved"]


class ErrorBody(BaseModel):
    """Every 401, 403, 404, 500 and 503 answer."""

    detail: str = Field(examples=["cluster 'c-000123' not found"])


_ERROR_DESCRIPTIONS = {
    400: "The body is not valid JSON",
    401: "No X-API-Key header, or a key not in RINGSCOPE_API_KEYS",
    403: "The key's role may not read this",
    404: "Unknown id",
    503: "The verdict store is unreachable",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the JSON errors an endpoint can answer."""
    return {code: {"model": ErrorBody, "description": _ERROR_DESCRIPTIONS[code]} for code in codes}


class Account(BaseModel):
    """An account's verdict from the latest run."""

    account_id: str
    score: float | None = Field(description="0..1, higher = more likely part of a coordinated ring")
    cluster_id: str | None = Field(description="the account's cluster (stable id), null when in none")
    verdict: Verdict = Field(description="the cluster's verdict, or the account's own without a cluster")
    run_id: int = Field(description="the run this verdict comes from")
    dataset: str = Field(description="the dataset (one platform's log) the run belongs to")


class Identifier(BaseModel):
    """An identifier the account used."""

    type: str = Field(description="the entity type (device, ip, phone, ...)")
    id: str
    uses: int = Field(description="the account's events on it")
    users_total: int = Field(description="distinct accounts that used it in the whole log")


class RecentEvent(BaseModel):
    ts: int = Field(description="Unix seconds")
    action: str
    entity_type: str
    entity_id: str


class Neighbour(BaseModel):
    """An account linked to this one by the run's relations (in its cluster or not)."""

    account_id: str
    weight: float = Field(description="the link's weight summed over relations")
    relations: list[str] = Field(description="the relations behind the link (identifier, coaction, ...)")


class Profile(BaseModel):
    """What the run saw of one member of a flagged cluster."""

    created_at: int = Field(description="Unix seconds: the accounts table's, or the first event")
    first_seen: int
    last_seen: int
    events: int
    targets: int = Field(description="distinct targets acted on")
    identifiers: list[Identifier] = Field(description="the least shared first, at most 8")
    recent: list[RecentEvent] = Field(description="newest first, at most 8")
    neighbours: list[Neighbour] = Field(description="strongest first, at most 8")


class AccountProfile(Account):
    """An account's verdict and, for members of flagged clusters, its profile."""

    profile: Profile | None = Field(description="null for an account in no ring or suspicious cluster")


class ClusterSummary(BaseModel):
    """A cluster as enforcement sees it: verdict and change, no members or evidence."""

    cluster_id: str = Field(description="stable across runs while the members mostly persist")
    dataset: str = Field(
        description="the dataset (one platform's log): ids, feeds and matching are per dataset"
    )
    status: Status = Field(description="active = in the latest run; dissolved = gone since updated_run")
    verdict: Verdict = Field(description="current verdict (the last one for a dissolved cluster)")
    previous_verdict: Verdict | None = Field(description="the verdict before the latest change")
    change: Change = Field(description="what the latest change was")
    score: float | None
    size: int = Field(description="number of members")
    model_version: str
    detected_at: datetime = Field(description="when the run that last saw the cluster finished")
    first_seen_run: int
    first_seen_at: datetime
    last_run: int = Field(description="the last run the cluster was present in")
    updated_run: int = Field(description="the run of the latest change")
    updated_at: datetime = Field(description="when the latest change was published")
    lifecycle: Lifecycle | None = Field(
        default=None,
        description="what the latest change did to the membership: born, returned, grew, shrank, changed, "
        "unchanged (verdict only), merged (into the cluster in related, or of those in related), split "
        "(into those in related, or from it), dissolved; null for changes published before ringscope "
        "recorded it",
    )
    size_before: int | None = Field(default=None, description="members before the latest change")
    related: list[str] = Field(
        default_factory=list,
        description="stable ids of the clusters merged into it, split off it, or its heir or origin",
    )


class Member(BaseModel):
    account_id: str
    score: float | None


class MemberToAct(Member):
    decision: Decision | None = Field(description="an investigator's decision about this member, if any")


class DecisionState(BaseModel):
    """Where investigators stand on a cluster."""

    state: Literal["confirmed", "rejected", "undecided"] = Field(description="the latest cluster decision")
    needs_review: bool = Field(description="a run after the decision contradicts it")
    decided_run: int | None = Field(description="the dataset's latest run when it was decided")


class DecisionRecord(BaseModel):
    """One decision, as the audit trail keeps it."""

    decision_id: int
    cluster_id: str
    account_id: str | None = Field(description="the member it is about; null for the whole cluster")
    decision: Decision
    reason: str
    note: str | None
    decided_by: str = Field(description="the deciding key's role and fingerprint, e.g. investigator-3fa2c1d0")
    decided_at: datetime
    run_id: int
    verdict: Verdict = Field(description="the cluster's verdict when decided")
    size: int = Field(description="the cluster's size when decided")


class DecisionIn(BaseModel):
    """An investigator's decision on a cluster, or on some of its members."""

    model_config = ConfigDict(extra="forbid")

    decision: Decision
    reason: str = Field(min_length=1, max_length=200, description="why, in a few words")
    note: str | None = Field(None, max_length=4000)
    members: list[str] | None = Field(
        None, min_length=1, max_length=10_000, description="only these members; absent: the whole cluster"
    )


class ClusterMembers(ClusterSummary):
    """A ring's members for enforcement: who to act on, paged, with the strongest evidence line."""

    summary: str | None = Field(description="the strongest evidence, in words")
    decision: DecisionState
    members: list[MemberToAct] = Field(description="members with their scores, in account-id order")
    next_after: str | None = Field(description="pass as after for the next page; null on the last page")


class HistoryEvent(BaseModel):
    """One change of a cluster: it appeared, changed verdict, changed members or dissolved."""

    run_id: int
    at: datetime
    change: Change
    verdict: Verdict
    previous_verdict: Verdict | None
    score: float | None
    size: int
    lifecycle: Lifecycle | None = None
    size_before: int | None = None
    related: list[str] = Field(default_factory=list)


class ClusterDetail(ClusterSummary):
    """Everything about a cluster (investigators only)."""

    evidence: dict[str, Any] = Field(description="what the members share: devices, IPs, campaigns, ...")
    members: list[Member] = Field(description="members with their scores, highest first")
    history: list[HistoryEvent] = Field(description="verdict history, oldest first")
    decisions: list[DecisionRecord] = Field(description="investigators' decisions, oldest first")
    decision: DecisionState


class ClusterPage(BaseModel):
    """One page of the change-ordered cluster listing."""

    items: list[ClusterSummary]
    next_cursor: str | None = Field(description="pass as cursor for the next page; null on the last page")
    resume_cursor: str = Field(
        description="pass as cursor on a later pull to get only what changed after this page"
    )


class GraphNode(BaseModel):
    id: str
    score: float | None
    verdict: Verdict
    cluster_id: str


class GraphEdge(BaseModel):
    source: str
    target: str
    relation: str = Field(description="what links the two accounts: device, ip, co-action, ...")
    weight: float | None


class ClusterGraph(BaseModel):
    """A cluster's accounts and the edges between them, for drawing."""

    cluster_id: str
    verdict: Verdict
    status: Status
    nodes: list[GraphNode]
    edges: list[GraphEdge]


class Health(BaseModel):
    status: Literal["ok"]
    latest_run: int | None = Field(description="id of the latest published run; null before the first")


class VerdictQuality(BaseModel):
    """How one model's verdicts on one dataset fare with investigators."""

    dataset: str
    model_version: str
    confirmed: int = Field(description="clusters confirmed (latest cluster decision)")
    rejected: int = Field(description="clusters rejected")
    waiting: int = Field(description="active ring clusters nobody decided yet")
    rings_confirmed: int = Field(description="ring verdicts confirmed")
    rings_rejected: int = Field(description="ring verdicts rejected")
    ring_precision: float | None = Field(description="confirmed share of decided ring verdicts")
    median_hours_to_decision: float | None = Field(description="from first seen to decision")


class EntityCluster(BaseModel):
    """A cluster whose evidence names the identifier or target searched for."""

    entity_type: str = Field(description="the entity's type in the log (ip, device, content, ...)")
    kind: Literal["shared", "target"] = Field(description="shared identifier, or synchronised target")
    members: int = Field(description="members on it (shared) or acting on it together (target)")
    users_total: int | None = Field(description="accounts using it in all (shared identifiers)")
    member_ids: list[str] = Field(
        default_factory=list,
        description="members on it, as a ring or suspicious cluster's evidence lists them (at most 200)",
    )
    cluster: ClusterSummary


class EntitySearch(BaseModel):
    entity_id: str
    clusters: list[EntityCluster] = Field(description="active clusters first, then most members")
