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

from pathlib import Path

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
