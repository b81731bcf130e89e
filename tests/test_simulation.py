"""The closed-loop simulator (issue 13 §1–§2) on the tiny world: known answers and checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cli_run import run_cli
from discovery.simulation import SimConfig, run, scratch_copy
from discovery.simulation.behaviour import session_rank
from discovery.simulation.replay import weighted_pick
from discovery.simulation.report import markdown
from discovery.simulation.summary import summarize
from discovery.simulation.users import assign_arms
from discovery.store import Store
from discovery.world import generate_world
from discovery.world.config import NOW

ARMS = ("timeline", "blend", "oracle", "random", "replay")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sim") / "tiny.db"
    generate_world(path, "tiny", images=False, now=NOW)
    return path


@pytest.fixture(scope="module")
def simulated(tiny: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Five days, every reference arm; the scratch store stays open for inspection."""
    with Store.open(tiny, create=False) as src:
        store = scratch_copy(src, tmp_path_factory.mktemp("scratch"))
    log = run(store, SimConfig(days=5, arms=ARMS, samples=200))
    yield store, log, summarize(log).body
    store.close()


def test_session_rank_counts_earlier_posts_of_the_author() -> None:
    # Session 0 looks at author 5 (pos 0), 6 (pos 1), 5 (pos 3), 5 (pos 4); session 1 at 5.
    rank = session_rank(
        np.array([0, 0, 0, 0, 1]), np.array([5, 6, 5, 5, 5]), np.array([4, 1, 0, 3, 0])
    )
    assert rank.tolist() == [2, 0, 0, 1, 0]


def test_weighted_pick_follows_the_weights() -> None:
    # Group 0 holds weights 1 and 3: a uniform r < 1/4 picks the first member, else the second.
    cum = np.cumsum([1.0, 3.0, 2.0])
    ptr = np.array([0, 2, 3])
    r = np.linspace(0.0, 0.999, 4000)
    picks = weighted_pick(cum, ptr, np.zeros(len(r), dtype=np.int64), r)
    assert (picks == 0).mean() == pytest.approx(0.25, abs=1e-3)
    assert weighted_pick(cum, ptr, np.array([1]), np.array([0.7])).tolist() == [2]


def test_arms_are_balanced_and_stable() -> None:
    users = np.arange(1000)
    arm = assign_arms(users, 3, 7)
    assert sorted(np.bincount(arm).tolist()) == [333, 333, 334]
    assert (assign_arms(users[::-1], 3, 7) == arm[::-1]).all()  # by user, not by order
    assert (assign_arms(users, 3, 8) != arm).any()


def test_oracle_beats_every_arm_and_random_loses_to_all(simulated) -> None:  # type: ignore[no-untyped-def]
    _, _, body = simulated
    total = {name: arm["total"] for name, arm in body["arms"].items()}
    for name in ARMS:
        if name != "oracle":
            assert total["oracle"]["utility"][0] > total[name]["utility"][0], name
            assert body["of_oracle"][name][0] < 1.0
        if name != "random":
            assert total["random"]["utility_rate"][0] < total[name]["utility_rate"][0], name
    assert body["best"] == "oracle"
    assert body["best_engine"] in ("timeline", "blend")  # the references are not the engine


def test_replay_reproduces_the_history(simulated) -> None:  # type: ignore[no-untyped-def]
    _, _, body = simulated
    check, history = body["replay_check"], body["history"]
    # Tolerances (summary.REPLAY_TOLERANCE): like rate ±30 %, in-network share ±0.10.
    assert check["like_rate_ok"], (check, history)
    assert check["in_network_share_ok"], (check, history)


