"""Structures lagging the interaction log take in its appended rows when their lag runs out in
a server (a catch-up), instead of being built again over the whole log: each caught-up value
equals a build from scratch on the same arrays, whatever rows, posts and accounts arrived in
between, and what is built on them is rebuilt on the caught-up values."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from discovery.ranking.affinity import engagement_pairs, follow_adjacency
from discovery.ranking.stats import post_stats
from discovery.signals.engaged import engaged_columns
from discovery.signals.exposure import exposure_counts
from discovery.signals.pairs import log_pairs, take_in
from discovery.snapshot import LogAt, Snapshot, load_snapshot, refresh_snapshot
from discovery.snapshot.load import WITHDRAWN
from discovery.snapshot.rebuild import begin
from discovery.store import Store
from discovery.store.model import KIND_CODE
from worlds import ACCOUNTS, NOW, POSTS, build_known_world

H = 3600
CAUGHT = ("engaged_columns", "engagement_pairs", "exposure_counts", "post_stats")
KINDS = ("impression", "like", "hide", "click", "comment", "save", "view")


# ------------------------------------------------------------ the pair counts, plainly
def plain_pairs(user, post, kind, n_posts):
    """The distinct pairs by kind with Python sets, and per post the seen pairs with each."""
    by = {k: {(u, p) for u, p, x in zip(user, post, kind, strict=True) if x == KIND_CODE[k]}
          for k in ("impression", "like", "hide", "click")}  # fmt: skip
    seen = by["impression"]
    out = {"seen": np.zeros(n_posts)}
    for name, k in (("liked", "like"), ("hidden", "hide"), ("clicked", "click")):
        out[name] = np.zeros(n_posts)
        for _, p in by[k] & seen:
            out[name][p] += 1
    for _, p in seen:
        out["seen"][p] += 1
    return out, {k: len(v & seen) if k != "impression" else len(v) for k, v in by.items()}


def _log(rows, n_posts) -> Snapshot:
    user, post, kind = (np.array(c, dtype=t) for c, t in zip(zip(*rows, strict=True) if rows
                        else ((), (), ()), (np.int32, np.int32, np.int8), strict=True))  # fmt: skip
    return dataclasses.replace(
        Snapshot.empty(), account_id=np.arange(5, dtype=np.int64),
        post_id=np.arange(n_posts, dtype=np.int64),
        inter_user=user, inter_post=post, inter_kind=kind,
    )  # fmt: skip


row = st.tuples(
    st.integers(0, 4),
    st.integers(0, 5),
    st.sampled_from([KIND_CODE[k] for k in ("impression", "like", "hide", "click", "view")]),
)


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(row, max_size=40),
    share=st.floats(0, 1),
    withdrawn=st.lists(st.integers(0, 39), max_size=8),
)
@example(rows=[(0, 0, KIND_CODE["impression"]), (0, 0, KIND_CODE["like"])], share=0.5, withdrawn=[])
@example(
    rows=[(0, 0, KIND_CODE["click"]), (0, 0, KIND_CODE["impression"])], share=0.5, withdrawn=[]
)
@example(  # an unlike of a pair seen: uncounted; an impression withdrawn with another left: kept
    rows=[(0, 0, KIND_CODE["impression"]), (0, 0, KIND_CODE["like"]),
          (1, 0, KIND_CODE["impression"]), (1, 0, KIND_CODE["impression"]),
          (1, 0, KIND_CODE["like"])],
    share=1.0, withdrawn=[1, 2],
)  # fmt: skip
def test_pairs_taken_in_equal_pairs_counted_from_scratch_and_plain_sets(rows, share, withdrawn):
    """A like before its impression, after it, twice, without one, withdrawn: the counts equal
    those of plain Python sets over the live rows, whether counted at once or the first rows
    and then the rest, with rows withdrawn on either side of the cut."""
    cut = int(share * len(rows))
    first = log_pairs(_log(rows[:cut], 6 if cut == len(rows) else 4))  # posts added since too
    snap = _log(rows, 6)
    gone = np.unique([i for i in withdrawn if i < len(rows)]).astype(np.int64)
    snap.withdraw(gone, WITHDRAWN)
    taken = take_in(first, snap, LogAt(cut, 0))
    whole = log_pairs(snap)
    live = [r for i, r in enumerate(rows) if i not in set(gone.tolist())]
    per_post, totals = plain_pairs(*(zip(*live, strict=True) if live else ((), (), ())), 6)
    for pairs in (whole, taken):
        assert pairs.post_seen.tolist() == per_post["seen"].tolist()
        assert pairs.post_liked.tolist() == per_post["liked"].tolist()
        assert pairs.post_hidden.tolist() == per_post["hidden"].tolist()
        assert pairs.post_clicked.tolist() == per_post["clicked"].tolist()
        assert (len(pairs.seen), pairs.n_liked, pairs.n_hidden, pairs.n_clicked) == (
            totals["impression"],
            totals["like"],
            totals["hide"],
            totals["click"],
        )
        for a, b in zip(_arrays(pairs), _arrays(whole), strict=True):
            assert np.array_equal(a, b)


# --------------------------------------------------------------- through the rebuild beside
@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("catch") / "w.db"
    build_known_world(path).close()
    return path


def _opened(template: Path, path: Path, beside: bool) -> tuple[Store, Snapshot]:
    """A copy of the known world, its snapshot (rebuilding beside, as a server's, or not) with
    the log's structures built."""
    shutil.copy(template, path)
    store = Store.open(path)
    snap = load_snapshot(store, cache=False)
    snap.derived.beside = beside
    _use(snap)
    return store, snap


def _use(snap: Snapshot) -> None:
    exposure_counts(snap), engaged_columns(snap), post_stats(snap), engagement_pairs(snap)
    follow_adjacency(snap, True)


def _arrays(value) -> tuple:
    if isinstance(value, tuple):
        return tuple(a for v in value for a in _arrays(v))
    if sp.issparse(value):
        return (value.indptr, value.indices, value.data, np.array(value.shape))
    if isinstance(value, np.ndarray):
        return (value,)
    if isinstance(value, float | int):
        return (np.array([value]),)
    if value is None:
        return ()
    return tuple(a for f in dataclasses.fields(value) for a in _arrays(getattr(value, f.name)))


step = st.one_of(
    st.tuples(
        st.just("rows"),
        st.lists(
            # few users and posts: pairs seen in one round are liked, hidden, clicked in another
            st.tuples(
                st.sampled_from(sorted(ACCOUNTS)[:3]), st.integers(0, 3), st.sampled_from(KINDS)
            ),
            min_size=1,
            max_size=12,
        ),
    ),
    st.tuples(st.just("post"), st.sampled_from(sorted(ACCOUNTS))),
    st.tuples(st.just("account"), st.booleans()),
    # an unlike, a withdrawn impression, a deleted post: their rows withdrawn
    st.tuples(
        st.just("unlike"), st.tuples(st.sampled_from(sorted(ACCOUNTS)[:3]), st.integers(0, 3))
    ),
    st.tuples(
        st.just("unsee"), st.tuples(st.sampled_from(sorted(ACCOUNTS)[:3]), st.integers(0, 3))
    ),
    st.tuples(st.just("delete"), st.integers(0, 3)),
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rounds=st.lists(st.lists(step, min_size=1, max_size=4), min_size=1, max_size=3))
@example(rounds=[[("rows", [(1, 0, "impression")])], [("rows", [(1, 0, "like"), (1, 0, "hide")])]])
@example(
    rounds=[
        [("rows", [(1, 0, "impression"), (1, 0, "like"), (2, 0, "like"), (2, 0, "comment")])],
        [("unlike", (1, 0)), ("unlike", (2, 0)), ("rows", [(1, 0, "like")])],
    ]
)
def test_structures_caught_up_beside_equal_a_build_from_scratch(template, tmp_path, rounds):
    store, snap = _opened(template, tmp_path / f"c{abs(hash(str(rounds)))}.db", beside=True)
    posts = [p[0] for p in POSTS]
    accounts = sorted(ACCOUNTS)
    t = NOW + H
    for steps in rounds:
        for kind, arg in steps:
            t += 60
            with store.transaction():
                if kind == "rows":
                    rows = [(a, posts[i % len(posts)], k, t + j, None) for j, (a, i, k) in
                            enumerate(arg)]  # fmt: skip
                    store.add_interactions(rows)
                elif kind == "unlike":
                    store.remove_interactions([(arg[0], posts[arg[1]], "like")])
                elif kind == "unsee":
                    store.remove_interactions([(arg[0], posts[arg[1]], "impression")])
                elif kind == "delete":
                    store.remove_posts([posts.pop(arg)])
                elif kind == "post":
                    posts.append(9000 + (t - NOW) // 60)  # one id per step
                    store.add_posts([(posts[-1], arg, t, "new #hiking", "photo", None, 0, 0)])
                else:
                    accounts.append(100 + len(accounts))
                    store.add_accounts([(accounts[-1], f"new{accounts[-1]}", "", "person", t)])
                    if arg:  # who signs up and engages at once
                        store.add_interactions([(accounts[-1], posts[0], "like", t, None)])
            refresh_snapshot(store, snap)
            _use(snap)  # serving meanwhile: growing structures extended
        before = {k: snap.derived.entry(k) for k in CAUGHT}
        weighted = snap.derived.entry("adjacency_w1")
        for key, entry in before.items():  # their lag ran out
            snap.derived.put(key, dataclasses.replace(entry, stale=True))
        job = begin(snap)
        assert job is not None and "adjacency_w1" not in job.targets  # it has a lag of its own
        job.build()
        job.finish(snap)
        assert sorted(job.caught) == list(CAUGHT) and set(CAUGHT) <= set(job.installed)
        for key, entry in before.items():
            now = snap.derived.entry(key)
            assert now.log_at == snap.log_at() and not now.stale
            assert now.origin != entry.origin
        assert snap.derived.entry("adjacency_w1").origin == weighted.origin  # kept, lagging
        # then the weighted graph's own lag runs out: rebuilt beside on the caught-up pairs
        snap.derived.put("adjacency_w1", dataclasses.replace(weighted, stale=True))
        job = begin(snap)
        assert job is not None
        job.build()
        job.finish(snap)
        assert job.installed == ["adjacency_w1"] and not snap.derived.stale()
        fresh = snap.frozen()  # the same arrays, an empty registry: built from scratch
        _use(fresh)
        for key in (*CAUGHT, "adjacency_w1"):
            mine, theirs = _arrays(snap.derived.get(key)), _arrays(fresh.derived.get(key))
            assert len(mine) == len(theirs), key
            for a, b in zip(mine, theirs, strict=True):
                assert np.array_equal(a, b), key
    store.close()


def test_a_catch_up_is_declared_on_the_interaction_log_only():
    from discovery.snapshot import FOLLOWS_LAG

    snap = Snapshot.empty()
    with pytest.raises(ValueError, match="catch-up is for a structure lagging"):
        snap.derive_of("x", lambda s: 0, depends_on=(FOLLOWS_LAG,), catch_up=lambda *a: 0)


def _unlike_first(store: Store, snap: Snapshot) -> None:
    liked = np.flatnonzero(snap.inter_kind == KIND_CODE["like"])[0]
    user = int(snap.account_id[snap.inter_user[liked]])
    post = int(snap.post_id[snap.inter_post[liked]])
    with store.transaction():
        assert store.remove_interactions([(user, post, "like")]) == 1
    refresh_snapshot(store, snap)


def _same_as_fresh(snap: Snapshot, keys: tuple[str, ...] = CAUGHT) -> None:
    fresh = snap.frozen()
    _use(fresh)
    for key in keys:
        mine, theirs = _arrays(snap.derived.get(key)), _arrays(fresh.derived.get(key))
        assert len(mine) == len(theirs), key
        assert all(np.array_equal(a, b) for a, b in zip(mine, theirs, strict=True)), key


def _stale(snap: Snapshot, keys: tuple[str, ...]) -> None:
    """Mark ``keys`` stale, as a lag running out does in a server."""
    for key in keys:
        snap.derived.put(key, dataclasses.replace(snap.derived.entry(key), stale=True))


def test_an_unlike_counts_toward_the_lags_and_the_catch_up_takes_it_in(template, tmp_path):
    """An unlike is a change of the log like an appended row: the structures lagging it keep
    serving, neither dropped nor stale, in a server or not (marking them stale at every unlike
    kept the large world's rebuild beside busy without pause at 10 unlikes a second); the
    withdrawals count toward their lags (one change each), and the catch-up when a lag runs
    out takes them in, equal to a build from scratch."""
    for beside in (False, True):
        store, snap = _opened(template, tmp_path / f"u{beside}.db", beside=beside)
        before = {k: snap.derived.entry(k).origin for k in (*CAUGHT, "adjacency_w1")}
        changes = snap._clock("interactions")[0]
        _unlike_first(store, snap)
        _unlike_first(store, snap)
        assert snap._clock("interactions")[0] == changes + 2
        now = {k: snap.derived.entry(k) for k in before}
        assert {k: e.origin for k, e in now.items()} == before  # still serving
        assert not snap.derived.stale()
        if beside:  # their lag ran out: caught up beside, the two withdrawals taken in
            _stale(snap, CAUGHT)
            job = begin(snap)
            assert job is not None
            job.build()
            job.finish(snap)
            assert sorted(job.caught) == list(CAUGHT) and not snap.derived.stale()
            _same_as_fresh(snap)
        # the weighted graph lags on: its edge me -> ana two likes too heavy
        fresh = snap.frozen()
        _use(fresh)
        diff = snap.derived.get("adjacency_w1") - fresh.derived.get("adjacency_w1")
        me, ana = snap.account_index("me"), snap.account_index("ana")  # me liked ana's 501, 502
        assert (diff.nnz, diff[me, ana]) == (1, 2.0)
        store.close()


def test_a_like_withdrawn_during_a_catch_up_is_caught_up_next(template, tmp_path):
    """The copy a rebuild reads keeps its kinds when a like is withdrawn meanwhile (the live
    snapshot writes its own copy); what is swapped in took the log in as of the copy, and the
    next catch-up takes the withdrawal in."""
    store, snap = _opened(template, tmp_path / "d.db", beside=True)
    with store.transaction():
        store.add_interactions([(1, POSTS[0][0], "like", NOW + H, None)])
    refresh_snapshot(store, snap)
    _stale(snap, CAUGHT)
    job = begin(snap)
    assert job is not None
    kinds = job.copy.inter_kind.copy()
    _unlike_first(store, snap)
    assert np.array_equal(job.copy.inter_kind, kinds)  # the copy's rows as they were
    assert not np.array_equal(snap.inter_kind, kinds)
    job.build()
    job.finish(snap)
    assert set(CAUGHT) <= set(job.installed) and not snap.derived.stale()
    for key in CAUGHT:  # installed with the copy's clock: the withdrawal since counts
        assert snap.derived.entry(key).log_at == job.copy.log_at() != snap.log_at()
    _stale(snap, CAUGHT)  # their lag runs out: the next catch-up takes the withdrawal in
    again = begin(snap)
    assert again is not None
    again.build()
    again.finish(snap)
    assert not snap.derived.stale()
    _same_as_fresh(snap)
    store.close()
