"""Account profiles: what one member of a flagged cluster uses, does and is linked to."""

from __future__ import annotations

import numpy as np
import pandas as pd

from graphs.events import EventLog
from graphs.evidence import ClusterContext
from graphs.profiles import RECENT_EVENTS, account_profiles
from graphs.relations import Relation


def _context() -> tuple[ClusterContext, dict[str, int]]:
    """m0-m2 (cluster 0) share device d1; m0 also uses the public IP 'cafe' with 'x' (cluster 1) and
    'out' (no cluster), and likes twelve posts; m0 and 'out' are linked by an edge."""
    t0 = 1767225600
    rows = [(a, t0 + i, "login", "device", "d1") for i, a in enumerate(["m0", "m1", "m2"])]
    rows += [(a, t0 + 10 + i, "login", "ip", "cafe") for i, a in enumerate(["m0", "x", "out"])]
    rows += [("m0", t0 + 100 + k, "like", "content", f"post{k}") for k in range(12)]
    rows += [("x", t0, "login", "device", "dx"), ("y", t0, "login", "device", "dx")]
    df = pd.DataFrame(rows, columns=["account_id", "timestamp", "action", "entity_type", "entity_id"])
    log = EventLog.from_frame(df)
    code = {a: i for i, a in enumerate(log.account_ids)}
    labels = np.full(log.n_accounts, -1, dtype=np.int64)
    for a in ("m0", "m1", "m2"):
        labels[code[a]] = 0
    labels[code["x"]] = labels[code["y"]] = 1

    def rel(name: str, pairs: list[tuple[str, str]], w: float) -> Relation:
        src = np.array([min(code[a], code[b]) for a, b in pairs], dtype=np.int32)
        dst = np.array([max(code[a], code[b]) for a, b in pairs], dtype=np.int32)
        return Relation(name, src, dst, np.full(src.size, w, np.float32))

    relations = {
        "device": rel("device", [("m0", "m1"), ("m0", "m2"), ("m1", "m2"), ("x", "y")], 1.0),
        "coaction": rel("coaction", [("m0", "m1")], 0.5),
        "ip": rel("ip", [("m0", "out")], 0.2),
    }
    return ClusterContext(log, labels, relations), code


def test_profiles_of_flagged_members_only() -> None:
    ctx, _ = _context()
    profiles = account_profiles(ctx, np.array([0]))
    assert set(profiles) == {"m0", "m1", "m2"}
    assert account_profiles(ctx, np.array([], dtype=np.int64)) == {}


def test_profile_contents() -> None:
    ctx, _ = _context()
    p = account_profiles(ctx, np.array([0]))["m0"]
    assert p["events"] == 14 and p["targets"] == 12
    assert p["first_seen"] == 1767225600 and p["last_seen"] == 1767225600 + 111
    # The least shared identifier first (both are used by three accounts here: the log order breaks the tie).
    assert [(x["type"], x["id"], x["users_total"]) for x in p["identifiers"]] == [
        ("device", "d1", 3),
        ("ip", "cafe", 3),
    ]
    assert len(p["recent"]) == RECENT_EVENTS
    assert p["recent"][0] == {
        "ts": 1767225600 + 111,
        "action": "like",
        "entity_type": "content",
        "entity_id": "post11",
    }
    assert [r["ts"] for r in p["recent"]] == sorted((r["ts"] for r in p["recent"]), reverse=True)
    # Neighbours: m1 by device + coaction (1.5), m2 by device (1.0), 'out' (no cluster) by ip (0.2).
    assert [(n["account_id"], n["weight"], n["relations"]) for n in p["neighbours"]] == [
        ("m1", 1.5, ["coaction", "device"]),
        ("m2", 1.0, ["device"]),
        ("out", 0.2, ["ip"]),
    ]
