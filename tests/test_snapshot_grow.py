"""Structures that take new posts in without a rebuild (``Grows``): each extension equals a
build from scratch, whatever the stream of posts, hashtags and deletions in between."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from discovery import graph
from discovery.engine import Engine
from discovery.ranking import time_index
from discovery.ranking.affinity import engagement_pairs, follow_adjacency
from discovery.ranking.ppr_cache import PPRState
from discovery.ranking.stats import follower_counts, post_stats
from discovery.ranking.time_index import posts_by_time, tag_posts_by_time
from discovery.signals.als import LoadedALS, align
from discovery.signals.clusters import snapshot_clusters
from discovery.signals.engaged import engaged_columns
from discovery.signals.exposure import exposure_counts, post_labels
from discovery.signals.features import _author_stats, _recent_likes
from discovery.snapshot import Derived, Grows, Snapshot, load_snapshot, refresh_snapshot
from discovery.snapshot.grow import append, merge_sorted
from discovery.snapshot.rebuild import begin
from discovery.store import Store
from worlds import ACCOUNTS, NOW, build_known_world

H = 3600


# ------------------------------------------------------------------ the registry's rules
class Sized:
    """A stand-in snapshot for the registry: a growing list and an edit count."""

    def __init__(self) -> None:
        self.rows: list[int] = []
        self.n_edits = 0

    def clock(self, table: str) -> tuple[int, int]:
        return len(self.rows), len(self.rows)

    def edits(self, table: str) -> int:
        return self.n_edits

    def sizes(self) -> int:
        return len(self.rows)


def total(reg: Derived, s: Sized) -> int:
    grow = lambda value, snap, since: value + sum(snap.rows[since:])  # noqa: E731
    return reg.get_or_build(
        "total", lambda: sum(s.rows), (Grows("posts"),), s.clock, extend=grow, growth=s
    )


def test_a_growing_structure_takes_appended_rows_on_use_and_is_rebuilt_after_an_edit():
    reg, s = Derived(), Sized()
    s.rows += [1, 2]
    assert total(reg, s) == 3
    first = reg.entry("total")
    s.rows += [10]
    assert reg.invalidate({"posts"}, s.clock, s) == []  # appended: kept, extended on use
    assert total(reg, s) == 13
    grown = reg.entry("total")
    assert grown is not first and grown.origin == first.origin and grown.since == 3
    assert first.value == 3  # the old value is not touched: a rebuild beside may read it
    s.rows[0] = 100  # a row changed in place
    s.n_edits += 1
    assert reg.invalidate({"posts"}, s.clock, s) == ["total"]
    assert total(reg, s) == 112 and reg.entry("total").origin != first.origin


def test_an_extension_that_declines_rebuilds_and_an_edit_seen_on_use_too():
    reg, s = Derived(), Sized()
    s.rows += [1]
    built = []

    def get() -> int:
        return reg.get_or_build(
            "total",
            lambda: built.append(1) or sum(s.rows),
            (Grows("posts"),),
            s.clock,
            extend=lambda value, snap, since: None,  # the first declaration's is kept
            growth=s,
        )

    assert get() == 1
    s.rows += [5]
    assert get() == 6 and built == [1, 1]
    reg.clear()
    total(reg, s)
    s.n_edits += 1  # an edit that no invalidate reported: the next use still sees it
    s.rows += [1]
    assert reg.get_or_build(
        "total", lambda: sum(s.rows), (Grows("posts"),), s.clock, growth=s,
        extend=lambda *a: pytest.fail("extended across an edit"),
    ) == 7  # fmt: skip
    assert total(reg, s) == 7  # and the rebuilt one extends with its own function


def test_what_is_built_on_a_growing_structure_must_grow_with_it():
    reg, s = Derived(), Sized()
    total(reg, s)
    with pytest.raises(ValueError, match="declare Grows"):
        reg.get_or_build("half", lambda: 0, ("total",), s.clock)
    reg.get_or_build("gone", lambda: 0, ("total", "posts"), s.clock)  # or be dropped with it
    with pytest.raises(ValueError, match="extend function"):
        reg.get_or_build("x", lambda: 0, (Grows("posts"),), s.clock)
    with pytest.raises(ValueError, match="both exact and Grows"):
        reg.get_or_build("y", lambda: 0, ("posts", Grows("posts")), s.clock, growth=s,
                         extend=lambda *a: 0)  # fmt: skip


def test_a_dependent_extended_on_a_parent_that_declines_is_rebuilt_not_reinstalled():
    reg, s = Derived(), Sized()
    s.rows += [1, 2]
    parent = dict(decline=False)

    def base() -> int:
        return reg.get_or_build(
            "base", lambda: len(s.rows), (Grows("posts"),), s.clock, growth=s,
            extend=lambda v, snap, since: None if parent["decline"] else len(snap.rows),
        )  # fmt: skip

    def child() -> int:
        return reg.get_or_build(
            "child", lambda: 10 * base(), (Grows("posts"), "base"), s.clock, growth=s,
            extend=lambda v, snap, since: v + 10 * (base() - since),
        )  # fmt: skip

    assert child() == 20
    s.rows += [3]
    parent["decline"] = True
    assert child() == 30 and reg.entry("child").since == 3


def test_merge_sorted_is_a_stable_argsort():
    rng = np.random.default_rng(3)
    for _ in range(50):
        values = rng.integers(0, 6, rng.integers(0, 30))
        head = rng.integers(0, len(values) + 1)
        order = np.argsort(values[:head], kind="stable")
        merged, keys = merge_sorted(order, values[:head][order], values[head:])
        assert merged.tolist() == np.argsort(values, kind="stable").tolist()
        assert keys.tolist() == np.sort(values).tolist()


def test_two_appends_to_one_view_do_not_overwrite_each_other():
    """The live snapshot and a rebuild's frozen copy may both extend the same value: only the
    first append writes into the buffer's room, the second copies."""
    base = append(np.arange(4), np.array([4]))
    first = append(base, np.array([10, 11]))
    second = append(base, np.array([20]))
    third = append(first, np.array([12]))  # the first's own room is still its own
    assert first.tolist() == [0, 1, 2, 3, 4, 10, 11] and second.tolist() == [0, 1, 2, 3, 4, 20]
    assert third.tolist() == [*first.tolist(), 12] and third.base is first.base
    assert second.base is not first.base and base.tolist() == [0, 1, 2, 3, 4]


