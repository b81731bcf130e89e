"""The synthetic world: graph shape, engagement vs ground truth, consistency and the demo user."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

from discovery.store import KIND_CODE, Store
from discovery.world import NOW, TOPICS, generate_world, load_truth, utility
from discovery.world import stats as ws
from discovery.world.config import today


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("world") / "small.db"
    generate_world(path, "tiny", users=1_000, images=False)
    return path


@pytest.fixture(scope="module")
def arrays(small: Path) -> dict[str, np.ndarray]:
    with Store.open(small, create=False) as s:
        truth = load_truth(s)
        f = np.array(s._fetch("SELECT src - 1, dst - 1 FROM follows"))
        imp = np.array(
            s._fetch("SELECT account - 1, post - 1, created_at FROM interactions WHERE kind = 6")
        )
        liked = {
            (u, p)
            for u, p in s._fetch("SELECT account - 1, post - 1 FROM interactions WHERE kind = 0")
        }
    y = np.array([(u, p) in liked for u, p, _ in imp.tolist()])
    return {"src": f[:, 0], "dst": f[:, 1], "imp": imp, "y": y, "truth": truth}  # type: ignore[dict-item]


def test_in_degree_is_heavy_tailed(arrays) -> None:  # type: ignore[no-untyped-def]
    n = arrays["truth"].n_accounts
    deg = ws.degree_summary(arrays["dst"], n)
    assert deg["max_in_degree"] >= 10 * deg["median_in_degree"]
    # Brand accounts (indexes 1..12) hold most of the biggest followings; local stars follow.
    top = np.argsort(-ws.in_degrees(arrays["dst"], n))[:5]
    assert top[0] in range(1, 13) and len(set(top.tolist()) & set(range(1, 13))) >= 3


def test_clustering_far_above_a_random_graph(arrays) -> None:  # type: ignore[no-untyped-def]
    n = arrays["truth"].n_accounts
    c = ws.average_clustering(arrays["src"], arrays["dst"], n)
    assert c >= 5 * ws.random_graph_clustering(arrays["src"], arrays["dst"], n)
    assert 0.2 <= ws.reciprocity(arrays["src"], arrays["dst"], n) <= 0.7


def test_follows_are_homophilous(arrays) -> None:  # type: ignore[no-untyped-def]
    truth, src, dst = arrays["truth"], arrays["src"], arrays["dst"]
    within, chance = ws.same_group_share(src, dst, truth.community)
    assert within >= 5 * chance
    unit = truth.theta / np.linalg.norm(truth.theta, axis=1, keepdims=True)
    people = (truth.community[src] >= 0) & (truth.community[dst] >= 0)
    edge_sim = (unit[src[people]] * unit[dst[people]]).sum(axis=1).mean()
    rng = np.random.default_rng(0)
    a, b = rng.integers(13, truth.n_accounts, (2, 20_000))
    random_sim = (unit[a] * unit[b]).sum(axis=1).mean()
    assert edge_sim >= 1.5 * random_sim


def test_likes_follow_the_ground_truth_utility(arrays) -> None:  # type: ignore[no-untyped-def]
    imp, y, truth = arrays["imp"], arrays["y"], arrays["truth"]
    u = utility(truth, imp[:, 0], imp[:, 1], imp[:, 2])
    # Likes are Bernoulli(utility): their number sits within 4 standard deviations of the sum.
    assert abs(y.sum() - u.sum()) <= 4 * np.sqrt((u * (1 - u)).sum())
    edges = np.quantile(u, np.linspace(0, 1, 11))
    decile = np.clip(np.searchsorted(edges, u, side="right") - 1, 0, 9)
    rates = np.array([y[decile == k].mean() for k in range(10)])
    assert spearmanr(np.arange(10), rates).statistic > 0.9
    assert rates[-1] >= 5 * rates[0]
    assert spearmanr(u, y).statistic > 0.3


def test_out_of_network_engagement_exists(arrays) -> None:  # type: ignore[no-untyped-def]
    imp, y, truth = arrays["imp"], arrays["y"], arrays["truth"]
    inside = truth.follows(imp[:, 0], truth.post_author[imp[:, 1]])
    assert 0.5 <= inside.mean() <= 0.85
    assert (y & ~inside).sum() >= 0.05 * y.sum()


def test_clickbait_gets_clicks_not_likes(small: Path) -> None:
    with Store.open(small, create=False) as s:
        rows = s._fetch(
            "SELECT t.clickbait, i.kind, COUNT(*) FROM interactions i JOIN truth_posts t"
            " ON t.post = i.post WHERE i.kind IN (0, 4, 6) GROUP BY t.clickbait, i.kind"
        )
    c = {(b, k): n for b, k, n in rows}
    click_rate = {b: c[(b, 4)] / c[(b, 6)] for b in (0, 1)}
    like_per_click = {b: c[(b, 0)] / c[(b, 4)] for b in (0, 1)}
    assert click_rate[1] > 1.5 * click_rate[0]
    assert like_per_click[1] < 0.5 * like_per_click[0]


def test_hides_hit_poor_matches(arrays, small: Path) -> None:  # type: ignore[no-untyped-def]
    truth = arrays["truth"]
    with Store.open(small, create=False) as s:
        hides = np.array(s._fetch("SELECT account - 1, post - 1 FROM interactions WHERE kind = 7"))
    assert len(hides) > 0
    match_hidden = truth.theta[hides[:, 0], truth.post_topic[hides[:, 1]]]
    imp = arrays["imp"]
    match_all = truth.theta[imp[:, 0], truth.post_topic[imp[:, 1]]]
    assert match_hidden.mean() < 0.5 * match_all.mean()


def test_counts_agree_with_interactions(small: Path) -> None:
    with Store.open(small, create=False) as s:
        bad = s._fetch(
            "SELECT COUNT(*) FROM posts p"
            " LEFT JOIN (SELECT post, SUM(kind = 0) AS l, SUM(kind = 1) AS c FROM interactions"
            "            GROUP BY post) i ON i.post = p.id"
            " WHERE p.like_count != COALESCE(i.l, 0) OR p.comment_count != COALESCE(i.c, 0)"
        )
        liked = s._fetch("SELECT SUM(like_count), SUM(comment_count) FROM posts")[0]
    assert bad == [(0,)]
    assert liked[0] > 0 and liked[1] > 0


def test_demo_user_like_the_tutorial_author(small: Path) -> None:
    with Store.open(small, create=False) as s:
        me = s.account_id("me")
        follows = s._fetch("SELECT COUNT(*) FROM follows WHERE src = ?", (me,))[0][0]
        kinds = dict(
            s._fetch(
                "SELECT kind, COUNT(*) FROM interactions WHERE account = ? GROUP BY kind", (me,)
            )
        )
        interests = json.loads(
            s._fetch("SELECT interests FROM truth_users WHERE account = ?", (me,))[0][0]
        )
    assert 35 <= follows <= 45
    assert kinds.get(KIND_CODE["like"], 0) >= 5
    assert kinds.get(KIND_CODE["tag"], 0) >= 1
    top = {TOPICS[i].name for i in np.argsort(interests)[-5:]}
    assert top == {"hiking", "climbing", "mtb", "skiing", "sunsets"}


def test_posts_times_captions_and_meta(small: Path) -> None:
    with Store.open(small, create=False) as s:
        meta = s.meta()
        first, last = s._fetch("SELECT MIN(taken_at), MAX(taken_at) FROM posts")[0]
        hours = dict(
            s._fetch("SELECT (taken_at % 86400) / 3600 AS h, COUNT(*) FROM posts GROUP BY h")
        )
        per_post = [n for (n,) in s._fetch("SELECT COUNT(*) FROM post_hashtags GROUP BY post")]
        untagged = s._fetch("SELECT COUNT(*) FROM posts WHERE caption NOT LIKE '%#%'")[0][0]
        tags = {t for (t,) in s._fetch("SELECT tag FROM hashtags")}
        per_author = [n for (n,) in s._fetch("SELECT COUNT(*) FROM posts GROUP BY author")]
        media = dict(s._fetch("SELECT media_type, COUNT(*) FROM posts GROUP BY media_type"))
        brands = s._fetch("SELECT COUNT(*) FROM accounts WHERE kind = 1")[0][0]
    now = today()  # a world ends at the midnight before it was generated (pin with now=...)
    assert meta["now"] == str(now)
    world = json.loads(meta["world"])
    assert 20 <= len(world["topics"]) <= 30 and world["seed"] == 42
    assert set(world["utility"]) >= {"bias", "interest", "mutual", "quality", "age_per_day"}
    assert first >= now - 56 * 86_400 and last < now
    assert sum(hours.get(h, 0) for h in (2, 3, 4)) * 3 < sum(hours.get(h, 0) for h in (19, 20, 21))
    assert max(per_post) <= 15 and untagged > 0
    assert {"mtb", "mountainbiking", "sunsetlovers", "🌅", "love", "instagood"} <= tags
    assert np.max(per_author) >= 10 * np.median(per_author)
    assert media[0] > 0.7 * sum(media.values()) and set(media) == {0, 1, 2}
    assert brands == 12


def _dump(path: Path) -> dict[str, list[tuple[object, ...]]]:
    with Store.open(path, create=False) as s:
        tables = [t for (t,) in s._fetch("SELECT name FROM sqlite_master WHERE type = 'table'")]
        out = {t: s._fetch(f"SELECT * FROM {t} ORDER BY 1, 2") for t in sorted(tables)}
    # Creation time and the store's random id belong to the file, not to the world.
    out["meta"] = [r for r in out["meta"] if r[0] not in {"created_at", "store_id"}]
    return out


def test_same_seed_same_database(tmp_path: Path) -> None:
    generate_world(tmp_path / "a.db", "tiny", seed=7, images=False)
    generate_world(tmp_path / "b.db", "tiny", seed=7, images=False)
    generate_world(tmp_path / "c.db", "tiny", seed=8, images=False)
    a, b, c = (_dump(tmp_path / f"{x}.db") for x in "abc")
    assert a == b
    assert a["follows"] != c["follows"] and a["posts"] != c["posts"]


def test_generate_into_an_open_store_in_one_transaction() -> None:
    s = Store.open(":memory:")
    summary = generate_world(s, "tiny", users=60, images=False)
    assert s.count("accounts") == summary["accounts"] == 72
    assert s.count("interactions") == summary["interactions"]
    assert s.change_counter == 1  # one transaction
    with pytest.raises(Exception, match="already holds accounts"):
        generate_world(s, "tiny", users=60, images=False)


def test_a_pinned_now_reproduces_a_world_on_any_day(tmp_path: Path) -> None:
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    generate_world(a, size="tiny", images=False, now=NOW)
    generate_world(b, size="tiny", images=False, now=NOW + 86_400)
    with Store.open(a) as sa, Store.open(b) as sb:
        assert sa.get_meta("now") == str(NOW)
        ta = sa._fetch("SELECT id, taken_at FROM posts ORDER BY id")
        tb = sb._fetch("SELECT id, taken_at FROM posts ORDER BY id")
    assert [(i, t + 86_400) for i, t in ta] == tb  # the same world, one day later