def test_every_response_went_through_the_event_path(simulated, tiny: Path) -> None:  # type: ignore[no-untyped-def]
    store, log, body = simulated
    events = sum(
        len(r) + int(r.click.sum() + r.like.sum() + r.comment.sum() + r.save.sum())
        + int(r.share.sum() + r.hide.sum())
        for _, r in log.impressions
    )  # fmt: skip
    follows = sum(len(f) for _, f in log.follows)
    with Store.open(tiny, create=False) as src:
        base = {t: src.count(t) for t in ("interactions", "follows", "posts")}
    assert store.count("interactions") - base["interactions"] == events
    assert store.count("follows") - base["follows"] == follows
    assert store.count("posts") - base["posts"] == body["new_posts"]
    # the idempotency keys of the event path: one per event, scoped by account
    u = int(log.impressions[0][1].user[0]) + 1
    assert store.seen_keys([f"{u}/sim0-0-impression"]) == {f"{u}/sim0-0-impression"}


def test_the_feedback_loop_is_real(simulated) -> None:  # type: ignore[no-untyped-def]
    """A post hidden on day d is never served to that user again (the engine read the hide),
    and no engine arm serves a post twice after it was liked."""
    _, log, _ = simulated
    hidden: set[tuple[int, int]] = set()
    liked: set[tuple[int, int]] = set()
    for _, r in log.impressions:
        pairs = list(zip(r.user.tolist(), r.post.tolist(), strict=True))
        assert not (set(pairs) & hidden)
        assert not (set(pairs) & liked)
        hidden |= {p for p, h in zip(pairs, r.hide.tolist(), strict=True) if h}
        liked |= {p for p, x in zip(pairs, r.like.tolist(), strict=True) if x}
    assert hidden and liked


def test_clock_and_posts_advance_day_by_day(simulated) -> None:  # type: ignore[no-untyped-def]
    store, log, body = simulated
    assert int(store.get_meta("now")) == NOW + 5 * 86_400
    taken = np.array([t for _, _, t, *_ in store.truth_posts()])
    new = np.sort(taken)[len(taken) - body["new_posts"] :]
    assert body["new_posts"] > 0 and new.min() >= NOW and new.max() < NOW + 5 * 86_400
    for d, r in log.impressions:
        assert (r.at >= NOW + d * 86_400).all() and (r.at < NOW + (d + 1) * 86_400).all()


def test_same_seed_same_json(tiny: Path, tmp_path: Path) -> None:
    bodies = []
    for i in range(2):
        with Store.open(tiny, create=False) as src:
            store = scratch_copy(src, tmp_path / str(i))
        try:
            cfg = SimConfig(days=2, users=120, arms=("blend", "random"), samples=50, seed=5)
            bodies.append(json.dumps(summarize(run(store, cfg)).body, sort_keys=True))
        finally:
            store.close()
    assert bodies[0] == bodies[1]


def test_cli_json_and_report_leave_the_database_as_it_was(  # type: ignore[no-untyped-def]
    tiny: Path, tmp_path: Path, capsys
) -> None:
    with Store.open(tiny, create=False) as s:
        before = (s.change_counter, s.count("posts"), s.get_meta("now"))
    report = tmp_path / "report"
    code, out, err = run_cli(
        capsys, "--db", str(tiny), "simulate", "--days", "1", "--users", "60",
        "--arms", "timeline,oracle", "--samples", "20", "--json", "--report", str(report),
    )  # fmt: skip
    assert code == 0, err
    body = json.loads(out)
    assert set(body["arms"]) == {"timeline", "oracle"} and body["participants"] == 60
    assert (report / "report.md").read_text().count("| ") > 10
    assert (report / "utility.png").stat().st_size > 1000
    with Store.open(tiny, create=False) as s:
        assert (s.change_counter, s.count("posts"), s.get_meta("now")) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--arms", "timeline,bogus"), "unknown arm 'bogus'"),
        (("--days", "0"), "--days must be between 1 and 365"),
        (("-k", "0"), "-k must be between 1 and 100"),
    ],
)
def test_bad_arguments_print_one_line(capsys, tiny: Path, args, message) -> None:  # type: ignore[no-untyped-def]
    code, _out, err = run_cli(capsys, "--db", str(tiny), "simulate", *args)
    assert code == 1 and message in err and len(err.strip().splitlines()) == 1


