"""The ALS source on a world whose right answer is known: two taste groups that never mix.

Users ``a1..a10`` like a seeded 60 % of the posts of author ``ra`` and nothing of ``rb``; users
``b1..b10`` the other way round. Whatever ALS learns, a user of group A must be proposed A
posts, their taste neighbours must be A users, and a post or a user that arrives after
training must still find its group.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from discovery.engine import Engine
from discovery.errors import InputError
from discovery.ranking import user_context
from discovery.ranking.collaborative import ALSSource, Taste
from discovery.ranking.context import UserContext
from discovery.ranking.evidence import Names
from discovery.ranking.sources import SOURCES
from discovery.seed import rng
from discovery.settings import Settings
from discovery.signals.als import ALSModel, fold_in, load_als, save_als
from discovery.signals.loading import load_artifacts
from discovery.store import Store
from discovery.store.records import AccountRecord, PostRecord

pytest.importorskip("implicit", reason="ALS needs the eval extra (implicit)")

NOW = 1_700_000_000
H = 3600
GROUP_A = [f"a{i}" for i in range(1, 11)]
GROUP_B = [f"b{i}" for i in range(1, 11)]


def _world(store: Store, order: int = 1) -> None:
    """The two groups; ``order=-1`` writes accounts and posts in reverse, so the same external
    keys get other internal ids."""
    handles = [*GROUP_A, *GROUP_B, "ra", "rb"]
    posts = [(f"t:p{i}", "ra" if i < 30 else "rb", NOW - (i % 30 + 1) * H) for i in range(60)]
    with store.transaction():
        store.set_meta("now", NOW)
        ids = store.upsert_accounts(
            AccountRecord(f"t:{h}", h, created_at=NOW - 100 * 86_400) for h in handles[::order]
        )
        pids = store.upsert_posts(
            PostRecord(key, ids[f"t:{author}"], t, caption=f"post {key}")
            for key, author, t in posts[::order]
        )
        gen = rng(5)
        rows = []
        for group, prefix in ((GROUP_A, 0), (GROUP_B, 30)):
            for h in group:
                for i in range(prefix, prefix + 30):
                    if gen.random() < 0.6:
                        rows.append((ids[f"t:{h}"], pids[f"t:p{i}"], "like", NOW - 20 * 60, None))
        store.add_interactions(rows)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "taste.db"
    with Store.open(path) as store:
        _world(store)
        save_als(store, Engine(store, _snap(store)).snapshot)
    return path


def _snap(store: Store):  # type: ignore[no-untyped-def]
    from discovery.snapshot import load_snapshot

    return load_snapshot(store, cache=False)


def _authors(engine: Engine, posts: np.ndarray) -> set[str]:
    snap = engine.snapshot
    return {str(snap.handle[snap.post_author[p]]) for p in posts.tolist()}


def _source(engine: Engine, handle: str, **kw: int) -> tuple[np.ndarray, object]:
    ctx = user_context(engine.snapshot, engine.user_index(handle), Settings())
    cands = ALSSource(engine.artifacts["als"], **kw).candidates(ctx)
    return cands.posts, cands


def test_each_group_is_proposed_its_own_posts(db: Path) -> None:
    engine = Engine.open(db)
    for handle, author in (("a1", "ra"), ("a7", "ra"), ("b3", "rb")):
        posts, _ = _source(engine, handle, n=10, neighbours=0)
        assert len(posts) == 10 and _authors(engine, posts) == {author}


def test_the_settings_size_both_halves_of_the_source(db: Path) -> None:
    """The source built by the registry takes both sizes from the request's settings (the
    model knows all 60 posts, so each cut is visible); an explicit size still wins."""
    engine = Engine.open(db)
    snap, arts = engine.snapshot, engine.artifacts

    def ctx(**settings: int) -> UserContext:
        return user_context(snap, engine.user_index("a1"), Settings().replace(**settings))

    def sized(**settings: int) -> np.ndarray:
        c = ctx(**settings)
        return SOURCES.build("als", c.settings, arts).candidates(c).posts

    assert len(sized(als_candidates=7, als_neighbours=0)) == 7
    assert len(sized(als_candidates=12, als_neighbours=0)) == 12
    assert len(sized(als_candidates=0, als_neighbours=0)) == 0
    # co-likers alone: the nearest neighbour's likes (about 60 % of the 30 A posts), then the
    # five nearest's, which hold the first's
    one, five = sized(als_candidates=0, als_neighbours=1), sized(als_candidates=0, als_neighbours=5)
    assert 0 < len(one) < len(five) and _authors(engine, five) == {"ra"}
    assert set(one.tolist()) < set(five.tolist())
    # an explicit size still wins over the setting
    explicit = ALSSource(arts["als"], n=3, neighbours=0).candidates(ctx(als_candidates=9))
    assert len(explicit.posts) == 3
    with pytest.raises(InputError):
        Settings().replace(als_candidates=-1)
    with pytest.raises(InputError):
        Settings().replace(als_neighbours=1001)


def test_taste_neighbours_are_the_group_and_explain_the_post(db: Path) -> None:
    engine = Engine.open(db)
    snap = engine.snapshot
    posts, cands = _source(engine, "a2", n=0, neighbours=5)
    assert len(posts) and _authors(engine, posts) == {"ra"}
    names = Names.of(snap)
    for p in posts.tolist():
        ev = cands.why(p, int(snap.post_author[p]))  # type: ignore[attr-defined]
        assert isinstance(ev, Taste) and 1 <= len(ev.likers) <= 3
        assert {str(snap.handle[i]) for i in ev.likers} <= set(GROUP_A) - {"a2"}
        assert ev.describe("ra", {}, names).endswith("your taste")


def test_a_post_after_training_is_found_through_co_likers(db: Path) -> None:
    with Store.open(db) as store, store.transaction():
        ids = store.upsert_accounts([AccountRecord("t:ra", "ra")])
        new = store.upsert_posts([PostRecord("t:fresh", ids["t:ra"], NOW - 600, "fresh")])
        liked = [store.account_id(h) for h in ("a3", "a4", "a5")]
        store.add_interactions((u, new["t:fresh"], "like", NOW - 300, None) for u in liked)
    engine = Engine.open(db)
    fresh = int(engine.snapshot.posts.lookup(new["t:fresh"])[0])
    loaded = engine.artifacts["als"]
    assert loaded.aligned(engine.snapshot).post_row[fresh] == -1  # unknown to the model
    posts, _ = _source(engine, "a1", n=10, neighbours=9)
    assert fresh in posts.tolist()
    posts, _ = _source(engine, "b1", n=10, neighbours=9)
    assert fresh not in posts.tolist()


def test_a_user_after_training_is_folded_in_and_one_with_nothing_falls_back(db: Path) -> None:
    with Store.open(db) as store, store.transaction():
        ids = store.upsert_accounts(
            [AccountRecord("t:new", "new"), AccountRecord("t:idle", "idle")]
        )
        posts = [store.upsert_posts([PostRecord(f"t:p{i}", None, 0)])[f"t:p{i}"] for i in (31, 33)]
        store.add_interactions((ids["t:new"], p, "like", NOW - 60, None) for p in posts)
    engine = Engine.open(db)
    got, _ = _source(engine, "new", n=10, neighbours=0)
    assert len(got) == 10 and _authors(engine, got) == {"rb"}
    got, _ = _source(engine, "idle", n=10, neighbours=5)
    assert len(got) == 0
    feed = engine.feed("idle", kind="explore", k=5)  # the other sources carry the feed
    assert len(feed) == 5 and all("als" not in it.sources for it in feed)


def test_model_is_keyed_by_external_keys(db: Path, tmp_path: Path) -> None:
    """The artifact copied into a database whose internal ids differ lines up by key."""
    with Store.open(db) as store:
        art = store.load_artifact("als")
        model = ALSModel.from_bytes(art.data)
    other = tmp_path / "other.db"
    with Store.open(other) as store:
        _world(store, order=-1)
        store.save_artifact("als", art.data, art.meta)
        assert store.account_id("a1") != Store.open(db).account_id("a1")
        loaded = load_als(store)
    assert loaded is not None
    engine = Engine.open(other)
    aligned = loaded.aligned(engine.snapshot)
    for handle in ("a1", "b9"):
        row = int(np.flatnonzero(model.user_keys == f"t:{handle}")[0])
        got = aligned.user_vector(engine.snapshot, engine.user_index(handle))
        assert got is not None and np.array_equal(got, model.user_factors[row])
    posts, _ = _source(engine, "a1", n=10, neighbours=0)
    assert _authors(engine, posts) == {"ra"}


def test_save_load_round_trip_and_versions(db: Path) -> None:
    with Store.open(db) as store:
        first = store.load_artifact("als")
        model = ALSModel.from_bytes(first.data, first.meta)
        again = ALSModel.from_bytes(model.to_bytes())
        for name in ("user_keys", "post_keys", "user_factors", "item_factors"):
            assert np.array_equal(getattr(model, name), getattr(again, name))
        assert first.version == 1 and first.meta["users"] == 20 and first.meta["posts"] == 60
        version, _ = save_als(store, _snap(store))
        assert version == 2 and load_artifacts(store)["als"].version == 2
        assert store.prune_artifacts("als", keep=1) == 1
        assert [a.version for a in store.artifact_versions("als")] == [2]


def test_fold_in_matches_the_normal_equations() -> None:
    """x = argmin Σ_i c_i (p_i - x·y_i)² + λ‖x‖², written out with the full diagonal C."""
    gen = rng(1)
    for _ in range(5):
        y = gen.normal(size=(12, 4))
        rows = np.array([1, 4, 7])
        w = np.array([1.0, 3.0, 0.5])
        reg, alpha = 0.3, 2.0
        conf = np.ones(12)
        conf[rows] += alpha * w
        pref = np.zeros(12)
        pref[rows] = 1.0
        c = np.diag(conf)
        want = np.linalg.solve(y.T @ c @ y + reg * np.eye(4), y.T @ c @ pref)
        assert np.allclose(fold_in(y, rows, w, reg, alpha), want)
        # with the model's kept Gram matrix, summed in blocks of rows (float32 factors)
        y32 = y.astype(np.float32)
        model = ALSModel(np.array(["u"]), np.arange(12).astype(str), y32[:1], y32)
        assert np.allclose(model.gram, y32.astype(np.float64).T @ y32.astype(np.float64))
        got = fold_in(y32, rows, w, reg, alpha, model.gram)
        assert np.allclose(got, fold_in(y32, rows, w, reg, alpha))


def test_gram_sums_its_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    import discovery.signals.als as als

    y = rng(2).normal(size=(10, 3)).astype(np.float32)
    monkeypatch.setattr(als, "_GRAM_BLOCK", 3)  # blocks of 3, 3, 3 and 1 rows
    model = ALSModel(np.array(["u"]), np.arange(10).astype(str), y[:1], y)
    want = y.astype(np.float64).T @ y.astype(np.float64)
    assert np.allclose(model.gram, want) and model.gram is model.gram


def test_cli_trains_and_refuses_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "cli.db"
    with Store.open(path) as store:
        _world(store)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "discovery", "--db", str(path), *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=300)

    out = run("train", "als", "--factors", "8")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("als version 1: 20 users × 60 posts")
    assert "als" in Engine.open(path).artifacts
    bad = run("train", "als", "--factors", "0")
    assert bad.returncode == 1 and bad.stderr.strip().splitlines() == [
        "error: --factors must be between 1 and 512, got 0"
    ]
    for flag, hostile in (("--views", "9223372036854775808"), ("--views", "nan"), ("--alpha", "0")):
        bad = run("train", "als", flag, hostile)
        assert bad.returncode == 1 and bad.stderr.strip().splitlines() == [
            "error: --regularization and --views must be 0-1e6 and --alpha above 0, at most 1e6"
        ], bad.stderr
    assert [a.version for a in Store.open(path).artifact_versions("als")] == [1]  # unharmed


def test_the_window_cut_from_the_hourly_block_is_the_exact_window(db: Path) -> None:
    """The factor rows of the window are gathered once per hour-widened window and the exact
    window is cut from them: at clock times inside one hour (the block reused) and across hours
    (a new block), the proposals equal a plain ranking of the exact window's known posts."""
    engine = Engine.open(db)
    snap = engine.snapshot
    loaded = engine.artifacts["als"]
    aligned = loaded.aligned(snap)
    settings = Settings().replace(window_days=0.5)
    u = engine.user_index("a1")
    x = aligned.user_vector(snap, u).astype(np.float32)
    checked = set()
    for offset in (0, 600, 1500, 2700, 3600 + 300, 3600 + 3000, 7 * 3600):
        snap.now = NOW + offset  # the snapshot's clock (a live engine moves it per request)
        ctx = user_context(snap, u, settings)
        got = ALSSource(loaded, n=5, neighbours=0).candidates(ctx).posts.tolist()
        since = ctx.now - 12 * H
        want = [
            p
            for p in range(snap.n_posts)
            if since <= snap.post_taken[p] <= ctx.now and aligned.post_row[p] >= 0
        ]
        score = {p: float(loaded.model.item_factors[aligned.post_row[p]] @ x) for p in want}
        want = sorted(want, key=lambda p: (-score[p], int(snap.post_id[p])))[:5]
        assert got == sorted(want), offset
        checked.add(len(want))
    assert checked == {5}
    assert len(aligned._window) == 1  # one block held at a time


