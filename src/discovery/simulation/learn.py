"""Train the learned ranker on a simulation's own impressions (tune on one seed, serve on another).

The simulator writes every impression and response through the event path, so a run's store
holds served lists and what followed them, as a server's would. :func:`examples_from_log`
turns the impressions of chosen arms into training lists with
:func:`discovery.signals.training.examples_from_impressions` (one list per user and day,
features on the snapshot as of the day's start, graded by what the user did within the
horizon); :func:`train_on_simulation` fits and returns the model. The ``oracle`` arm is left
out by default: it chose with the ground truth, a policy no server has (``random`` is kept: a
uniform slice is how a real system logs unbiased exposure).

A run records who took part in which arm in its store (:data:`RUN_META`, :func:`record_run`),
so the impressions of a *kept* run can train a later model beside the current run's
(:func:`examples_from_run`, ``discovery simulate --train-with``): the labels are likes drawn
from probabilities near 0.1, and on the demo world the model is limited by how many of them it
sees, not by its features (README, "Closed-loop simulation").

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

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InputError
from ..seed import child_rng

if TYPE_CHECKING:
    from ..store import Store
    from .loop import SimLog

__all__ = [
    "REFERENCE_ARMS",
    "RUN_META",
    "examples_from_log",
    "examples_from_run",
    "record_run",
    "train_on_simulation",
]

DAY = 86_400
#: Arms whose lists are not a policy a server could run, left out of training by default.
REFERENCE_ARMS = ("oracle", "replay")
#: Meta key of a run's store: its arms, start, participants and their arm numbers.
RUN_META = "simulation"


def record_run(store: Store, log: SimLog) -> None:
    """Write who took part in which arm of ``log``'s run into its store (:data:`RUN_META`)."""
    body = {
        "arms": list(log.config.arms),
        "seed": log.config.seed,
        "start": log.start,
        "users": log.users.tolist(),
        "arm": log.arm.tolist(),
    }
    with store.transaction():
        store.set_meta(RUN_META, json.dumps(body, separators=(",", ":")))


def _training_users(
    names: Sequence[str],
    participants: np.ndarray,
    arm: np.ndarray,
    arms: Sequence[str] | None,
    users: int,
    seed: int,
) -> np.ndarray:
    """The participants (world indexes, sorted) of ``arms`` (default: every arm but the
    references), or ``users`` of them sampled (0: all)."""
    chosen = [n for n in names if n.split(":")[0] not in REFERENCE_ARMS] if arms is None else arms
    unknown = [a for a in chosen if a not in names]
    if unknown:
        raise ValueError(f"arms not in the run: {unknown}")
    index = [list(names).index(a) for a in chosen]
    pool = np.sort(participants[np.isin(arm, index)])
    if users and len(pool) > users:
        pool = np.sort(child_rng(seed, "simulation", "ranker-users").choice(pool, users, False))
    return pool


def _examples(store: Store, who: np.ndarray, start: int, horizon: int) -> Any:
    """Training lists of the impressions ``store`` holds from ``start`` on, of the users
    ``who`` (world indexes): every impression the run served went through the event path."""
    from ..signals.training import examples_from_impressions
    from ..snapshot import load_snapshot
    from ..store.model import KIND_CODE

    snap = load_snapshot(store, cache=False)
    sel = (snap.inter_kind == KIND_CODE["impression"]) & (snap.inter_time >= start)
    u, p, t = snap.inter_user[sel], snap.inter_post[sel], snap.inter_time[sel]
    mine = np.isin(snap.account_id[u].astype(np.int64) - 1, who)
    return examples_from_impressions(
        snap, u[mine].astype(np.int64), p[mine].astype(np.int64), t[mine].astype(np.int64),
        horizon, als=False,
    )  # fmt: skip


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
    who = _training_users(log.config.arms, log.users, log.arm, arms, users, seed)
    return _examples(store, who, log.start, horizon)


def examples_from_run(kept: Store, *, horizon: int = DAY) -> Any:
    """The training lists of a kept run's store (one :func:`record_run` wrote to), as
    :func:`examples_from_log` gives them for that run's log with its default arms.

    Raises :class:`InputError` for a store that holds no finished run."""
    raw = kept.get_meta(RUN_META)
    if raw is None:
        raise InputError(f"{kept.url}: not a kept simulation run (simulate --keep DIR)")
    run = json.loads(raw)
    users, arm = np.asarray(run["users"], np.int64), np.asarray(run["arm"], np.int64)
    who = _training_users(run["arms"], users, arm, None, 0, 0)
    return _examples(kept, who, int(run["start"]), horizon)


def train_on_simulation(
    store: Store,
    log: SimLog,
    arms: Sequence[str] | None = None,
    *,
    users: int = 0,
    objective: str = "engage",
    rounds: int = 300,
    seed: int = 42,
    also: Sequence[Any] = (),
) -> Any:
    """Fit the learned ranker (:class:`~discovery.signals.learned.LearnedModel`) on a run's
    impressions and the training lists ``also`` (:func:`examples_from_run` of earlier kept
    runs); ``objective`` is one of :data:`discovery.signals.learned.OBJECTIVES`."""
    from ..signals.learned import Examples, RankerParams, train_ranker

    examples = Examples.concat([examples_from_log(store, log, arms, users=users, seed=seed), *also])
    model = train_ranker(examples, RankerParams(objective=objective, rounds=rounds, seed=seed))
    model.meta["trained_from"] = f"simulation seed {log.config.seed}" + (
        f" and {len(also)} earlier run{'s' if len(also) > 1 else ''}" if also else ""
    )
    model.meta["objective"] = objective
    return model
