"""Learned-ranker features with answers worked by hand on a four-user world.

Posts p1, p2, p3 by author ``a``. Likes: u1 p1 p2; u2 p1 p3; u3 p1; u4 p1 p2 (u4's like of p1
is 100 days old). u3 also hid p3 and was shown p2 (neither says what u3 likes).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from discovery.ranking import DefaultRanker, user_context
from discovery.settings import Settings
from discovery.signals.features import FEATURES, hydrate
from discovery.snapshot import load_snapshot
from discovery.store import Store
from discovery.store.records import AccountRecord, PostRecord

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
