"""The learned ranker's P(hide) booster and its hide cost: fitted beside P(engage) on the same
rows when there are hides enough, saved in the same artifact, and spent by the ranker as
``hide_score(p_e - κ·p_h)``, positive and in the order of ``p_e - κ·p_h``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from discovery.engine import Engine
from discovery.ranking import Pipeline, user_context
from discovery.ranking.learned import HIDE_SOFTNESS, LearnedRanker, hide_score
from discovery.settings import Settings
from discovery.signals.features import FEATURES, hydrate
from discovery.signals.learned import (
    ARTIFACT,
    MIN_HIDES,
    Examples,
    RankerParams,
    load_ranker,
    save_ranker,
    train_ranker,
)
from discovery.signals.training import examples_from_impressions, impressions_of
from discovery.snapshot import load_snapshot
from discovery.store import Store
from discovery.world import generate_world

SHARE = FEATURES.index("topic_share")
LIKES = FEATURES.index("likes")


def _hidden_band(n_lists: int, hides_every: int = 3) -> Examples:
    """Lists of 10 posts. ``topic_share`` below 0.3 is a poor match: one such post in
    ``hides_every`` is hidden, none above; ``likes`` above 0.5 is liked, whatever the match.
    So P(hide) is 1/``hides_every`` below 0.3 and 0 above, and P(engage) does not depend on
    the match."""
    gen = np.random.default_rng(5)
    rows = n_lists * 10
    values = gen.random((rows, len(FEATURES))).astype(np.float32)
    poor = values[:, SHARE] < 0.3
    liked = values[:, LIKES] > 0.5
    labels = np.where(liked, 2, 1)
    hidden = poor & ~liked & (np.cumsum(poor & ~liked) % hides_every == 0)
    labels[hidden] = 0
    lists = np.repeat(np.arange(n_lists), 10)
    return Examples(FEATURES, values, labels, lists, lists * 3600)


FIT = {"objective": "engage", "rounds": 100, "valid_share": 0.2, "min_data_in_leaf": 20}


def test_the_hide_booster_learns_who_hides_and_the_engage_booster_stays_on_likes() -> None:
    data = _hidden_band(400)
    model = train_ranker(data, RankerParams(**FIT))
    assert model.hide_text is not None
    report = model.meta["hide_model"]
    train_lists = np.arange(400)[np.arange(400) * 3600 <= model.meta["valid_from"]]
    assert report["hides"] == int((data.labels[np.isin(data.lists, train_lists)] == 0).sum())
    assert report["trees"] > 0 and report["valid_logloss"] > 0
    test = _hidden_band(100)
    poor, liked = test.values[:, SHARE] < 0.3, test.values[:, LIKES] > 0.5
    p_hide = model.predict_hide(test.values)
    assert p_hide is not None
    # a third of the unliked poor matches are hidden: P(hide | poor) = 1/3 · (1 - 1/2)
    assert p_hide[poor].mean() == pytest.approx(1 / 6, abs=0.03)
    assert p_hide[~poor].mean() < 0.01
    assert (
        model.predict(test.values)[liked].mean()
        > 0.8
        > 0.2
        > model.predict(test.values)[~liked].mean()
    )


def test_too_few_hides_fit_no_hide_booster_and_lambdarank_never_does() -> None:
    few = _hidden_band(400, hides_every=1000)
    assert int((few.labels == 0).sum()) < MIN_HIDES
    model = train_ranker(few, RankerParams(**FIT))
    assert model.hide_text is None and "hide_model" not in model.meta
    assert model.predict_hide(few.values[:5]) is None
    rank = train_ranker(_hidden_band(400), RankerParams(rounds=20))
    assert rank.hide_text is None and "hide_model" not in rank.meta


def test_both_boosters_round_trip_and_an_older_artifact_has_none(tmp_path: Path) -> None:
    data = _hidden_band(300)
    model = train_ranker(data, RankerParams(**FIT))
    x = _hidden_band(20).values
    with Store.open(tmp_path / "m.db") as store:
        save_ranker(store, model)
        loaded = load_ranker(store)
        assert loaded is not None and loaded.hide_text == model.hide_text
        assert np.array_equal(loaded.predict(x), model.predict(x))
        assert np.array_equal(loaded.predict_hide(x), model.predict_hide(x))  # type: ignore[arg-type]
        # an artifact saved before the hide booster existed: the engage booster alone
        store.save_artifact(ARTIFACT, model.text.encode(), model.meta)
        old = load_ranker(store)
        assert old is not None and old.hide_text is None
        assert np.array_equal(old.predict(x), model.predict(x))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hides") / "tiny.db"
    generate_world(path, size="tiny", images=False, seed=3)
    with Store.open(path) as store:
        snap = load_snapshot(store)
        u, p, t = impressions_of(snap, since=snap.now - 7 * 86_400, users=0)
        examples = examples_from_impressions(snap, u, p, t)
        assert int((examples.labels == 0).sum()) >= 10
        params = RankerParams(objective="engage", rounds=50, min_data_in_leaf=5, min_hides=10)
        model = train_ranker(examples, params)
        assert model.hide_text is not None
        save_ranker(store, model)
    return path


def test_the_ranker_spends_the_hide_cost(world: Path) -> None:
    engine = Engine.open(world)
    model = engine.artifacts["ranker"]
    snap = engine.snapshot
    user = int(np.argmax(np.bincount(snap.inter_user, minlength=snap.n_accounts)))
    ranker = LearnedRanker(model, engine.artifacts)
    for cost in (0.0, 2.0, 50.0):
        ctx = user_context(snap, user, Settings(hide_cost=cost))
        pool = Pipeline(ctx, ranker, engine.artifacts).pool("explore")
        values = hydrate(ctx, pool.posts, pool.proposals, engine.artifacts).values
        p_e, p_h = model.predict(values), model.predict_hide(values)
        assert p_h is not None and p_h.max() > 0
        value = p_e - cost * p_h
        want = p_e if cost == 0 else np.where(
            value >= 0, value + HIDE_SOFTNESS, HIDE_SOFTNESS / (1 - value / HIDE_SOFTNESS)
        )  # fmt: skip
        assert np.allclose(pool.scores, want, rtol=1e-12, atol=0)
        assert ("p_hide" in pool.factors) == (cost > 0)
    # at a high cost most posts are worth less than nothing: they keep the order of their value
    below = value < 0
    assert below.any() and (pool.scores > 0).all()
    order = np.argsort(-pool.scores, kind="stable")
    assert (np.diff(value[order]) <= 0).all()
    feed = engine.feed(user, k=20, kind="explore", ranker="learned")  # the default cost
    assert Settings().hide_cost > 0 and all("p_hide" in item.factors for item in feed)
    # explain: the score is the value's, the contributions explain P(engage) on LightGBM's raw
    # scale for a binary model, its log-odds
    learned = engine.explain(user, feed.items[0].post_id)["rankers"]["learned"]
    f = learned["factors"]
    assert learned["score"] == pytest.approx(
        float(hide_score(np.array([f["p_engage"] - Settings().hide_cost * f["p_hide"]]))[0])
    )
    logit = np.log(f["p_engage"] / (1 - f["p_engage"]))
    assert sum(learned["contributions"].values()) == pytest.approx(logit)


def test_hide_score_is_positive_and_in_the_order_of_the_value() -> None:
    from hypothesis import given
    from hypothesis import strategies as st

    @given(st.lists(st.floats(-100.0, 1.0, allow_nan=False), min_size=1, max_size=50))
    def check(values: list[float]) -> None:
        v = np.array(values)
        s = hide_score(v)
        assert (s > 0).all()
        order = np.argsort(v, kind="stable")
        assert (np.diff(s[order]) >= 0).all()  # never out of order
        # and apart wherever the values are (beyond float resolution near 0 and near -100)
        assert (np.diff(s[order])[np.diff(v[order]) > 1e-9] > 0).all()

    check()


def test_the_learned_blend_scales_explore_by_its_own_setting(world: Path) -> None:
    """The blend multiplies explore scores by ``learned_explore_scale`` under the learned
    ranker and by ``explore_scale`` under the default one; each ignores the other's."""
    engine = Engine.open(world)
    snap = engine.snapshot
    user = int(np.argmax(np.bincount(snap.inter_user, minlength=snap.n_accounts)))

    def blend(ranker: str, **changes: float) -> list[tuple[int, float | None]]:
        feed = engine.feed(user, k=20, ranker=ranker, settings=Settings(**changes))
        return [(it.post_id, it.factors.get("explore_scale")) for it in feed.items]

    learned = blend("learned", learned_explore_scale=0.7, explore_scale=0.1)
    assert learned == blend("learned", learned_explore_scale=0.7, explore_scale=2.0)
    assert {s for _, s in learned if s is not None} == {0.7}
    default = blend("default", explore_scale=0.3, learned_explore_scale=0.1)
    assert default == blend("default", explore_scale=0.3, learned_explore_scale=2.0)
    assert {s for _, s in default if s is not None} == {0.3}

    # a larger scale lets more explore posts in: none at 0 (the timeline has enough), more at 2
    def n_explore(scale: float) -> int:
        return sum(s is not None for _, s in blend("learned", learned_explore_scale=scale))

    assert n_explore(0.0) <= n_explore(1.0) <= n_explore(2.0)
    assert n_explore(0.0) < n_explore(2.0)
