"""Investigators' decisions (confirm / reject a cluster or some members) and what they imply.

A decision is written once and never changed; the current one per (cluster, account) is the
latest. Clusters keep their stable ids across runs while their members persist, so a decision
follows its ring. A later run that contradicts the current cluster decision (a confirmed ring that
is no longer a ring, or a rejected cluster that changed and is a ring again) is not overwritten: the
cluster is flagged ``needs_review``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select

from service.store.engine import as_utc
from service.store.tables import cluster_members, clusters, decisions, runs

DECISIONS = ("confirm", "reject")
#: What a cluster's decision state can be.
DECISION_STATES = ("confirmed", "rejected", "undecided")

COLUMNS = (
    "decision_id",
    "cluster_id",
    "account_id",
    "decision",
    "reason",
    "note",
    "decided_by",
    "decided_at",
    "run_id",
    "verdict",
    "size",
)


def decide(
    engine: Engine,
    cluster_id: str,
    decision: str,
    reason: str,
    decided_by: str,
    note: str | None,
    members: list[str] | None,
) -> list[dict[str, Any]] | None:
    """Writes the decisions (see :meth:`service.store.Store.decide`) in one transaction."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        head = conn.execute(
            select(clusters.c.dataset, clusters.c.verdict, clusters.c.size).where(
                clusters.c.cluster_id == cluster_id
            )
        ).first()
        if head is None:
            return None
        run_id = conn.execute(
            select(runs.c.run_id)
            .where(runs.c.dataset == head.dataset)
            .order_by(runs.c.run_id.desc())
            .limit(1)
        ).scalar()
        targets: list[str | None] = [None]
        if members is not None:
            wanted = list(dict.fromkeys(members))
            found = set(
                conn.execute(
                    select(cluster_members.c.account_id).where(
                        (cluster_members.c.cluster_id == cluster_id)
                        & cluster_members.c.account_id.in_(wanted)
                    )
                ).scalars()
            )
            missing = [m for m in wanted if m not in found]
            if missing:
                raise ValueError(f"account {missing[0][:100]!r} is not a member of {cluster_id}")
            if not wanted:
                raise ValueError("members must name at least one account (or be left out for the cluster)")
            targets = wanted
        rows = [
            {
                "dataset": head.dataset,
                "cluster_id": cluster_id,
                "account_id": account,
                "decision": decision,
                "reason": reason,
                "note": note,
                "decided_by": decided_by,
                "decided_at": now,
                "run_id": int(run_id or 0),
                "verdict": head.verdict,
                "size": int(head.size),
            }
            for account in targets
        ]
        conn.execute(decisions.insert(), rows)
        written = conn.execute(
            select(*[decisions.c[c] for c in COLUMNS])
            .where(decisions.c.cluster_id == cluster_id)
            .order_by(decisions.c.decision_id.desc())
            .limit(len(rows))
        ).all()
    return [_row(r) for r in reversed(written)]


def cluster_decisions(db: Any, cluster_id: str) -> list[dict[str, Any]]:
    """Every decision on a cluster, oldest first (``db``: a :class:`~service.store.queries.Snapshot`)."""
    out = []
    for r in db.all(
        f"SELECT {', '.join(COLUMNS)} FROM decisions WHERE cluster_id = ? ORDER BY decision_id", (cluster_id,)
    ):
        row = dict(zip(COLUMNS, r, strict=True))
        row["decided_at"] = as_utc(row["decided_at"])
        out.append(row)
    return out


def decision_state(summary: dict[str, Any], history: list[dict[str, Any]]) -> dict[str, Any]:
    """The cluster's current decision state from its decisions (oldest first) and its summary.

    ``state``: confirmed / rejected / undecided (the latest cluster-level decision); ``needs_review``:
    a run after that decision contradicts it (a confirmed cluster is not a ring now, or a rejected one
    changed and is a ring).
    """
    whole = [d for d in history if d["account_id"] is None]
    if not whole:
        return {"state": "undecided", "needs_review": False, "decided_run": None}
    last = whole[-1]
    state = "confirmed" if last["decision"] == "confirm" else "rejected"
    changed_since = summary["updated_run"] > last["run_id"]
    if state == "confirmed":
        contradicted = summary["verdict"] != "ring" or summary["status"] != "active"
    else:
        contradicted = summary["verdict"] == "ring" and changed_since
    return {
        "state": state,
        "needs_review": bool(contradicted and changed_since),
        "decided_run": last["run_id"],
    }


def _row(r: Any) -> dict[str, Any]:
    out = dict(zip(COLUMNS, r, strict=True))
    out["decided_at"] = as_utc(out["decided_at"])
    return out


