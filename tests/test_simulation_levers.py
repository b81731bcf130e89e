"""Levers of issue 13 §4 on the tiny world: impressions counted as seen, and arms served by a
learned ranker trained on another run's impressions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cli_run import run_cli
from discovery.engine import Engine
from discovery.errors import InputError
from discovery.ranking import Pipeline, get_ranker
from discovery.ranking.context import passed_over
from discovery.settings import Settings
from discovery.signals.fatigue import session_author_rank
from discovery.signals.learned import load_ranker
from discovery.signals.training import examples_from_impressions
from discovery.simulation import SimConfig, run, scratch_copy
from discovery.simulation.arms import make_arm
from discovery.simulation.behaviour import session_rank
from discovery.simulation.learn import (
    RUN_META,
    _training_users,
    examples_from_log,
    examples_from_run,
    train_on_simulation,
)
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


def test_arms_take_a_ranker() -> None:
    arm = make_arm("blend:ranker=learned;explore_scale=1")
    assert (arm.kind, arm.ranker, arm.changes) == ("blend", "learned", {"explore_scale": 1.0})  # type: ignore[attr-defined]
    assert make_arm("timeline:ranker=tutorial").ranker == "tutorial"  # type: ignore[attr-defined]
    with pytest.raises(InputError, match="unknown ranker 'nope'"):
        make_arm("blend:ranker=nope")


def test_a_learned_arm_without_a_model_is_refused(tiny: Path, tmp_path: Path) -> None:
    with Store.open(tiny, create=False) as src:
        store = scratch_copy(src, tmp_path)
    try:
        with pytest.raises(InputError, match="ranker=learned needs a trained ranker"):
            run(store, SimConfig(days=1, arms=("blend:ranker=learned",), samples=20))
    finally:
        store.close()


def test_learned_ranker_trained_on_one_seed_serves_another(tiny: Path, tmp_path: Path) -> None:
    """Train on seed 1's impressions (the oracle's users left out), serve on seed 2: the arm
    serves what :meth:`Engine.feed` with the learned ranker serves."""
    with Store.open(tiny, create=False) as src:
        store = scratch_copy(src, tmp_path / "tune")
    try:
        cfg = SimConfig(days=3, arms=("blend", "oracle", "random"), samples=20, seed=1)
        log = run(store, cfg)
        who = _training_users(log.config.arms, log.users, log.arm, None, 0, 1)
        assert set(who.tolist()) == set(log.users[log.arm != 1].tolist())  # arm 1: oracle
        model = train_on_simulation(store, log, users=0, rounds=20, seed=1)
        kept = examples_from_run(store)
    finally:
        store.close()
    # the store holds exactly the impressions the log measured: lists built from the log's own
    # records (the oracle's users left out) are the kept run's, row for row
    with Store.open(tmp_path / "tune" / "simulated.db", create=False) as again:
        snap = load_snapshot(again, cache=False)
        run_meta = json.loads(again.get_meta(RUN_META) or "{}")
        logged = examples_from_log(again, log)
    rows = [r for _, r in log.impressions]
    u = np.concatenate([r.user for r in rows])
    p = np.concatenate([r.post for r in rows])
    t = np.concatenate([r.at for r in rows])
    mine = log.arm[np.searchsorted(log.users, u)] != 1
    reference = examples_from_impressions(
        snap, snap.accounts.lookup(u[mine] + 1), snap.posts.lookup(p[mine] + 1), t[mine],
        86_400, als=False,
    )  # fmt: skip
    assert len(kept) == len(logged) == len(reference) == model.meta["rows"] > 0
    for field in ("values", "labels", "lists", "times", "author_rank"):
        assert np.array_equal(getattr(kept, field), getattr(reference, field)), field
        assert np.array_equal(getattr(logged, field), getattr(reference, field)), field
    # sessions found by the 30-minute rule are the log's own wherever a user opened the app
    # once that day: the author ranks the fatigue is fitted on are the ones the users felt
    s = np.concatenate([r.session + 1_000_000 * d for d, r in log.impressions])
    felt = session_rank(
        s, np.concatenate([r.author for r in rows]), np.concatenate([r.position for r in rows])
    )
    found = session_author_rank(u, np.concatenate([r.author for r in rows]), t)
    day_user = (t // 86_400) * 10**6 + u
    _, first = np.unique(day_user, return_index=True)
    sessions = np.array([len(np.unique(s[day_user == k])) for k in day_user[first]])
    alone = np.isin(day_user, day_user[first][sessions == 1])
    assert alone.mean() > 0.5 and (felt[alone] > 0).any()
    assert np.array_equal(found[alone], felt[alone])
    assert run_meta["users"] == log.users.tolist() and run_meta["arm"] == log.arm.tolist()
    assert run_meta["arms"] == ["blend", "oracle", "random"] and run_meta["start"] == log.start
    assert model.meta["lists"] > 0 and model.meta["trained_from"] == "simulation seed 1"
    assert model.meta["objective"] == "engage"
    with Store.open(tiny, create=False) as src:
        store = scratch_copy(src, tmp_path / "report")
    try:
        engine = Engine(store, load_snapshot(store, cache=False), artifacts={"ranker": model})
        feed = engine.feed(int(log.users[0]), k=10, kind="blend", ranker="learned")
        arm = make_arm("blend:ranker=learned")
        assert all("learned" in item.factors for item in feed.items)
        from discovery.simulation.arms import Day

        day = Day(0, NOW, 10, 2, 0.5, 1.0, None, engine, np.zeros(0, np.int64), np.zeros(0))
        served = arm.serve(day, np.array([int(log.users[0])]), np.array([NOW]))[0]
        assert served.tolist() == [item.post_id - 1 for item in feed.items]
    finally:
        store.close()


def test_cli_trains_on_one_seed_and_serves_on_another(  # type: ignore[no-untyped-def]
    tiny: Path, tmp_path: Path, capsys
) -> None:
    tune = tmp_path / "tune"
    code, out, err = run_cli(
        capsys, "--db", str(tiny), "simulate", "--days", "3", "--arms", "blend,random",
        "--seed", "1", "--samples", "20", "--keep", str(tune), "--train-ranker",
    )  # fmt: skip
    assert code == 0, err
    assert "ranker version 1 (engage) from the run's impressions" in out
    # the fatigue fitted beside the model is printed with it, from the meta it is saved in
    with Store.open(tune / "simulated.db", create=False) as kept:
        meta = load_ranker(kept).meta  # type: ignore[union-attr]
    assert f"{meta['fatigue_repeats']:,} repeats" in " ".join(out.split())
    code, out, err = run_cli(
        capsys, "--db", str(tiny), "simulate", "--days", "1", "--users", "60", "--json",
        "--arms", "blend,blend:ranker=learned", "--ranker-from", str(tune / "simulated.db"),
        "--samples", "20",
    )  # fmt: skip
    assert code == 0, err
    assert set(json.loads(out)["arms"]) == {"blend", "blend:ranker=learned"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--train-ranker",), "--train-ranker saves the model in the kept database"),
        (("--ranker-from", "/nonexistent.db"), "no such database"),
        (("--arms", "blend:ranker=learned"), "ranker=learned needs a trained ranker"),
    ],
)
def test_bad_ranker_arguments_print_one_line(capsys, tiny: Path, args, message) -> None:  # type: ignore[no-untyped-def]
    code, _out, err = run_cli(capsys, "--db", str(tiny), "simulate", "--days", "1", *args)
    assert code == 1 and message in err and len(err.strip().splitlines()) == 1, err


def _rows(out: str) -> int:
    """The training rows a ``--train-ranker`` run printed."""
    return int(out.split(" rows,")[0].split()[-1].replace(",", ""))


def test_cli_trains_on_earlier_kept_runs_too(  # type: ignore[no-untyped-def]
    tiny: Path, tmp_path: Path, capsys
) -> None:
    """``--train-with`` adds a kept run's lists to the current run's: the rows add up."""
    common = ("--db", str(tiny), "simulate", "--days", "2", "--arms", "blend,oracle,random")
    common += ("--samples", "20", "--train-ranker")
    code, out, err = run_cli(capsys, *common, "--seed", "1", "--keep", str(tmp_path / "a"))
    assert code == 0, err
    first = _rows(out)
    code, out, err = run_cli(capsys, *common, "--seed", "2", "--keep", str(tmp_path / "b"))
    assert code == 0, err
    alone = _rows(out)
    code, out, err = run_cli(
        capsys, *common, "--seed", "2", "--keep", str(tmp_path / "c"),
        "--train-with", str(tmp_path / "a"),
    )  # fmt: skip
    assert code == 0, err
    assert "from the run's and 1 earlier run's impressions" in out
    assert first > 0 and alone > 0 and _rows(out) == first + alone


def test_bad_train_with_prints_one_line(capsys, tiny: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database\n" * 100)
    other = tmp_path / "other.db"
    generate_world(other, "tiny", images=False, now=NOW, seed=7)
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    with Store.open(tiny, create=False) as src:
        scratch_copy(src, unfinished).close()  # a copy that never ran
    kept = tmp_path / "kept"
    for world, folder in ((other, tmp_path / "elsewhere"), (tiny, kept)):
        with Store.open(world, create=False) as src:
            store = scratch_copy(src, folder)
        try:
            run(store, SimConfig(days=1, arms=("timeline",), samples=20))
        finally:
            store.close()
    cases = [
        ((str(tmp_path),), "add it"),  # without --train-ranker
        (("/nonexistent",), "no such kept run"),
        (("x" * 5000,), "no such kept run"),
        (("[red]run\u202e</b>",), "[red]run\\u202e</b>: no such kept run"),  # shown, not obeyed
        ((str(junk),), "junk.db"),
        ((str(tiny),), "not a finished simulation run"),
        ((str(unfinished),), "not a finished simulation run"),
        ((str(tmp_path / "elsewhere"),), "a run of another world"),
        ((str(kept), str(kept / "simulated.db")), "named twice"),
    ]
    for n, (paths, message) in enumerate(cases):
        train = () if n == 0 else ("--train-ranker", "--keep", str(tmp_path / f"k{n}"))
        args = [a for p in paths for a in ("--train-with", p)]
        code, _out, err = run_cli(
            capsys, "--db", str(tiny), "simulate", "--days", "1", *train, *args
        )
        assert code == 1 and message in err and len(err.strip().splitlines()) == 1, (n, err)
        assert not (tmp_path / f"k{n}" / "simulated.db").exists()  # refused before the run
