"""Columnar, in-memory view of the store: the engine answers from these arrays, not from SQL.

Every entity gets a dense *index* in the order it entered the store (so catching up with new rows
only appends); ids map to indexes through a sorted permutation (:class:`IdIndex`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
import scipy.sparse as sp

__all__ = ["IdIndex", "Snapshot"]


@dataclass(frozen=True)
class IdIndex:
    """Map external ids (int64) to dense indexes ``0..n-1`` with a sorted permutation.

    >>> ix = IdIndex.build(np.array([30, 10, 20]))
    >>> ix.lookup(np.array([20, 30, 99])).tolist()
    [2, 0, -1]
    """

    ids: np.ndarray  # dense index -> id
    order: np.ndarray  # argsort(ids)
    sorted_ids: np.ndarray  # ids[order], kept: a lookup must not gather all ids again

    @classmethod
    def build(cls, ids: np.ndarray) -> IdIndex:
        ids = np.asarray(ids, dtype=np.int64)
        order = np.argsort(ids, kind="stable")
        return cls(ids, order, ids[order])

    def lookup(self, query: np.ndarray | int) -> np.ndarray:
        """Dense indexes of ``query`` ids, ``-1`` where unknown."""
        q = np.atleast_1d(np.asarray(query, dtype=np.int64))
        if len(self.ids) == 0:
            return np.full(q.shape, -1, dtype=np.int64)
        sorted_ids = self.sorted_ids
        pos = np.clip(np.searchsorted(sorted_ids, q), 0, len(sorted_ids) - 1)
        hit = sorted_ids[pos] == q
        return np.where(hit, self.order[pos], -1).astype(np.int64)

    def __len__(self) -> int:
        return len(self.ids)


#: Follow-graph structures (``follows*``) are rebuilt once more than this share of the follow
#: edges changed since they were built — on a million-account world a rebuild takes seconds, and
#: a stream of follow events would otherwise rebuild them on every catch-up. In between, a
#: user's own follows stay exact: :meth:`Snapshot.following` applies the changes since the build.
FOLLOW_REBUILD_SHARE = 1e-4

#: What makes each memoised structure stale. ``interactions*``: only once the interaction log
#: has grown by more than 2 % since the structure was built — click counts and the like-weighted
#: follow graph may lag a little; a user's own interactions never do (``user_interactions``
#: scans the unindexed tail). Keys not listed are dropped on any change.
MEMO_DEPENDS: dict[str, set[str]] = {
    "accounts": {"accounts"},
    "handles": {"accounts"},
    "posts": {"posts"},
    "tags": {"tags"},
    "follow_matrix": {"accounts", "follows*"},
    "followers_matrix": {"accounts", "follows*"},
    "post_tags": {"posts", "tags"},
    "tag_posts_by_time": {"posts", "tags"},
    "unit_tag_rows": {"posts", "tags"},
    "by_author": {"accounts", "posts"},
    "by_time": {"posts"},
    "taken_sorted": {"posts"},
    "by_user": {"accounts"},
    "post_stats": {"accounts", "posts", "tags", "interactions*"},
    "follower_counts": {"accounts", "follows*"},
    "engagement_pairs": {"accounts", "posts", "interactions*"},
    "adjacency_w0": {"accounts", "follows*"},
    "adjacency_w1": {"accounts", "follows*", "interactions*"},
    "ppr_index_False": {"accounts", "follows*"},
    "ppr_index_True": {"accounts", "follows*", "interactions*"},
    "ppr_cache": {"accounts"},  # graph changes: each vector's staleness bound (ranking.ppr_cache)
}


def _gather(
    order: np.ndarray, indptr: np.ndarray, keys: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate ``order[indptr[k]:indptr[k + 1]]`` for every key, with the key's position.

    >>> _gather(np.array([5, 6, 7]), np.array([0, 2, 3]), np.array([1, 0]))
    (array([7, 5, 6]), array([0, 1, 1]))
    """
    if len(keys) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    starts, ends = indptr[keys], indptr[keys + 1]
    lengths = ends - starts
    owner = np.repeat(np.arange(len(keys)), lengths)
    offsets = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return order[np.repeat(starts, lengths) + offsets], owner


