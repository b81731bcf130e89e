"""A memo of posts ranked by likes, kept exact as like counts move, hashtag by hashtag.

The hashtag source ranks each interest tag's posts in a time window by likes
(:func:`.sources.tag_top_memo`, :func:`.sources.cluster_top_memo`), and the users of one
snapshot state share those tops. The memos were dropped whole on every change of the
interaction log, since like counts move with it; in a server taking 2,000 events/s that was
every catch-up, so nearly every feed ranked every member tag's window again (the source took
~9 % of a serving worker's samples on the large world, most of it in that top-k).

A like moves one post's count, and only a top over a window holding that post can change: a
:class:`TopMemo` keeps, per hashtag, the entries computed over its posts, and before each use
drops the entries of the hashtags carried by the posts whose count moved since it last looked
(the snapshot's count log, :meth:`Columns.moved_since <discovery.snapshot.state.Columns>`).
Everything else an entry reads — the posts, their hashtags, the window's positions in the time
index — is in its key or is an exact input of the memo (a new post, a deleted one, a hashtag
link drop it whole), so what it returns is what a computation from scratch would give
(``tests/test_signals_clusters.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .. import setops
from ..snapshot import Snapshot

__all__ = ["MEMO_LIMIT", "TopMemo"]

#: Entries a memo holds before it starts again (about 0.5 KB each): keys carry the window, so a
#: live server's clock moving on leaves entries no request asks for any more.
MEMO_LIMIT = 50_000


class TopMemo(dict[Any, Any]):
    """``key -> value`` with the hashtags each entry was computed over (:meth:`put`), up to
    date with the count log from ``mark`` on (:meth:`sync`).

    >>> from discovery.snapshot.state import Columns
    >>> memo = TopMemo(mark=0)
    >>> memo.put(("a",), 1, tags=[3]); memo.put(("b",), 2, tags=[3, 5]); memo.put(("c",), 3, tags=[6])
    >>> memo.drop_tags(np.array([5]))
    >>> sorted(memo)
    [('a',), ('c',)]
    """

    def __init__(self, mark: int) -> None:
        super().__init__()
        self.mark = mark
        self._keys: dict[int, list[Any]] = {}
        self._listed = 0  # entries of the lists in _keys

    def put(self, key: Any, value: Any, tags: Iterable[int]) -> None:
        """Keep ``value`` under ``key``, to go when a post carrying one of ``tags`` moves."""
        tags = [int(t) for t in tags]
        # a key dropped through one tag stays listed under its others until they move: past
        # this many listings, start again rather than let them pile up
        if len(self) >= MEMO_LIMIT or self._listed + len(tags) > 8 * MEMO_LIMIT:
            self.clear()
        self[key] = value
        for tag in tags:
            self._keys.setdefault(tag, []).append(key)
        self._listed += len(tags)

    def clear(self) -> None:
        super().clear()
        self._keys.clear()
        self._listed = 0

    def drop_tags(self, tags: np.ndarray) -> None:
        """Drop the entries computed over any of ``tags``."""
        for tag in tags.tolist():
            keys = self._keys.pop(tag, ())
            self._listed -= len(keys)
            for key in keys:
                self.pop(key, None)

    def sync(self, snap: Snapshot) -> None:
        """Drop the entries over the hashtags of every post whose like count moved since the
        memo last looked (all of them when the count log no longer reaches back)."""
        cols = snap.columns
        if self.mark == cols.moved_mark:
            return
        moved = cols.moved_since(self.mark)
        if moved is None:
            self.clear()
        elif len(self):
            m = snap.post_tags_matrix()
            rows = setops.unique(moved[moved < m.shape[0]])
            starts, ends = m.indptr[rows], m.indptr[rows + 1]
            tags = m.indices[np.repeat(starts, ends - starts) + _offsets(ends - starts)]
            self.drop_tags(setops.unique(tags))
        self.mark = cols.moved_mark


def _offsets(lengths: np.ndarray) -> np.ndarray:
    """``0 … n-1`` for each length ``n``, concatenated."""
    total = int(lengths.sum())
    return np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
