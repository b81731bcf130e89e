"""Learned-ranker features with answers worked by hand on a four-user world.

Posts p1, p2, p3 by author ``a``. Likes: u1 p1 p2; u2 p1 p3; u3 p1; u4 p1 p2 (u4's like of p1
is 100 days old). u3 also hid p3 and was shown p2 (neither says what u3 likes).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from discovery.engine import Engine
from discovery.ranking import DefaultRanker, user_context
from discovery.settings import Settings
from discovery.signals.features import FEATURES, hydrate
from discovery.snapshot import load_snapshot
from discovery.store import Store
from discovery.store.records import AccountRecord, PostRecord
from worlds import build_known_world

NOW = 1_700_000_000
DAY = 86_400


@pytest.fixture
def snap(tmp_path: Path):  # type: ignore[no-untyped-def]
    with Store.open(tmp_path / "f.db") as store:
        with store.transaction():
            store.set_meta("now", NOW)
            ids = store.upsert_accounts(
                AccountRecord(f"t:{h}", h, created_at=NOW - 400 * DAY)
                for h in ("a", "u1", "u2", "u3", "u4")
            )
            pids = store.upsert_posts(
                PostRecord(f"t:{p}", ids["t:a"], NOW - 200 * DAY, caption=p)
                for p in ("p1", "p2", "p3")
            )
            likes = {"u1": "p1 p2", "u2": "p1 p3", "u3": "p1", "u4": "p1 p2"}
            rows = [
                (ids[f"t:{u}"], pids[f"t:{p}"], "like", NOW - DAY, None)
                for u, ps in likes.items()
                for p in ps.split()
            ]
            rows[-2] = (*rows[-2][:3], NOW - 100 * DAY, None)  # u4's like of p1: old
            rows += [
                (ids["t:u3"], pids["t:p3"], "hide", NOW - DAY, None),
                (ids["t:u3"], pids["t:p2"], "impression", NOW - DAY, None),
            ]
            store.add_interactions(rows)
        return load_snapshot(store, cache=False)


def test_item_cosine_recent_likes_and_default_score_by_hand(snap) -> None:  # type: ignore[no-untyped-def]
    u3 = int(snap.accounts.lookup(np.array([4]))[0])
    assert str(snap.handle[u3]) == "u3"
    ctx = user_context(snap, u3, Settings())
    posts = snap.posts.lookup(np.array([2, 3]))  # p2, p3
    fm = hydrate(ctx, posts)
    assert fm.names == FEATURES
    # u3 engaged with p1 only (a hide and an impression are not engagement). Columns of who
    # engaged: p1 {u1, u2, u3, u4}, p2 {u1, u4}, p3 {u2, u3 (hide: no)} = {u2}.
    # cos(p2, p1) = 2 / (2·√2); cos(p3, p1) = 1 / (2·1)
    assert fm.column("item_cosine").tolist() == pytest.approx([1 / math.sqrt(2), 0.5])
    # likes in the last 90 days: p2 2, p3 1
    assert fm.column("recent_likes").tolist() == pytest.approx([math.log(3), math.log(2)])
    default = DefaultRanker().score(ctx, posts, discovery=True).scores
    assert fm.column("default_score").tolist() == pytest.approx(default.tolist(), rel=1e-6)


# Rates per impression (discovery.signals.exposure), on a world of shown posts. Posts p1 #x
# and p2 #y by author a, p3 #x and p4 #x by b. Shown: u1 p1 p2 p3; u2 p1 p3; u3 p1 p2 (7
# user-post pairs). Likes: u1 p1 p3; u2 p1, and p2 without being shown (counts for nothing);
# u3 p2. Hides: u2 p3. Clicks: u1 p1 p2 p3; u2 p1 p3; u3 p1, and p4 without being shown. So
# 4 of the 7 shown pairs were liked, 1 hidden and 6 clicked.
N0 = 10.0
M = 4 / 7  # likes per impression over the snapshot
R_A = (3 + N0 * M) / (5 + N0)  # author a: shown 5 times (p1 ×3, p2 ×2), liked 3
R_B = (1 + N0 * M) / (2 + N0)  # author b: shown twice (p3), liked once
R_U1 = (2 + N0 * M) / (3 + N0)  # u1: shown 3, liked 2
C = 6 / 7  # clicks per impression
C_U1 = (3 + N0 * C) / (3 + N0)  # u1 clicked all 3


@pytest.fixture
def shown(tmp_path: Path):  # type: ignore[no-untyped-def]
    with Store.open(tmp_path / "s.db") as store:
        with store.transaction():
            store.set_meta("now", NOW)
            ids = store.upsert_accounts(
                AccountRecord(f"t:{h}", h, created_at=NOW - 400 * DAY)
                for h in ("a", "b", "u1", "u2", "u3")
            )
            made = [("p1", "a", "#x"), ("p2", "a", "#y"), ("p3", "b", "#x"), ("p4", "b", "#x")]
            pids = store.upsert_posts(
                PostRecord(f"t:{p}", ids[f"t:{a}"], NOW - 20 * DAY, caption=f"{p} {tag}")
                for p, a, tag in made
            )
            events = {
                "impression": {"u1": "p1 p2 p3", "u2": "p1 p3", "u3": "p1 p2"},
                "like": {"u1": "p1 p3", "u2": "p1 p2", "u3": "p2"},
                "hide": {"u2": "p3"},
                "click": {"u1": "p1 p2 p3", "u2": "p1 p3", "u3": "p1 p4"},
            }
            store.add_interactions(
                (ids[f"t:{u}"], pids[f"t:{p}"], kind, NOW - DAY + (kind != "impression"), None)
                for kind, by_user in events.items()
                for u, ps in by_user.items()
                for p in ps.split()
            )
        return load_snapshot(store, cache=False)


def test_rates_per_impression_by_hand(shown) -> None:  # type: ignore[no-untyped-def]
    u1 = int(shown.accounts.lookup(np.array([3]))[0])
    assert str(shown.handle[u1]) == "u1"
    posts = shown.posts.lookup(np.array([2, 3, 4]))  # p2, p3, p4
    fm = hydrate(user_context(shown, u1, Settings()), posts)
    assert fm.column("author_like_rate").tolist() == pytest.approx([R_A, R_B, R_B])
    # p2: shown 2, liked 1 (u3; u2's unshown like does not count); p3: 2 and 1; p4 never
    # shown: its author's rate
    post_rate = [(1 + N0 * R_A) / (2 + N0), (1 + N0 * R_B) / (2 + N0), R_B]
    assert fm.column("post_like_rate").tolist() == pytest.approx(post_rate)
    hide = [(0 + N0 / 7) / (2 + N0), (1 + N0 / 7) / (2 + N0), 1 / 7]
    assert fm.column("post_hide_rate").tolist() == pytest.approx(hide)
    assert fm.column("user_like_rate").tolist() == pytest.approx([R_U1] * 3)
    # u1 saw a's p1 and p2 and liked p1; saw b's p3 and liked it
    tie = [(1 + N0 * R_U1) / (2 + N0), (1 + N0 * R_U1) / (1 + N0), (1 + N0 * R_U1) / (1 + N0)]
    assert fm.column("user_author_like_rate").tolist() == pytest.approx(tie)
    # #x: u1 saw p1 and p3 and liked both; #y: saw p2, liked nothing
    topic = [(0 + N0 * R_U1) / (1 + N0), (2 + N0 * R_U1) / (2 + N0), (2 + N0 * R_U1) / (2 + N0)]
    assert fm.column("user_cluster_like_rate").tolist() == pytest.approx(topic)
    assert fm.column("user_tag_like_rate").tolist() == pytest.approx(topic)  # one tag a post
    # clicks: p2 by u1 of 2 shown, p3 by u1 and u2 of 2, p4 never shown (u3's click of it
    # counts for nothing); u1 clicked #y's p2 and #x's p1 and p3
    clicks = [(1 + N0 * C) / (2 + N0), (2 + N0 * C) / (2 + N0), C]
    assert fm.column("post_click_rate").tolist() == pytest.approx(clicks)
    tag_clicks = [(1 + N0 * C_U1) / (1 + N0), (2 + N0 * C_U1) / (2 + N0)]
    assert fm.column("user_tag_click_rate").tolist() == pytest.approx(tag_clicks + tag_clicks[1:])


def test_user_exposure_reads_the_latest_impressions_by_hand(tmp_path: Path) -> None:
    """Impressions stored out of time order (p1 at t3, p2 at t1, p3 at t4, p4 at t2), likes
    of p1 and p2: the latest two are p3 and p1, so one like counts; the latest three add p4;
    all four, both likes."""
    from discovery.signals.exposure import user_exposure

    with Store.open(tmp_path / "r.db") as store:
        with store.transaction():
            store.set_meta("now", NOW)
            ids = store.upsert_accounts(
                AccountRecord(f"t:{h}", h, created_at=NOW - 400 * DAY) for h in ("a", "u")
            )
            pids = store.upsert_posts(
                PostRecord(f"t:{p}", ids["t:a"], NOW - 20 * DAY, caption=p)
                for p in ("p1", "p2", "p3", "p4")
            )
            at = {"p1": 3, "p2": 1, "p3": 4, "p4": 2}
            store.add_interactions(
                [(ids["t:u"], pids[f"t:{p}"], "impression", NOW - 10 * DAY + t, None)
                 for p, t in at.items()]
                + [(ids["t:u"], pids[f"t:{p}"], "like", NOW - DAY, None) for p in ("p1", "p2")]
            )  # fmt: skip
        snap = load_snapshot(store, cache=False)
    u = int(snap.accounts.lookup(np.array([ids["t:u"]]))[0])
    post = {p: int(snap.posts.lookup(np.array([pids[f"t:{p}"]]))[0]) for p in at}

    def names(rows: np.ndarray) -> set[str]:
        return {p for p, i in post.items() if i in set(rows.tolist())}

    for recent, seen, liked in (
        (2, {"p3", "p1"}, {"p1"}),
        (3, {"p3", "p1", "p4"}, {"p1"}),
        (4, set(at), {"p1", "p2"}),
        (None, set(at), {"p1", "p2"}),
    ):
        mine = user_exposure(snap, u, recent)
        assert (names(mine.seen), names(mine.liked)) == (seen, liked), recent


def test_item_cosine_reads_the_latest_engagements(snap, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """u1 liked p1 and p2 at one moment (p2 stored later). p3's engagers {u2} meet p1's
    {u1, u2, u3, u4} (cosine 1 / (1·2)) but not p2's {u1, u4}: with a window of one
    engagement u1's taste is p2 alone, and p3's item cosine falls from 0.5 to 0."""
    from discovery.signals import exposure

    u1 = int(snap.accounts.lookup(np.array([2]))[0])
    assert str(snap.handle[u1]) == "u1"
    p3 = snap.posts.lookup(np.array([3]))
    assert hydrate(user_context(snap, u1, Settings()), p3).column("item_cosine").tolist() == [
        pytest.approx(0.5)
    ]
    monkeypatch.setattr(exposure, "RECENT", 1)
    assert hydrate(user_context(snap, u1, Settings()), p3).column("item_cosine").tolist() == [0.0]


def test_rates_read_the_latest_impressions(shown, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """With a window of two impressions u1's record is p2 and p3 (shown at one moment: the
    later stored), of which they liked p3: their rate is 1 in 2, and author a's posts were
    shown once and never liked."""
    from discovery.signals import exposure

    monkeypatch.setattr(exposure, "RECENT", 2)
    u1 = int(shown.accounts.lookup(np.array([3]))[0])
    posts = shown.posts.lookup(np.array([2, 3]))  # p2 (author a), p3 (b)
    fm = hydrate(user_context(shown, u1, Settings()), posts)
    r = (1 + N0 * M) / (2 + N0)
    assert fm.column("user_like_rate").tolist() == pytest.approx([r, r])
    tie = [(0 + N0 * r) / (1 + N0), (1 + N0 * r) / (1 + N0)]
    assert fm.column("user_author_like_rate").tolist() == pytest.approx(tie)


def test_rates_without_impressions_are_zero_priors(snap) -> None:  # type: ignore[no-untyped-def]
    # the four-user world logs one impression (u3 p2) and no like of a shown post: every
    # rate's prior is the snapshot's 0 likes per impression, and hides count only when shown
    u1 = int(snap.accounts.lookup(np.array([2]))[0])
    fm = hydrate(user_context(snap, u1, Settings()), snap.posts.lookup(np.array([1, 2, 3])))
    for name in ("author_like_rate", "post_like_rate", "user_like_rate", "user_author_like_rate"):
        assert fm.column(name).tolist() == [0.0, 0.0, 0.0], name
    assert fm.column("post_hide_rate").tolist() == [0.0, 0.0, 0.0]
    assert fm.column("post_click_rate").tolist() == [0.0, 0.0, 0.0]


@settings(max_examples=150, deadline=None)
@given(
    st.integers(1, 12),
    st.integers(1, 15),
    st.data(),
)
def test_column_affinity_equals_the_scipy_expression(rows: int, n: int, data: Any) -> None:
    """The fast sparse form of item-cosine equals ``cols[:, posts].T @ cols[:, mine].sum(1)``
    (the plain reference), duplicates and empty columns included."""
    from discovery.signals.engaged import column_affinity

    dense = np.array(
        data.draw(
            st.lists(
                st.lists(st.sampled_from([0.0, 0.0, 0.5, 1.0, 2.0]), min_size=n, max_size=n),
                min_size=rows,
                max_size=rows,
            )
        )
    )
    cols = sp.csc_matrix(dense)
    mine = np.array(data.draw(st.lists(st.integers(0, n - 1), max_size=6)), dtype=np.int64)
    posts = np.array(data.draw(st.lists(st.integers(0, n - 1), max_size=8)), dtype=np.int64)
    want = (
        np.asarray(cols[:, posts].T @ np.asarray(cols[:, mine].sum(axis=1)).ravel()).ravel()
        if len(mine)
        else np.zeros(len(posts))
    )
    np.testing.assert_allclose(column_affinity(cols, mine, posts), want, rtol=1e-12, atol=1e-12)


def test_author_follows_user_by_hand(tmp_path: Path) -> None:
    """Reciprocity: 1 where the post's author follows the user. cy (4) follows ana (2), and
    ana cy; natgeo (5) follows nobody. After ana unfollows cy and natgeo follows cy, the
    column follows at the next catch-up (the overlay of edges changed since the matrix was
    built, which it reads on a larger world, is checked in ``FollowGraph.follow_user``'s
    doctest)."""
    build_known_world(tmp_path / "k.db").close()
    engine = Engine.open(tmp_path / "k.db")
    posts_of = {101: "ana", 102: "ana", 202: "natgeo", 301: "zed"}

    def column() -> dict[str, float]:
        snap = engine.snapshot
        cy = int(snap.accounts.lookup(np.array([4]))[0])
        posts = snap.posts.lookup(np.array(list(posts_of)))
        fm = hydrate(user_context(snap, cy, Settings()), posts)
        return dict(zip(posts_of.values(), fm.column("author_follows_user").tolist(), strict=True))

    assert column() == {"ana": 1.0, "natgeo": 0.0, "zed": 0.0}
    with engine.store.transaction():
        engine.store.remove_follows([(2, 4)])
        engine.store.add_follows([(5, 4, NOW)])
    assert engine.refresh()
    assert column() == {"ana": 0.0, "natgeo": 1.0, "zed": 0.0}