def decided_labels(db: Any, dataset: str | None = None) -> list[dict[str, Any]]:
    """Training labels from the decisions: one row per decided account (``db``: a Snapshot).

    A confirmed cluster's last known members are bots of that ring (``ring_id`` = the cluster id), a
    rejected cluster's are not; a decision about a member overrides its cluster's. When decisions
    disagree about an account, the latest one wins.
    """
    where, params = "", ()
    if dataset is not None:
        where, params = " WHERE d.dataset = ?", (dataset,)
    rows = db.all(
        "SELECT d.decision_id, d.dataset, d.cluster_id, d.account_id, d.decision, d.reason,"
        " d.decided_by, d.decided_at, m.account_id FROM decisions d"
        " LEFT JOIN cluster_members m ON d.account_id IS NULL AND m.cluster_id = d.cluster_id"
        f"{where} ORDER BY d.decision_id",
        params,
    )
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for did, ds, cid, account, decision, reason, who, at, member in rows:
        target = account if account is not None else member
        if target is None:
            continue
        # A member decision outranks a cluster decision made earlier or later about the same account.
        rank = (account is not None, did)
        key = (ds, target)
        if key in latest and latest[key]["_rank"] > rank:
            continue
        latest[key] = {
            "_rank": rank,
            "dataset": ds,
            "account_id": target,
            "is_bot": 1 if decision == "confirm" else 0,
            "ring_id": cid if decision == "confirm" else "",
            "cluster_id": cid,
            "decision": decision,
            "reason": reason,
            "decided_by": who,
            "decided_at": as_utc(at),
        }
    out = sorted(latest.values(), key=lambda r: (r["dataset"], r["account_id"]))
    for r in out:
        del r["_rank"]
    return out


def verdict_quality(db: Any, dataset: str | None = None) -> list[dict[str, Any]]:
    """How verdicts fare with investigators, per dataset and model version (``db``: a Snapshot).

    A cluster counts once, by its latest cluster-level decision, under the model that produced the
    verdict it was decided on (the run's model at the time). ``ring_precision``: confirmed share of
    decided ``ring`` verdicts; ``waiting``: active ``ring`` clusters of that model nobody decided yet;
    ``median_hours_to_decision``: from the cluster's first appearance to its decision.
    """
    where, params = "", ()
    if dataset is not None:
        where, params = " AND d.dataset = ?", (dataset,)
    decided = db.all(
        "SELECT d.dataset, r.model_version, d.cluster_id, d.decision, d.verdict, d.decided_at,"
        " c.first_seen_at FROM decisions d JOIN runs r ON r.run_id = d.run_id"
        " JOIN clusters c ON c.cluster_id = d.cluster_id"
        " WHERE d.account_id IS NULL AND d.decision_id IN"
        " (SELECT max(decision_id) FROM decisions WHERE account_id IS NULL GROUP BY cluster_id)"
        f"{where}",
        params,
    )
    waiting = db.all(
        "SELECT c.dataset, c.model_version, count(*) FROM clusters c WHERE c.status = 'active'"
        " AND c.verdict = 'ring' AND NOT EXISTS (SELECT 1 FROM decisions d WHERE d.cluster_id = c.cluster_id"
        " AND d.account_id IS NULL)"
        + (" AND c.dataset = ?" if dataset is not None else "")
        + " GROUP BY c.dataset, c.model_version",
        params,
    )
    groups: dict[tuple[str, str], dict[str, Any]] = {}

    def group(ds: str, model: str) -> dict[str, Any]:
        return groups.setdefault(
            (ds, model),
            {
                "dataset": ds,
                "model_version": model,
                "confirmed": 0,
                "rejected": 0,
                "waiting": 0,
                "rings_confirmed": 0,
                "rings_rejected": 0,
                "_hours": [],
            },
        )

    for ds, model, _cid, decision, verdict, at, first in decided:
        g = group(ds, model)
        g["confirmed" if decision == "confirm" else "rejected"] += 1
        if verdict == "ring":
            g["rings_confirmed" if decision == "confirm" else "rings_rejected"] += 1
        decided_at, first_seen = as_utc(at), as_utc(first)
        if decided_at is not None and first_seen is not None:
            g["_hours"].append(max((decided_at - first_seen).total_seconds() / 3600, 0.0))
    for ds, model, n in waiting:
        group(ds, model)["waiting"] += int(n)
    out = []
    for g in sorted(groups.values(), key=lambda g: (g["dataset"], g["model_version"])):
        rings = g["rings_confirmed"] + g["rings_rejected"]
        hours = sorted(g.pop("_hours"))
        g["ring_precision"] = round(g["rings_confirmed"] / rings, 4) if rings else None
        g["median_hours_to_decision"] = round(hours[len(hours) // 2], 2) if hours else None
        out.append(g)
    return out
