"""The timeline a participant would have been served, at the same moment: a paired comparison.

Arms hold different people, and people differ far more than rankers do: on the demo world two
splits of the same 2,000 users into arms put one arm 2 % and then 29 % above the timeline on
the first day, before any feedback (the README, "Closed-loop simulation"). So for every session
of an engine arm the loop also asks the engine for the default timeline the same user would
have been served at the same time (its *shadow*, never shown and never logged), and scores
both lists by their expectation under the world's own model, with no draw at all:

.. math::

    E = \\sum_i a_i \\, (1 - r_i) \\, U_i \\, (1 + c_i + s_i + h), \\qquad
    L = \\sum_i a_i

with :math:`a_i = 1/\\log_2(i + 2)` the chance of looking at position *i*
(:func:`~.config.attention`), :math:`r_i` 1 for a post the user was shown before (it draws no
response), :math:`U_i` the like probability under the author fatigue of the list's earlier
posts of the same author (in list order: the expectation over which of them are looked at is
not taken), and :math:`c_i, s_i, h` the chances of a comment, a save and a share that follow a
like (:func:`discovery.world.interactions.responses`). ``E / L`` is expected engagements per
expected impression, the first target of issue 13 without sampling noise; the arm's and the
shadow's are summed per user over the run, and their ratio's interval resamples the arm's users
with both lists of each user together.

The same lists' expected hides, :math:`H = \\sum_i a_i (1 - r_i)(1 - k_i) h_i` with
:math:`k_i` the click and :math:`h_i` the hide probability (a hide is drawn only for a post not
clicked), give ``H / L``, hides per expected impression without the draw of each rare hide: the
third target of issue 13. A shadow timeline's is exactly 0, as the world never hides a followed
author's post, so it is reported beside the arm's rather than as a ratio.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .behaviour import Served, session_rank
from .config import attention

__all__ = ["Paired", "expected_engagement", "paired_hides", "paired_ratio"]


def expected_engagement(
    world, served: Served, shown_before: np.ndarray, fatigue: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """Per served row: the expected engagements ``a_i (1 - r_i) U_i (1 + c_i + s_i + h)``, the
    chance ``a_i`` that it is looked at and its expected hides ``a_i (1 - r_i)(1 - k_i) h_i``
    (the module docstring's terms)."""
    from ..world.interactions import responses

    truth = world.truth
    n = len(served.user)
    if n == 0:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    look = attention(int(served.position.max()) + 1)[served.position]
    keys = (served.user.astype(np.int64) << 32) | served.post.astype(np.int64)
    hit = np.minimum(np.searchsorted(shown_before, keys), max(len(shown_before) - 1, 0))
    repeat = shown_before[hit] == keys if len(shown_before) else np.zeros(n, bool)
    author = truth.post_author[served.post].astype(np.int64)
    shift = -fatigue * session_rank(served.session, author, served.position)
    pr = responses(
        truth, truth.post_quality, served.user, served.post, served.at, world.max_theta, shift
    )
    engaged = pr.like * (1.0 + pr.comment + pr.save + truth.params.share)
    hidden = (1.0 - pr.click) * pr.hide
    return look * np.where(repeat, 0.0, engaged), look, look * np.where(repeat, 0.0, hidden)


@dataclass
class Paired:
    """One engine arm against its users' shadow timelines: per participant (``SimLog.users``
    order; 0 for those of other arms), the sums over the run of ``E``, ``L`` and ``H`` of both
    lists."""

    arm_expected: np.ndarray
    arm_looks: np.ndarray
    shadow_expected: np.ndarray
    shadow_looks: np.ndarray
    arm_hides: np.ndarray
    shadow_hides: np.ndarray

    @classmethod
    def empty(cls, n: int) -> Paired:
        return cls(*(np.zeros(n) for _ in range(6)))

    def add(
        self, who: np.ndarray, values: tuple[np.ndarray, np.ndarray, np.ndarray], shadow: bool
    ) -> None:
        """Add rows' ``(E, L, H)`` terms (:func:`expected_engagement`) to participants ``who``."""
        sums = (self.shadow_expected, self.shadow_looks, self.shadow_hides) if shadow else (
            self.arm_expected, self.arm_looks, self.arm_hides)  # fmt: skip
        for total, value in zip(sums, values, strict=True):
            np.add.at(total, who, value)

    def of(self, members: np.ndarray) -> Paired:
        """The sums of participants ``members`` only (an arm's users)."""
        return Paired(
            self.arm_expected[members], self.arm_looks[members],
            self.shadow_expected[members], self.shadow_looks[members],
            self.arm_hides[members], self.shadow_hides[members],
        )  # fmt: skip


def paired_ratio(
    pair: Paired, per: str, gen: np.random.Generator, samples: int
) -> tuple[float, float, float]:
    """The arm over its shadow timelines, ``per="impression"`` (``(ΣE/ΣL) / (ΣE'/ΣL')``) or
    ``per="user"`` (``ΣE / ΣE'``), with a percentile bootstrap over the arm's users.

    >>> from discovery.seed import rng
    >>> p = Paired(np.array([2.0, 4.0]), np.array([4.0, 4.0]), np.array([1.0, 2.0]),
    ...            np.array([2.0, 4.0]), np.zeros(2), np.zeros(2))
    >>> [round(x, 4) for x in paired_ratio(p, "user", rng(0), 50)][0]  # 6 / 3
    2.0
    >>> round(paired_ratio(p, "impression", rng(0), 50)[0], 4)  # (6/8) / (3/6)
    1.5
    """
    from ..evaluation.metrics import bootstrap

    def stat(w: np.ndarray) -> np.ndarray:
        a, s = w @ pair.arm_expected, w @ pair.shadow_expected
        if per == "user":
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.asarray(a / s)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray((a / (w @ pair.arm_looks)) / (s / (w @ pair.shadow_looks)))

    return bootstrap(stat, len(pair.arm_expected), gen, samples=samples)


def paired_hides(
    pair: Paired, gen: np.random.Generator, samples: int
) -> tuple[tuple[float, float, float], float]:
    """Expected hides per expected impression: the arm's ``ΣH / ΣL`` with a percentile
    bootstrap over its users, and its users' shadow timelines' ``ΣH' / ΣL'``.

    >>> from discovery.seed import rng
    >>> p = Paired(np.array([2.0, 4.0]), np.array([4.0, 4.0]), np.array([1.0, 2.0]),
    ...            np.array([2.0, 4.0]), np.array([0.02, 0.06]), np.zeros(2))
    >>> arm, shadow = paired_hides(p, rng(0), 50)
    >>> round(arm[0], 6), shadow  # 0.08 / 8
    (0.01, 0.0)
    """
    from ..evaluation.metrics import bootstrap

    def stat(w: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray((w @ pair.arm_hides) / (w @ pair.arm_looks))

    looks = float(pair.shadow_looks.sum())
    shadow = float(pair.shadow_hides.sum()) / looks if looks else float("nan")
    return bootstrap(stat, len(pair.arm_expected), gen, samples=samples), shadow
