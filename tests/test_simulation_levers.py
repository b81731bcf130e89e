"""Levers of issue 13 §4 on the tiny world: impressions counted as seen."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from discovery.engine import Engine
from discovery.ranking import Pipeline, get_ranker
from discovery.ranking.context import passed_over
from discovery.settings import Settings
from discovery.simulation import SimConfig, run, scratch_copy
from discovery.snapshot import load_snapshot
from discovery.store import Store
from discovery.store.events import EventRow, record_events
from discovery.store.model import KIND_CODE
from discovery.world import generate_world
from discovery.world.config import NOW


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("levers") / "tiny.db"
    generate_world(path, "tiny", images=False, now=NOW)
    return path


def test_passed_over_counts_impressions_per_post() -> None:
    imp, like, click = KIND_CODE["impression"], KIND_CODE["like"], KIND_CODE["click"]
    kinds = np.array([imp, imp, like, imp, click, imp, imp])
    posts = np.array([4, 4, 5, 6, 6, 9, 4])
    # post 4: three impressions; 6 and 9: one each; 5 was only liked (seen anyway)
    assert passed_over(kinds, posts, 1).tolist() == [4, 6, 9]
    assert passed_over(kinds, posts, 3).tolist() == [4]
    assert passed_over(kinds, posts, 4).tolist() == []


def _timeline_post(engine: Engine, user: int) -> int:
    """The top post of ``user``'s timeline that they have no interaction with."""
    ctx = engine.context(user)
    pool = Pipeline(ctx, get_ranker("default")).pool("timeline")
    touched = set(ctx.snap.inter_post[ctx.snap.user_interactions(user)].tolist())
    for p in pool.posts[np.argsort(-pool.scores)].tolist():
        if p not in touched:
            return int(p)
    raise AssertionError("no untouched timeline post")


def _reason(engine: Engine, user: int, post: int, after: int) -> str | None:
    ctx = engine.context(user, Settings().replace(seen_after_impressions=after))
    return Pipeline(ctx, get_ranker("default")).pool("timeline").filtered.reason_for(post)


def test_a_post_shown_n_times_leaves_the_feed(tiny: Path, tmp_path: Path) -> None:
    with Store.open(tiny, create=False) as src:
        store = scratch_copy(src, tmp_path)
    try:
        engine = Engine(store, load_snapshot(store, cache=False))
        user = int(np.argmax(np.bincount(engine.snapshot.follow_src)))  # follows the most
        post = _timeline_post(engine, user)
        uid, pid = int(engine.snapshot.account_id[user]), int(engine.snapshot.post_id[post])
        for n in (1, 2):  # the n-th impression of the post, then what each setting does
            row = EventRow(f"lever-{n}", uid, "impression", NOW - 100 + n, pid)
            record_events(store, [row], received_at=NOW)
            engine.refresh()
            assert _reason(engine, user, post, 0) is None  # impressions never count
            assert _reason(engine, user, post, 1) == "already seen"
            assert _reason(engine, user, post, 2) == ("already seen" if n == 2 else None)
            assert _reason(engine, user, post, 3) is None
    finally:
        store.close()


def test_counting_impressions_as_seen_ends_repeats(tiny: Path, tmp_path: Path) -> None:
    """With impressions not counted (``seen_after_impressions=0``) the engine serves again
    posts a user scrolled past (they draw no response); with the default, 1, never twice."""
    with Store.open(tiny, create=False) as src:
        store = scratch_copy(src, tmp_path)
    try:
        arms = ("blend:seen_after_impressions=0", "blend")
        log = run(store, SimConfig(days=3, users=120, arms=arms, samples=20, seed=3))
    finally:
        store.close()
    repeats = {a: 0 for a in arms}
    for _, r in log.impressions:
        arm = log.arm[np.searchsorted(log.users, r.user)]
        for a, name in enumerate(arms):
            repeats[name] += int(r.repeat[arm == a].sum())
    assert repeats["blend:seen_after_impressions=0"] > 0 and repeats["blend"] == 0, repeats
