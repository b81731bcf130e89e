"""Hashtag clusters: hand-computed PMI, a generated world whose topics are known, and the
interests feed on clusters."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from discovery.engine import Engine
from discovery.ranking import user_context
from discovery.ranking.sources import (
    HashtagSource,
    cluster_top_memo,
    tag_top_memo,
    top_interests,
)
from discovery.settings import Settings
from discovery.signals._kernels import pair_counts
from discovery.signals.clusters import (
    build_clusters,
    ppmi_similarity,
    snapshot_clusters,
    tag_clusters,
)
from discovery.store.model import normalize_hashtag
from discovery.world import generate_world
from discovery.world.themes import THEMES

#: Tags checked for their topic's cluster: on at least this many posts. The clustering itself
#: takes tags from 5 posts, but in the tiny world (2,500 posts) a tag on 5-9 posts is a handful
#: of co-occurrences and may join its topic group's neighbour (#yogalife, 6 posts, joined
#: #fitness at seed 11); on the demo world every variant on 5 posts or more lands right
#: (bench/README.md, "Learned signals").
MIN_POSTS = 10


def _reference_similarity(x: np.ndarray) -> np.ndarray:
    """PPMI rows and their cosines with plain loops (the oracle of ppmi_similarity)."""
    rows = [r for r in x if r.any()]
    n, m = len(rows), x.shape[1]
    count = [sum(r[a] for r in rows) for a in range(m)]
    ppmi = [[0.0] * m for _ in range(m)]
    for a in range(m):
        for b in range(m):
            both = sum(1 for r in rows if r[a] and r[b])
            if both:
                ppmi[a][b] = max(0.0, math.log(both * n / (count[a] * count[b])))
    out = np.zeros((m, m))
    for a in range(m):
        for b in range(m):
            na = math.sqrt(sum(v * v for v in ppmi[a]))
            nb = math.sqrt(sum(v * v for v in ppmi[b]))
            if na and nb:
                out[a, b] = sum(p * q for p, q in zip(ppmi[a], ppmi[b], strict=True)) / (na * nb)
    return out


def test_ppmi_similarity_matches_the_plain_reference() -> None:
    gen = np.random.default_rng(3)
    for _ in range(5):
        x = (gen.random((30, 7)) < 0.3).astype(int)
        got = ppmi_similarity(sp.csr_matrix(x), np.arange(7))
        assert np.allclose(got, _reference_similarity(x))


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 40),
    st.integers(1, 9),
    st.floats(0.0, 0.6),
    st.integers(0, 2**32 - 1),
    st.sampled_from([np.int32, np.int64]),
)
def test_pair_counts_is_scipys_product(
    rows: int, width: int, density: float, seed: int, dtype: type
) -> None:
    """The one-pass kernel against ``xᵀx`` of the 0/1 matrix restricted to some columns
    (scipy's sparse product, the formula it replaces), and the rows holding any of them."""
    gen = np.random.default_rng(seed)
    x = sp.csr_matrix((gen.random((rows, width)) < density).astype(np.float64))
    x.indices, x.indptr = x.indices.astype(dtype), x.indptr.astype(dtype)
    tags = gen.permutation(width)[: gen.integers(1, width + 1)]
    co, posts = pair_counts(x.indptr, x.indices, width, tags)
    sub = x[:, tags]
    assert np.array_equal(co, (sub.T @ sub).toarray().astype(np.int64))
    assert posts == int((np.diff(sub.indptr) > 0).sum())


def test_hand_made_pairs() -> None:
    # tags 0/1 always together, 2/3 always together, one post links 1 and 2: PMI(1, 2) =
    # ln(1·6 / (4·3)) < 0, so the link adds nothing and the two pairs stay apart; rows
    # 0 = (ln 2, ln 1.5, 0, 0) and 1 = (ln 1.5, ln 1.5, 0, 0) have cosine 0.97
    x = np.array(
        [[1, 1, 0, 0], [1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1], [0, 0, 1, 1], [1, 1, 0, 0]]
    )
    assert tag_clusters(sp.csr_matrix(x), min_posts=1, min_lift=0).tolist() == [0, 0, 1, 1]
    # a tag used on fewer than min_posts posts stays alone
    assert tag_clusters(sp.csr_matrix(x), min_posts=4, min_lift=0).tolist() == [0, 1, 2, 3]
    # nor does a pair only 1.5 times likelier than chance when a lift of 2 is asked
    assert tag_clusters(sp.csr_matrix(x), min_posts=1, min_lift=2).tolist() == [0, 1, 2, 3]


def test_text_vectors_join_tags_that_never_meet() -> None:
    # 0 and 1 never share a post: PPMI rows (ln 2, 0) and (0, ln 2), cosine 0; the same name
    # vector makes their similarity 0.8 · 1 + 0.2 · 0 = 0.8, and a tag without a vector (2)
    # keeps its PPMI similarity (0 with both)
    x = sp.csr_matrix(np.array([[1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 1, 0], [0, 0, 1]]))
    alone = tag_clusters(x, min_posts=1, min_lift=0)
    assert alone.tolist() == [0, 1, 2]
    vectors = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 0.0]])
    both = tag_clusters(x, min_posts=1, min_lift=0, tag_vectors=vectors, text_weight=0.8)
    assert both.tolist() == [0, 0, 1]
    # a weight under the threshold (0.2 < 0.3) does not join them
    weak = tag_clusters(x, min_posts=1, min_lift=0, tag_vectors=vectors, text_weight=0.2)
    assert weak.tolist() == [0, 1, 2]


