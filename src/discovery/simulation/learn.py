"""Train the learned ranker on a simulation's own impressions (tune on one seed, serve on another).

The simulator writes every impression and response through the event path, so a run's store
holds served lists and what followed them, as a server's would. :func:`examples_from_log`
turns the impressions of chosen arms into training lists with
:func:`discovery.signals.training.examples_from_impressions` (one list per user and day,
features on the snapshot as of the day's start, graded by what the user did within the
horizon); :func:`train_on_simulation` fits and returns the model. The ``oracle`` arm is left
out by default: it chose with the ground truth, a policy no server has (``random`` is kept: a
uniform slice is how a real system logs unbiased exposure).

Features are hydrated without an ALS model (``als_score`` is 0), as the simulator's engine
serves them when the world has no trained ALS; a model trained with per-cut ALS scores would
meet zeros at serving time.

The default objective is ``engage`` (:mod:`discovery.signals.learned`): P(like, comment or
save) with a hide weighing ``1 + hide_penalty`` ignored posts, the hide penalty LambdaRank's
gains (hide and nothing both 0) lack. Its scores are probabilities, on one scale across users
and positive, so the blend's ``explore_scale`` multiplies them as it does the default
ranker's (a LambdaRank score may be negative, and scaling a negative score by 0.5 raises it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..seed import child_rng

if TYPE_CHECKING:
    from ..store import Store
    from .loop import SimLog

__all__ = ["REFERENCE_ARMS", "examples_from_log", "train_on_simulation"]

DAY = 86_400
#: Arms whose lists are not a policy a server could run, left out of training by default.
REFERENCE_ARMS = ("oracle", "replay")


def _training_users(log: SimLog, arms: Sequence[str] | None, users: int, seed: int) -> np.ndarray:
    names = log.config.arms
    chosen = [n for n in names if n.split(":")[0] not in REFERENCE_ARMS] if arms is None else arms
    unknown = [a for a in chosen if a not in names]
    if unknown:
        raise ValueError(f"arms not in the run: {unknown}")
    index = [names.index(a) for a in chosen]
    pool = np.sort(log.users[np.isin(log.arm, index)])
    if users and len(pool) > users:
        pool = np.sort(child_rng(seed, "simulation", "ranker-users").choice(pool, users, False))
    return pool


def examples_from_log(
    store: Store,
    log: SimLog,
    arms: Sequence[str] | None = None,
    *,
    users: int = 0,
    horizon: int = DAY,
    seed: int = 42,
) -> Any:
    """Training lists (:class:`~discovery.signals.learned.Examples`) from the impressions that
    the participants of ``arms`` (default: every arm but the references) saw, or ``users``
    of them sampled (0: all).

    ``store`` is the run's scratch store, after the run."""
    from ..signals.training import examples_from_impressions
    from ..snapshot import load_snapshot

    who = _training_users(log, arms, users, seed)
    parts = [(r.user[np.isin(r.user, who)], r.post[np.isin(r.user, who)], r.at[np.isin(r.user, who)])
             for _, r in log.impressions]  # fmt: skip
    u = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int64)
    p = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.int64)
    t = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0, np.int64)
    snap = load_snapshot(store, cache=False)
    su = snap.accounts.lookup(u.astype(np.int64) + 1)
    sp = snap.posts.lookup(p.astype(np.int64) + 1)
    return examples_from_impressions(snap, su, sp, t.astype(np.int64), horizon, als=False)


def train_on_simulation(
    store: Store,
    log: SimLog,
    arms: Sequence[str] | None = None,
    *,
    users: int = 0,
    objective: str = "engage",
    rounds: int = 300,
    seed: int = 42,
) -> Any:
    """Fit the learned ranker (:class:`~discovery.signals.learned.LearnedModel`) on a run's
    impressions; ``objective`` is one of :data:`discovery.signals.learned.OBJECTIVES`."""
    from ..signals.learned import RankerParams, train_ranker

    examples = examples_from_log(store, log, arms, users=users, seed=seed)
    model = train_ranker(examples, RankerParams(objective=objective, rounds=rounds, seed=seed))
    model.meta["trained_from"] = f"simulation seed {log.config.seed}"
    model.meta["objective"] = objective
    return model