def test_refuses_a_database_without_ground_truth(capsys, known_db: Path) -> None:  # type: ignore[no-untyped-def]
    code, _out, err = run_cli(capsys, "--db", str(known_db), "simulate", "--days", "1")
    assert code == 1 and "no ground truth" in err and len(err.strip().splitlines()) == 1


def test_engine_arms_take_setting_changes() -> None:
    from discovery.errors import InputError
    from discovery.simulation.arms import make_arm

    arm = make_arm("blend:explore_scale=1;source_cap=0.8")
    assert arm.changes == {"explore_scale": 1.0, "source_cap": 0.8}  # type: ignore[attr-defined]
    for bad in ("oracle:explore_scale=1", "blend:explore_scale=9", "blend:nope=1", "nope"):
        with pytest.raises(InputError):
            make_arm(bad)


def test_interleaving_finds_the_better_arm_in_fewer_users(tiny: Path, tmp_path: Path) -> None:
    """Oracle against random, interleaved in one feed: the oracle wins the users' preference
    (sign test p < 0.05), and interleaving reaches 80 % power with no more users than the A/B
    split of the same two arms."""
    with Store.open(tiny, create=False) as src:
        store = scratch_copy(src, tmp_path)
    try:
        cfg = SimConfig(days=3, arms=("oracle", "random", "oracle+random"), samples=20)
        body = summarize(run(store, cfg)).body
    finally:
        store.close()
    test = body["interleaving"]["oracle+random"]
    assert test["wins"] > test["losses"] and test["p_value"] < 0.05
    inter, ab = test["interleaving"]["needed"], test["ab_split"]["needed"]
    assert inter is not None and (ab is None or inter <= ab), test


def test_expected_likes_against_the_timeline(simulated) -> None:  # type: ignore[no-untyped-def]
    """The noise-free companion of the first target: each engine arm's expected likes per
    impression and per user over the timeline's, point estimate the ratio of the totals and
    inside its own interval; reference arms are not challengers."""
    _, log, body = simulated
    # the reference, from the impressions themselves: per arm, P(like) summed and counted
    sums = {name: np.zeros(2) for name in ARMS}
    for _, r in log.impressions:
        arm_of = log.arm[np.searchsorted(log.users, r.user)]
        for a, name in enumerate(ARMS):
            sums[name] += [r.utility[arm_of == a].sum(), (arm_of == a).sum()]
    users = {name: (log.arm == a).sum() for a, name in enumerate(ARMS)}
    total = {
        name: {"utility_rate": [u / n], "utility": [u / users[name]]}
        for name, (u, n) in sums.items()
    }
    expected = body["expected_versus_timeline"]
    assert set(expected) == {n for n in ARMS if n not in ("timeline", "oracle", "random", "replay")}
    for name, row in expected.items():
        for key in ("utility_rate", "utility"):
            point, lo, hi = row[key]
            assert point == pytest.approx(total[name][key][0] / total["timeline"][key][0], rel=1e-3)
            assert lo <= point <= hi
    v = expected["blend"]["utility_rate"]
    assert f"| blend | {v[0]:.2f} ({v[1]:.2f}–{v[2]:.2f}) |" in markdown(summarize(log))


