"""The investigator's sentences: strongest evidence first, whatever order the sections come in."""

from __future__ import annotations

from graphs.explain import counter_evidence, summary_sentences

FEATURES = {"created_in_burst_share": 0.0, "internal_density": 0.9, "conductance": 0.1}


def _entity(kind: str, members: int, users: int) -> dict:
    return {"type": kind, "id": f"{kind}-1", "members": members, "users_total": users}


def _campaign(members: int) -> dict:
    return {
        "members": members,
        "action": "like",
        "target_type": "content",
        "target": "p1",
        "window_seconds": 40,
        "start": "2026-01-01T00:00:00Z",
    }


def test_a_pods_synchrony_comes_before_a_busy_ip() -> None:
    """An engagement pod: 3 of 16 members behind an IP of 605 users says little; 85 synchronised
    targets say a lot."""
    e = {
        "shared_entities": [_entity("ip", 3, 605), _entity("ip", 2, 300)],
        "synchronised_targets": 85,
        "campaigns": [_campaign(14)],
    }
    lines = summary_sentences(16, FEATURES, e)
    assert lines[0].startswith("Members acted in sync on 85 targets")
    assert lines[-1].startswith("Internal link density")


def test_a_farms_private_device_comes_first() -> None:
    e = {
        "shared_entities": [_entity("ip", 5, 900), _entity("device", 40, 40)],
        "synchronised_targets": 1,
        "campaigns": [_campaign(4)],
    }
    lines = summary_sentences(40, FEATURES, e)
    assert lines[0] == "40 of 40 members share device device-1 (used by no one else)."
    assert lines[1].startswith("Members acted in sync")


def test_what_argues_against_a_ring() -> None:
    """An office: everyone behind busy IPs, created over years, never in sync. A farm: none of that."""
    office = {
        "shared_entities": [_entity("ip", 22, 100), _entity("ip", 12, 60)],
        "synchronised_targets": 0,
        "creation": {"span_hours": 990 * 24.0},
    }
    assert counter_evidence(37, FEATURES, office) == [
        "no synchronised action",
        "accounts created over 990 days",
        "the identifiers they share are used by others too (up to 100 accounts)",
    ]
    fans = {"synchronised_targets": 3, "campaigns": [_campaign(4)]}
    assert counter_evidence(40, FEATURES, fans) == ["the largest synchronised action holds 4 of 40 members"]
    farm = {
        "shared_entities": [_entity("device", 40, 40)],
        "synchronised_targets": 12,
        "campaigns": [_campaign(38)],
        "creation": {"span_hours": 2.0},
    }
    assert counter_evidence(40, {**FEATURES, "created_in_burst_share": 1.0}, farm) == []
