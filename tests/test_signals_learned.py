"""The learned ranker: graded labels by hand, a synthetic ranking it must recover exactly, the
time split, save/load, the pipeline and explain on a generated world, and the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from discovery.engine import Engine
from discovery.ranking import Pipeline, user_context
from discovery.ranking.learned import LearnedRanker
from discovery.settings import Settings
from discovery.signals.features import FEATURES, hydrate
from discovery.signals.learned import (
    Examples,
    RankerParams,
    grade_labels,
    load_ranker,
    save_ranker,
    train_ranker,
)
from discovery.signals.training import examples_from_impressions, impressions_of
from discovery.snapshot import load_snapshot
from discovery.store import Store
from discovery.world import generate_world

pytest.importorskip("lightgbm", reason="the learned ranker needs the eval extra (lightgbm)")
pytest.importorskip("implicit", reason="ALS features need the eval extra (implicit)")

LIKE, COMMENT, SAVE, HIDE = 0, 1, 2, 7


def test_grades_by_hand() -> None:
    # user 1 saw posts 5, 6, 7, 8 at t=100; horizon 50
    users = np.array([1, 1, 1, 1])
    posts = np.array([5, 6, 7, 8])
    times = np.full(4, 100)
    iu = np.array([1, 1, 1, 1, 1, 2])
    ip = np.array([5, 6, 6, 7, 8, 8])
    kind = np.array([LIKE, LIKE, SAVE, HIDE, LIKE, COMMENT])
    at = np.array([120, 110, 140, 130, 151, 120])
    # 5: liked -> 2; 6: liked then saved -> 3; 7: hidden -> 0; 8: liked after the horizon
    # (and someone else's comment) -> 1
    got = grade_labels(users, posts, times, iu, ip, kind, at, horizon=50)
    assert got.tolist() == [2, 3, 0, 1]
    # a hide wins over an earlier like
    got = grade_labels(
        np.array([1]), np.array([5]), np.array([0]), np.array([1, 1]), np.array([5, 5]),
        np.array([LIKE, HIDE]), np.array([1, 2]), horizon=10,
    )  # fmt: skip
    assert got.tolist() == [0]


def _synthetic(n_lists: int, seed: int) -> Examples:
    """Lists whose right order is known: grade 3/2/1 (gains 3/1/0) by which of three separate
    bands ``likes`` is in; every other feature is noise."""
    gen = np.random.default_rng(seed)
    rows = n_lists * 10
    values = gen.random((rows, len(FEATURES))).astype(np.float32)
    labels = gen.integers(1, 4, rows)
    # bands with gaps between them: 0-0.3, 0.35-0.65, 0.7-1
    values[:, FEATURES.index("likes")] = 0.35 * (labels - 1) + 0.3 * gen.random(rows)
    lists = np.repeat(np.arange(n_lists), 10)
    times = np.repeat(np.arange(n_lists) * 3600, 10)
    return Examples(FEATURES, values, labels, lists, times)


def test_recovers_a_known_ranking_and_splits_by_time() -> None:
    train = _synthetic(400, seed=1)
    split = train_ranker(train, RankerParams(rounds=20))
    # the latest fifth of the lists validated: lists 320..399, from hour 320
    assert split.meta["valid_lists"] == 80 and split.meta["valid_from"] == 320 * 3600
    model = train_ranker(train, RankerParams(rounds=100, valid_share=0))  # all 100 trees
    assert model.meta["trees"] == 100
    test = _synthetic(50, seed=2)
    scores = model.predict(test.values)
    for i in range(50):
        rows = slice(10 * i, 10 * i + 10)
        gain = test.labels[rows]
        order = np.argsort(-scores[rows], kind="stable")
        # every post of a higher gain is ranked above every post of a lower one
        assert (np.diff(gain[order]) <= 0).all()
    # TreeSHAP: the contributions of a row sum to its score
    contrib = model.contributions(test.values[:20])
    assert np.allclose(contrib.sum(axis=1), scores[:20])


def _hides_and_likes() -> Examples:
    """100 lists of two posts, A (``likes`` = 1) and B (0), every other feature 0. A and B are
    each liked in 30 lists; A is hidden in 30 more (B ignored there). Per post: A has E=30
    likes, H=30 hides, N=40 ignores; B has E=30, N=70."""
    a_b = [(2, 1)] * 30 + [(1, 2)] * 30 + [(0, 1)] * 30 + [(1, 1)] * 10
    labels = np.array(a_b).ravel()
    values = np.zeros((200, len(FEATURES)), np.float32)
    values[0::2, FEATURES.index("likes")] = 1.0
    lists = np.repeat(np.arange(100), 2)
    return Examples(FEATURES, values, labels, lists, lists * 3600)


def test_engage_objective_ranks_a_post_that_draws_hides_below_one_that_does_not() -> None:
    data, a, b = _hides_and_likes(), 0, 1
    # the optimum below is the objective's: no L2 shrinkage of the leaves, no sampling
    fit = {"rounds": 300, "learning_rate": 0.1, "min_data_in_leaf": 1, "valid_share": 0}
    fit |= {"lambda_l2": 0.0, "feature_fraction": 1.0, "bagging_fraction": 1.0}
    engage = train_ranker(data, RankerParams(objective="engage", hide_penalty=4.0, **fit))
    p = engage.predict(data.values[:2])
    # P(engage) with hides weighing 1 + 4 ignores: A 30 / (30 + 40 + 5·30), B 30 / (30 + 70)
    assert p[a] == pytest.approx(30 / 220, abs=1e-3) and p[b] == pytest.approx(0.3, abs=1e-3)
    # without the penalty A and B are alike: 30 / 100 each
    plain = train_ranker(data, RankerParams(objective="engage", hide_penalty=0.0, **fit))
    assert plain.predict(data.values[:2]) == pytest.approx([0.3, 0.3], abs=1e-3)
    # LambdaRank's gains make a hide no worse than nothing: A and B tie
    rank = train_ranker(data, RankerParams(objective="lambdarank", **fit)).predict(data.values[:2])
    assert rank[a] == pytest.approx(rank[b])
    assert engage.meta["objective"] == "engage" and engage.meta["lists"] == 100
    with pytest.raises(ValueError, match="objective 'pointwise'"):
        train_ranker(data, RankerParams(objective="pointwise"))


def test_save_load_round_trip(tmp_path: Path) -> None:
    model = train_ranker(_synthetic(60, seed=3), RankerParams(rounds=20))
    with Store.open(tmp_path / "m.db") as store:
        assert save_ranker(store, model) == 1 and save_ranker(store, model) == 2
        loaded = load_ranker(store)
        assert loaded is not None and loaded.version == 2 and loaded.names == FEATURES
        assert load_ranker(store, 1) is not None
    x = _synthetic(5, seed=4).values
    assert np.array_equal(loaded.predict(x), model.predict(x))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("learned") / "tiny.db"
    generate_world(path, size="tiny", images=False, seed=3)
    with Store.open(path) as store:
        snap = load_snapshot(store)
        u, p, t = impressions_of(snap, since=snap.now - 3 * 86_400, users=40)
        examples = examples_from_impressions(snap, u, p, t)
        assert len(examples) > 50 and examples.labels.max() >= 2
        save_ranker(store, train_ranker(examples, RankerParams(rounds=50, min_data_in_leaf=5)))
    return path


def test_learned_feed_scores_are_the_model_on_hydrated_features(world: Path) -> None:
    engine = Engine.open(world)
    model = engine.artifacts["ranker"]
    snap = engine.snapshot
    user = int(np.argmax(np.bincount(snap.inter_user, minlength=snap.n_accounts)))
    feed = engine.feed(user, k=10, kind="explore", ranker="learned")
    assert feed.ranker == "learned" and len(feed) == 10
    assert all(set(FEATURES) | {"learned"} <= set(it.factors) for it in feed)
    ctx = user_context(snap, user, Settings())
    pool = Pipeline(ctx, LearnedRanker(model, engine.artifacts), engine.artifacts).pool("explore")
    direct = model.predict(hydrate(ctx, pool.posts, pool.proposals, engine.artifacts).values)
    assert np.allclose(pool.scores, direct)
    by_id = dict(zip(snap.post_id[pool.posts].tolist(), direct.tolist(), strict=True))
    for it in feed:
        assert it.score == pytest.approx(by_id[it.post_id])
        assert it.factors["src_als"] == float("als" in it.sources)
    explained = engine.explain(user, feed.items[0].post_id)["rankers"]["learned"]
    assert sum(explained["contributions"].values()) == pytest.approx(explained["score"])


def test_without_a_model_learned_is_the_default(world: Path, tmp_path: Path) -> None:
    engine = Engine.open(world)
    plain = Engine(engine.store, engine.snapshot, artifacts={})
    user = 7
    a = plain.feed(user, k=10, kind="blend", ranker="learned")
    b = plain.feed(user, k=10, kind="blend", ranker="default")
    assert a.ranker == "default" and [i.post_id for i in a] == [i.post_id for i in b]
    assert "learned" not in plain.explain(user, a.items[0].post_id)["rankers"]


def test_cli_trains_a_ranker_and_refuses_bad_input(world: Path, tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "discovery", "--db", str(world), *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=600)

    out = run("train", "ranker", "--days", "2", "--users", "30", "--rounds", "20")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ranker version 2 from impressions: ")
    bad = run("train", "ranker", "--from", "nowhere")
    assert bad.returncode == 1 and bad.stderr.strip().splitlines() == [
        "error: --from: expected auto, log, impressions or candidates, got 'nowhere'"
    ]
    bad = run("train", "ranker", "--objective", "pointwise")
    assert bad.returncode == 1 and bad.stderr.strip().splitlines() == [
        "error: --objective: expected lambdarank or engage, got 'pointwise'"
    ]
    for hostile in ("-5", "1e309", "nan"):  # negative, infinite, not a number: refused
        bad = run("train", "ranker", "--objective", "engage", "--hide-penalty", hostile)
        assert bad.returncode == 1 and bad.stderr.strip().splitlines() == [
            f"error: --hide-penalty must be 0-1e6, got {float(hostile)}"
        ], bad.stderr
    empty = run("train", "ranker", "--from", "log")
    assert empty.returncode == 1 and empty.stderr.strip().endswith("the impression log is empty")