def test_paired_shadow_timeline(tiny: Path, tmp_path: Path) -> None:
    """An arm that serves the default timeline under another name is its own shadow: ratio
    exactly 1 with no spread. The blend's users get a shadow every session they open, and its
    terms match a plain per-row reference of the module's formula."""
    from discovery.simulation.behaviour import Served
    from discovery.simulation.config import attention
    from discovery.simulation.paired import expected_engagement
    from discovery.world.interactions import responses

    same = "timeline:max_per_author=2"  # the default value: the very same lists
    with Store.open(tiny, create=False) as src:
        store = scratch_copy(src, tmp_path)
    log = run(store, SimConfig(days=2, arms=("timeline", same, "blend"), samples=50, users=90))
    body = summarize(log).body
    assert set(body["paired_timeline"]) == {same, "blend"}
    assert body["paired_timeline"][same] == {
        "impression": [1.0] * 3,
        "user": [1.0] * 3,
        "hides_per_1000": [0.0] * 3,  # followed authors' posts only: the world never hides them
        "shadow_hides_per_1000": 0.0,
    }
    blend_hides = body["paired_timeline"]["blend"]["hides_per_1000"]
    assert blend_hides[1] <= blend_hides[0] <= blend_hides[2] and blend_hides[0] > 0
    # the targets on the paired measure: its own shadow is 1× (not 1.2×) and hides no more
    # than it; the blend hides more than its users' timelines
    met = {(t["arm"], t["metric"]): t["met"] for t in body["targets"]}
    assert met[(same, "paired_engagement_rate")] is False
    assert met[(same, "paired_hides")] is True
    assert met[("blend", "paired_hides")] is False
    ratio = body["paired_timeline"]["blend"]["impression"]
    assert met[("blend", "paired_engagement_rate")] is (ratio[1] >= 1.2)
    from discovery.simulation.report import markdown

    text = markdown(summarize(log))
    assert (
        f"| {same} | **paired**: expected hides per 1,000 expected impressions | 0.0 | 0.0 | – |"
        " <= the timelines', whole interval | yes |"
    ) in text
    pair = log.paired["blend"]
    blend = log.arm == 2
    assert (pair.shadow_looks[~blend] == 0).all() and (pair.arm_looks[~blend] == 0).all()
    assert ((pair.arm_looks > 0) == (pair.shadow_looks > 0))[blend].all()
    store.close()

    from discovery.simulation.world import load_world

    with Store.open(tiny, create=False) as src:
        world = load_world(src)
    truth = world.truth
    # two sessions: user 3 sees posts 5, 6 (author of 5) and 5 again after; user 4 sees 7
    p5 = 5
    same_author = int(np.flatnonzero(truth.post_author == truth.post_author[p5])[1])
    served = Served(
        session=np.array([0, 0, 0, 1]), user=np.array([3, 3, 3, 4]),
        post=np.array([p5, same_author, 7, 7]), position=np.array([0, 1, 2, 0]),
        at=np.full(4, truth.now), sure=np.zeros(4, bool),
    )  # fmt: skip
    shown = np.array([(4 << 32) | 7], dtype=np.int64)  # user 4 was shown post 7 before
    got, looks, hides = expected_engagement(world, served, shown, fatigue=0.5)
    want, want_hides = [], []
    for i in range(4):
        u, p = served.user[i : i + 1], served.post[i : i + 1]
        earlier = sum(
            1 for j in range(i) if served.session[j] == served.session[i]
            and truth.post_author[served.post[j]] == truth.post_author[p[0]]
        )  # fmt: skip
        pr = responses(truth, truth.post_quality, u, p, served.at[i : i + 1], world.max_theta,
                       np.array([-0.5 * earlier]))  # fmt: skip
        e = float(pr.like[0] * (1 + pr.comment[0] + pr.save[0] + truth.params.share))
        repeat = served.user[i] == 4 and served.post[i] == 7
        want.append(attention(3)[served.position[i]] * (0.0 if repeat else e))
        h = float((1 - pr.click[0]) * pr.hide[0])  # a hide is drawn only when not clicked
        want_hides.append(attention(3)[served.position[i]] * (0.0 if repeat else h))
    assert got.tolist() == pytest.approx(want)
    assert hides.tolist() == pytest.approx(want_hides) and max(want_hides) > 0
    assert looks.tolist() == pytest.approx(attention(3)[served.position].tolist())
    assert got[3] == 0.0  # a repeat draws nothing
    assert expected_engagement(world, served, shown, fatigue=0.0)[0][1] > got[1]  # fatigue