# ----------------------------------------------------- every post structure, through the store
NEW_TAGS = ("hiking", "food", "brandnew", "sunset", "zzz")
GROWN = (
    *("account_ids", "handles", "by_user", "follow_graph", "followers_matrix"),
    *("follower_counts", "engagement_pairs", "adjacency_w1", "ppr_index_w1", "ppr_state"),
    *("post_ids", "by_time", "post_tags", "by_author", "post_stats", "tag_posts_by_time"),
    *("author_stats", "engaged_columns", "recent_likes", "post_tags_labels"),
    "post_clusters_labels",
)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("grow") / "w.db"
    build_known_world(path).close()
    return path


def _use(engine: Engine, als: LoadedALS) -> None:
    """Everything a page reads of the post and account structures."""
    snap = engine.snapshot
    for kind in ("explore", "timeline", "interests", "blend"):
        engine.feed("me", kind=kind)
    engine.feed(str(snap.handle[-1]), kind="blend")  # the newest account's (by handle)
    snap.followers_matrix(), follower_counts(snap), engagement_pairs(snap)
    snap.posts, posts_by_time(snap), tag_posts_by_time(snap), snap.author_posts(0)
    _author_stats(snap), engaged_columns(snap), _recent_likes(snap), als.aligned(snap)
    post_labels(snap, "tags"), post_labels(snap, "clusters")


