"""Deletions: a post deleted upstream and a withdrawn interaction (an unlike) leave the store
with tombstones, and a caught-up snapshot serves exactly what a fresh load serves — on both
backends."""

from __future__ import annotations

import pytest

from discovery import Engine
from discovery.snapshot import load_snapshot, refresh_snapshot
from discovery.store import NotFound, Store
from stores import rows
from worlds import NOW, build_known_world

KINDS = ("timeline", "explore", "blend", "interests")


def feeds(engine: Engine) -> dict[str, list[int]]:
    return {k: [i.post_id for i in engine.feed("me", 20, k)] for k in KINDS}


def test_remove_posts_takes_the_row_its_tags_and_interactions(store_url: str) -> None:
    with build_known_world(store_url) as s:
        with s.transaction():
            s.add_interactions([(1, 202, "like", NOW - 60, None)], update_counts=True)
        counter = s.change_counter
        with s.transaction():
            assert s.remove_posts([202, 999_999]) == 1  # an unknown id is ignored
        assert s.change_counter == counter + 1
        assert s.existing_posts([202, 203]) == {203}
        assert rows(s, "SELECT COUNT(*) FROM post_hashtags WHERE post = 202") == [(0,)]
        assert rows(s, "SELECT COUNT(*) FROM interactions WHERE post = 202") == [(0,)]
        assert rows(s, "SELECT id FROM removed_posts") == [(202,)]
        with s.transaction():
            assert s.remove_posts([202]) == 0  # twice changes nothing
        assert s.change_counter == counter + 1


def test_an_unlike_withdraws_the_like_and_its_count(store_url: str) -> None:
    with build_known_world(store_url) as s:
        likes = lambda: rows(s, "SELECT like_count FROM posts WHERE id = 202")[0][0]  # noqa: E731
        before = likes()
        with s.transaction():
            s.add_interactions([(1, 202, "like", NOW - 60, None)], update_counts=True)
        assert likes() == before + 1
        with s.transaction():
            assert s.remove_interactions([(1, 202, "like"), (1, 202, "save")]) == 1
        assert likes() == before
        assert rows(s, "SELECT account, post, kind FROM removed_interactions") == [(1, 202, 0)]
        with s.transaction():  # a like given again after the unlike is a new, live row
            s.add_interactions([(1, 202, "like", NOW - 30, None)], update_counts=True)
        assert likes() == before + 1
        with s.transaction():  # a count an import set lower never goes negative
            s._exec("UPDATE posts SET like_count = 0 WHERE id = 202")
            s.remove_interactions([(1, 202, "like")])
        assert likes() == 0


def test_a_caught_up_snapshot_serves_what_a_fresh_load_serves(store_url: str) -> None:
    build_known_world(store_url).close()
    live = Engine.open(store_url, cache=False)
    try:
        with Store.open(store_url) as s, s.transaction():
            s.add_interactions(
                [(1, 202, "like", NOW - 60, None), (1, 301, "save", NOW - 50, None)],
                update_counts=True,
            )
        live.refresh()
        with Store.open(store_url) as s:
            with s.transaction():
                s.remove_posts([201])  # a post explore proposed (a friend of friends)
                s.remove_interactions([(1, 202, "like")])
            with s.transaction():
                s.add_interactions([(1, 202, "like", NOW - 10, None)], update_counts=True)
                s.remove_interactions([(1, 301, "save")])
        assert live.refresh()
        fresh = Engine.open(store_url, cache=False)
        try:
            assert feeds(live) == feeds(fresh)
            for engine in (live, fresh):
                shown = {p for posts in feeds(engine).values() for p in posts}
                assert 201 not in shown
                with pytest.raises(NotFound):
                    engine.post_index(201)
                assert 201 not in [i.post_id for i in engine.similar(301, 20)]
            snap = live.snapshot
            p202 = snap.posts.lookup(202)[0]
            live_likes = (snap.inter_post == p202) & (snap.inter_kind == 0) & (snap.inter_user == 0)
            assert int(live_likes.sum()) == 1  # the unlike withdrew one, the like again added one
            assert int(snap.post_likes[p202]) == int(
                fresh.snapshot.post_likes[fresh.post_index(202)]
            )
        finally:
            fresh.store.close()
    finally:
        live.store.close()


def test_explain_says_a_deleted_post_is_deleted(tmp_path) -> None:
    db = tmp_path / "k.db"
    build_known_world(db).close()
    snap_store = Store.open(db)
    snap = load_snapshot(snap_store, cache=False)
    with snap_store.transaction():
        snap_store.remove_posts([201])
    refresh_snapshot(snap_store, snap)
    assert bool(snap.post_removed[snap.posts.lookup(201)[0]])
    snap_store.close()


def test_an_id_is_never_reused_after_the_newest_interaction_is_withdrawn(store_url: str) -> None:
    # Snapshots read interactions above the last id they hold: a reused id would be missed.
    with build_known_world(store_url) as s:
        with s.transaction():
            s.add_interactions([(1, 202, "like", NOW - 60, None)])
        top = rows(s, "SELECT MAX(id) FROM interactions")[0][0]
        with s.transaction():
            s.remove_interactions([(1, 202, "like")])
            s.add_interactions([(1, 202, "like", NOW - 30, None)])
        assert rows(s, "SELECT id FROM interactions WHERE post = 202 AND account = 1") == [
            (top + 1,)
        ]
