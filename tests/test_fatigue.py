"""Author fatigue (issue 13): the greedy order against a plain loop, session ranks against a
plain loop, the fit recovering a fatigue planted in drawn data, the learned ranker fitting it
beside the model, and the pages following it."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from discovery.engine import Engine
from discovery.ranking import Pipeline
from discovery.ranking.learned import LearnedRanker
from discovery.ranking.mix import fatigue_order, order_by_score
from discovery.settings import Settings
from discovery.signals.fatigue import MIN_REPEATS, fit_fatigue, session_author_rank
from discovery.signals.features import FEATURES
from discovery.signals.learned import Examples, RankerParams, train_ranker
from discovery.world import generate_world
from discovery.world.config import NOW


def _greedy(
    scores: list[float], authors: list[int], ids: list[int], f: float, link: str = "logit"
) -> list[int]:
    """The plain greedy: each step takes the largest logit (or log) minus ``f`` times the
    author's posts taken so far (unknown authors never tire), ties by post id."""
    left, taken, out = set(range(len(scores))), dict[int, int](), []
    while left:

        def key(i: int) -> tuple[float, int]:
            j = taken.get(authors[i], 0) if authors[i] >= 0 else 0
            if link == "log":
                return (-(float(np.log(max(scores[i], 1e-300))) - f * j), ids[i])
            s = min(max(scores[i], 1e-9), 1 - 1e-9)
            return (-(float(np.log(s / (1 - s))) - f * j), ids[i])

        best = min(left, key=key)
        left.remove(best)
        taken[authors[best]] = taken.get(authors[best], 0) + 1
        out.append(best)
    return out


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 0.9]), st.integers(-1, 4)),
        min_size=0,
        max_size=25,
    ),
    st.sampled_from([0.0, 0.3, 0.5, 1.0, 3.0]),
)
def test_fatigue_order_is_the_greedy(items: list[tuple[float, int]], f: float) -> None:
    scores = [s for s, _ in items]
    authors = [a for _, a in items]
    ids = list(range(100, 100 + len(items)))[::-1]  # ids in the other order than positions
    for link in ("logit", "log"):
        got = fatigue_order(np.array(scores), np.array(authors), np.array(ids), f, link).tolist()
        assert got == _greedy(scores, authors, ids, f, link)
        if f == 0:
            assert got == order_by_score(np.array(scores), np.array(ids)).tolist()


def test_an_author_discount_multiplies_each_further_post() -> None:
    """By hand, d = 0.5: A's posts score 8, 5, 3, B's 4, 2 and a post of no known author 0.9
    (never discounted). Taken greedily, each earlier post of the author halving the score:
    A8; then A5 (5 · 0.5 = 2.5) against B4 (4): B4; then A5 (2.5) against B2 (2 · 0.5 = 1):
    A5; then A3 (3 · 0.25 = 0.75), B2 (1) and the 0.9: B2, the 0.9, A3."""
    scores = np.array([8.0, 5.0, 3.0, 4.0, 2.0, 0.9])
    authors = np.array([1, 1, 1, 2, 2, -1])
    ids = np.arange(10, 16)
    got = fatigue_order(scores, authors, ids, -np.log(0.5), link="log").tolist()
    assert got == [0, 3, 1, 4, 5, 2]
    with pytest.raises(ValueError, match="link"):
        fatigue_order(scores, authors, ids, 1.0, link="probit")


def _ranks_by_loop(users: list[int], authors: list[int], times: list[int], gap: int) -> list[int]:
    out = [0] * len(users)
    order = sorted(range(len(users)), key=lambda i: (users[i], times[i], i))
    session: dict[int, int] = {}
    last: dict[int, int] = {}
    seen: dict[tuple[int, int, int], int] = {}
    for i in order:
        u = users[i]
        if u not in last or times[i] - last[u] > gap:
            session[u] = session.get(u, 0) + 1
        last[u] = times[i]
        key = (u, session[u], authors[i])
        out[i] = seen.get(key, 0)
        seen[key] = out[i] + 1
    return out


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 5_000)),
        max_size=40,
    )
)
def test_session_ranks_match_a_plain_loop(rows: list[tuple[int, int, int]]) -> None:
    users, authors, times = (list(c) for c in zip(*rows, strict=True)) if rows else ([], [], [])
    got = session_author_rank(np.array(users), np.array(authors), np.array(times), gap=1_800)
    assert got.tolist() == _ranks_by_loop(users, authors, times, 1_800)


