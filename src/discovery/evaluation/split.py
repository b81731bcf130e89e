"""Temporal hold-out: what the engine may know at a cut, and what it is tested on after it.

Protocol (rolling origin, Tashman, "Out-of-sample tests of forecasting accuracy", IJF 16, 2000):
the last ``holdout`` seconds of the data are split into steps; for each step ``(c, c + step]``

- the **training view** is the store as of the cut ``c``: follows, interactions, like and
  comment counts, seen sets, hashtag vocabulary and IDF — everything from
  :meth:`Snapshot.as_of` — with posts re-indexed so that a post that does not exist yet at
  serving time is not in the arrays at all (``as_of`` keeps them, which would let their
  hashtags move the IDF);
- feeds are **served** at ``serve_at``: ``c + step`` with ``inventory="step"`` (posts published
  during the step are in the inventory with zero engagement and no post-cut signal, as a feed
  refreshed at the end of the day by an engine whose signals stopped at the cut), or ``c``
  with ``inventory="cut"`` (only posts taken before the cut);
- the **catalog** is what every strategy ranks: posts taken in the settings' ``window_days``
  before ``serve_at``;
- the **test set** of a user is the catalog posts they liked, commented or saved during the
  step, minus posts they had already engaged with (seen) before the cut.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .. import setops
from ..errors import InputError
from ..snapshot import Snapshot
from ..store.model import KIND_CODE, POSITIVE_KINDS

__all__ = ["INVENTORIES", "Fold", "holdout_positives", "make_folds", "parse_duration", "view_at"]

INVENTORIES = ("step", "cut")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400, "y": 365 * 86_400}
# Kinds that make a post "seen" for the engine (ranking.context): the test never asks a
# strategy to recommend something the user has already opened.
_SEEN = [KIND_CODE[k] for k in ("like", "comment", "save", "share", "click", "view", "hide")]


def parse_duration(text: str, what: str = "duration") -> int:
    """``"7d"``, ``"36h"``, ``"2w"``, ``"1y"`` or plain seconds → seconds.

    >>> parse_duration("7d"), parse_duration("90m"), parse_duration("3600")
    (604800, 5400, 3600)
    """
    t = str(text).strip().lower()
    try:
        value = float(t[:-1]) * _UNITS[t[-1]] if t and t[-1] in _UNITS else float(t)
    except ValueError:
        raise InputError(f"{what}: {text!r} is not a duration like 7d, 36h or 3600") from None
    if value <= 0:
        raise InputError(f"{what}: {text!r} must be positive")
    return int(value)


def view_at(full: Snapshot, cut: int, serve_at: int | None = None) -> tuple[Snapshot, np.ndarray]:
    """The training snapshot at ``cut``, served at ``serve_at`` (default ``cut``).

    Returns ``(view, to_full)`` where ``to_full[i]`` is the index in ``full`` of the view's
    post ``i``. Account indexes are unchanged. Nothing from after ``cut`` is in the view except
    the existence, author, time, media type and hashtags of posts taken up to ``serve_at``.
    """
    serve_at = cut if serve_at is None else int(serve_at)
    if serve_at < cut:
        raise InputError(f"serve time {serve_at} is before the cut {cut}")
    snap = full.as_of(int(cut))
    keep = np.flatnonzero(snap.post_taken <= serve_at)
    new = np.full(snap.n_posts, -1, dtype=np.int64)
    new[keep] = np.arange(len(keep))

    tag_ok = new[snap.tag_post] >= 0
    used = setops.unique(snap.tag_id[tag_ok])
    tag_new = np.full(snap.n_tags, -1, dtype=np.int64)
    tag_new[used] = np.arange(len(used))
    inter_ok = new[snap.inter_post] >= 0
    view = replace(
        snap,
        counter=0,
        now=serve_at,
        max_interaction_id=0,
        post_id=snap.post_id[keep],
        post_author=snap.post_author[keep],
        post_taken=snap.post_taken[keep],
        post_likes=snap.post_likes[keep],
        post_comments=snap.post_comments[keep],
        post_media=snap.post_media[keep],
        post_removed=snap.post_removed[keep],
        tag_post=new[snap.tag_post[tag_ok]].astype(np.int32),
        tag_id=tag_new[snap.tag_id[tag_ok]].astype(np.int32),
        tag_name=snap.tag_name[used],
        inter_user=snap.inter_user[inter_ok],
        inter_post=new[snap.inter_post[inter_ok]].astype(np.int32),
        inter_kind=snap.inter_kind[inter_ok],
        inter_time=snap.inter_time[inter_ok],
        inter_value=snap.inter_value[inter_ok],
    )  # replace(): the view starts with no derived structures of its own
    return view, keep


def holdout_positives(
    full: Snapshot, start: int, end: int, kinds: tuple[str, ...] = POSITIVE_KINDS
) -> tuple[np.ndarray, np.ndarray]:
    """``(users, posts)`` (full-snapshot indexes, unique pairs) of positive interactions with
    ``start < created_at <= end``."""
    codes = [KIND_CODE[k] for k in kinds]
    m = (full.inter_time > start) & (full.inter_time <= end) & np.isin(full.inter_kind, codes)
    pairs = setops.unique(
        full.inter_user[m].astype(np.int64) * max(full.n_posts, 1) + full.inter_post[m]
    )
    return pairs // max(full.n_posts, 1), pairs % max(full.n_posts, 1)


@dataclass
class Fold:
    """One step of the rolling hold-out.

    Attributes
    ----------
    cut, serve_at, end : the training cut, when feeds are served, the end of the test step.
    view : the training snapshot (see :func:`view_at`); post indexes below are view indexes.
    to_full : view post index → full snapshot post index.
    catalog : view post indexes taken in ``[serve_at - window, serve_at]`` (the engine's
        candidate window), sorted.
    relevant : user → sorted catalog posts the user engaged with during the step, unseen
        before the cut (users with none are absent).
    positives : how many (user, post) positives the step holds in all, and how many of them
        are in the catalog and unseen (the share a strategy could possibly find).
    """

    cut: int
    serve_at: int
    end: int
    view: Snapshot
    to_full: np.ndarray
    catalog: np.ndarray
    relevant: dict[int, np.ndarray] = field(default_factory=dict)
    positives: tuple[int, int] = (0, 0)


def _seen_pairs(view: Snapshot) -> np.ndarray:
    m = np.isin(view.inter_kind, _SEEN)
    return setops.unique(
        view.inter_user[m].astype(np.int64) * max(view.n_posts, 1) + view.inter_post[m]
    )


def make_folds(
    full: Snapshot,
    *,
    holdout: int,
    step: int,
    window: float,
    inventory: str = "step",
    end: int | None = None,
    kinds: tuple[str, ...] = POSITIVE_KINDS,
) -> list[Fold]:
    """Folds covering ``(end - holdout, end]`` in steps of ``step`` seconds.

    ``end`` defaults to the data's ``now``; an earlier ``end`` gives a validation period that
    never touches the test period.
    """
    if inventory not in INVENTORIES:
        raise InputError(f"inventory {inventory!r}: expected one of {', '.join(INVENTORIES)}")
    if step > holdout:
        raise InputError(f"step ({step} s) is longer than the hold-out ({holdout} s)")
    end = full.now if end is None else int(end)
    n = holdout // step
    folds = []
    for i in range(n):
        cut = end - holdout + i * step
        stop = cut + step
        serve_at = stop if inventory == "step" else cut
        view, to_full = view_at(full, cut, serve_at)
        taken = view.post_taken
        since = int(serve_at - window * 86_400)  # as ranking.sources computes it
        catalog = np.flatnonzero((taken >= since) & (taken <= serve_at))
        users, posts = holdout_positives(full, cut, stop, kinds)
        to_view = np.full(full.n_posts, -1, dtype=np.int64)
        to_view[to_full] = np.arange(len(to_full))
        vposts = to_view[posts]
        in_catalog = np.zeros(view.n_posts + 1, dtype=bool)
        in_catalog[catalog] = True
        ok = in_catalog[vposts]  # -1 (not yet taken) maps to the sentinel slot, False
        nv = max(view.n_posts, 1)
        ok &= ~np.isin(users * nv + vposts, _seen_pairs(view))
        lists: dict[int, list[int]] = {}
        for u, p in zip(users[ok], vposts[ok], strict=True):
            lists.setdefault(int(u), []).append(int(p))
        relevant = {u: np.array(sorted(v), dtype=np.int64) for u, v in lists.items()}
        folds.append(
            Fold(cut, serve_at, stop, view, to_full, catalog, relevant, (len(users), int(ok.sum())))
        )
    return folds
