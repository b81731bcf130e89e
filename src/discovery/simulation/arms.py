"""The arms a simulation compares: the engine's feeds, and three references around them.

=========  ===================================================================================
arm        what each user of the arm is served (``k`` posts)
=========  ===================================================================================
timeline   ``Engine`` feed kind ``timeline`` (default ranker); likewise ``explore``,
           ``interests`` and ``blend``
tutorial   the blend under the tutorial's ranker
oracle     the unseen posts of the candidate window ranked by true utility at serving time,
           greedily, with the author fatigue the users feel (the best the engine could do)
random     a uniform draw from the same unseen window posts
replay     the generator's own exposure process (:mod:`.replay`): the engine out of the loop
=========  ===================================================================================

An engine arm takes setting changes after a colon, ``blend:explore_scale=1;source_cap=0.8``
(the names of :class:`~discovery.settings.Settings`), and ``ranker=NAME`` for another ranker
(``blend:ranker=learned``: the model the simulation was given, see :func:`.loop.run`);
``A+B`` is the team-draft interleaving of arms ``A`` and ``B`` in one feed (:mod:`.interleave`).

Engine arms run the engine's pipeline (:class:`~discovery.ranking.pipeline.Pipeline`, as
:meth:`discovery.Engine.feed` does) on the engine's snapshot, which the loop catches up with
the store every day; the references read the ground truth, never the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..seed import child_rng

__all__ = ["ARMS", "Arm", "Day", "EngineArm", "OracleArm", "RandomArm", "make_arm", "unseen"]


@dataclass
class Day:
    """What every arm may read on one simulated day."""

    index: int
    start: int  # the store's clock while feeds are served (Unix seconds)
    k: int
    seed: int
    fatigue: float
    opens: float
    world: Any  # SimWorld
    engine: Any  # discovery.Engine, caught up with the store
    shown_before: np.ndarray  # sorted keys user << 32 | post of earlier impressions
    window: np.ndarray  # post indices taken in the candidate window before ``start``


def unseen(day: Day, user: int) -> np.ndarray:
    """Window posts not by ``user`` and never shown to them."""
    posts = day.window[day.world.truth.post_author[day.window] != user]
    keys = (np.int64(user) << 32) | posts.astype(np.int64)
    hit = np.searchsorted(day.shown_before, keys)
    known = day.shown_before[np.minimum(hit, max(len(day.shown_before) - 1, 0))] == keys
    if len(day.shown_before):
        posts = posts[~((hit < len(day.shown_before)) & known)]
    return posts


class Arm:
    """One arm: ``serve`` returns, for each user, the post indices of their feed in order."""

    name = "arm"
    describe = ""
    looks_at_all = False  # True: every served item is an impression (no position attention)

    def serve(self, day: Day, users: np.ndarray, times: np.ndarray) -> list[np.ndarray]:
        raise NotImplementedError


class EngineArm(Arm):
    """A feed kind of the engine under a ranker."""

    def __init__(
        self, name: str, kind: str, ranker: str, changes: dict[str, Any] | None = None
    ) -> None:
        self.name, self.kind, self.ranker = name, kind, ranker
        self.changes = changes or {}
        self.describe = f"Engine feed kind {kind!r}, ranker {ranker!r}"
        if self.changes:
            from ..settings import Settings

            Settings().replace(**self.changes)  # a bad value fails here, before any day

    def serve(self, day: Day, users: np.ndarray, times: np.ndarray) -> list[np.ndarray]:
        from ..ranking import get_ranker
        from ..ranking.pipeline import Pipeline

        engine = day.engine
        snap = engine.snapshot
        index = snap.accounts.lookup(np.asarray(users, np.int64) + 1)
        settings = engine.settings.replace(**self.changes) if self.changes else None
        out = []
        # as a served request does: the models plus the stored post vectors, if any
        # (``discovery embed``), so the ``embedding`` source runs in the simulated feeds too
        artifacts = engine.request_artifacts()
        for i in index.tolist():
            ctx = engine.context(int(i), settings)
            rk = get_ranker(self.ranker, ctx.settings, artifacts)
            picks = Pipeline(ctx, rk, artifacts).picks(self.kind, day.k)
            posts = np.array([pk.post for pk in picks], dtype=np.int64)
            out.append(np.asarray(snap.post_id[posts], dtype=np.int64) - 1)
        return out


class OracleArm(Arm):
    name = "oracle"
    describe = "unseen window posts by true utility, greedy under author fatigue"

    def serve(self, day: Day, users: np.ndarray, times: np.ndarray) -> list[np.ndarray]:
        from ..world.truth import utility_logit

        truth = day.world.truth
        out = []
        for u, t in zip(users.tolist(), times.tolist(), strict=True):
            posts = unseen(day, u)
            logit = utility_logit(truth, np.full(len(posts), u), posts, t)["logit"].copy()
            _, author = np.unique(truth.post_author[posts], return_inverse=True)
            count = np.zeros(int(author.max(initial=-1)) + 1)
            chosen = []
            for _ in range(min(day.k, len(posts))):
                j = int(np.argmax(logit - day.fatigue * count[author]))
                chosen.append(posts[j])
                logit[j] = -np.inf
                count[author[j]] += 1
            out.append(np.array(chosen, dtype=np.int64))
        return out


class RandomArm(Arm):
    name = "random"
    describe = "a uniform draw of unseen window posts"

    def serve(self, day: Day, users: np.ndarray, times: np.ndarray) -> list[np.ndarray]:
        out = []
        for u in users.tolist():
            posts = unseen(day, u)
            gen = child_rng(day.seed, "simulation", "random", day.index, u)
            out.append(posts[gen.permutation(len(posts))[: day.k]])
        return out


def _replay() -> Arm:
    from .replay import ReplayArm

    return ReplayArm()


#: Arm factories by name.
ARMS: dict[str, Callable[[], Arm]] = {
    "timeline": lambda: EngineArm("timeline", "timeline", "default"),
    "explore": lambda: EngineArm("explore", "explore", "default"),
    "interests": lambda: EngineArm("interests", "interests", "default"),
    "blend": lambda: EngineArm("blend", "blend", "default"),
    "tutorial": lambda: EngineArm("tutorial", "blend", "tutorial"),
    "oracle": OracleArm,
    "random": RandomArm,
    "replay": _replay,
}


def make_arm(spec: str) -> Arm:
    """The arm named by ``spec`` (see the module docstring); :class:`InputError` if unknown.

    >>> make_arm("blend:explore_scale=1").changes
    {'explore_scale': 1.0}
    >>> arm = make_arm("blend:ranker=learned;explore_scale=1")
    >>> arm.kind, arm.ranker, arm.changes
    ('blend', 'learned', {'explore_scale': 1.0})
    """
    from ..errors import InputError
    from ..ranking.rankers import RANKERS
    from ..settings import parse_assignments

    if "+" in spec:
        from .interleave import InterleaveArm

        a, _, b = spec.partition("+")
        return InterleaveArm(spec, make_arm(a), make_arm(b))
    base, sep, assignments = spec.partition(":")
    if base not in ARMS:
        raise InputError(f"--arms: unknown arm {base!r}; known: {', '.join(ARMS)}")
    arm = ARMS[base]()
    if sep:
        if not isinstance(arm, EngineArm):
            raise InputError(f"--arms: {base} takes no settings (only the engine's arms do)")
        items = [x.strip() for x in assignments.split(";") if x.strip()]
        ranker = arm.ranker
        for item in [x for x in items if x.partition("=")[0].strip() == "ranker"]:
            ranker = item.partition("=")[2].strip()
            items.remove(item)
        if ranker not in RANKERS:
            raise InputError(f"--arms: unknown ranker {ranker!r}; known: {', '.join(RANKERS)}")
        arm = EngineArm(spec, arm.kind, ranker, parse_assignments(items))
    return arm