def test_clusters_pack_members_most_used_first() -> None:
    x = sp.csr_matrix(np.array([[1, 1, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1]]))
    c = build_clusters(x, min_posts=1, min_lift=0)
    assert c.members_of(0).tolist() == [1, 0] and c.head.tolist() == [1, 2]
    assert c.cluster_of(np.array([0, 1, 2, 3, 4])).tolist() == [0, 0, 1, 2, 3]  # 3, 4: new tags
    assert c.heads(np.array([0, 1, 2])).tolist() == [1, 2, 3]
    assert c.members_of(5).tolist() == [5]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clusters") / "tiny.db"
    generate_world(path, size="tiny", images=False, seed=11)
    return path


@pytest.mark.parametrize("theme", sorted(THEMES))
def test_each_topic_is_one_cluster_and_topics_do_not_merge(
    theme: str, world: Path, tmp_path: Path
) -> None:
    if theme != "drawn":
        world = tmp_path / f"{theme}.db"
        generate_world(world, size="tiny", images=False, seed=11, theme=theme)
    topics, generic = THEMES[theme].topics, THEMES[theme].generic_tags
    engine = Engine.open(world)
    snap = engine.snapshot
    clusters = snapshot_clusters(snap)
    counts = np.diff(snap.post_tags_matrix().tocsc().indptr)
    owners = Counter(normalize_hashtag(t) for topic in topics for t in set(topic.tags))
    label_of: dict[str, int] = {}
    for topic in topics:
        # tags that two topics share belong to neither alone; tags on fewer than MIN_POSTS
        # posts (the far end of a topic's Zipf vocabulary in a small world) are not checked
        tags = {normalize_hashtag(t) for t in topic.tags if owners[normalize_hashtag(t)] == 1}
        idx = [snap.tag_index(t) for t in tags]
        idx = [i for i in idx if i >= 0 and counts[i] >= MIN_POSTS]
        if len(idx) < 2:
            continue
        labels = set(clusters.cluster_of(np.array(idx)).tolist())
        assert len(labels) == 1, f"{topic.name} split into {len(labels)} clusters"
        label_of[topic.name] = labels.pop()
    assert len(label_of) >= 0.8 * len(topics)
    assert len(set(label_of.values())) == len(label_of), "two topics merged"
    for g in generic:  # a generic tag joins no topic
        i = snap.tag_index(normalize_hashtag(g))
        if i >= 0:
            assert int(clusters.cluster_of(i)[0]) not in label_of.values()


