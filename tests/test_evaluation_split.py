"""The temporal split: the training view holds nothing from after the cut, and what happens
after the cut cannot change a single recommendation."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from discovery.errors import InputError
from discovery.evaluation import STRATEGIES, Training, make_folds, parse_duration, view_at
from discovery.settings import Settings
from discovery.snapshot import load_snapshot
from discovery.store import KIND_CODE, Store

DAY = 86_400


@pytest.fixture(scope="module")
def tiny_world(tmp_path_factory) -> Path:
    from discovery.world import generate_world

    path = tmp_path_factory.mktemp("world") / "tiny.db"
    generate_world(path, size="tiny", images=False)
    return path


def load(path: Path):
    store = Store.open(path, create=False)
    return store, load_snapshot(store, cache=False)


def test_parse_duration():
    assert parse_duration("7d") == 7 * DAY
    assert parse_duration("1.5h") == 5400
    assert parse_duration("2w") == 14 * DAY
    for bad in ("", "x", "-1d", "0"):
        with pytest.raises(InputError):
            parse_duration(bad, "--holdout")


def test_the_view_holds_nothing_from_after_the_cut(tiny_world):
    store, full = load(tiny_world)
    cut = full.now - 2 * DAY
    for serve_at in (cut, cut + DAY):
        view, to_full = view_at(full, cut, serve_at)
        assert view.now == serve_at
        assert (view.inter_time <= cut).all() and (view.follow_time <= cut).all()
        assert (view.post_taken <= serve_at).all()
        # Every post that existed at serving time is there, in the same order.
        assert np.array_equal(to_full, np.flatnonzero(full.post_taken <= serve_at))
        assert np.array_equal(view.post_id, full.post_id[to_full])
        # The generator writes like_count = logged likes, so the rewound counts must equal the
        # likes logged up to the cut.
        likes = np.bincount(
            view.inter_post[view.inter_kind == KIND_CODE["like"]], minlength=view.n_posts
        )
        assert np.array_equal(view.post_likes, likes)
        assert (view.post_likes[view.post_taken > cut] == 0).all()
        # Hashtags are re-indexed, not lost: each post keeps its tag names.
        for p in range(0, view.n_posts, 97):
            mine = view.tag_name[view.tag_id[view.tag_post == p]]
            theirs = full.tag_name[full.tag_id[full.tag_post == to_full[p]]]
            assert sorted(mine) == sorted(theirs)
    store.close()


def test_folds_cover_the_holdout_and_hold_only_findable_positives(tiny_world):
    store, full = load(tiny_world)
    folds = make_folds(full, holdout=3 * DAY, step=DAY, window=7)
    assert [f.cut for f in folds] == [full.now - 3 * DAY, full.now - 2 * DAY, full.now - DAY]
    for f in folds:
        assert f.serve_at == f.end == f.cut + DAY
        taken = f.view.post_taken[f.catalog]
        assert (taken <= f.serve_at).all() and (taken >= f.serve_at - 7 * DAY).all()
        # Nothing the user had already opened before the cut is asked for again.
        opened = np.isin(f.view.inter_kind, [KIND_CODE[k] for k in ("like", "click", "view")])
        seen = set(
            zip(f.view.inter_user[opened].tolist(), f.view.inter_post[opened].tolist(), strict=True)
        )
        for u, posts in f.relevant.items():
            assert np.isin(posts, f.catalog).all()
            assert not {(u, int(p)) for p in posts} & seen
        assert f.positives[1] == sum(len(p) for p in f.relevant.values()) <= f.positives[0]
    cut_folds = make_folds(full, holdout=DAY, step=DAY, window=7, inventory="cut")
    f = cut_folds[0]
    assert f.serve_at == f.cut and (f.view.post_taken <= f.cut).all()
    with pytest.raises(InputError):
        make_folds(full, holdout=DAY, step=2 * DAY, window=7)
    store.close()


def scrub_and_poison(src: Path, dst: Path, cut: int, serve_at: int) -> None:
    """Copy ``src`` and rewrite everything after the cut: post-cut interactions and follows
    deleted (their likes and comments taken off the counts), posts taken after ``serve_at``
    deleted, then new post-cut likes and follows invented."""
    shutil.copy(src, dst)
    con = sqlite3.connect(dst)
    for kind, column in (("like", "like_count"), ("comment", "comment_count")):
        late = con.execute(
            "SELECT post, COUNT(*) FROM interactions WHERE kind = ? AND created_at > ?"
            " GROUP BY post",
            (KIND_CODE[kind], cut),
        ).fetchall()
        con.executemany(
            f"UPDATE posts SET {column} = {column} - ? WHERE id = ?", [(n, p) for p, n in late]
        )
    con.execute("DELETE FROM interactions WHERE created_at > ?", (cut,))
    con.execute("DELETE FROM follows WHERE created_at > ?", (cut,))
    con.execute(
        "DELETE FROM post_hashtags WHERE post IN (SELECT id FROM posts WHERE taken_at > ?)",
        (serve_at,),
    )
    con.execute("DELETE FROM posts WHERE taken_at > ?", (serve_at,))
    # Invented future: everyone likes the first 30 posts, and follows account 2.
    users = [r[0] for r in con.execute("SELECT id FROM accounts")]
    posts = [r[0] for r in con.execute("SELECT id FROM posts ORDER BY id LIMIT 30")]
    con.executemany(
        "INSERT OR IGNORE INTO interactions (account, post, kind, created_at, value)"
        " VALUES (?, ?, 0, ?, NULL)",
        [(u, p, cut + 60) for u in users for p in posts],
    )
    con.executemany(
        "UPDATE posts SET like_count = like_count + ? WHERE id = ?",
        [(len(users), p) for p in posts],
    )
    con.executemany(
        "INSERT OR IGNORE INTO follows (src, dst, created_at, seq) VALUES (?, 2, ?, 0)",
        [(u, cut + 60) for u in users],
    )
    con.commit()
    con.close()


@pytest.mark.parametrize("inventory", ["step", "cut"])
def test_nothing_after_the_cut_changes_any_recommendation(tiny_world, tmp_path, inventory):
    store, full = load(tiny_world)
    fold = make_folds(full, holdout=DAY, step=DAY, window=7, inventory=inventory)[0]
    other_path = tmp_path / "rewritten.db"
    scrub_and_poison(tiny_world, other_path, fold.cut, fold.serve_at)
    other_store, other = load(other_path)
    assert other.n_posts < full.n_posts or inventory == "step"
    twin = make_folds(other, holdout=DAY, step=DAY, window=7, inventory=inventory, end=fold.end)[0]

    a, b = fold.view.arrays(), twin.view.arrays()
    for name in a:
        assert np.array_equal(a[name], b[name]), name
    assert np.array_equal(fold.catalog, twin.catalog)

    users = sorted(fold.relevant)[:12]
    assert users
    names = [n for n in STRATEGIES if n != "oracle"]  # the oracle may know the future
    for name in names:
        got = {}
        for st, f, fstore in ((store, fold, store), (other_store, twin, other_store)):
            strategy = STRATEGIES[name]()
            strategy.fit(Training(f, Settings(), fstore, seed=7))
            got[id(st)] = [strategy.recommend(u, 10) for u in users]
        first, second = got.values()
        assert first == second, name
    store.close()
    other_store.close()
