"""Interest topics: the closed-form posterior by hand, and a generated world whose topics and
interests are known (``world/truth.py``)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import scipy.sparse as sp

from discovery.engine import Engine
from discovery.ranking import user_context
from discovery.settings import Settings
from discovery.signals import interest, topics
from discovery.signals.exposure import PRIOR_STRENGTH, exposure_counts, user_exposure
from discovery.signals.features import hydrate
from discovery.signals.interest import topic_columns, user_topics
from discovery.signals.topics import (
    engaged_mix,
    post_topics,
    topic_model,
    topic_posterior,
)
from discovery.store.model import KIND_CODE
from discovery.world import generate_world
from discovery.world.truth import load_truth


def test_posterior_by_hand() -> None:
    # K = 3, g = [.5, .25, .25], author counts [0, 2, 0]: π = [.5, 2.25, .25] / 3;
    # R = (1 - .05 + .05/3) / (.05/3) = 58; two tags of topic 2 → weights π · [1, 1, 58²]
    share = np.array([0.5, 0.25, 0.25])
    got = topic_posterior(np.array([[0.0, 2.0, 0.0]]), share, np.array([[0.0, 0.0, 2.0]]))
    w = np.array([0.5, 2.25, 0.25 * 58.0**2])
    assert np.allclose(got[0], w / w.sum())
    # no author (zero counts) and no tags: the global mix; rows always sum to one
    assert np.allclose(topic_posterior(np.zeros((1, 3)), share, np.zeros((1, 3)))[0], share)


def test_engaged_mix_by_hand() -> None:
    # posts: 0 two tags of topic 0, 1 one tag of each, 2 untagged. Account 0 liked post 0
    # (weight 1) and clicked post 1 (0.3): e = [1, 0] + 0.3·[.5, .5] = [1.15, .15], over
    # 1.3. Account 1 was shown post 0 (an impression weighs 0) and liked the untagged post:
    # nothing. Account 2 did nothing.
    counts = sp.csr_matrix(np.array([[2.0, 0.0], [1.0, 1.0], [0.0, 0.0]]))
    kind = [KIND_CODE[k] for k in ("like", "click", "impression", "like")]
    snap = SimpleNamespace(
        n_accounts=3,
        inter_kind=np.array(kind),
        inter_user=np.array([0, 0, 1, 1]),
        inter_post=np.array([0, 1, 0, 2]),
    )
    got = engaged_mix(snap, counts).toarray()  # type: ignore[arg-type]
    assert np.allclose(got, [[1.15 / 1.3, 0.15 / 1.3], [0.0, 0.0], [0.0, 0.0]])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("topics") / "tiny.db"
    generate_world(path, size="tiny", images=False, seed=11)
    return path


def test_topics_recover_the_worlds_own(world: Path) -> None:
    """Each post's most likely topic is its true topic when it carries a topical tag, far
    more often than chance when it carries none (its author's mix decides), and a user's top
    interest is their true top topic for most people — more often with their own posts."""
    engine = Engine.open(world)
    snap, truth = engine.snapshot, load_truth(engine.store)
    tm = topic_model(snap)
    assert tm.n_topics == truth.theta.shape[1]  # one cluster per topic of the drawn theme
    probs = post_topics(snap, np.arange(snap.n_posts))
    assert np.allclose(probs.sum(axis=1), 1.0)
    true = truth.post_topic[snap.post_id - 1].astype(np.int64)
    best = probs.argmax(axis=1)
    # name each topic column by the true topic of most posts it wins (a bijection here)
    name = np.array([np.bincount(true[best == c]).argmax() for c in range(tm.n_topics)])
    assert len(set(name.tolist())) == tm.n_topics
    tagged = np.asarray(snap.post_tags_matrix()[:, tm.tag_topic >= 0].sum(axis=1)).ravel() > 0
    assert (name[best[tagged]] == true[tagged]).mean() > 0.95
    untagged = ~tagged & ~snap.post_removed
    chance = np.bincount(true[untagged]).max() / untagged.sum()
    accuracy = (name[best[untagged]] == true[untagged]).mean()
    assert accuracy > 3.4 * chance  # 3.6× here; 3.2× from the author's own tags alone

    people = np.flatnonzero(truth.community[snap.account_id - 1] >= 0)
    right = {1.0: 0, 0.0: 0}
    for u in people.tolist():
        ctx = user_context(snap, u, Settings())
        theta = truth.theta[snap.account_id[u] - 1]
        for own in right:
            est = user_topics(ctx, tm, own_weight=own)
            assert est.sum() == pytest.approx(1.0)
            right[own] += int(theta[name[est.argmax()]] == theta.max())
    assert right[1.0] > 0.65 * len(people)
    assert right[1.0] > right[0.0] + 0.05 * len(people)


def test_topic_match_is_a_learned_feature(world: Path) -> None:
    engine = Engine.open(world)
    snap = engine.snapshot
    ctx = user_context(snap, 20, Settings())
    posts = np.arange(0, snap.n_posts, 7)
    fm = hydrate(ctx, posts)
    theta = user_topics(ctx)
    expect = post_topics(snap, posts) @ theta
    assert np.allclose(fm.column("topic_match"), expect, atol=1e-6)
    assert np.allclose(fm.column("topic_share"), expect / theta.max(), atol=1e-6)
    assert fm.column("topic_share").max() <= 1.0 + 1e-6
    # the topic like rate, soft-counted over what the user was shown, by plain loops
    mine = user_exposure(snap, 20)
    r_u = mine.rate(mine.liked, exposure_counts(snap).like_rate)
    k = topic_model(snap).n_topics
    seen_p, liked_p = post_topics(snap, mine.seen), post_topics(snap, mine.liked)
    rate = [
        (sum(row[t] for row in liked_p) + PRIOR_STRENGTH * r_u)
        / (sum(row[t] for row in seen_p) + PRIOR_STRENGTH)
        for t in range(k)
    ]
    expect_rate = [
        sum(p * r for p, r in zip(row, rate, strict=True)) for row in post_topics(snap, posts)
    ]
    assert len(mine.seen) > 20 and len(mine.liked) > 0  # the check below means something
    assert np.allclose(fm.column("user_topic_like_rate"), expect_rate, atol=1e-6)


def test_the_users_topic_sums_are_gathered_once_a_request(
    world: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A feed's second pool reads the user's topic sums from the request's context: only its
    own candidates get a posterior; other ``seen`` / ``liked`` arrays are not answered from
    it; and the columns equal those of a fresh context."""
    engine = Engine.open(world)
    snap = engine.snapshot
    asked: list[int] = []
    real = topics.post_topics

    def counting(snap, posts, model=None, **kw):  # type: ignore[no-untyped-def]
        asked.append(len(posts))
        return real(snap, posts, model, **kw)

    monkeypatch.setattr(interest, "post_topics", counting)
    ctx = user_context(snap, 20, Settings())
    first, second = np.arange(0, snap.n_posts, 7), np.arange(3, snap.n_posts, 11)
    hydrate(ctx, first)
    asked.clear()
    got = hydrate(ctx, second)
    assert asked == [len(second)]  # the candidates' posterior alone
    fresh = hydrate(user_context(snap, 20, Settings()), second)
    for name in ("topic_match", "topic_share", "user_topic_like_rate"):
        assert np.array_equal(got.column(name), fresh.column(name)), name
    # other arrays of seen posts: computed for them, not read from the context
    mine = user_exposure(snap, 20)
    cols = topic_columns(ctx, second, mine.seen[:3], mine.liked[:0], 0.1)
    shown = real(snap, mine.seen[:3]).sum(axis=0)
    rate = (PRIOR_STRENGTH * 0.1) / (shown + PRIOR_STRENGTH)
    assert np.allclose(cols["user_topic_like_rate"], real(snap, second) @ rate)


def test_interest_reads_the_latest_engagements_and_posts(
    world: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a window of ``n``, ``θ̂_u`` is the module docstring's formula over the user's
    ``n`` latest engagements and ``n`` latest own posts, written out by plain loops."""
    from discovery.signals import exposure

    engine = Engine.open(world)
    snap = engine.snapshot
    tm = topic_model(snap)
    weight = {KIND_CODE[k]: w for k, w in topics.KIND_WEIGHT.items()}
    weight[KIND_CODE["click"]] = topics.CLICK_WEIGHT
    user = int(np.argmax(np.bincount(snap.inter_user, minlength=snap.n_accounts)))
    ctx = user_context(snap, user, Settings())
    rows = [i for i in np.flatnonzero(snap.inter_user == user).tolist()
            if weight.get(int(snap.inter_kind[i]), 0.0) > 0]  # fmt: skip
    own = [p for p in np.flatnonzero(snap.post_author == user).tolist() if not snap.post_removed[p]]
    n = 5
    assert len(rows) > n and len(own) > 1  # the window cuts engagements
    rows = sorted(rows, key=lambda i: (int(snap.inter_time[i]), i))[-n:]
    own = sorted(own, key=lambda p: (int(snap.post_taken[p]), p))[-n:]
    total, mass = np.zeros(tm.n_topics), 0.0
    items = [
        (snap.inter_post[i], weight[int(snap.inter_kind[i])], snap.inter_time[i]) for i in rows
    ]
    items += [(p, topics.OWN_WEIGHT, snap.post_taken[p]) for p in own]
    for p, w, when in items:
        w *= min(2.0 ** (-(snap.now - int(when)) / (60 * 86_400)), 1.0)
        total, mass = total + w * post_topics(snap, np.array([p]), tm)[0], mass + w
    want = (total + topics.USER_PRIOR * tm.share) / (mass + topics.USER_PRIOR)
    monkeypatch.setattr(exposure, "RECENT", n)
    assert np.allclose(user_topics(ctx, tm), want)
    monkeypatch.setattr(exposure, "RECENT", 10**6)
    assert not np.allclose(user_topics(ctx, tm), want, atol=1e-4)


def test_tags_newer_than_the_topics_are_not_topical(world: Path) -> None:
    """A tag past the built topics (or no topics built at all) counts for no topic."""
    from discovery.signals.topics import _tag_counts

    snap = Engine.open(world).snapshot
    posts = np.arange(50)
    assert _tag_counts(snap, posts, np.zeros(0, np.int64), 0).shape == (50, 0)
    tm = topic_model(snap)
    full = _tag_counts(snap, posts, tm.tag_topic, tm.n_topics).toarray()
    cut = snap.post_tags_matrix()[posts].indices.max()  # the last tag these posts carry
    shorter = _tag_counts(snap, posts, tm.tag_topic[:cut], tm.n_topics).toarray()
    carries = np.asarray(snap.post_tags_matrix()[posts][:, cut].todense()).ravel() > 0
    topic = int(tm.tag_topic[cut])
    expect = full.copy()
    if topic >= 0:
        expect[carries, topic] -= 1
    assert np.array_equal(shorter, expect)


def test_engagement_names_untagged_posts(world: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An author's engagement, as pseudo-tags of their mix, names the true topic of their
    untagged posts more often than their own tags alone (0.44 against 0.39 on this world;
    without the evidence of the posts' engagers, which names them better still)."""

    def untagged_accuracy() -> float:
        engine = Engine.open(world)  # a fresh snapshot: a fresh topic model
        snap, truth = engine.snapshot, load_truth(engine.store)
        tm = topic_model(snap)
        best = post_topics(snap, np.arange(snap.n_posts), engagers=False).argmax(axis=1)
        true = truth.post_topic[snap.post_id - 1].astype(np.int64)
        name = np.array([np.bincount(true[best == c]).argmax() for c in range(tm.n_topics)])
        tags = snap.post_tags_matrix()[:, tm.tag_topic >= 0]
        untagged = (np.asarray(tags.sum(axis=1)).ravel() == 0) & ~snap.post_removed
        return float((name[best[untagged]] == true[untagged]).mean())

    with_engagement = untagged_accuracy()
    monkeypatch.setattr(topics, "ENGAGED_PRIOR", 0.0)
    assert with_engagement > untagged_accuracy() + 0.03


def test_engager_evidence_by_hand() -> None:
    # two topics, g = [.5, .5], no author, no tags: the prior is g. One engager with
    # θ̄ = [.8, .2] adds ln(.8/.5), ln(.2/.5): weights .5·1.6 and .5·.4, so [.8, .2]
    share = np.array([0.5, 0.5])
    evidence = np.log(np.array([[0.8, 0.2]]) / share)
    got = topic_posterior(np.zeros((1, 2)), share, np.zeros((1, 2)), evidence=evidence)
    assert np.allclose(got[0], [0.8, 0.2])
    # a second, opposite engager cancels it; a tag of topic 1 (R = 39) then decides
    both = evidence + np.log(np.array([[0.2, 0.8]]) / share)
    tagged = topic_posterior(np.zeros((1, 2)), share, np.array([[0.0, 1.0]]), evidence=both)
    assert np.allclose(tagged[0], np.array([1.0, 39.0]) / 40.0)


def test_engager_evidence_equals_a_plain_reference(world: Path) -> None:
    """``post_topics`` with engagers: the posterior from the tags and author, times each
    engager's ``θ̄_u(k) / g_k``, ``θ̄_u`` their undecayed interest from tag-and-author topics,
    every sum written out by plain loops over the log."""
    from discovery.signals.engaged import engaging

    snap = Engine.open(world).snapshot
    tm = topic_model(snap)
    base = post_topics(snap, np.arange(snap.n_posts), tm, engagers=False)
    weight = {KIND_CODE[k]: w for k, w in topics.KIND_WEIGHT.items()}
    weight[KIND_CODE["click"]] = topics.CLICK_WEIGHT

    def theta(u: int) -> np.ndarray:
        total, mass = np.zeros(tm.n_topics), 0.0
        for i in np.flatnonzero(snap.inter_user == u).tolist():
            w = weight.get(int(snap.inter_kind[i]), 0.0)
            total, mass = total + w * base[snap.inter_post[i]], mass + w
        for p in np.flatnonzero((snap.post_author == u) & ~snap.post_removed).tolist():
            total, mass = total + topics.OWN_WEIGHT * base[p], mass + topics.OWN_WEIGHT
        return (total + topics.USER_PRIOR * tm.share) / (mass + topics.USER_PRIOR)  # type: ignore[no-any-return]

    liked = snap.inter_post[engaging(snap.inter_kind)]
    posts = np.concatenate([liked[:40], np.arange(0, snap.n_posts, 97)])
    got = post_topics(snap, posts, tm)
    for row, p in zip(got, posts.tolist(), strict=True):
        who = set(snap.inter_user[(snap.inter_post == p) & engaging(snap.inter_kind)].tolist())
        log_w = np.log(base[p]) + sum(
            (topics.ENGAGER_WEIGHT * np.log(theta(u) / tm.share) for u in who),
            np.zeros(tm.n_topics),
        )
        want = np.exp(log_w - log_w.max())
        assert np.allclose(row, want / want.sum(), atol=1e-5), p
    assert not np.allclose(got[:40], base[posts[:40]], atol=1e-3)  # the evidence moved them


def test_engagers_name_untagged_posts_better(world: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Who engaged with an untagged post names its true topic more often than its author's
    mix alone."""
    engine = Engine.open(world)
    snap, truth = engine.snapshot, load_truth(engine.store)
    tm = topic_model(snap)
    true = truth.post_topic[snap.post_id - 1].astype(np.int64)
    tags = snap.post_tags_matrix()[:, tm.tag_topic >= 0]
    untagged = (np.asarray(tags.sum(axis=1)).ravel() == 0) & ~snap.post_removed
    accuracy = {}
    for engagers in (False, True):
        best = post_topics(snap, np.arange(snap.n_posts), tm, engagers=engagers).argmax(axis=1)
        name = np.array([np.bincount(true[best == c]).argmax() for c in range(tm.n_topics)])
        accuracy[engagers] = float((name[best[untagged]] == true[untagged]).mean())
    assert accuracy[True] > accuracy[False] + 0.03


def test_engagers_of_a_live_snapshot(world: Path, tmp_path: Path) -> None:
    """Caught up with a new account, a new post and their likes, the evidence is used as
    built: an existing account's like on the new post counts at once, the new account's
    like counts nothing until the evidence is rebuilt, and a snapshot loaded fresh has both."""
    import shutil

    from discovery.signals.engaged import engaging
    from discovery.signals.topics import engager_evidence
    from discovery.snapshot import load_snapshot, refresh_snapshot
    from discovery.store import Store

    path = tmp_path / "live.db"
    shutil.copy(world, path)
    store = Store.open(path)
    snap = load_snapshot(store, cache=False)
    tm = topic_model(snap)
    old_evidence = engager_evidence(snap)
    engaged = np.zeros(snap.n_posts, bool)
    engaged[snap.inter_post[engaging(snap.inter_kind)]] = True
    target = int(np.flatnonzero(~engaged & ~snap.post_removed)[0])  # nobody engaged yet
    fan = int(np.argmax(np.bincount(snap.inter_user, minlength=snap.n_accounts)))
    author = int(snap.account_id[snap.post_author[target]])
    new_account, new_post = int(snap.account_id.max()) + 1, int(snap.post_id.max()) + 1
    t = int(snap.now) - 60
    with store.transaction():
        store.add_accounts([(new_account, "newcomer", "New", "person", t)])
        store.add_posts([(new_post, author, t, "no tags here", "photo", None, 0, 0)])
        store.add_interactions(
            [
                (int(snap.account_id[fan]), new_post, "like", t + 1, None),
                (new_account, int(snap.post_id[target]), "like", t + 2, None),
            ]
        )
    refresh_snapshot(store, snap)
    assert engager_evidence(snap) is old_evidence  # within its lag: not rebuilt
    fresh_post = snap.posts.lookup(np.array([new_post]))
    posts = np.array([target, int(fresh_post[0])])
    base = post_topics(snap, posts, tm, engagers=False)
    got = post_topics(snap, posts, tm)
    assert np.allclose(got[0], base[0])  # the newcomer has no row yet: no evidence
    want = np.exp(np.log(base[1]) + old_evidence[fan])
    assert np.allclose(got[1], want / want.sum())
    again = load_snapshot(store, cache=False)  # built afresh: the newcomer counts
    row = int(again.accounts.lookup(np.array([new_account]))[0])
    ev = engager_evidence(again)
    assert ev.shape[0] == again.n_accounts and np.abs(ev[row]).sum() > 0
    base = post_topics(again, np.array([target]), engagers=False)[0]
    want = np.exp(np.log(base) + ev[row])
    assert np.allclose(post_topics(again, np.array([target]))[0], want / want.sum())
    store.close()