def test_interests_work_on_clusters(world: Path) -> None:
    engine = Engine.open(world)
    snap = engine.snapshot
    clusters = snapshot_clusters(snap)
    tags = snap.post_tags_matrix()
    checked = 0
    for user in range(0, snap.n_accounts, 7):
        ctx = user_context(snap, user, Settings())
        interests = top_interests(ctx, 10)
        heads = [t for t, _ in interests]
        # one entry per cluster, named by its head, weights summing to 1
        assert len({int(clusters.cluster_of(t)[0]) for t in heads}) == len(heads)
        assert all(int(clusters.head[clusters.cluster_of(t)[0]]) == t for t in heads)
        total = sum(w for _, w in interests)  # shares of all the user's interests
        assert total == pytest.approx(1.0) if 0 < len(interests) < 10 else total <= 1 + 1e-9
        cands = HashtagSource().candidates(ctx)
        for p in cands.posts[:50].tolist():
            ev = cands.why(p, int(snap.post_author[p]))
            assert ev is not None and ev.tag in heads
            members = set(clusters.members_of(ev.tag).tolist())
            reached = ev.tag if ev.via < 0 else ev.via
            assert reached in members and reached in set(tags[p].indices.tolist())
            checked += 1
    assert checked > 100


def test_interest_rows_and_feed_show_each_post_once_per_cluster(world: Path) -> None:
    engine = Engine.open(world)
    snap = engine.snapshot
    clusters = snapshot_clusters(snap)
    user = int(np.argmax(np.bincount(snap.inter_user, minlength=snap.n_accounts)))
    rows = engine.interests(user, k=6, per_tag=5)
    assert rows.items
    for row in rows.items:
        members = set(clusters.members_of(snap.tag_index(row.tag)).tolist())
        ids = [it.post_id for it in row.posts]
        assert len(ids) == len(set(ids))
        for pid in ids:  # every post of the row carries a member tag of the row's cluster
            p = int(snap.posts.lookup(pid)[0])
            assert members & set(snap.post_tags_matrix()[p].indices.tolist())
    feed = engine.feed(user, k=20, kind="interests")
    ids = [it.post_id for it in feed]
    assert len(ids) == len(set(ids))
    assert all(it.reason.startswith("because you like #") for it in feed)


def _rows_with_members(engine: Engine, k: int = 8) -> list[tuple[int, object]]:
    snap = engine.snapshot
    active = np.bincount(snap.inter_user, minlength=snap.n_accounts)
    out = []
    for user in np.argsort(-active, kind="stable")[:40].tolist():
        for row in engine.interests(int(user), k=k, per_tag=2).items:
            out.append((int(user), row))
    return out


def test_interests_list_their_clusters_member_tags(world: Path) -> None:
    from discovery.engine import MEMBERS_SHOWN

    engine = Engine.open(world)
    snap = engine.snapshot
    clusters = snapshot_clusters(snap)
    topics = THEMES["drawn"].topics
    topic_of: dict[str, set[str]] = {}
    for topic in topics:
        for t in topic.tags:
            topic_of.setdefault(normalize_hashtag(t), set()).add(topic.name)
    with_members = 0
    for _, row in _rows_with_members(engine):
        head = snap.tag_index(row.tag)
        expected = [str(snap.tag_name[t]) for t in clusters.members_of(head) if t != head]
        assert row.members == expected[:MEMBERS_SHOWN]
        assert row.to_dict()["members"] == row.members
        if row.members:
            with_members += 1
            # the head and its members are one topic's variants: no member belongs only to a
            # topic the head is not a tag of
            heads_topics = topic_of.get(row.tag, set())
            if heads_topics:
                for m in row.members:
                    assert not topic_of.get(m) or topic_of[m] & heads_topics, (row.tag, m)
    assert with_members >= 10