def _same(a, b) -> None:
    if isinstance(a, tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _same(x, y)
    elif sp.issparse(a):
        assert a.shape == b.shape
        for field in ("indptr", "indices", "data"):
            assert np.array_equal(getattr(a, field), getattr(b, field)), field
    else:
        assert np.array_equal(np.asarray(a), np.asarray(b))


def _arrays(value) -> tuple:
    """The arrays a structure holds, in a fixed order (the PPR cache and the follow graph's
    overlay are mutable by design: catch-ups note into them)."""
    if isinstance(value, tuple):
        return tuple(a for v in value for a in _arrays(v))
    if sp.issparse(value):
        return (value.indptr, value.indices, value.data)
    if isinstance(value, np.ndarray):
        return (value,)
    if isinstance(value, dict):
        return (np.array([f"{k}={v}" for k, v in value.items()]),)
    if isinstance(value, PPRState) or not dataclasses.is_dataclass(value):
        return ()
    parts = [getattr(value, f.name) for f in dataclasses.fields(value) if f.name != "overlay"]
    return tuple(a for v in parts if not isinstance(v, float | int) for a in _arrays(v))


def _copy(value) -> tuple:
    return tuple(np.array(a, copy=True) for a in _arrays(value))


def _same_authors(live: Snapshot, fresh: Snapshot) -> None:
    """The author index answers as one built from scratch, for each author and all at once."""
    everyone = np.arange(fresh.n_accounts)
    for author in everyone.tolist():
        _same(live.author_posts(author), fresh.author_posts(author))
    _same(live.authors_posts(everyone[::-1]), fresh.authors_posts(everyone[::-1]))


def _check(live: Snapshot, fresh: Snapshot, als: LoadedALS) -> None:
    for ix, fx in ((live.posts, fresh.posts), (live.accounts, fresh.accounts)):
        _same((ix.ids, ix.order, ix.sorted_ids), (fx.ids, fx.order, fx.sorted_ids))
    for handle in fresh.handle.tolist():
        assert live.account_index(handle) == fresh.account_index(handle)
    for user in range(fresh.n_accounts):
        _same(live.user_interactions(user), fresh.user_interactions(user))
    _same(live.follow_matrix(), fresh.follow_matrix())  # no follows in these streams
    _same(live.followers_matrix(), fresh.followers_matrix())
    for f in (follower_counts, engagement_pairs, lambda s: follow_adjacency(s, True)):
        _same(f(live), f(fresh))
    for w in ("ppr_index_w1",):
        a, b = live.derived.get(w), graph.PPRIndex(follow_adjacency(fresh, True))
        for field in ("n", "nnz", "indptr", "indices", "dangling", "_inv_out", "weights"):
            _same(getattr(a, field), getattr(b, field))
    for f in (posts_by_time, engaged_columns, _recent_likes):
        _same(f(live), f(fresh))
    everyone = np.arange(fresh.n_accounts)
    _same(_author_stats(live).at(everyone), _author_stats(fresh).at(everyone))
    built = tag_posts_by_time(fresh)
    assert len(built.tail_tag) == 0
    _same(tag_posts_by_time(live).merged(), (built.indptr, built.posts, built.taken))
    for tag in range(live.n_tags):  # and every window reads the tail too
        for since, until in ((NOW - 3 * H, NOW), (0, NOW + 5 * H), (NOW - H, NOW - H)):
            got = tag_posts_by_time(live).window(tag, since, until)[0]
            assert sorted(got.tolist()) == sorted(built.window(tag, since, until)[0].tolist())
    _same(live.post_tags_matrix(), fresh.post_tags_matrix())
    _same_authors(live, fresh)
    a, b = post_stats(live), post_stats(fresh)
    for field in ("in_degree", "clicks", "inter_likes", "idf", "df", "n_live"):
        _same(getattr(a, field), getattr(b, field))
    assert a.eng_mean == pytest.approx(b.eng_mean, rel=1e-12)
    _same(post_labels(live, "tags"), post_labels(fresh, "tags"))
    clusters = snapshot_clusters(live).membership(live.n_tags)  # lags: the live one, both sides
    expected = sp.csr_matrix(fresh.post_tags_matrix() @ clusters)
    expected.eliminate_zeros()
    assert (post_labels(live, "clusters") != expected).nnz == 0
    _same(exposure_counts(live).post_seen, exposure_counts(fresh).post_seen)
    _same(exposure_counts(live).author_liked, exposure_counts(fresh).author_liked)
    got, want = als.aligned(live), align(als.model, fresh, als.user_ids, als.post_ids)
    _same((got.user_row, got.post_row), (want.user_row, want.post_row))


step = st.one_of(
    st.tuples(
        st.just("post"),
        st.lists(
            st.tuples(
                st.sampled_from(sorted(ACCOUNTS)),
                st.sampled_from((-1, -2, -3, -120, 0, 2)),  # hours from NOW: ties with old posts
                st.lists(st.sampled_from(NEW_TAGS), max_size=3),
            ),
            min_size=1,
            max_size=4,
        ),
    ),
    st.tuples(st.just("tag_old"), st.sampled_from((101, 302, 601))),
    st.tuples(st.just("account"), st.booleans()),  # a sign-up, posting at once or not
    st.tuples(st.just("delete"), st.sampled_from((104, 603))),
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(step, min_size=1, max_size=5))
@example(steps=[("post", [(3, -1, ["hiking"]), (2, -1, ["hiking", "cats"])])])  # ties, in a tag
def test_post_structures_grown_through_catch_ups_equal_a_fresh_load(template, tmp_path, steps):
    """New posts (some with new hashtags, some at times equal to older posts'), a hashtag
    added to an old post (declined: rebuilt) and deleted posts (an edit: dropped), each
    caught up and used: every structure equals one built from scratch on the same arrays,
    and the feeds equal those of a snapshot loaded fresh from the store."""
    path = tmp_path / f"w{abs(hash(str(steps)))}.db"
    shutil.copy(template, path)
    store = Store.open(path)
    engine = Engine(store, load_snapshot(store, cache=False))
    snap = engine.snapshot
    # a model trained on a store ahead of the snapshot: it knows posts 9000 and 9002, and
    # the account that signs up first
    users = np.array([1, 2, 100 + snap.n_accounts], np.int64)
    als = LoadedALS(object(), 1, users, np.array([9002, 101, 9000]))  # type: ignore[arg-type]
    _use(engine, als)
    grown = (*GROWN, f"als@1:{id(als.model)}")
    origins = {k: snap.derived.entry(k).origin for k in grown}
    # values a rebuild beside or a request may still hold: extensions never write into them
    held = [(v, _copy(v)) for v in map(snap.derived.get, grown)]
    pid = 9000
    for kind, arg in steps:
        with store.transaction():
            if kind == "post":
                rows = []
                for author, hours, tags in arg:
                    caption = "new " + " ".join(f"#{t}" for t in tags)
                    rows.append((pid, author, NOW + hours * H, caption, "photo", None, 1, 0))
                    pid += 1
                store.add_posts(rows)
            elif kind == "account":
                aid = 100 + snap.n_accounts
                store.add_accounts([(aid, f"new{aid}", "New", "person", NOW)])
                if arg:
                    store.add_posts([(pid, aid, NOW - H, "hello #hiking", "photo", None, 0, 0)])
                    pid += 1
            elif kind == "tag_old":
                store.add_post_tags([(arg, "brandnew")])
            else:
                store.remove_posts([arg])
        refresh_snapshot(store, snap)
        _use(engine, als)
        held += [(v, _copy(v)) for v in map(snap.derived.get, grown)]
    _check(snap, snap.frozen(), als)  # the same arrays, every structure built from scratch
    for value, copy in held:
        _same(_arrays(value), copy)
    if all(kind == "post" for kind, _ in steps):  # extended all along, never rebuilt
        assert {k: snap.derived.entry(k).origin for k in grown} == origins
    other = Engine(store, load_snapshot(store, cache=False))
    for who in ("me", str(snap.handle[-1])):
        for kind in ("explore", "timeline", "blend"):
            mine = [(i.post_id, round(i.score, 9)) for i in engine.feed(who, kind=kind).items]
            theirs = [(i.post_id, round(i.score, 9)) for i in other.feed(who, kind=kind).items]
            assert mine == theirs, (who, kind)
    store.close()


def test_the_tag_index_is_rebuilt_once_its_tail_is_long(template, tmp_path, monkeypatch):
    monkeypatch.setattr(time_index, "TAIL_LIMIT", 3)
    path = tmp_path / "t.db"
    shutil.copy(template, path)
    store = Store.open(path)
    snap = load_snapshot(store, cache=False)
    first = (tag_posts_by_time(snap), snap.derived.entry("tag_posts_by_time").origin)
    origins = []
    for i in range(3):  # two links a post: the tail holds 2, then 4 > 3
        with store.transaction():
            store.add_posts([(9200 + i, 2, NOW - i * H, "#hiking #food", "photo", None, 1, 0)])
        refresh_snapshot(store, snap)
        index = tag_posts_by_time(snap)
        origins.append(snap.derived.entry("tag_posts_by_time").origin)
        assert len(index.tail_tag) == (2 if i == 0 else 2 * i - 2)
    assert origins[0] == first[1] and origins[1] != first[1] and origins[2] == origins[1]
    built = tag_posts_by_time(snap.frozen())
    _same(index.merged(), (built.indptr, built.posts, built.taken))
    store.close()


def test_a_rebuild_beside_swaps_in_a_structure_that_grew_meanwhile(template, tmp_path):
    """A lag-stale structure that also grows (post stats) is rebuilt on a frozen copy; a post
    arriving during that build extends the serving one. The swap still installs the rebuilt
    value (the same structure, by its build), which then takes the new post on use."""
    path = tmp_path / "r.db"
    shutil.copy(template, path)
    store = Store.open(path)
    snap = load_snapshot(store, cache=False)
    snap.derived.beside = True
    post_stats(snap)
    entry = snap.derived.entry("post_stats")
    snap.derived.put("post_stats", type(entry)(**{**entry.__dict__, "stale": True}))
    job = begin(snap)
    assert job is not None and "post_stats" in job.targets
    job.build()
    with store.transaction():
        store.add_posts([(9100, 2, NOW, "late #brandnew", "photo", None, 3, 0)])
    refresh_snapshot(store, snap)
    post_stats(snap)  # the serving one grows first
    job.finish(snap)
    assert job.installed == ["post_stats"] and job.dropped == []
    fresh = load_snapshot(store, cache=False)
    a, b = post_stats(snap), post_stats(fresh)
    assert a.n_live == b.n_live and np.array_equal(a.idf, b.idf)
    store.close()


def test_the_author_index_keeps_authorless_posts_out_as_accounts_and_posts_are_added(template):
    """Posts without an author (a Last.fm artist) belong to no account's group, before and
    after accounts and posts are added (some without an author); the index's tail is rebuilt
    into it past its limit."""
    store = Store.open(template)
    snap = load_snapshot(store, cache=False)
    store.close()
    snap.post_author = snap.post_author.copy()
    snap.post_author[[2, 5]] = -1
    snap._by_author()
    for i in range(3):
        n = snap.n_accounts
        snap.account_id = np.append(snap.account_id, 1000 + n)
        snap.handle = np.append(snap.handle, f"new{n}")
        snap.account_kind = np.append(snap.account_kind, np.int8(0))
        snap.post_id = np.append(snap.post_id, 5000 + i * 2 + np.arange(2))
        snap.post_author = np.append(snap.post_author, np.array([n, -1], np.int32))
        for name in ("post_taken", "post_likes", "post_comments", "post_media", "post_removed"):
            column = getattr(snap, name)
            setattr(snap, name, np.append(column, column[:2]))
        _same_authors(snap, snap.frozen())
        index = snap._by_author()
        assert len(index.tail_post) == 2 * (i + 1)  # extended, not rebuilt
        found = snap.authors_posts(np.arange(snap.n_accounts))[0]
        authorless = np.flatnonzero(snap.post_author < 0)
        assert not np.isin(authorless, found).any() and len(found) == snap.n_posts - len(authorless)
