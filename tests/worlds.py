"""Tiny hand-made worlds whose right answers are known (shared by the ranking tests).

``known_world`` — the tutorial's situation in miniature. ``now`` = NOW.

accounts: me(1) follows ana(2), bo(3), dan(7). ana and bo follow cy(4) and natgeo(5, brand);
cy follows ana. zed(6) and yan(8) form a separate community (zed <-> yan), which nobody in
me's circle follows — except that ana *liked* one of zed's posts.

posts (id: author, age, tags, likes/comments):
  101 ana   1 h   #hiking #love      5/1    fresh timeline post
  102 ana   5 d   #hiking            20/2   stale but popular
  103 bo    2 h   #food #love        0/0    fresh, nobody liked it yet
  104 dan   3 h   #sunset            3/0
  105 me    1 h   #hiking            4/0    own post: never in me's feeds
  201 cy    2 h   #hiking #climbing  8/1    friend of friends
  202 natgeo 4 h  #sunset #travel    900/40 the brand
  203 natgeo 6 d  #travel            500/10
  301 zed   3 h   #hiking #love      2/0    liked by ana (liked-by-people-you-follow)
  302 yan   1 h   #cats              50/3   unreachable and off-topic
  401 ana  10 d   #hiking            7/0    outside the 7-day window
  501..503 ana/bo/dan, 30-40 days old, liked by me (weights; interest profile: #hiking #climbing)
  601..606 yan, 20 days old, #cats #cute: filler that makes #hiking (8 of 20 posts) common
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from discovery.store import Store

NOW = 1_700_000_000
H = 3600
D = 86_400

ACCOUNTS = {
    1: "me",
    2: "ana",
    3: "bo",
    4: "cy",
    5: "natgeo",
    6: "zed",
    7: "dan",
    8: "yan",
}
FOLLOWS = [(1, 2), (1, 3), (1, 7), (2, 4), (3, 4), (2, 5), (3, 5), (4, 2), (6, 8), (8, 6)]
POSTS = [
    (101, 2, NOW - 1 * H, "Summit! #hiking #love", 5, 1),
    (102, 2, NOW - 5 * D, "Ridge #hiking", 20, 2),
    (103, 3, NOW - 2 * H, "Lunch #food #love", 0, 0),
    (104, 7, NOW - 3 * H, "Evening #sunset", 3, 0),
    (105, 1, NOW - 1 * H, "My hike #hiking", 4, 0),
    (201, 4, NOW - 2 * H, "Crag day #hiking #climbing", 8, 1),
    (202, 5, NOW - 4 * H, "Golden hour #sunset #travel", 900, 40),
    (203, 5, NOW - 6 * D, "Far away #travel", 500, 10),
    (301, 6, NOW - 3 * H, "Trail #hiking #love", 2, 0),
    (302, 8, NOW - 1 * H, "Cat <script>alert(1)</script> #cats", 50, 3),
    (401, 2, NOW - 10 * D, "Old #hiking", 7, 0),
    (501, 2, NOW - 30 * D, "Past hike #hiking #climbing", 1, 0),
    (502, 2, NOW - 35 * D, "Past hike 2 #hiking", 1, 0),
    (503, 3, NOW - 40 * D, "Past climb #climbing #love", 1, 0),
] + [(600 + i, 8, NOW - 20 * D, "Nap #cats #cute", 1, 0) for i in range(1, 7)]
INTERACTIONS = [
    (1, 501, "like", NOW - 29 * D),
    (1, 502, "like", NOW - 34 * D),
    (1, 503, "like", NOW - 39 * D),
    (2, 301, "like", NOW - 2 * H),
    (1, 105, "tag", NOW - 1 * H),
]


def build_known_world(path: Path | str, extra_posts: list | None = None) -> Store:
    store = Store.open(path)
    with store.transaction():
        store.set_meta("now", NOW)
        store.add_accounts(
            (i, h, h.title(), "brand" if h == "natgeo" else "person", NOW - 400 * D)
            for i, h in ACCOUNTS.items()
        )
        store.add_follows((s, d, NOW - 100 * D) for s, d in FOLLOWS)
        store.add_posts(
            (pid, a, t, cap, "photo", None, likes, comments)
            for pid, a, t, cap, likes, comments in POSTS + (extra_posts or [])
        )
        store.add_interactions((u, p, k, t, None) for u, p, k, t in INTERACTIONS)
    return store


# --------------------------------------------------------------------------- random worlds
#: Tags of random worlds' posts (a few, so interests overlap).
RANDOM_TAGS = ("hiking", "food", "cats", "sunset")
#: Interaction kinds of random worlds (every one that marks a post seen, and hide).
RANDOM_KINDS = ("like", "comment", "save", "view", "click", "hide")


@dataclass
class RandomWorld:
    """A small world drawn by hypothesis (:func:`random_worlds`); account 1 is ``me``, the
    others ``a2``, ``a3``... ``posts`` rows are ``(id, author, taken_at, tags, likes,
    comments)``, ``interactions`` rows ``(account, post id, kind, time)``, ``blocked`` the
    accounts ``me`` blocked. Post times reach 2 h past ``NOW`` and 12 days before it, so every
    filter has something to remove."""

    n_accounts: int
    follows: list[tuple[int, int]]
    posts: list[tuple[int, int, int, tuple[str, ...], int, int]]
    interactions: list[tuple[int, int, str, int]]
    blocked: list[int] = field(default_factory=list)

    def handle(self, account: int) -> str:
        return "me" if account == 1 else f"a{account}"


def random_worlds(max_accounts: int = 8, max_posts: int = 60) -> Any:
    """A hypothesis strategy of :class:`RandomWorld`: hypothesis draws the sizes, the density
    of the follow graph and a seed; the seeded generator (:func:`discovery.seed.rng`) draws
    the rest, so worlds look typical rather than minimal (hypothesis alone draws ``me`` as
    nearly every author) and still shrink by size."""
    from hypothesis import strategies as st

    from discovery.seed import rng

    @st.composite
    def draw(draw: Any) -> RandomWorld:
        n = draw(st.integers(3, max_accounts))
        n_posts = draw(st.integers(min(5, max_posts), max_posts))
        n_events = draw(st.integers(0, 40))
        density = draw(st.floats(0.1, 0.9))
        gen = rng(draw(st.integers(0, 2**32 - 1)))
        others = np.arange(2, n + 1)
        mine = others[gen.random(len(others)) < density]
        mine = mine if len(mine) else others[:1]
        follows = {(1, int(d)) for d in mine}
        follows |= {
            (s, d)
            for s in range(2, n + 1)
            for d in range(1, n + 1)
            if s != d and gen.random() < density / 2
        }
        posts = []
        for i in range(n_posts):
            tags = gen.choice(RANDOM_TAGS, size=int(gen.integers(0, 3)), replace=False)
            posts.append(
                (
                    1000 + i,
                    int(gen.integers(1, n + 1)),
                    NOW - int(gen.integers(-2 * H, 12 * D)),
                    tuple(str(t) for t in tags),
                    int(gen.geometric(0.1)) - 1,
                    int(gen.integers(0, 6)),
                )
            )
        interactions = []
        for _ in range(n_events if posts else 0):
            who = 1 if gen.random() < 0.5 else int(gen.integers(2, n + 1))
            post = posts[int(gen.integers(len(posts)))][0]
            kind = str(gen.choice(RANDOM_KINDS))
            interactions.append((who, post, kind, NOW - int(gen.integers(60, 30 * D))))
        blocked = [int(b) for b in others[gen.random(len(others)) < 0.15]]
        return RandomWorld(n, sorted(follows), posts, interactions, blocked)

    return draw()


def build_random_world(path: Path | str, world: RandomWorld) -> Store:
    store = Store.open(path)
    with store.transaction():
        store.set_meta("now", NOW)
        store.add_accounts(
            (i, world.handle(i), world.handle(i).title(), "person", NOW - 400 * D)
            for i in range(1, world.n_accounts + 1)
        )
        store.add_follows((s, d, NOW - 100 * D) for s, d in world.follows)
        store.add_posts(
            (pid, a, t, "post " + " ".join(f"#{tag}" for tag in tags), "photo", None, lk, cm)
            for pid, a, t, tags, lk, cm in world.posts
        )
        store.add_interactions((u, p, k, t, None) for u, p, k, t in world.interactions)
        if world.blocked:
            store.save_user_settings(1, {"blocked": [world.handle(b) for b in world.blocked]})
    return store