def test_interest_page_shows_members_and_a_member_opens_its_cluster(world: Path) -> None:
    from fastapi.testclient import TestClient

    from discovery.service import create_app

    user, row = next((u, r) for u, r in _rows_with_members(Engine.open(world)) if r.members)
    handle = str(Engine.open(world).snapshot.handle[user])
    with TestClient(create_app(world)) as client:
        body = client.get(f"/v1/users/{handle}/interests?k=12&per_tag=12").json()
        twin = next(i for i in body["interests"] if i["tag"] == row.tag)
        assert twin["members"] == row.members
        page = client.get(f"/u/{handle}/interests").text
        also = " ".join(f"#{m}" for m in row.members)
        assert f'title="also {also}"' in page
        # a post's member hashtag links to the interests page: it opens the cluster
        member = client.get(f"/u/{handle}/interests?tag={row.members[-1]}").text
        assert f"<h2>#{row.tag}</h2>" in member
        assert f"also {' '.join(f'<span>#{m}</span>' for m in row.members)}" in member


def test_shared_tag_tops_are_exact_and_move_with_a_like(world: Path, tmp_path: Path) -> None:
    """Users on one snapshot state share each tag's top posts (``tag_top_memo``): the
    candidates equal those computed without the memo, and a like that lifts a post into a
    tag's top shows at once (the memo goes with every change of the interactions)."""
    source = HashtagSource()
    source.per_tag = 3  # each tag's top 3, so the tiny world's windows hold more
    copy = tmp_path / "tiny.db"
    copy.write_bytes(world.read_bytes())
    engine = Engine.open(copy, cache=False)
    snap = engine.snapshot
    users = [
        u for u in range(12, snap.n_accounts, 5) if top_interests(user_context(snap, u, Settings()))
    ]
    shared = {u: source.candidates(user_context(snap, u, Settings())).posts for u in users}
    memo, by_head = tag_top_memo(snap), cluster_top_memo(snap)
    assert len(memo) > 0 and len(by_head) > 0
    for u in users:  # each alone, the memos emptied first: the same candidates
        memo.clear()
        by_head.clear()
        alone = source.candidates(user_context(snap, u, Settings())).posts
        assert alone.tolist() == shared[u].tolist()
    # an entry made with another clustering is never taken for this one
    for key, (_, posts, tags) in list(by_head.items()):
        by_head[key] = (object(), posts[:0], tags[:0])
    for u in users:
        assert (
            source.candidates(user_context(snap, u, Settings())).posts.tolist()
            == shared[u].tolist()
        )

    user = users[0]
    ctx = user_context(snap, user, Settings())
    head = top_interests(ctx, 1)[0][0]
    since = snap.now - Settings().window_days * 86_400
    carrying = snap.post_tags_matrix()[:, head].tocoo().row
    window = carrying[
        (snap.post_taken[carrying] >= since) & (snap.post_taken[carrying] <= snap.now)
    ]
    memo = tag_top_memo(snap)
    source.candidates(ctx)  # the memo holds this user's member tags' tops
    topped = {p for top in memo.values() for p in top.tolist()}
    outside = sorted(set(window.tolist()) - topped - set(ctx.seen.tolist()))
    assert outside, "the tag's window holds posts beyond every member's top"
    post = outside[0]
    likers = [a for a in range(snap.n_accounts) if a != user][:200]
    with engine.store.transaction():
        engine.store.add_interactions(
            [
                (int(snap.account_id[a]), int(snap.post_id[post]), "like", snap.now - 60, None)
                for a in likers
            ],
            update_counts=True,
        )
    engine.refresh()
    after = source.candidates(user_context(engine.snapshot, user, Settings())).posts
    assert post in after.tolist()
