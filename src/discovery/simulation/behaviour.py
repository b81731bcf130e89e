"""How a user responds to a served feed: attention by position, then the world's own model.

Each served item at position :math:`i` is looked at with probability :math:`1/\\log_2(i + 2)`
(:func:`~.config.attention`). A looked-at item is an *impression*; its responses are drawn from
the generator's model (:func:`discovery.world.interactions.responses`: the utility
:math:`U = \\sigma(\\ell)` of :mod:`discovery.world.truth` is the like probability, a click is at
least as likely, comment and save follow a like, a hide an unclicked poor topical match), with
two additions of the closed loop: the utility logit of the :math:`j`-th post of an author looked
at in one session is lowered by :math:`j \\cdot` ``fatigue``, and a post shown to the user
before draws no response. Like implies click (one uniform under two thresholds), as in the
generator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..signals.fatigue import group_rank
from .config import attention

__all__ = ["Responded", "Served", "respond", "session_rank"]


@dataclass
class Served:
    """The feeds of one day, flattened: one row per served item."""

    session: np.ndarray  # session number within the day
    user: np.ndarray  # account index
    post: np.ndarray  # post index
    position: np.ndarray  # 0-based
    at: np.ndarray  # Unix seconds the item is reached
    sure: np.ndarray  # looked at whatever the position (the replay arm's exposures)


@dataclass
class Responded:
    """Impressions (looked-at items) of one day and what each drew."""

    session: np.ndarray
    user: np.ndarray
    post: np.ndarray
    author: np.ndarray
    position: np.ndarray
    at: np.ndarray
    repeat: np.ndarray  # shown before: no response
    in_network: np.ndarray  # the user followed the author when served
    utility: np.ndarray  # P(like) under fatigue (0 for repeats): the expected like
    click: np.ndarray
    like: np.ndarray
    comment: np.ndarray
    save: np.ndarray
    share: np.ndarray
    hide: np.ndarray

    def __len__(self) -> int:
        return len(self.user)

    @property
    def engaged(self) -> np.ndarray:
        """Positive engagements of each impression: like + comment + save + share."""
        return self.like.astype(np.int64) + self.comment + self.save + self.share


def session_rank(session: np.ndarray, author: np.ndarray, position: np.ndarray) -> np.ndarray:
    """How many earlier impressions of the same author each impression has in its session.

    >>> session_rank(np.array([0, 0, 0, 1]), np.array([5, 5, 6, 5]), np.array([0, 3, 1, 0])).tolist()
    [0, 1, 0, 0]
    """
    return group_rank(session, author, order=position)


def respond(
    world, served: Served, shown_before: np.ndarray, fatigue: float, gen: np.random.Generator
) -> Responded:  # type: ignore[no-untyped-def]
    """Draw who looks at what and how they respond.

    ``shown_before`` holds sorted keys ``user << 32 | post`` of earlier impressions.
    """
    from ..world.interactions import responses

    truth = world.truth
    chance = attention(int(served.position.max(initial=0)) + 1)[served.position]
    look = (gen.random(len(served.user)) < chance) | served.sure
    s, u, p = served.session[look], served.user[look], served.post[look]
    pos, at = served.position[look], served.at[look]
    author = truth.post_author[p].astype(np.int64)
    keys = (u.astype(np.int64) << 32) | p.astype(np.int64)
    hit = np.searchsorted(shown_before, keys)
    repeat = (
        (hit < len(shown_before))
        & (shown_before[np.minimum(hit, max(len(shown_before) - 1, 0))] == keys)
        if len(shown_before)
        else np.zeros(len(keys), dtype=bool)
    )
    shift = -fatigue * session_rank(s, author, pos)
    pr = responses(truth, truth.post_quality, u, p, at, world.max_theta, shift)
    fresh = ~repeat
    r = gen.random(len(u))
    click = fresh & (r < pr.click)
    like = fresh & (r < pr.like)
    comment = like & (gen.random(len(u)) < pr.comment)
    save = like & (gen.random(len(u)) < pr.save)
    share = like & (gen.random(len(u)) < truth.params.share)
    hide = fresh & ~click & (gen.random(len(u)) < pr.hide)
    return Responded(
        s, u, p, author, pos, at, repeat, pr.follow > 0, np.where(fresh, pr.like, 0.0),
        click, like, comment, save, share, hide,
    )  # fmt: skip
