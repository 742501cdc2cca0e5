"""A review platform: accounts rate products, day-granularity timestamps, opinion-spam rings.

Not the social platform of :func:`~.world.generate_world`: here the only entities are products,
every event is a ``review`` with a ``rating`` column (1-5), timestamps are whole UTC days, and most
accounts write one review. It is the regime ``reviews`` of :mod:`.regimes`.

- Products: ``n_accounts / 150`` (at least 40), each with a quality in [2.5, 4.8] and a Zipf
  popularity; a product's reviews are spread over the two-year window.
- Benign reviewers: a heavy-tailed number of reviews (70% write one, a few write dozens), each of a
  product drawn by popularity on a random day of the account's active period, rated around the
  product's quality (normal noise, sd 0.9, rounded and clipped to 1..5).
- Benign look-alikes: ``opening`` bursts (a new product gets 10-40 enthusiastic genuine reviews
  within two weeks of opening) and ``regular`` heavy reviewers (20-80 reviews).
- Opinion-spam rings (``review_ring``; 5-60 accounts, ``bot_fraction`` of accounts): each serves 1-4
  campaigns; a campaign boosts a customer's product with 5 stars (or, one time in four, attacks a
  competitor with 1 star) in a burst of 1-10 days in which 40-90% of the members post one review.
  Members are fresh accounts with few other reviews (0-2 camouflage reviews of popular products,
  rated like anyone).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .config import DAY
from .ids import hex_ids
from .world import World

START = 1_609_459_200  # 2021-01-01T00:00:00Z
WINDOW_DAYS = 730


def generate_review_world(n_accounts: int, seed: int, bot_fraction: float | None = None) -> World:
    """A review platform with ``n_accounts`` accounts (see the module docstring)."""
    rng = np.random.default_rng((seed, 0x5EED))
    if bot_fraction is None:
        bot_fraction = float(rng.uniform(0.04, 0.12))
    n_prod = max(40, n_accounts // 150)
    quality = rng.uniform(2.5, 4.8, n_prod)
    pop = 1.0 / np.arange(1, n_prod + 1) ** 1.0
    pop = rng.permutation(pop / pop.sum())
    opened = START + (rng.uniform(-400, WINDOW_DAYS - 30, n_prod) * DAY).astype(np.int64)

    # Rings first: sizes 5-60 until the bot budget is spent.
    budget = int(round(bot_fraction * n_accounts))
    sizes = []
    while budget >= 5:
        s = int(min(budget, np.exp(rng.uniform(np.log(5), np.log(60)))))
        if s < 5:
            break
        sizes.append(s)
        budget -= s
    n_bots = int(sum(sizes))
    n_benign = n_accounts - n_bots
    ring_of = np.repeat(np.arange(len(sizes)), sizes)

    acc, day, prod, rating = [], [], [], []
    # Benign reviewers.
    n_rev = np.where(rng.random(n_benign) < 0.7, 1, 1 + rng.zipf(1.8, n_benign)).clip(1, 60)
    regular = rng.random(n_benign) < 0.01
    n_rev[regular] = rng.integers(20, 81, int(regular.sum()))
    first = rng.integers(0, WINDOW_DAYS, n_benign)
    span = np.minimum(rng.exponential(200, n_benign), WINDOW_DAYS - first)
    a = np.repeat(np.arange(n_benign), n_rev)
    d = first[a] + (rng.random(a.size) * span[a]).astype(np.int64)
    p = rng.choice(n_prod, a.size, p=pop)
    acc.append(a)
    day.append(d)
    prod.append(p)
    rating.append(np.clip(np.rint(quality[p] + rng.normal(0, 0.9, a.size)), 1, 5))
    # Opening bursts: genuine enthusiasm for a new product (a benign look-alike of a boost).
    look = np.zeros(n_benign, dtype=object)
    look[:] = ""
    look[regular] = "regular"
    new_products = np.flatnonzero(opened > START)[: max(2, n_prod // 20)]
    for q in new_products:
        k = int(rng.integers(10, 41))
        who = rng.choice(n_benign, k, replace=False)
        look[who] = np.where(look[who] == "", "opening", look[who])
        acc.append(who)
        day.append((opened[q] - START) // DAY + rng.integers(0, 14, k))
        prod.append(np.full(k, q))
        rating.append(np.clip(np.rint(quality[q] + 0.8 + rng.normal(0, 0.5, k)), 1, 5))

    # Rings: campaigns of fresh accounts, each member one review per campaign it joins.
    bot_ids = n_benign + np.arange(n_bots)
    for r, size in enumerate(sizes):
        members = bot_ids[ring_of == r]
        for _ in range(int(rng.integers(1, 5))):
            attack = rng.random() < 0.25
            target = int(rng.choice(n_prod, p=pop))
            start = int(rng.integers(0, WINDOW_DAYS - 10))
            length = int(rng.integers(1, 11))
            who = members[rng.random(size) < rng.uniform(0.4, 0.9)]
            acc.append(who)
            day.append(start + rng.integers(0, length, who.size))
            prod.append(np.full(who.size, target))
            rating.append(np.full(who.size, 1.0 if attack else 5.0))
        camo = rng.integers(0, 3, size)
        a = np.repeat(members, camo)
        acc.append(a)
        day.append(rng.integers(0, WINDOW_DAYS, a.size))
        p = rng.choice(n_prod, a.size, p=pop)
        prod.append(p)
        rating.append(np.clip(np.rint(quality[p] + rng.normal(0, 0.9, a.size)), 1, 5))

    acc, day, prod, rating = (np.concatenate(x) for x in (acc, day, prod, rating))
    day = np.clip(day, 0, WINDOW_DAYS - 1)
    # One review per (account, product): keep the first.
    order = np.lexsort((day, prod, acc))
    acc, day, prod, rating = acc[order], day[order], prod[order], rating[order]
    keep = np.concatenate([[True], (acc[1:] != acc[:-1]) | (prod[1:] != prod[:-1])])
    acc, day, prod, rating = acc[keep], day[keep], prod[keep], rating[keep]
    # Random-looking ids, so neither spelling nor order says bot.
    account_names = hex_ids("u", np.arange(n_accounts), seed)[0].to_numpy(zero_copy_only=False)
    account_names = np.asarray(account_names, dtype=object)
    product_names = hex_ids("b", np.arange(n_prod), seed + 1)[0].to_numpy(zero_copy_only=False)
    product_names = np.asarray(product_names, dtype=object)
    ts = START + day * DAY
    order = np.argsort(ts, kind="stable")
    events = pd.DataFrame(
        {
            "account_id": account_names[acc[order]],
            "timestamp": ts[order].astype(np.int64),
            "action": "review",
            "entity_type": "product",
            "entity_id": product_names[prod[order]],
            "rating": rating[order].astype(np.int64),
        }
    )
    first_review = pd.Series(ts).groupby(acc).min()
    created = np.full(n_accounts, START, dtype=np.int64)
    created[first_review.index.to_numpy()] = first_review.to_numpy() - (
        rng.exponential(30, first_review.size) * DAY
    ).astype(np.int64)
    is_bot = np.zeros(n_accounts, dtype=np.int8)
    is_bot[n_benign:] = 1
    created[n_benign:] = np.minimum(created[n_benign:], START + day.max() * DAY)
    ring_id = np.array([""] * n_benign + [f"r{r + 1}" for r in ring_of], dtype=object)
    kind = np.where(is_bot == 1, "review_ring", "").astype(object)
    lookalike = np.concatenate([look, np.array([""] * n_bots, dtype=object)])
    order = np.argsort(account_names, kind="stable")
    accounts = pd.DataFrame({"account_id": account_names[order], "created_at": created[order]})
    labels = pd.DataFrame(
        {
            "account_id": account_names[order],
            "is_bot": is_bot[order],
            "ring_id": ring_id[order],
            "ring_kind": kind[order],
            "lookalike": lookalike[order],
        }
    )
    return World(events=events, accounts=accounts, labels=labels)
