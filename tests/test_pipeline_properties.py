"""Properties of every feed kind on random small worlds (``worlds.random_worlds``): no post twice
in a feed or across its pages, no post a filter must remove, the author rule in every block of
every page, and ``explain`` agreeing with the feed.

The oracle for the filters reads the drawn world itself (who follows whom, what ``me`` opened,
hid or blocked), not the engine's arrays.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from discovery.engine import Engine
from discovery.ranking import KINDS, Pipeline, get_ranker
from discovery.ranking.diversity import BLOCK, AuthorBudget
from worlds import NOW, RandomWorld, build_random_world, random_worlds

SEEN_KINDS = {"like", "comment", "save", "view", "click", "hide"}  # every drawn kind opens a post
WINDOW = 7 * 86_400
EXPLORE_ONLY = "followed author (explore only)"

CASES = st.tuples(
    st.sampled_from(["timeline", "explore", "blend", "interests", "random"]),
    st.lists(st.integers(1, 15), min_size=1, max_size=4),  # page sizes
    st.integers(1, 3),  # max_per_author
)


def _engine(world: RandomWorld, folder: str, per_author: int) -> Engine:
    path = Path(folder) / "w.db"
    build_random_world(path, world).close()
    engine = Engine.open(path, cache=False)
    engine.settings = engine.settings.replace(max_per_author=per_author)
    return engine


def _unwanted(world: RandomWorld, kind: str) -> dict[int, str]:
    """Post id -> why ``kind`` must never show it, from the world as drawn."""
    followed = {d for s, d in world.follows if s == 1}
    seen = {p for u, p, k, _ in world.interactions if u == 1 and k in SEEN_KINDS}
    out = {}
    for pid, author, taken, *_ in world.posts:
        if author == 1:
            out[pid] = "own"
        elif pid in seen:
            out[pid] = "seen"
        elif author in world.blocked:
            out[pid] = "blocked"
        elif not NOW - WINDOW <= taken <= NOW:
            out[pid] = "window"
        elif kind == "explore" and author in followed:
            out[pid] = "followed"
    return out


def _universe(engine: Engine, kind: str, k: int, shown: set[int]) -> set[int]:
    """Every post id a page of ``kind`` could have shown (to judge a cap-breaking fill)."""
    ctx = engine.context("me")
    ids = engine.snapshot.posts.lookup(np.array(sorted(shown), dtype=np.int64))
    ctx.shown, ctx.n_shown = np.unique(ids[ids >= 0]), len(shown)
    run = Pipeline(ctx, get_ranker("default"))
    if kind == "random":
        fresh = engine.settings.max_per_author
        parts = KINDS["random"].parts
        posts = [d.post for part in parts for d in run.picks(part, k, AuthorBudget(fresh))]
    elif kind == "blend":
        posts = [p for part in KINDS["blend"].parts for p in run.pool(part).posts.tolist()]
    elif kind == "interests":
        posts = run.pool(kind, n_tags=max(k, 10)).posts.tolist()
    else:
        posts = run.pool(kind).posts.tolist()
    return {int(engine.snapshot.post_id[p]) for p in posts}


def _pages(engine: Engine, kind: str, sizes: list[int]) -> list[list[tuple[int, str | None]]]:
    """Pages as ``engine.feed(exclude=...)`` serves them (what a cursor does)."""
    shown: set[int] = set()
    pages = []
    for k in sizes:
        args = {"kind": "blend", "mix": "random"} if kind == "random" else {"kind": kind}
        feed = engine.feed("me", k=k, exclude=shown, **args)
        pages.append([(i.post_id, i.author) for i in feed])
        shown |= {i.post_id for i in feed}
    return pages


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
@given(random_worlds(), CASES)
def test_every_feed_kind_and_page_keeps_the_rules(world, case):
    kind, sizes, m = case
    with tempfile.TemporaryDirectory() as folder:
        engine = _engine(world, folder, m)
        try:
            pages = _pages(engine, kind, sizes)
            served = [pid for page in pages for pid, _ in page]
            # no duplicate in a page or across pages
            assert len(served) == len(set(served)), pages
            # no post a filter must remove
            unwanted = _unwanted(world, kind)
            assert not [(p, unwanted[p]) for p in served if p in unwanted]
            hidden = {p for u, p, k, _ in world.interactions if u == 1 and k == "hide"}
            assert hidden.isdisjoint(served)
            _check_author_rule(engine, kind, sizes, pages, m)
            _check_explain(engine, kind, served)
        finally:
            engine.store.close()


def _check_author_rule(engine, kind, sizes, pages, m) -> None:
    """Blocks of ten over the concatenated pages; a later page charges each author
    ``min(shown, n_shown mod 10)`` places of the open block (the documented rule). An item
    over the cap is allowed only as a fill: every other post the page could show was by an
    author at the cap too, none with fewer posts in the block than the one chosen."""
    shown: list[tuple[int, str | None]] = []
    for k, page in zip(sizes, pages, strict=True):
        n0 = len(shown)
        open_places = n0 % BLOCK
        counts: Counter[str] = Counter()
        if open_places:
            for author, c in Counter(a for _, a in shown if a is not None).items():
                counts[author] = min(c, open_places)
        universe = None
        for t, (pid, author) in enumerate(page):
            if (n0 + t) % BLOCK == 0:
                counts.clear()
            if author is not None and counts[author] >= m:
                if universe is None:
                    universe = _universe(engine, kind, k, {p for p, _ in shown})
                taken = {p for p, _ in shown} | {p for p, _ in page[:t]}
                authors = {p: engine.post(p)["author"] for p in universe - taken}
                under = [p for p, a in authors.items() if a is None or counts[a] < m]
                assert not under, f"post {pid} of {author} over the cap while {under} waited"
                fewer = [p for p, a in authors.items() if counts[a] < counts[author]]
                assert not fewer, f"post {pid} of {author} filled in before {fewer}"
            if author is not None:
                counts[author] += 1
        shown += page


def _check_explain(engine: Engine, kind: str, served: list[int]) -> None:
    """A served post passed every filter its kind runs; a removed post's explain gives, first
    among its kind's reasons, the reason the kind's filter list recorded."""
    ctx = engine.context("me")
    for pid in served:
        reasons = engine.explain("me", pid)["filtered_by"]
        allowed = [] if kind == "explore" else [EXPLORE_ONLY]
        assert set(reasons) <= set(allowed), (pid, reasons)
    if kind in ("random", "blend"):
        return
    run = Pipeline(ctx, get_ranker("default"))
    pool = run.pool(kind, n_tags=10) if kind == "interests" else run.pool(kind)
    for removal in pool.filtered.removed:
        for p in removal.posts.tolist():
            reasons = engine.explain("me", int(engine.snapshot.post_id[p]))["filtered_by"]
            applied = [r for r in reasons if kind == "explore" or r != EXPLORE_ONLY]
            assert applied and applied[0] == removal.reason, (p, removal, reasons)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(random_worlds(max_posts=60), st.sampled_from(["timeline", "explore"]))
def test_two_pages_of_ten_are_one_feed_of_twenty(world, kind):
    """Pages that end on a block boundary continue the feed exactly."""
    with tempfile.TemporaryDirectory() as folder:
        engine = _engine(world, folder, 2)
        try:
            whole = [i.post_id for i in engine.feed("me", k=20, kind=kind)]
            first = [i.post_id for i in engine.feed("me", k=10, kind=kind)]
            second = [i.post_id for i in engine.feed("me", k=10, kind=kind, exclude=set(first))]
            assert whole == first + second
        finally:
            engine.store.close()


@settings(max_examples=25, deadline=None, derandomize=True)
@given(random_worlds(max_posts=60), st.sampled_from(["timeline", "explore", "interests"]))
def test_a_pages_picks_built_at_once_are_the_picks_built_one_by_one(world, kind):
    """``Pool.picks`` (every row's factors and evidence gathered at once) gives the picks
    ``Pool.pick`` builds row by row: the same posts, scores, factors and evidence, the
    evidence's sources in the same order."""
    with tempfile.TemporaryDirectory() as folder:
        engine = _engine(world, folder, 2)
        try:
            ctx = engine.context("me")
            pool = Pipeline(ctx, get_ranker("default", engine.settings)).pool(kind)
            rows = list(range(len(pool)))[::-1]
            at_once = pool.picks(ctx, rows)
            one_by_one = [pool.pick(ctx, i) for i in rows]
            assert at_once == one_by_one
            assert [list(p.evidence) for p in at_once] == [list(p.evidence) for p in one_by_one]
            assert [list(p.factors) for p in at_once] == [list(p.factors) for p in one_by_one]
        finally:
            engine.store.close()


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(-1, 5), max_size=40),
    st.integers(0, 45),
    st.integers(1, 3),
    st.integers(0, 25),
    st.dictionaries(st.integers(0, 5), st.integers(0, 3), max_size=3),
)
def test_the_array_fast_path_picks_what_the_general_loop_picks(  # type: ignore[no-untyped-def]
    authors, k, cap, position, open_counts
):
    """``diversify`` on an array order (``_plain``) against the general loop it replaces (a
    list order), from any point of a block with any counts already in it."""
    from discovery.ranking.diversity import diversify

    a = np.array(authors, dtype=np.int64)
    order = np.random.default_rng(len(authors) + k).permutation(len(authors))

    def budget() -> AuthorBudget:
        counts = {x: min(c, cap) for x, c in open_counts.items()} if position % BLOCK else {}
        return AuthorBudget(cap, position=position, counts=counts)

    b1, b2 = budget(), budget()
    fast = diversify(order, a, k, cap, budget=b1)
    plain = diversify(order.tolist(), a, k, cap, budget=b2)
    assert fast == plain
    assert (b1.position, b1.counts) == (b2.position, b2.counts)
