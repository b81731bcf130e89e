"""The day loop: serve, look, respond, write through the event path, post, advance the clock.

Each simulated day ``d`` (starting at the world's ``now``):

1. the store's clock stands at the day's midnight and the engine has caught up with the store
   (:meth:`discovery.Engine.refresh`: incremental, so yesterday's likes, hides and follows
   move today's feeds);
2. each participant opens the app with their activity's probability, at an hour of the
   world's diurnal profile, and is served ``k`` posts by their arm (and, in an engine arm, the
   default timeline of that moment is asked for too and scored, never shown: :mod:`.paired`);
3. responses are drawn (:mod:`.behaviour`); a user follows an author after liking
   ``follow_after`` of their posts in the run;
4. every impression, click, like, comment, save, share, hide and follow is written by
   :func:`discovery.store.events.record_events`, the function behind ``POST /v1/events``, in one
   transaction with the day's new posts (:mod:`.posting`); the clock moves to the next midnight.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import setops
from ..errors import InputError
from ..seed import child_rng
from ..settings import Settings
from ..store import Store
from ..store.events import EventRow, record_events
from ..store.model import KIND_CODE
from .arms import Day, make_arm
from .behaviour import Responded, Served, respond
from .config import SimConfig
from .learn import record_run
from .paired import Paired
from .posting import post_day
from .users import assign_arms, daily_opens, participants, session_times
from .world import load_world

__all__ = ["History", "SimLog", "run"]

DAY = 86_400


@dataclass
class History:
    """The generated history of the participants: what the ``replay`` arm must reproduce."""

    impressions: int
    like_rate: float
    in_network_share: float  # of impressions, by the follows at generation


@dataclass
class SimLog:
    """Everything measured: the participants, their arms, and every impression by day."""

    config: SimConfig
    users: np.ndarray  # account indices of the participants
    arm: np.ndarray  # arm number of each participant
    start: int  # the world's now: midnight of day 0
    history: History
    top_topics: np.ndarray  # (participants, 3) true top topics
    impressions: list[tuple[int, Responded]] = field(default_factory=list)
    follows: list[tuple[int, np.ndarray]] = field(default_factory=list)  # (day, follower)
    catalog: list[np.ndarray] = field(default_factory=list)  # window posts per day
    post_topic: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int16))
    new_posts: int = 0
    teams: dict[str, dict[tuple[int, int, int], int]] = field(default_factory=dict)
    #: CPU seconds by phase (serve:<arm>, shadow, respond, write, refresh): for bench/, not
    #: the report
    cpu: dict[str, float] = field(default_factory=dict)
    #: Per engine arm but the timeline, its lists against its users' shadow timelines
    paired: dict[str, Paired] = field(default_factory=dict)


def _history(snap, truth, users: np.ndarray) -> tuple[History, np.ndarray]:  # type: ignore[no-untyped-def]
    u = snap.account_id[snap.inter_user].astype(np.int64) - 1
    p = snap.post_id[snap.inter_post].astype(np.int64) - 1
    kind = snap.inter_kind
    mine = np.isin(u, users) & (kind != KIND_CODE["tag"])
    keys = setops.unique((u[mine] << 32) | p[mine])
    imp = mine & (kind == KIND_CODE["impression"])
    likes = int((mine & (kind == KIND_CODE["like"])).sum())
    n = int(imp.sum())
    inside = truth.follows(u[imp], truth.post_author[p[imp]])
    return History(n, likes / max(n, 1), float(inside.mean()) if n else 0.0), keys


def run(
    store: Store,
    cfg: SimConfig,
    progress: Callable[[int, int], None] | None = None,
    settings: Settings | None = None,
    artifacts: Mapping[str, Any] | None = None,
) -> SimLog:
    """Simulate ``cfg.days`` days on ``store`` (a scratch copy: it is written to).

    ``artifacts``: the trained models the engine serves with (``{"ranker": LearnedModel}``
    for arms with ``ranker=learned``); by default the store's own, as :meth:`Engine.open`
    loads them. An arm asking for the learned ranker when there is no model is an
    :class:`InputError` (the engine would silently serve the default ranker)."""
    from ..engine import Engine
    from ..signals.loading import load_artifacts
    from ..snapshot import load_snapshot

    cfg.check()
    world = load_world(store)
    arms = [make_arm(name) for name in cfg.arms]
    models = load_artifacts(store) if artifacts is None else artifacts
    if "ranker" not in models and any(getattr(a, "ranker", "") == "learned" for a in arms):
        raise InputError(
            "--arms: ranker=learned needs a trained ranker (--ranker-from DB, or a world with"
            " one: discovery train ranker)"
        )
    engine = Engine(store, load_snapshot(store, cache=False), settings or Settings(), models)
    users = participants(world.people, cfg.users, cfg.seed)
    arm_of = assign_arms(users, len(cfg.arms), cfg.seed)
    history, shown = _history(engine.snapshot, world.truth, users)
    top = np.argsort(-world.truth.theta[users], axis=1, kind="stable")[:, :3]
    log = SimLog(cfg, users, arm_of, int(engine.snapshot.now), history, top)
    window = engine.settings.window_days * DAY
    liked: dict[int, int] = {}  # user << 32 | author -> likes in the run
    for d in range(cfg.days):
        start = log.start + d * DAY
        t = world.truth.post_time
        win = np.flatnonzero((t >= start - window) & (t < start))
        day = Day(d, start, cfg.k, cfg.seed, cfg.fatigue, cfg.opens, world, engine, shown, win)
        opens = daily_opens(world.activity[users], cfg.opens, cfg.seed, d)
        today, arm_today = users[opens], arm_of[opens]
        times = session_times(len(today), start, cfg.seed, d)
        served = _serve(arms, day, today, arm_today, times, log.cpu)
        _shadow(log, arms, day, served, today, np.flatnonzero(opens), arm_today, times, world)
        tick = time.process_time()
        resp = respond(
            world, served, shown, cfg.fatigue, child_rng(cfg.seed, "simulation", "look", d)
        )
        src, dst, at = _follows(world, resp, liked, cfg.follow_after)
        rows = _events(d, resp, src, dst, at)
        tick = _charge(log.cpu, "respond", tick)
        with store.transaction():
            record_events(store, rows, received_at=start + DAY)
            log.new_posts += post_day(store, world, start, cfg.seed, d)
            store.set_clock("fixed", at=start + DAY)
        world.add_follows(src, dst)
        keys = (resp.user.astype(np.int64) << 32) | resp.post.astype(np.int64)
        shown = setops.union(shown, keys)
        tick = _charge(log.cpu, "write", tick)
        engine.refresh()
        _charge(log.cpu, "refresh", tick)
        log.impressions.append((d, resp))
        log.follows.append((d, src))
        log.catalog.append(win)
        if progress is not None:
            progress(d + 1, cfg.days)
    log.post_topic = world.truth.post_topic
    log.teams = {a.name: a.teams for a in arms if hasattr(a, "teams")}
    record_run(store, log)  # a kept run's impressions can train a later model
    return log


def _charge(cpu: dict[str, float], phase: str, since: float) -> float:
    now = time.process_time()
    cpu[phase] = cpu.get(phase, 0.0) + now - since
    return now


def _serve(arms, day: Day, users, arm_of, times, cpu) -> Served:  # type: ignore[no-untyped-def]
    parts = []
    for a, arm in enumerate(arms):
        sel = np.flatnonzero(arm_of == a)
        tick = time.process_time()
        feeds = arm.serve(day, users[sel], times[sel])
        _charge(cpu, f"serve:{arm.name}", tick)
        parts.append(_rows(sel, users, times, feeds, arm.looks_at_all))
    return _concat(parts)


def _rows(sel, users, times, feeds, sure: bool) -> Served:  # type: ignore[no-untyped-def]
    """The served rows of sessions ``sel`` (indexes into today's ``users`` and ``times``)."""
    k = np.array([len(f) for f in feeds], dtype=np.int64)
    session = np.repeat(np.asarray(sel, np.int64), k)
    position = np.arange(len(session)) - np.repeat(np.cumsum(k) - k, k)
    posts = [np.asarray(f, np.int64) for f in feeds]
    post = np.concatenate(posts) if posts else np.zeros(0, np.int64)
    at = np.asarray(times, np.int64)[session] + 4 * position  # a few seconds per item looked at
    user = np.asarray(users, np.int64)[session]
    return Served(session, user, post, position, at, np.full(len(session), sure))


def _concat(parts: list[Served]) -> Served:
    def cat(name: str, dtype: type) -> np.ndarray:
        xs = [getattr(p, name) for p in parts]
        return np.concatenate(xs).astype(dtype) if xs else np.zeros(0, dtype)

    return Served(
        cat("session", np.int64), cat("user", np.int64), cat("post", np.int64),
        cat("position", np.int64), cat("at", np.int64), cat("sure", bool),
    )  # fmt: skip


def _subset(served: Served, keep: np.ndarray) -> Served:
    return Served(
        served.session[keep], served.user[keep], served.post[keep], served.position[keep],
        served.at[keep], served.sure[keep],
    )  # fmt: skip


def _shadow(log: SimLog, arms, day: Day, served: Served, today, who, arm_of, times, world) -> None:  # type: ignore[no-untyped-def]
    """Score each engine arm's lists and, for the same sessions, the default timeline (its
    users' *shadow*, never shown: :mod:`.paired`); ``who`` maps today's sessions to
    participants."""
    from .arms import EngineArm
    from .paired import expected_engagement

    timeline = make_arm("timeline")
    for a, arm in enumerate(arms):
        if not isinstance(arm, EngineArm) or arm.name == "timeline":
            continue
        pair = log.paired.setdefault(arm.name, Paired.empty(len(log.users)))
        sel = np.flatnonzero(arm_of == a)
        rows = _subset(served, np.isin(served.session, sel))
        pair.add(
            who[rows.session],
            expected_engagement(world, rows, day.shown_before, day.fatigue),
            False,
        )
        tick = time.process_time()
        shadow = _rows(sel, today, times, timeline.serve(day, today[sel], times[sel]), False)
        _charge(log.cpu, "shadow", tick)
        pair.add(
            who[shadow.session],
            expected_engagement(world, shadow, day.shown_before, day.fatigue),
            True,
        )


def _follows(world, resp: Responded, liked: dict[int, int], after: int):  # type: ignore[no-untyped-def]
    """Follows made today: the ``after``-th like of an author not followed yet."""
    src, dst, at = [], [], []
    order = np.argsort(resp.at, kind="stable")
    for i in order[resp.like[order]].tolist():
        u, a = int(resp.user[i]), int(resp.author[i])
        key = (u << 32) | a
        liked[key] = liked.get(key, 0) + 1
        if liked[key] == after and not world.truth.follows(np.array([u]), np.array([a]))[0]:
            src.append(u)
            dst.append(a)
            at.append(int(resp.at[i]) + 3)
    return np.array(src, np.int64), np.array(dst, np.int64), np.array(at, np.int64)


def _events(day: int, resp: Responded, src, dst, at) -> list[EventRow]:  # type: ignore[no-untyped-def]
    rows: list[EventRow] = []
    kinds: list[tuple[str, np.ndarray | None, int]] = [("impression", None, 0)]
    kinds += [("click", resp.click, 1), ("like", resp.like, 2), ("comment", resp.comment, 3)]
    kinds += [("save", resp.save, 4), ("share", resp.share, 5), ("hide", resp.hide, 1)]
    user, post, when = resp.user.tolist(), resp.post.tolist(), resp.at.tolist()
    for i in range(len(resp)):
        for kind, mask, offset in kinds:
            if mask is None or mask[i]:
                rows.append(
                    EventRow(
                        f"sim{day}-{i}-{kind}", user[i] + 1, kind, when[i] + offset, post[i] + 1
                    )
                )
    for j, (u, a, t) in enumerate(zip(src.tolist(), dst.tolist(), at.tolist(), strict=True)):
        rows.append(EventRow(f"sim{day}-f{j}", u + 1, "follow", t, target=a + 1))
    return rows
