"""Posts in time order, overall and per hashtag: what a time window is cut from.

Both grow with the posts (:class:`~discovery.snapshot.derived.Grows`) rather than being rebuilt
for each new one: the overall order takes a new post by a merge (an append when it is the
newest, as a new post usually is); the per-hashtag index keeps the posts added since its build
in a short sorted tail beside it, so a new post costs the tail's size, not an insert into the
large world's 19 M hashtag links (300 MB moved on every post).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..snapshot import Grows, Sizes, Snapshot
from ..snapshot.grow import merge_sorted

__all__ = ["TAIL_LIMIT", "TagPosts", "posts_by_time", "tag_posts_by_time"]

#: Links kept in :class:`TagPosts`' tail before the index is rebuilt with them (a share of the
#: links, and at least this many).
TAIL_LIMIT = 20_000


def posts_by_time(snap: Snapshot) -> tuple[np.ndarray, np.ndarray]:
    """Post indexes in time order (ties by index: a stable sort) and their times, memoised; a
    new post is merged in (:func:`~discovery.snapshot.grow.merge_sorted`)."""

    def build(snap: Snapshot) -> tuple[np.ndarray, np.ndarray]:
        order = np.argsort(snap.post_taken, kind="stable")
        return order, snap.post_taken[order]

    def extend(
        value: tuple[np.ndarray, np.ndarray], snap: Snapshot, since: Sizes
    ) -> tuple[np.ndarray, np.ndarray]:
        return merge_sorted(*value, snap.post_taken[since.posts :])

    return snap.derive_of("by_time", build, depends_on=(Grows("posts"),), extend=extend)


@dataclass(frozen=True)
class TagPosts:
    """Each hashtag's posts in time order (ties by post index).

    The index proper holds tag ``t``'s posts at ``posts[indptr[t]:indptr[t + 1]]`` with their
    times in ``taken``; the posts linked since it was built are in the tail, sorted by
    ``(tag, taken, post)``. :meth:`window` reads both.
    """

    indptr: np.ndarray
    posts: np.ndarray
    taken: np.ndarray
    tail_tag: np.ndarray
    tail_taken: np.ndarray
    tail_post: np.ndarray

    def window(self, tag: int, since: float, until: float) -> tuple[np.ndarray, tuple[int, ...]]:
        """Tag ``tag``'s posts taken in ``[since, until]`` (the index's, then the tail's), and
        where they lie (a key for memos of this index)."""
        a = b = c = d = 0
        if tag + 1 < len(self.indptr):
            lo, hi = int(self.indptr[tag]), int(self.indptr[tag + 1])
            a = lo + int(np.searchsorted(self.taken[lo:hi], since, "left"))
            b = lo + int(np.searchsorted(self.taken[lo:hi], until, "right"))
        posts = self.posts[a:b]
        if len(self.tail_tag):
            lo = int(np.searchsorted(self.tail_tag, tag, "left"))
            hi = int(np.searchsorted(self.tail_tag, tag, "right"))
            c = lo + int(np.searchsorted(self.tail_taken[lo:hi], since, "left"))
            d = lo + int(np.searchsorted(self.tail_taken[lo:hi], until, "right"))
            if d > c:
                posts = np.concatenate([posts, self.tail_post[c:d]])
        return posts, (a, b, c, d)

    def merged(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(indptr, posts, taken)`` with the tail merged in: what a build makes."""
        n = max(len(self.indptr) - 1, int(self.tail_tag.max(initial=-1)) + 1)
        base_tag = np.repeat(np.arange(len(self.indptr) - 1), np.diff(self.indptr))
        tag = np.concatenate([base_tag, self.tail_tag])
        post = np.concatenate([self.posts, self.tail_post])
        taken = np.concatenate([self.taken, self.tail_taken])
        by = np.lexsort((post, taken, tag))
        indptr = np.concatenate([[0], np.cumsum(np.bincount(tag, minlength=n))])
        return indptr, post[by], taken[by]


def tag_posts_by_time(snap: Snapshot) -> TagPosts:
    """Hashtag → posts in time order, so a time window of one tag is a few binary searches
    (memoised per snapshot; a new post's links go to the tail until it holds more than
    :data:`TAIL_LIMIT` or 1 % of the links, then the index is rebuilt)."""

    def build(snap: Snapshot) -> TagPosts:
        order, _ = posts_by_time(snap)
        by_tag = snap.post_tags_matrix()[order].tocsc()  # rows in time order: sorted per column
        by_tag.sort_indices()
        posts = order[by_tag.indices]
        none = np.zeros(0, np.int64)
        return TagPosts(by_tag.indptr, posts, snap.post_taken[posts], none, none, none)

    def extend(value: TagPosts, snap: Snapshot, since: Sizes) -> TagPosts | None:
        new = snap.post_tags_matrix()[since.posts :].tocoo()
        if len(value.tail_tag) + new.nnz > max(TAIL_LIMIT, len(value.posts) // 100):
            return None  # rebuilt with them
        post = np.concatenate([value.tail_post, new.row.astype(np.int64) + since.posts])
        tag = np.concatenate([value.tail_tag, new.col.astype(np.int64)])
        taken = snap.post_taken[post]
        by = np.lexsort((post, taken, tag))
        return TagPosts(value.indptr, value.posts, value.taken, tag[by], taken[by], post[by])

    return snap.derive_of(
        "tag_posts_by_time",
        build,
        depends_on=(Grows("posts"), Grows("tags"), "by_time", "post_tags"),
        extend=extend,
    )
