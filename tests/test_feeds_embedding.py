"""The ``embedding`` source in the feeds, on the known world with two fresh posts nobody liked.

``me`` liked 501-503 (30-40 days ago). Two posts by yan, whom nobody in me's circle follows,
arrive 1 h before now with no likes, comments or hashtags: 701 looks like what me liked, 702
does not (its vector is orthogonal to all of them). No engagement-based source can find either;
the known world is small enough that the ``popular`` floor proposes every recent post, so both
are in explore — 701 because it looks like the liked photos, 702 only as a popular-floor post.
Without stored vectors the embedding source proposes nothing and the feeds are what they were.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from discovery.engine import Engine
from discovery.ranking.feedkinds import EXPLORE, explained_sources
from discovery.store import Store
from worlds import NOW, H, build_known_world

LOOKS = "looks like photos you liked"
#: id, author, taken_at, caption, likes, comments
FRESH = [(701, 8, NOW - 1 * H, "Untitled", 0, 0), (702, 8, NOW - 1 * H, "Untitled", 0, 0)]
#: 3-d fake "image" vectors: the liked posts point near x, 701 too, 702 along z.
VECTORS = {
    501: [1.0, 0.0, 0.0],
    502: [0.96, 0.28, 0.0],
    503: [1.0, 0.0, 0.0],
    701: [0.98, 0.2, 0.0],
    702: [0.0, 0.0, 1.0],
}


@pytest.fixture
def fresh_db(tmp_path: Path) -> Path:
    path = tmp_path / "fresh.db"
    build_known_world(path, extra_posts=FRESH).close()
    return path


def store_vectors(path: Path) -> None:
    with Store.open(path) as store:
        data = np.array(list(VECTORS.values()), np.float32)
        store.add_vectors("fake-image@1", list(VECTORS), data)


def items_by_id(engine: Engine, kind: str, k: int = 20) -> dict[int, object]:
    return {it.post_id: it for it in engine.feed("me", k=k, kind=kind).items}


def test_explore_declares_the_embedding_source_and_explain_asks_it() -> None:
    assert "embedding" in EXPLORE.sources
    assert "embedding" in explained_sources()


def test_without_vectors_the_fresh_posts_are_only_popular(fresh_db: Path) -> None:
    engine = Engine.open(fresh_db, cache=False)
    explore = items_by_id(engine, "explore")
    for post in (701, 702):
        item = explore[post]
        assert item.sources == ["popular"], (post, item.sources)  # type: ignore[attr-defined]
        assert item.reason == "popular this week"  # type: ignore[attr-defined]
    assert "embedding" not in engine.explain("me", 701)["sources"]
    assert "vectors" not in engine.request_artifacts()


def test_a_fresh_post_like_the_liked_ones_comes_from_the_embedding_source(fresh_db: Path):
    store_vectors(fresh_db)
    engine = Engine.open(fresh_db, cache=False)
    explore = items_by_id(engine, "explore")
    near, far = explore[701], explore[702]
    assert "embedding" in near.sources and near.reason == LOOKS  # type: ignore[attr-defined]
    assert far.sources == ["popular"] and far.reason == "popular this week"  # type: ignore[attr-defined]
    blend = items_by_id(engine, "blend", k=30)
    assert "embedding" in blend[701].sources and blend[701].reason == LOOKS  # type: ignore[attr-defined]
    # the other explore posts are explained as before: the social sources come first
    assert explore[301].reason.startswith("liked by @ana")  # type: ignore[attr-defined]

    near_x, far_x = engine.explain("me", 701), engine.explain("me", 702)
    assert "embedding" in near_x["sources"] and near_x["reason"] == LOOKS
    assert "embedding" not in far_x["sources"] and far_x["reason"] == "popular this week"


def test_the_taste_model_feeds_the_learned_rankers_feature(fresh_db: Path) -> None:
    """The learned ranker's ``embedding_sim`` reads the same vectors: the cosine of each post
    with the mean of me's liked vectors (501-503: mean (0.987, 0.093, 0) normalised)."""
    from discovery.signals.features import hydrate

    store_vectors(fresh_db)
    engine = Engine.open(fresh_db, cache=False)
    snap = engine.snapshot
    posts = snap.posts.lookup(np.array([701, 702, 302], np.int64))
    fm = hydrate(engine.context("me"), posts, (), engine.request_artifacts())
    sim = fm.values[:, fm.names.index("embedding_sim")]
    taste = np.array([2.96, 0.28, 0.0]) / np.linalg.norm([2.96, 0.28, 0.0])
    v701 = np.array([0.98, 0.2, 0.0]) / np.linalg.norm([0.98, 0.2, 0.0])
    assert sim == pytest.approx([v701 @ taste, 0.0, 0.0], abs=2e-3)  # float16 storage


def test_the_exact_window_and_the_index_find_the_same_posts(fresh_db: Path) -> None:
    """A small window is scored exactly; forcing the index (``exact_cells=0``) must agree:
    of the window's posts with vectors, 701 is near the taste and 702 (cosine 0) is not."""
    from discovery.ranking.taste import EmbeddingSource

    store_vectors(fresh_db)
    engine = Engine.open(fresh_db, cache=False)
    ctx, snap = engine.context("me"), engine.snapshot
    vectors = engine.request_artifacts()["vectors"]
    exact = EmbeddingSource(vectors).candidates(ctx).posts
    index = EmbeddingSource(vectors, exact_cells=0).candidates(ctx).posts
    assert snap.post_id[exact].tolist() == snap.post_id[index].tolist() == [701]


def test_the_simulator_serves_with_the_stored_vectors(
    fresh_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A simulated feed is built as a served one is, stored vectors included: me's explore in
    the simulator has 701 from the embedding source (it used to rank with the models only)."""
    from types import SimpleNamespace

    import discovery.ranking.pipeline as pipeline
    from discovery.simulation.arms import EngineArm

    store_vectors(fresh_db)
    engine = Engine.open(fresh_db, cache=False)
    sources: dict[int, list[str]] = {}

    class Recording(pipeline.Pipeline):
        def picks(self, kind: Any, k: int) -> Any:
            out = super().picks(kind, k)
            snap = self.ctx.snap
            sources.update({int(snap.post_id[p.post]): p.sources for p in out})
            return out

    monkeypatch.setattr(pipeline, "Pipeline", Recording)
    day = SimpleNamespace(engine=engine, k=20)
    (served,) = EngineArm("explore", "explore", "default").serve(day, np.array([0]), np.zeros(1))
    assert 701 - 1 in served.tolist()  # the simulator's post ids are the store's minus one
    assert "embedding" in sources[701]