@dataclass
class Snapshot:
    """All arrays the ranking needs, as of one store change counter.

    Attributes are plain numpy arrays so that they can be saved with ``np.savez`` (no pickle),
    filtered to a point in time (:meth:`as_of`) and shared by threads read-only.
    """

    counter: int
    now: int
    max_interaction_id: int
    # accounts, by dense index
    account_id: np.ndarray
    handle: np.ndarray  # unicode
    account_kind: np.ndarray  # int8, index into ACCOUNT_KINDS
    # follows, COO by dense account index
    follow_src: np.ndarray
    follow_dst: np.ndarray
    follow_time: np.ndarray
    # posts, by dense index
    post_id: np.ndarray
    post_author: np.ndarray  # account index, -1 when the item has no author
    post_taken: np.ndarray
    post_likes: np.ndarray
    post_comments: np.ndarray
    post_media: np.ndarray
    # hashtags: (post index, tag index) pairs and the vocabulary
    tag_post: np.ndarray
    tag_id: np.ndarray
    tag_name: np.ndarray  # unicode, by tag index
    # interactions, in store order
    inter_user: np.ndarray
    inter_post: np.ndarray
    inter_kind: np.ndarray
    inter_time: np.ndarray
    inter_value: np.ndarray
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    # ------------------------------------------------------------ sizes
    @property
    def n_accounts(self) -> int:
        return len(self.account_id)

    @property
    def n_posts(self) -> int:
        return len(self.post_id)

    @property
    def n_tags(self) -> int:
        return len(self.tag_name)

    def arrays(self) -> dict[str, np.ndarray]:
        """The array fields by name (what the cache file stores)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}

    # ------------------------------------------------------- id lookups
    @property
    def accounts(self) -> IdIndex:
        return self._memo("accounts", lambda: IdIndex.build(self.account_id))

    @property
    def posts(self) -> IdIndex:
        return self._memo("posts", lambda: IdIndex.build(self.post_id))

    def account_index(self, handle: str) -> int:
        """Dense index of a handle ('@' optional); ``-1`` when unknown."""
        table = self._memo("handles", lambda: {str(h): i for i, h in enumerate(self.handle)})
        return int(table.get(handle.lstrip("@"), -1))

    def tag_index(self, tag: str) -> int:
        table = self._memo("tags", lambda: {str(t): i for i, t in enumerate(self.tag_name)})
        return int(table.get(tag, -1))

    # ----------------------------------------------------- derived indexes
    def follow_matrix(self) -> sp.csr_matrix:
        """Directed follow graph as CSR (row = follower, column = followed, weight 1)."""

        def build() -> sp.csr_matrix:
            self._cache["_follow_delta"] = {}  # the matrix holds every follow from now on
            n = self.n_accounts
            data = np.ones(len(self.follow_src), dtype=np.float64)
            m = sp.csr_matrix((data, (self.follow_src, self.follow_dst)), shape=(n, n))
            m.sum_duplicates()
            return m

        return self._memo("follow_matrix", build)

    def followers_matrix(self) -> sp.csr_matrix:
        """Transpose of :meth:`follow_matrix` in CSR (row = account, columns = its followers)."""
        return self._memo("followers_matrix", lambda: self.follow_matrix().T.tocsr())

    def following(self, user: int) -> np.ndarray:
        """Accounts ``user`` follows, exact even while the follow matrix lags: follows added or
        removed since it was built are applied from a small per-user overlay."""
        m = self.follow_matrix()
        row = m.indices[m.indptr[user] : m.indptr[user + 1]]
        change = self._cache.get("_follow_delta", {}).get(user)
        if not change:
            return row
        now = set(row.tolist())
        for dst, on in change.items():
            if on:
                now.add(dst)
            else:
                now.discard(dst)
        return np.array(sorted(now), dtype=row.dtype)

    def note_follow_changes(self, src: np.ndarray, dst: np.ndarray, added: bool) -> None:
        """Record follow edges added (or removed) by a catch-up, for :meth:`following` and for
        the ``follows*`` rebuild rule."""
        self._cache["_follow_changes"] = self._cache.get("_follow_changes", 0) + len(src)
        if "follow_matrix" not in self._cache:
            return  # built from the arrays on next use, changes included
        delta: dict[int, dict[int, bool]] = self._cache.setdefault("_follow_delta", {})
        for s, d in zip(src.tolist(), dst.tolist(), strict=True):
            delta.setdefault(int(s), {})[int(d)] = added

    def post_tags_matrix(self) -> sp.csr_matrix:
        """Posts × hashtags incidence (CSR, 1.0 where the post carries the tag)."""

        def build() -> sp.csr_matrix:
            data = np.ones(len(self.tag_post), dtype=np.float64)
            shape = (self.n_posts, self.n_tags)
            return sp.csr_matrix((data, (self.tag_post, self.tag_id)), shape=shape)

        return self._memo("post_tags", build)

    def user_interactions(self, user: int) -> np.ndarray:
        """Positions in the interaction arrays of ``user``'s interactions, in store order."""

        def build() -> tuple[np.ndarray, np.ndarray]:
            order = np.argsort(self.inter_user, kind="stable")
            counts = np.bincount(self.inter_user, minlength=self.n_accounts)
            indptr = np.concatenate([[0], np.cumsum(counts)])
            return order, indptr

        order, indptr = self._memo("by_user", build)
        base = len(order)
        if len(self.inter_user) > base + max(50_000, base // 20):
            del self._cache["by_user"]  # the unindexed tail got long: index everything
            return self.user_interactions(user)
        own = order[indptr[user] : indptr[user + 1]] if user + 1 < len(indptr) else order[:0]
        if len(self.inter_user) == base:
            return own
        # interactions appended since the index was built: a linear scan of the short tail
        tail = base + np.flatnonzero(self.inter_user[base:] == user)
        return np.concatenate([own, tail])

    def users_interactions(self, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Interaction positions of many users at once, and which user (by position in
        ``users``) each belongs to — one vectorised gather instead of a loop."""
        users = np.asarray(users, dtype=np.int64)
        if self.n_accounts == 0 or len(users) == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        self.user_interactions(int(users[0]))  # builds (or rebuilds) the index
        order, indptr = self._cache["by_user"]
        pos, owner = _gather(order, indptr, np.minimum(users, len(indptr) - 2))
        base = len(order)
        if len(self.inter_user) > base:
            tail = base + np.flatnonzero(np.isin(self.inter_user[base:], users))
            lookup = {int(u): i for i, u in enumerate(users.tolist())}
            tail_owner = np.array([lookup[int(u)] for u in self.inter_user[tail]], dtype=np.int64)
            pos, owner = np.concatenate([pos, tail]), np.concatenate([owner, tail_owner])
        return pos, owner

    def authors_posts(self, authors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Post indexes of many authors at once, with the owner of each (position in
        ``authors``)."""
        self.author_posts(0)
        order, indptr = self._cache["by_author"]
        return _gather(order, indptr, np.asarray(authors, dtype=np.int64))

    def author_posts(self, author: int) -> np.ndarray:
        """Post indexes of one author."""

        def build() -> tuple[np.ndarray, np.ndarray]:
            authors = np.where(self.post_author < 0, self.n_accounts, self.post_author)
            order = np.argsort(authors, kind="stable")
            counts = np.bincount(authors, minlength=self.n_accounts + 1)
            return order, np.concatenate([[0], np.cumsum(counts)])

        order, indptr = self._memo("by_author", build)
        return order[indptr[author] : indptr[author + 1]]

    def _memo(self, key: str, build: Any) -> Any:
        if key not in self._cache:
            self._cache[key] = build()
            self._cache.setdefault("_built_at", {})[key] = len(self.inter_user)
            self._cache.setdefault("_built_follows", {})[key] = self._cache.get(
                "_follow_changes", 0
            )
        return self._cache[key]

    def invalidate(self, changed: set[str]) -> None:
        """Drop the derived structures that ``changed`` (names from :data:`MEMO_DEPENDS`'s
        values) makes stale, and keep the rest: an event that only adds interactions must not
        make the next request rebuild the follow graph or the hashtag index."""
        built_at: dict[str, int] = self._cache.get("_built_at", {})
        built_follows: dict[str, int] = self._cache.get("_built_follows", {})
        grown = "interactions" in changed
        followed = "follows" in changed
        follow_changes = self._cache.get("_follow_changes", 0)
        # "_"-keys are bookkeeping (growth buffers, build marks), not derived structures:
        # dropping "_buffers" here would make every catch-up copy every column again
        for key in [k for k in self._cache if not k.startswith("_")]:
            deps = MEMO_DEPENDS.get(key)
            if deps is None:
                stale = True
            else:
                eager = deps - {"interactions*", "follows*"}
                stale = bool(eager & changed)
                if grown and "interactions*" in deps:
                    stale |= len(self.inter_user) > 1.02 * built_at.get(key, 0) + 1000
                if followed and "follows*" in deps:
                    since = follow_changes - built_follows.get(key, 0)
                    stale |= since > FOLLOW_REBUILD_SHARE * len(self.follow_src)
            if stale:
                del self._cache[key]
                built_at.pop(key, None)
                built_follows.pop(key, None)

    @classmethod
    def load(cls, store: Any, *, cache: bool = True) -> Snapshot:
        """Load ``store`` (see :func:`discovery.snapshot.load_snapshot`)."""
        from .load import load_snapshot

        return load_snapshot(store, cache=cache)

    # ---------------------------------------------------------- time travel
    def as_of(self, cut: int) -> Snapshot:
        """The world as it stood at Unix time ``cut``: nothing from after it leaks in.

        Posts taken after ``cut``, follows created after it and interactions after it are
        dropped, and ``like_count``/``comment_count`` lose the likes and comments made after it.
        Indexes of accounts and posts are kept (post arrays are not re-indexed: posts from after
        the cut are marked by ``post_taken > cut`` and callers filter them), so that held-out
        test interactions can be looked up in the same index space.
        """
        from ..store.model import KIND_CODE

        keep_f = self.follow_time <= cut
        keep_i = self.inter_time <= cut
        late = ~keep_i
        likes = self.post_likes.astype(np.int64) - np.bincount(
            self.inter_post[late & (self.inter_kind == KIND_CODE["like"])], minlength=self.n_posts
        )
        comments = self.post_comments.astype(np.int64) - np.bincount(
            self.inter_post[late & (self.inter_kind == KIND_CODE["comment"])],
            minlength=self.n_posts,
        )
        future = self.post_taken > cut
        likes[future] = 0
        comments[future] = 0
        return replace(
            self,
            now=int(cut),
            follow_src=self.follow_src[keep_f],
            follow_dst=self.follow_dst[keep_f],
            follow_time=self.follow_time[keep_f],
            post_likes=np.maximum(likes, 0).astype(np.int32),
            post_comments=np.maximum(comments, 0).astype(np.int32),
            inter_user=self.inter_user[keep_i],
            inter_post=self.inter_post[keep_i],
            inter_kind=self.inter_kind[keep_i],
            inter_time=self.inter_time[keep_i],
            inter_value=self.inter_value[keep_i],
            _cache={},
        )
