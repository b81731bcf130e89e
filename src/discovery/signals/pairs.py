"""Distinct (user, post) pairs of the interaction log by kind, counted per post; built once and
then taken in row by row as the log grows.

What :mod:`.exposure` divides is counted over distinct pairs: ``seen`` the pairs with an
impression, and the *seen* pairs with a like, a hide, a click (a like without a logged impression
counts for nothing). On the large world (52 M rows, 37 M impressions) a build sorts every pair:
6.3 s of a serving worker's CPU each time the log had grown by 2 %. :func:`take_in` instead
counts only the rows changed since, against the sorted pair keys the build kept:

* ``ΔS``, ``ΔL``: the appended rows' distinct seen, liked pairs that were not seen, liked
  before (a binary search in the kept keys);
* the liked pairs that now count are ``(ΔS ∩ L') ∪ (S ∩ ΔL)`` with ``L' = L ∪ ΔL``: a new
  impression of a pair liked at any time, and a new like of a pair seen before. The two are
  disjoint (the first are not in ``S``, the second are), and neither was counted before;
* hides and clicks alike.

* rows withdrawn since (an unlike, a deleted post's interactions) first take their pairs out,
  where the log holds no other live row of the pair and kind (:func:`held`): a lost seen pair
  uncounts its like, a lost like of a pair still seen uncounts itself.

The result equals a build on all the rows (``tests/test_snapshot_catch_up.py``), in
O(rows changed · log pairs + pairs) instead of a sort of all pairs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .. import setops
from ..snapshot import LogAt, Snapshot
from ..store.model import KIND_CODE

__all__ = ["LOOKUP_LIMIT", "LogPairs", "held", "log_pairs", "pair_keys", "take_in"]

#: Users whose withdrawn rows a catch-up looks up one by one (for a row of the same pair the log
#: still holds); past this many it declines, and the structure is built from the whole log.
LOOKUP_LIMIT = 5_000

_SEEN, _LIKE, _HIDE = KIND_CODE["impression"], KIND_CODE["like"], KIND_CODE["hide"]
_CLICK = KIND_CODE["click"]
_POST = np.int64(0xFFFFFFFF)


@dataclass(frozen=True)
class LogPairs:
    """Sorted distinct pair keys ``user << 32 | post`` by kind (liked, hidden, clicked: whether
    seen or not, since a later impression makes them count), and per post the distinct users
    shown it and, of those, liking, hiding, clicking it (float, as the rates divide them)."""

    seen: np.ndarray
    liked: np.ndarray
    hidden: np.ndarray
    clicked: np.ndarray
    post_seen: np.ndarray
    post_liked: np.ndarray
    post_hidden: np.ndarray
    post_clicked: np.ndarray
    n_liked: int  # seen pairs liked
    n_hidden: int
    n_clicked: int


def pair_keys(user: np.ndarray, post: np.ndarray) -> np.ndarray:
    """Distinct ``user << 32 | post``, sorted. A sort and a mask, not ``np.unique``: numpy 2.4's
    took 13 s of CPU on 6M keys that ``np.sort`` orders in 0.14 s."""
    keys = np.sort((user.astype(np.int64) << 32) | post.astype(np.int64))
    return keys[np.concatenate([[True], keys[1:] != keys[:-1]])] if len(keys) else keys


def log_pairs(snap: Snapshot) -> LogPairs:
    """The pairs and counts of the whole log."""
    u, p, k = snap.inter_user, snap.inter_post, snap.inter_kind
    seen, liked, hidden, clicked = (
        pair_keys(u[k == kind], p[k == kind]) for kind in (_SEEN, _LIKE, _HIDE, _CLICK)
    )
    h_liked, h_hidden, h_clicked = (keys[_member(seen, keys)] for keys in (liked, hidden, clicked))
    n, none = snap.n_posts, np.zeros(0)
    return LogPairs(
        seen, liked, hidden, clicked,
        _per_post(none, seen, n), _per_post(none, h_liked, n),
        _per_post(none, h_hidden, n), _per_post(none, h_clicked, n),
        len(h_liked), len(h_hidden), len(h_clicked),
    )  # fmt: skip


def take_in(old: LogPairs, snap: Snapshot, at: LogAt) -> LogPairs | None:
    """``old`` (the pairs of the log as it was at ``at``) with the rows withdrawn and appended
    since: what :func:`log_pairs` gives on ``snap`` (see the module docstring); None when more
    users' rows were withdrawn than are worth looking up one by one. ``old`` is not changed."""
    kept = _without(old, snap, at)
    return None if kept is None else _with(kept, snap, at.rows)


