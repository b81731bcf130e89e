"""Who is in which arm, who opens the app on a day, and when.

Arms are assigned by a deterministic hash of the seed and the account (the same SplitMix64 the
world uses for tie strengths, :func:`discovery.world.truth.affinity`): users are ordered by
their hash and dealt to the arms in turn, so arms differ in size by at most one and a user
stays in one arm every day.
"""

from __future__ import annotations

import numpy as np

from ..seed import child_rng

__all__ = ["assign_arms", "daily_opens", "participants", "session_times"]


def participants(people: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Every person (``n`` = 0) or a seeded sample of ``n`` of them, sorted."""
    if n == 0 or n >= len(people):
        return np.sort(people)
    return np.sort(child_rng(seed, "simulation", "users").choice(people, n, replace=False))


def assign_arms(users: np.ndarray, n_arms: int, seed: int) -> np.ndarray:
    """Arm number of each user: users sorted by a hash of ``(seed, user)``, dealt in turn.

    >>> a = assign_arms(np.arange(10), 3, 1)
    >>> sorted(np.bincount(a).tolist()), bool((a == assign_arms(np.arange(10), 3, 1)).all())
    ([3, 3, 4], True)
    """
    from ..world.truth import affinity

    h = affinity(seed, np.asarray(users, np.int64), np.full(len(users), 0x5EED, np.int64))
    order = np.lexsort((np.asarray(users), h))
    arm = np.empty(len(users), dtype=np.int64)
    arm[order] = np.arange(len(users)) % n_arms
    return arm


def daily_opens(activity: np.ndarray, rate: float, seed: int, day: int) -> np.ndarray:
    """Whether each user opens the app on ``day``: :math:`P = 1 - e^{-r a_u}`."""
    p = 1.0 - np.exp(-rate * np.asarray(activity, dtype=np.float64))
    return np.asarray(child_rng(seed, "simulation", "opens", day).random(len(p)) < p)


def session_times(n: int, day_start: int, seed: int, day: int) -> np.ndarray:
    """A time in the day for each of ``n`` sessions, hours drawn from the world's diurnal
    profile (:data:`discovery.world.posts.DIURNAL`, used for browsing as for posting)."""
    from ..world.posts import DIURNAL

    gen = child_rng(seed, "simulation", "sessions", day)
    hour = gen.choice(24, size=n, p=DIURNAL / DIURNAL.sum())
    return np.asarray(day_start + hour * 3600 + gen.integers(0, 3000, n), dtype=np.int64)
