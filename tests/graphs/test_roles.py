"""Entity roles inferred from the log's structure, never from type names; declared roles win."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from graphs.events import EventLog
from graphs.roles import infer_roles, is_session_action

T0 = 1_700_000_000


def _log(rows) -> EventLog:
    return EventLog.from_frame(
        pd.DataFrame(rows, columns=["account_id", "timestamp", "action", "entity_type", "entity_id"])
    )


def platform(names: dict[str, str], actions: dict[str, str], n: int = 60, seed: int = 0) -> EventLog:
    """Logins (device + ip rows), likes of many posts, follows of other accounts, a payment card
    reused at every purchase, under whatever names ``names`` / ``actions`` give them."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        acc = f"u{i}"
        for _ in range(5):
            t = T0 + int(rng.integers(0, 30 * 86400))
            rows.append((acc, t, actions["login"], names["device"], f"d{i}"))
            rows.append((acc, t, actions["login"], names["ip"], f"ip{i % 20}"))
        for _ in range(6):
            t = T0 + int(rng.integers(0, 30 * 86400))
            rows.append((acc, t, actions["like"], names["content"], f"c{rng.integers(0, 400)}"))
        for k in range(2):
            rows.append((acc, T0 + k, actions["follow"], names["account"], f"u{rng.integers(0, n)}"))
        for _ in range(4):
            t = T0 + int(rng.integers(0, 30 * 86400))
            rows.append((acc, t, actions["buy"], names["product"], f"p{rng.integers(0, 300)}"))
            rows.append((acc, t, actions["buy"], names["payment"], f"card{i}"))
    return _log(rows)


OURS = {k: k for k in ("device", "ip", "content", "account", "product", "payment")}
OUR_ACTIONS = {"login": "login", "like": "like", "follow": "follow", "buy": "purchase"}


def test_roles_of_a_familiar_schema() -> None:
    roles = infer_roles(platform(OURS, OUR_ACTIONS))
    assert set(roles.identifiers) == {"device", "ip", "payment"}
    assert set(roles.targets) == {"content", "account", "product"}
    assert roles.interaction == ("account",)
    assert "session" in roles.reasons["device"]
    assert "reused" in roles.reasons["payment"]


def test_roles_do_not_depend_on_names() -> None:
    """The same platform with every type and action renamed gets the same roles."""
    names = {
        "device": "hw",
        "ip": "addr",
        "content": "item",
        "account": "user",
        "product": "sku",
        "payment": "pm",
    }
    actions = {"login": "session_start", "like": "upvote", "follow": "subscribe", "buy": "checkout_done"}
    roles = infer_roles(platform(names, actions))
    assert set(roles.identifiers) == {"hw", "addr", "pm"}
    assert set(roles.targets) == {"item", "user", "sku"}
    assert roles.interaction == ("user",)


def test_without_session_actions_reuse_decides() -> None:
    """No action says 'login': devices are still identifiers because accounts reuse them."""
    roles = infer_roles(platform(OURS, {**OUR_ACTIONS, "login": "ping"}))
    assert "device" in roles.identifiers and "content" in roles.targets


def test_review_log_has_only_targets() -> None:
    rows = [(f"u{i}", T0 + i * 86400, "review", "product", f"p{i % 7}") for i in range(200)]
    roles = infer_roles(_log(rows))
    assert roles.identifiers == () and roles.targets == ("product",)


def test_declared_roles_win() -> None:
    log = platform(OURS, OUR_ACTIONS)
    roles = infer_roles(log, identifiers=("content",), targets=("ip",))
    assert "content" in roles.identifiers and "ip" in roles.targets
    assert roles.reasons["content"] == "declared identifier"
    with pytest.raises(ValueError, match="both"):
        infer_roles(log, identifiers=("ip",), targets=("ip",))


@pytest.mark.parametrize(
    ("action", "session"),
    [("login", True), ("Log-In", True), ("LOGIN", True), ("session_start", True), ("sign_up", True)]
    + [("like", False), ("review", False), ("signup_bonus_claimed", True)],
)
def test_session_actions(action: str, session: bool) -> None:
    assert is_session_action(action) is session