def test_a_model_with_a_user_index_finds_the_same_group_through_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Trained, saved and loaded with its HNSW index (the threshold lowered to this world), the
    model answers each user's taste neighbours through the index: the same group as brute
    force, and the same posts proposed."""
    pytest.importorskip("hnswlib", reason="the user index needs hnswlib (the embed extra)")
    from discovery.signals import als_index

    monkeypatch.setattr(als_index, "INDEX_FROM", 1)
    path = tmp_path / "indexed.db"
    with Store.open(path) as store:
        _world(store, order=-1)  # the authors first: model rows are not account indexes
        _, model = save_als(store, Engine(store, _snap(store)).snapshot)
    assert model.user_index is not None and model.meta["user_index_seconds"] >= 0
    engine = Engine.open(path)
    loaded = engine.artifacts["als"]
    assert loaded.model.user_index == model.user_index  # through the artifact
    assert loaded.model.neighbour_index is not None
    brute = Engine.open(path)
    plain = brute.artifacts["als"]
    object.__setattr__(plain.model, "user_index", None)  # the same factors, no index
    assert plain.model.neighbour_index is None
    for handle in ("a2", "b7"):
        got, _ = _source(engine, handle, n=0, neighbours=5)
        want, _ = _source(brute, handle, n=0, neighbours=5)
        assert got.tolist() == want.tolist() and len(got)
        group = "ra" if handle.startswith("a") else "rb"
        assert _authors(engine, got) == {group}


def test_a_block_primed_in_one_matrix_product_proposes_what_each_request_does(db: Path) -> None:
    """The batch scores a block of users' windows in one matrix product before their requests
    (:func:`prime_window_scores`); each request then proposes, with the same scores, what it
    proposes alone, uses its primed row once, and never a row primed for another vector."""
    from discovery.ranking.collaborative import _window, prime_window_scores

    engine = Engine.open(db)
    snap, loaded = engine.snapshot, engine.artifacts["als"]
    aligned = loaded.aligned(snap)
    users = [engine.user_index(h) for h in (*GROUP_A, *GROUP_B)]

    def answer(ctx: UserContext) -> tuple[list[int], list[float]]:
        c = ALSSource(loaded, n=7, neighbours=0).candidates(ctx)
        why = [c.why(p, int(snap.post_author[p])) for p in c.posts.tolist()]
        return c.posts.tolist(), [w.score for w in why if isinstance(w, Taste)]

    alone = [answer(user_context(snap, u, Settings())) for u in users]
    assert all(len(posts) == len(scores) == 7 for posts, scores in alone)
    contexts = [user_context(snap, u, Settings()) for u in users]
    prime_window_scores(contexts, loaded)
    assert len(aligned._primed) == len(users)
    assert [answer(c) for c in contexts] == alone
    assert not aligned._primed  # each request took its own row
    key, win = _window(contexts[0], aligned)[1:]
    xs = np.stack([aligned.user_vector(snap, u).astype(np.float32) for u in users])
    noise = rng(1).standard_normal((len(users), len(win.posts))).astype(np.float32)
    aligned.prime(key, np.asarray(users), xs + np.float32(1e-3), noise)  # other vectors
    assert [answer(user_context(snap, u, Settings())) for u in users] == alone
    aligned.prime(key, np.asarray(users), xs, noise)  # the right vectors, scores far off
    assert [answer(user_context(snap, u, Settings())) for u in users] != alone
