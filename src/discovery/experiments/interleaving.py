"""Team-draft interleaving of two rankings and the per-user preference test.

Two rankers, *a* and *b*, are compared inside one feed: :func:`team_draft` merges their lists
and remembers which team put each item there; :func:`credit` counts a user's clicks and likes
per team; :func:`preferences` turns per-user credits into wins, losses and ties for *a*; and
:func:`preference_test` asks whether the wins and losses could be a fair coin's.

Reference: F. Radlinski, M. Kurup and T. Joachims, "How does clickthrough data reflect
retrieval quality?", CIKM 2008 (algorithm 2, team-draft interleaving).

>>> items, teams = team_draft([1, 2, 3], [2, 4, 5], 4, iter([True, False]))
>>> items, teams
([1, 2, 4, 3], [0, 1, 1, 0])
>>> credit(teams, [False, True, True, False])
(0, 2)
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

__all__ = [
    "TEAM_A",
    "TEAM_B",
    "Preference",
    "credit",
    "preference_test",
    "preferences",
    "team_draft",
]

H = TypeVar("H", bound=Hashable)

#: The team of an item the first ranking contributed.
TEAM_A = 0
#: The team of an item the second ranking contributed.
TEAM_B = 1


def _coin(rng: np.random.Generator | Iterator[bool]) -> bool:
    """True: team A picks first in this round."""
    if isinstance(rng, np.random.Generator):
        return bool(rng.random() < 0.5)
    return bool(next(rng))


def team_draft(
    a: Sequence[H], b: Sequence[H], k: int, rng: np.random.Generator | Iterator[bool]
) -> tuple[list[H], list[int]]:
    """Merge rankings ``a`` and ``b`` into at most ``k`` items by team draft.

    Like two captains picking players: the team with fewer picks so far chooses next (a coin
    decides when they have as many), and it takes its own ranking's highest item not yet in
    the merged list. Merging stops at ``k`` items, or when either ranking has nothing left to
    give (as in the paper, so every prefix stays balanced: the teams' sizes differ by at most
    one). With both rankings at least ``k`` long the result always has ``k`` items.

    Parameters
    ----------
    a, b : sequences of hashable items (post ids), best first; duplicates inside one list
        are ignored after their first occurrence.
    k : the length of the merged list.
    rng : a :class:`numpy.random.Generator` (use :func:`discovery.seed.child_rng`), or an
        iterator of coins (``True``: A picks first) for a fixed sequence in tests. One coin
        is drawn each time the teams are level.

    Returns
    -------
    (items, teams) : the merged list and, per item, :data:`TEAM_A` or :data:`TEAM_B`.

    Examples
    --------
    Identical rankings: whichever team picks, the merged list is the common ranking.

    >>> team_draft([7, 8, 9], [7, 8, 9], 3, iter([False, True]))
    ([7, 8, 9], [1, 0, 0])
    """
    if k < 0:
        raise ValueError(f"k must be non-negative, got {k}")
    items: list[H] = []
    teams: list[int] = []
    used: set[H] = set()
    ia = ib = 0
    size = [0, 0]
    while len(items) < k:
        while ia < len(a) and a[ia] in used:
            ia += 1
        while ib < len(b) and b[ib] in used:
            ib += 1
        if ia == len(a) or ib == len(b):
            break
        a_turn = size[TEAM_A] < size[TEAM_B] or (size[TEAM_A] == size[TEAM_B] and _coin(rng))
        team, item = (TEAM_A, a[ia]) if a_turn else (TEAM_B, b[ib])
        items.append(item)
        teams.append(team)
        used.add(item)
        size[team] += 1
    return items, teams


def credit(teams: Sequence[int], engaged: Sequence[bool]) -> tuple[int, int]:
    """Engaged items (clicked or liked) per team: ``(credit_a, credit_b)``.

    >>> credit([0, 1, 0, 1], [True, True, True, False])
    (2, 1)
    """
    if len(teams) != len(engaged):
        raise ValueError(f"{len(teams)} teams but {len(engaged)} engagement flags")
    won = [0, 0]
    for team, hit in zip(teams, engaged, strict=True):
        if hit:
            won[team] += 1
    return won[TEAM_A], won[TEAM_B]


@dataclass(frozen=True)
class Preference:
    """Per-user outcomes of an interleaving experiment, from A's side: ``wins`` users engaged
    more with A's items, ``losses`` more with B's, ``ties`` as much with both (zero included)."""

    wins: int
    losses: int
    ties: int

    @property
    def p_value(self) -> float:
        """Two-sided sign test of wins against losses (:func:`preference_test`)."""
        return preference_test(self.wins, self.losses)

    @property
    def delta(self) -> float:
        """``(wins - losses) / (wins + losses + ties)``: > 0 when A is preferred (Chapelle
        et al. 2012, "Large-scale validation and analysis of interleaved search evaluation");
        0.0 when there are no users."""
        n = self.wins + self.losses + self.ties
        return 0.0 if n == 0 else (self.wins - self.losses) / n


def preferences(users: Sequence[int], teams: Sequence[int], engaged: Sequence[bool]) -> Preference:
    """Sum each user's credit over all their interleaved impressions, then count users.

    One row per impression: the user it was shown to, its team and whether it was engaged
    with. A user is a win for A when A's items earned more engagements than B's over all of
    the user's impressions (the per-user aggregation of Chapelle et al. 2012).

    >>> preferences([1, 1, 2, 2, 3], [0, 1, 0, 1, 0], [True, False, False, True, False])
    Preference(wins=1, losses=1, ties=1)
    """
    u = np.asarray(users, dtype=np.int64)
    t = np.asarray(teams, dtype=np.int64)
    e = np.asarray(engaged, dtype=bool)
    if not len(u) == len(t) == len(e):
        raise ValueError("users, teams and engaged must have one entry per impression")
    if len(u) == 0:
        return Preference(0, 0, 0)
    ids, row = np.unique(u, return_inverse=True)
    margin = np.bincount(row, weights=np.where(t == TEAM_A, 1.0, -1.0) * e, minlength=len(ids))
    return Preference(int((margin > 0).sum()), int((margin < 0).sum()), int((margin == 0).sum()))


def preference_test(wins: int, losses: int) -> float:
    """Two-sided sign test: the probability, if users preferred either ranker with
    probability 1/2, of a split at least as uneven as ``wins`` to ``losses`` (ties are left
    out before calling). ``p = min(1, 2·P[X ≤ min(wins, losses)])``, ``X ~ Binomial(wins +
    losses, 1/2)``, computed by :func:`scipy.stats.binomtest`; 1.0 with no decided users.

    >>> round(preference_test(9, 1), 4)
    0.0215
    >>> preference_test(0, 0)
    1.0
    """
    if wins < 0 or losses < 0:
        raise ValueError(f"counts must be non-negative, got {wins} and {losses}")
    if wins + losses == 0:
        return 1.0
    from scipy.stats import binomtest

    return float(binomtest(int(wins), int(wins + losses), 0.5).pvalue)