def _planted(n: int, slope: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Predictions, engagements drawn with ``slope`` logits per session rank, and the ranks."""
    gen = np.random.default_rng(seed)
    pred = gen.uniform(0.02, 0.4, n)
    rank = gen.choice(4, n, p=[0.7, 0.2, 0.07, 0.03])
    z = np.log(pred / (1 - pred)) + slope * rank
    return pred, gen.random(n) < 1 / (1 + np.exp(-z)), rank


def test_the_fit_recovers_a_planted_fatigue() -> None:
    pred, y, rank = _planted(200_000, -0.5, seed=3)
    fit = fit_fatigue(pred, y, rank)
    assert abs(fit.slope + 0.5) < 3 * fit.stderr and fit.stderr < 0.03
    assert fit.fatigue == pytest.approx(-fit.slope) and abs(fit.shift) < 0.05
    assert fit.repeats == int((rank > 0).sum()) and fit.rows == 200_000
    # people who want more of one author: measured, not acted on
    more = fit_fatigue(*_planted(200_000, 0.3, seed=4))
    assert abs(more.slope - 0.3) < 3 * more.stderr and more.fatigue == 0.0
    # too few repeats to tell: nothing fitted
    few = fit_fatigue(
        pred[:1000], y[:1000], np.r_[np.ones(MIN_REPEATS - 1), np.zeros(1001 - MIN_REPEATS)]
    )
    assert few.fatigue == 0.0 and math.isnan(few.stderr)


def _lists_with_fatigue(n_lists: int, seed: int) -> Examples:
    """Lists of ten whose P(engage) is planted: logit = -2.5 + 2 * ``likes`` - 0.8 * rank."""
    gen = np.random.default_rng(seed)
    rows = n_lists * 10
    values = np.zeros((rows, len(FEATURES)), np.float32)
    values[:, FEATURES.index("likes")] = gen.random(rows)
    rank = gen.choice(3, rows, p=[0.6, 0.3, 0.1])
    z = -2.5 + 2 * values[:, FEATURES.index("likes")] - 0.8 * rank
    labels = np.where(gen.random(rows) < 1 / (1 + np.exp(-z)), 2, 1)
    lists = np.repeat(np.arange(n_lists), 10)
    return Examples(FEATURES, values, labels, lists, lists * 3600, rank)


def test_the_learned_ranker_fits_the_fatigue_on_its_validation_lists() -> None:
    data = _lists_with_fatigue(6_000, seed=5)
    model = train_ranker(data, RankerParams(objective="engage", rounds=100))
    meta = model.meta
    assert meta["fatigue_rows"] == meta["valid_lists"] * 10 == 12_000
    assert abs(meta["fatigue_slope"] + 0.8) < 3 * meta["fatigue_stderr"]
    assert meta["author_fatigue"] == pytest.approx(-meta["fatigue_slope"])
    # lists with no session (a cut of the history) fit none; nor does LambdaRank, whose
    # scores are not probabilities
    data.author_rank = None
    assert "author_fatigue" not in train_ranker(data, RankerParams(rounds=20)).meta
    data.author_rank = np.zeros(len(data), np.int64)
    assert "author_fatigue" not in train_ranker(data, RankerParams(rounds=20)).meta  # lambdarank


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fatigue") / "tiny.db"
    generate_world(path, "tiny", images=False, now=NOW)
    return path


class _Probabilities:
    """A learned model standing in for a trained one: P(engage) falls with the post index (so
    the scores are known), with the fatigue in its meta as training writes it."""

    names = FEATURES

    def __init__(self, fatigue: float) -> None:
        self.meta = {"author_fatigue": fatigue}

    def predict(self, values: np.ndarray) -> np.ndarray:
        return 0.05 + 0.9 / (1 + np.arange(len(values)))

    def predict_hide(self, values: np.ndarray) -> None:
        return None  # trained without a P(hide) booster


@pytest.mark.parametrize("kind", ["timeline", "explore", "blend"])
def test_pages_follow_the_fatigue(world: Path, kind: str) -> None:
    engine = Engine.open(world)
    snap = engine.snapshot
    user = int(np.argmax(np.bincount(snap.inter_user, minlength=snap.n_accounts)))
    ctx = engine.context(user, Settings(source_cap=1.0))  # the blend's source cap aside

    def page(fatigue: float) -> tuple[list[int], np.ndarray]:
        ranker = LearnedRanker(_Probabilities(fatigue), engine.artifacts)
        run = Pipeline(ctx, ranker, engine.artifacts)
        parts = ("timeline", "explore") if kind == "blend" else (kind,)
        pool = np.concatenate([run.pool(p).posts for p in parts])
        return [pk.post for pk in run.picks(kind, 20)], pool

    plain, pool = page(0.0)
    tired, _ = page(50.0)
    by = snap.post_author
    assert len({by[p] for p in plain}) < len(plain) == 20  # without fatigue an author repeats
    # under a fatigue of 50 logits every author's first post comes before any second post
    firsts = min(len(set(by[pool].tolist())), len(tired))
    assert len({by[p] for p in tired[:firsts]}) == firsts
    assert set(tired) <= set(pool.tolist()) and len(tired) == 20


def test_training_lists_carry_each_post_s_session_rank(world: Path) -> None:
    """One user's day by hand: author A's posts a2, a1 and author B's b1 in one session, a2
    again and then A's a3 in a session an hour later: a3 follows one post of A in its session
    (three, had the sessions not been split)."""
    from discovery.signals.training import examples_from_impressions
    from discovery.snapshot import load_snapshot
    from discovery.store import Store

    with Store.open(world, create=False) as store:
        snap = load_snapshot(store, cache=False)
    by = snap.post_author
    counts = np.bincount(by[by >= 0])
    a, b = int(np.argmax(counts)), int(np.argsort(counts)[-2])
    a1, a2, a3 = np.flatnonzero(by == a)[:3].tolist()
    b1 = int(np.flatnonzero(by == b)[0])
    day = (int(snap.now) // 86_400 - 2) * 86_400
    user = 0 if a != 0 and b != 0 else 1
    posts = np.array([a2, b1, a1, a2, a3])
    times = day + np.array([3_600, 3_604, 3_608, 7_200, 7_204])
    ex = examples_from_impressions(snap, np.full(5, user), posts, times, als=False)
    # the list holds each post once, sorted by index; a2's rank is its first showing's
    want = {a1: 1, a2: 0, b1: 0, a3: 1}
    assert ex.author_rank is not None
    assert ex.author_rank.tolist() == [want[p] for p in sorted(want)]
