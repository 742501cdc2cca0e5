"""The investigator's sentences: strongest evidence first, whatever order the sections come in."""

from __future__ import annotations

from graphs.explain import summary_sentences

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
