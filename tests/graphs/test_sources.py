"""Sources of targets (a creator's posts) inferred from the log, and the campaign-group test that never
pairs two cells of one source: fans of one creator are one interest, not a campaign."""

from __future__ import annotations

import numpy as np
import pandas as pd

from graphs.campaigns import campaign_pairs
from graphs.events import EventLog
from graphs.incidence import build_incidence
from graphs.params import GraphParams
from graphs.relations import target_rows
from graphs.roles import infer_roles
from graphs.sources import creation_actions, entity_sources

DAY = 86400
T0 = 1_700_006_400


def social_log() -> pd.DataFrame:
    """Creators post content once each (the first row of the content); others like, comment on and
    follow; everyone also reviews products (many reviews per product, none first by design)."""
    rng = np.random.default_rng(0)
    rows = []
    for j in range(60):
        rows.append((f"c{j}", T0 + j * 600, "post", "content", f"post{j}"))
    for a in range(200):
        for j in rng.choice(60, 5, replace=False):
            when = T0 + int(j) * 600 + int(rng.integers(60, DAY))
            rows.append((f"u{a}", when, "like", "content", f"post{j}"))
        rows.append((f"u{a}", T0 + int(rng.integers(0, DAY)), "follow", "account", f"c{a % 60}"))
        for p in rng.choice(30, 2, replace=False):
            rows.append((f"u{a}", T0 + int(rng.integers(0, 9 * DAY)), "review", "product", f"prod{p}"))
    return pd.DataFrame(rows, columns=["account_id", "timestamp", "action", "entity_type", "entity_id"])


def test_creation_actions_and_sources_from_the_log() -> None:
    log = EventLog.from_frame(social_log(), source="social")
    assert [log.actions[c] for c in creation_actions(log)] == ["post"]
    src = entity_sources(log)
    ids, types = log.entity_ids, np.asarray(log.entity_types)[log.entity_type]
    accounts = log.account_ids
    post = ids == "post7"
    assert accounts[src[post][0]] == "c7"  # a post's source is its creator
    followed = (types == "account") & (ids == "c3")
    assert accounts[src[followed][0]] == "c3"  # a followed account is its own source
    assert (src[types == "product"] == -1).all()  # reviews: many per product, no creator


def test_no_creation_action_when_others_act_first() -> None:
    # The same "post" action, but each content also liked before its post row: not a creation.
    frame = social_log()
    early = frame[frame["action"] == "post"].assign(account_id="u0", action="post", timestamp=T0 - 10)
    log = EventLog.from_frame(pd.concat([frame, early], ignore_index=True), source="social")
    assert creation_actions(log) == []
    sources = entity_sources(log)
    types = np.asarray(log.entity_types)[log.entity_type]
    assert (sources[types == "content"] == -1).all()


def fan_and_ring_rows(seed: int = 0):
    """A busy background, twelve fans liking two posts of one creator (days apart, each within an
    hour of the post) and a ring of twelve liking two posts of two customers."""
    rng = np.random.default_rng(seed)
    rows = []  # (account, target, time, source)
    for a in range(4000):
        for _ in range(2):
            t = int(rng.integers(1000, 1090))
            rows.append((a, t, T0 + int(rng.integers(0, 4 * DAY)), 10_000 + t % 30))
    fans, ring = np.arange(4000, 4012), np.arange(4100, 4112)
    creator, customers = 9000, (9001, 9002)
    for k, when in enumerate((T0 + 5 * 3600, T0 + 3 * DAY)):
        rows += [(int(a), 1 + k, when + 60 * i, creator) for i, a in enumerate(fans)]
        rows += [(int(a), 3 + k, when + 7200 + 30 * i, customers[k]) for i, a in enumerate(ring)]
    f = pd.DataFrame(rows, columns=["account", "target", "time", "source"])
    f = f.drop_duplicates(["account", "target"])
    return f, fans, ring


def linked(found, n: int) -> set[int]:
    return set((found.key // n).tolist()) | set((found.key % n).tolist())


def test_campaign_test_never_pairs_cells_of_one_source() -> None:
    f, fans, ring = fan_and_ring_rows()
    n = 4200
    args = (f["account"].to_numpy(), f["target"].to_numpy(), f["time"].to_numpy(), n, (3600,), 500, 0.01, 1)
    without = campaign_pairs(*args)
    assert set(fans) | set(ring) <= linked(without, n)  # by chance alone, both groups are campaigns
    found = campaign_pairs(*args, source=f["source"].to_numpy())
    got = linked(found, n)
    assert set(ring) <= got and not (set(fans) & got)
    assert found.key.size == 12 * 11 // 2  # the ring's pairs, nothing else
    # Unknown sources (-1) never block a pair.
    unknown = campaign_pairs(*args, source=np.full(len(f), -1))
    assert np.array_equal(unknown.key, without.key)


def test_target_rows_carry_sources_and_the_switch() -> None:
    log = EventLog.from_frame(social_log(), source="social")
    inc, roles = build_incidence(log), infer_roles(log)
    account, target, _, _, source = target_rows(log, inc, roles, GraphParams())
    assert source is not None and source.shape == target.shape
    assert np.array_equal(source, entity_sources(log)[target])
    assert target_rows(log, inc, roles, GraphParams(campaign_skip_same_source=False))[4] is None
    assert target_rows(log, inc, roles, GraphParams(campaign_windows=()))[4] is None