def held(
    snap: Snapshot, keys: np.ndarray, accept: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray | None:
    """Which of the pair ``keys`` (sorted) the log still holds a row for whose kind ``accept``
    takes — withdrawn rows have none: a like given again after an unlike, a second impression
    of a post (the users' own rows, :meth:`Snapshot.user_interactions`); None past
    :data:`LOOKUP_LIMIT` users."""
    users = setops.unique(keys >> 32)
    if len(users) > LOOKUP_LIMIT:
        return None
    rows = [snap.user_interactions(int(u)) for u in users.tolist()]
    at = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    at = at[accept(snap.inter_kind[at])]
    return _member(pair_keys(snap.inter_user[at], snap.inter_post[at]), keys)


def _without(old: LogPairs, snap: Snapshot, at: LogAt) -> LogPairs | None:
    """``old`` less the pairs whose rows were withdrawn since ``at`` and that the log no
    longer holds: a seen pair lost uncounts its liked, hidden, clicked; a liked pair lost that
    is still seen uncounts itself — ``(lost S ∩ L) ∪ (S' ∩ lost L)``, disjoint."""
    gone, kinds = snap.withdrawn_since(at)
    if not len(gone):
        return old
    u, p, n = snap.inter_user[gone], snap.inter_post[gone], snap.n_posts

    def lost(kind: int) -> np.ndarray | None:
        keys = pair_keys(u[kinds == kind], p[kinds == kind])
        still = held(snap, keys, lambda k: k == kind)
        return None if still is None else keys[~still]

    if (l_seen := lost(_SEEN)) is None:
        return None
    seen = _remove(old.seen, l_seen)
    out: list[tuple[np.ndarray, np.ndarray, int]] = []
    for kept, kind, before, counted in (
        (old.liked, _LIKE, old.post_liked, old.n_liked),
        (old.hidden, _HIDE, old.post_hidden, old.n_hidden),
        (old.clicked, _CLICK, old.post_clicked, old.n_clicked),
    ):
        if (l_hits := lost(kind)) is None:
            return None
        uncounted = np.concatenate([l_seen[_member(kept, l_seen)], l_hits[_member(seen, l_hits)]])
        out.append(
            (_remove(kept, l_hits), _per_post(before, uncounted, n, -1), counted - len(uncounted))
        )
    (liked, p_liked, n_liked), (hidden, p_hidden, n_hidden), (clicked, p_clicked, n_clicked) = out
    return LogPairs(
        seen, liked, hidden, clicked,
        _per_post(old.post_seen, l_seen, n, -1), p_liked, p_hidden, p_clicked,
        n_liked, n_hidden, n_clicked,
    )  # fmt: skip


def _with(old: LogPairs, snap: Snapshot, rows: int) -> LogPairs:
    """``old`` with the log's rows from ``rows`` on taken in (as they are now)."""
    new = slice(rows, None)
    u, p, k = snap.inter_user[new], snap.inter_post[new], snap.inter_kind[new]

    def fresh(kept: np.ndarray, kind: int) -> np.ndarray:
        keys = pair_keys(u[k == kind], p[k == kind])
        return keys[~_member(kept, keys)]

    d_seen = fresh(old.seen, _SEEN)
    n = snap.n_posts

    def hits(
        kept: np.ndarray, kind: int, before: np.ndarray, counted: int
    ) -> tuple[np.ndarray, np.ndarray, int]:
        """The kind's pairs, its seen pairs per post (``before`` plus those that count now,
        ``(ΔS ∩ L') ∪ (S ∩ ΔL)``) and their number."""
        more = fresh(kept, kind)
        merged = _merge(kept, more)
        now = np.concatenate([d_seen[_member(merged, d_seen)], more[_member(old.seen, more)]])
        return merged, _per_post(before, now, n), counted + len(now)

    liked, post_liked, n_liked = hits(old.liked, _LIKE, old.post_liked, old.n_liked)
    hidden, post_hidden, n_hidden = hits(old.hidden, _HIDE, old.post_hidden, old.n_hidden)
    clicked, post_clicked, n_clicked = hits(old.clicked, _CLICK, old.post_clicked, old.n_clicked)
    return LogPairs(
        _merge(old.seen, d_seen), liked, hidden, clicked,
        _per_post(old.post_seen, d_seen, n), post_liked, post_hidden, post_clicked,
        n_liked, n_hidden, n_clicked,
    )  # fmt: skip


def _member(kept: np.ndarray, query: np.ndarray) -> np.ndarray:
    """``np.isin(query, kept)`` for a sorted ``kept``, by binary search: ``np.isin`` sorts
    both arrays, 37 M kept keys for a few thousand asked."""
    if len(kept) == 0:
        return np.zeros(len(query), dtype=bool)
    at = np.minimum(np.searchsorted(kept, query), len(kept) - 1)
    return kept[at] == query  # type: ignore[no-any-return]


def _merge(kept: np.ndarray, more: np.ndarray) -> np.ndarray:
    """Sorted union of sorted ``kept`` and sorted ``more`` (disjoint): an O(n) insert."""
    if len(more) == 0:
        return kept
    return np.insert(kept, np.searchsorted(kept, more), more)


def _remove(kept: np.ndarray, gone: np.ndarray) -> np.ndarray:
    """Sorted ``kept`` without the keys of ``gone`` (all in it)."""
    return kept if len(gone) == 0 else np.delete(kept, np.searchsorted(kept, gone))


def _per_post(before: np.ndarray, keys: np.ndarray, n: int, sign: int = 1) -> np.ndarray:
    """``before`` (padded with zeros to ``n`` posts) plus (``sign`` 1) or minus (-1) the pairs
    of ``keys`` per post, as a new array."""
    out = sign * np.bincount(keys & _POST, minlength=n).astype(np.float64)
    out[: len(before)] += before
    return out
