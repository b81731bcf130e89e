"""Columnar, in-memory view of the store: the engine answers from these arrays, not from SQL.

Every entity gets a dense *index* in the order it entered the store (so catching up with new rows
only appends); ids map to indexes through a sorted permutation (:class:`IdIndex`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field, fields, replace
from typing import Any, TypeVar

import numpy as np
import scipy.sparse as sp

from . import state
from .derived import FOLLOWS_LAG, Dependency, Derived, Grows
from .grow import LogAt, Sizes, append, merge_sorted, pad, square, stack_rows
from .state import AuthorPosts, Columns, FollowGraph, InteractionTail, gather_groups

__all__ = ["IdIndex", "LogAt", "Sizes", "Snapshot"]

T = TypeVar("T")


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

    def extended(self, ids: np.ndarray) -> IdIndex:
        """The index of ``ids``, of which this one indexes the head: :meth:`build`'s result,
        with the tail merged into the sorted ids in O(n) copies instead of a sort of all.

        >>> IdIndex.build(np.array([30, 10])).extended(np.array([30, 10, 20, 5])).order.tolist()
        [3, 1, 2, 0]
        """
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) == len(self.ids):
            return self
        order, sorted_ids = merge_sorted(self.order, self.sorted_ids, ids[len(self.ids) :])
        return IdIndex(ids, order, sorted_ids)


@dataclass
class Snapshot:
    """All arrays the ranking needs, as of one store change counter.

    Attributes are plain numpy arrays so that they can be saved with ``np.savez`` (no pickle),
    filtered to a point in time (:meth:`as_of`) and shared by threads read-only. Structures
    built from them (indexes, matrices, statistics) are registered with :meth:`derive`, each with
    the inputs it depends on; a copy made by :func:`dataclasses.replace` starts with none.
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
    #: True for posts deleted since they entered the snapshot (indexes stay stable; every feed
    #: filters them, see ranking.filters); parallel to the post arrays.
    post_removed: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    _derived: Derived = field(default_factory=Derived, init=False, repr=False, compare=False)
    _columns: Columns = field(default_factory=Columns, init=False, repr=False, compare=False)

    @classmethod
    def empty(cls) -> Snapshot:
        """A snapshot with no rows (what a full load starts from, and tests build on)."""
        i32, i64 = np.zeros(0, np.int32), np.zeros(0, np.int64)
        none = np.zeros(0, dtype="<U1")
        return cls(
            counter=0,
            now=0,
            max_interaction_id=0,
            account_id=i64,
            handle=none,
            account_kind=np.zeros(0, np.int8),
            follow_src=i32,
            follow_dst=i32,
            follow_time=i64,
            post_id=i64,
            post_author=i32,
            post_taken=i64,
            post_likes=i32,
            post_comments=i32,
            post_media=np.zeros(0, np.int8),
            tag_post=i32,
            tag_id=i32,
            tag_name=none,
            inter_user=i32,
            inter_post=i32,
            inter_kind=np.zeros(0, np.int8),
            inter_time=i64,
            inter_value=np.zeros(0, np.float32),
        )

    # ------------------------------------------------- derived structures
    def derive(self, key: str, build: Callable[[], T], *, depends_on: Iterable[Dependency]) -> T:
        """The structure ``key``, built by ``build()`` on first use and kept until one of its
        inputs changes.

        ``depends_on`` names every input ``build`` reads: tables (``"accounts"``,
        ``"follows"``, ``"posts"``, ``"tags"``, ``"interactions"``), lagging tables
        (:data:`~.derived.INTERACTIONS_LAG`, :data:`~.derived.FOLLOWS_LAG` or any
        :class:`~.derived.Lag`) and keys of other derived structures (dropped with them).
        The first call's declaration is the one kept.

        >>> snap = Snapshot.empty()
        >>> snap.derive("n_posts", lambda: snap.n_posts, depends_on=("posts",))
        0
        """
        return self._derived.get_or_build(key, build, depends_on, self._clock)

    def derive_of(
        self,
        key: str,
        build: Callable[[Snapshot], T],
        *,
        depends_on: Iterable[Dependency],
        extend: Callable[[T, Snapshot, Sizes], T | None] | None = None,
        catch_up: Callable[[T, Snapshot, LogAt], T | None] | None = None,
    ) -> T:
        """:meth:`derive`, with ``build`` a function of the snapshot, called as ``build(self)``.

        A lagging structure registered this way can be rebuilt *beside* the serving one, on a
        frozen copy of the snapshot (:mod:`.rebuild`), instead of on the first request that
        finds its lag run out; so ``build`` must read nothing but the snapshot it is given.

        A structure that declares :class:`~.derived.Grows` inputs gives ``extend(value, snap,
        since)``: the value a build on ``snap`` would make, from ``value`` built when the
        tables had the rows in ``since`` (:meth:`sizes`), without changing ``value``; or None
        to have it rebuilt.

        A structure lagging the interaction log may give ``catch_up(value, snap, at)``: the
        value a build on ``snap`` would make, from ``value``, which took in the log as it was
        at ``at`` (:meth:`log_at`; and the other tables' rows ``snap`` has), without changing
        ``value``; or None to have it rebuilt. A rebuild beside runs it when the lag runs out
        or rows were withdrawn (:mod:`.rebuild`).

        >>> snap = Snapshot.empty()
        >>> snap.derive_of("n_posts", lambda s: s.n_posts, depends_on=("posts",))
        0
        >>> grow = lambda n, s, since: n + s.n_posts - since.posts
        >>> snap.derive_of("count", lambda s: s.n_posts, depends_on=(Grows("posts"),), extend=grow)
        0
        """
        return self._derived.get_or_build(
            key, lambda: build(self), depends_on, self._clock, build,
            extend=extend, growth=self, catch_up=catch_up,
        )  # fmt: skip

    def frozen(self) -> Snapshot:
        """A copy that shares these arrays as they stand, with an empty registry: catch-ups
        of this snapshot append past the shared views' ends or replace them, so the copy keeps
        its rows (counts updated in place show through). What a rebuild beside reads.

        The interaction kinds are marked shared: the next withdrawal (:meth:`withdraw`) writes
        the live snapshot's own copy, so the copy's kinds stay those its withdrawal log says,
        which a catch-up on it relies on."""
        copy = replace(self)
        copy._columns.edits = dict(self._columns.edits)
        copy._columns.follow_edits = self._columns.follow_edits
        copy._columns.withdrawn = self._columns.withdrawn
        copy._columns.withdrawn_kind = self._columns.withdrawn_kind
        self._columns.kinds_shared = True
        return copy

    def log_at(self) -> LogAt:
        """The interaction rows now, and the withdrawals so far (what a catch-up starts from)."""
        return LogAt(len(self.inter_user), len(self._columns.withdrawn))

    def withdraw(self, rows: np.ndarray, kind: int) -> None:
        """Mark interaction ``rows`` (positions, live ones) withdrawn: their kind becomes
        ``kind`` (load.WITHDRAWN), positions stay stable for the indexes built on them, and
        the withdrawal log notes each with the kind it had. What reads the log is dropped,
        or in a server marked for a catch-up (:meth:`Derived.withdrawn`)."""
        if not len(rows):
            return
        cols, kinds = self._columns, self.inter_kind
        if cols.kinds_shared or not kinds.flags.writeable:  # a frozen copy, a mapped cache
            kinds = cols.own("inter_kind", kinds)
            cols.kinds_shared = False
        cols.withdrawn = append(cols.withdrawn, rows.astype(np.int64))
        cols.withdrawn_kind = append(cols.withdrawn_kind, kinds[rows])
        kinds[rows] = kind
        self.inter_kind = kinds
        self._derived.withdrawn()

    def withdrawn_since(self, at: LogAt) -> tuple[np.ndarray, np.ndarray]:
        """Rows below ``at.rows`` withdrawn since ``at``, and the kinds they had (rows
        appended since ``at`` are read with their kinds now)."""
        rows = self._columns.withdrawn[at.withdrawals :]
        kinds = self._columns.withdrawn_kind[at.withdrawals :]
        keep = rows < at.rows
        return rows[keep], kinds[keep]

    def sizes(self) -> Sizes:
        """Rows of each table now (what a :class:`~.derived.Grows` structure extends from)."""
        return Sizes(
            len(self.account_id), len(self.post_id), len(self.tag_post), len(self.tag_name),
            len(self.inter_user),
        )  # fmt: skip

    def edits(self, table: str) -> int:
        """Catch-ups that changed rows of ``table`` in place (see :class:`.state.Columns`)."""
        return self._columns.edits.get(table, 0)

    @property
    def derived(self) -> Derived:
        """The registry behind :meth:`derive`: what is built (``keys()``, ``get(key)``,
        ``depends_on(key)``) and ``drop(key)``."""
        return self._derived

    @property
    def columns(self) -> Columns:
        """Growth buffers, ownership of the count columns, the follow-edit clock."""
        return self._columns

    def _clock(self, table: str) -> tuple[int, int]:
        """``(changes, rows)`` of ``table`` for :class:`~.derived.Lag`: tables other than the
        follows only grow within a snapshot, so their length counts their changes; the
        interaction log's withdrawn rows count as well (:meth:`~.derived.Derived.withdrawn`)."""
        if table == "follows":
            return self._columns.follow_edits, len(self.follow_src)
        if table == "interactions":
            rows = len(self.inter_user)
            return rows + len(self._columns.withdrawn), rows
        rows = {
            "accounts": len(self.account_id),
            "posts": len(self.post_id),
            "tags": len(self.tag_post) + len(self.tag_name),
            "interactions": len(self.inter_user),
        }[table]
        return rows, rows

    def invalidate(self, changed: Collection[str]) -> list[str]:
        """Drop the derived structures that the tables in ``changed`` make stale (see
        :mod:`.derived`), and keep the rest: an event that only adds interactions must not
        make the next request rebuild the follow graph or the hashtag index. Returns the keys
        dropped."""
        return self._derived.invalidate(changed, self._clock, self)

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
        return self.derive_of(
            "account_ids",
            lambda s: IdIndex.build(s.account_id),
            depends_on=(Grows("accounts"),),
            extend=lambda index, s, since: index.extended(s.account_id),
        )

    @property
    def posts(self) -> IdIndex:
        return self.derive_of(
            "post_ids",
            lambda s: IdIndex.build(s.post_id),
            depends_on=(Grows("posts"),),
            extend=lambda index, s, since: index.extended(s.post_id),
        )

    def account_index(self, handle: str) -> int:
        """Dense index of a handle ('@' optional); ``-1`` when unknown."""

        def build(s: Snapshot) -> tuple[dict[str, int], dict[str, int]]:
            return {str(h): i for i, h in enumerate(s.handle)}, {}

        def extend(
            value: tuple[dict[str, int], dict[str, int]], s: Snapshot, since: Sizes
        ) -> tuple[dict[str, int], dict[str, int]] | None:
            base, added = value  # new accounts in a small dict beside the large one
            if len(added) > 10_000:
                return None
            more = {str(h): since.accounts + i for i, h in enumerate(s.handle[since.accounts :])}
            return base, {**added, **more}

        base, added = self.derive_of(
            "handles", build, depends_on=(Grows("accounts"),), extend=extend
        )
        key = handle.lstrip("@")
        return int(added.get(key, base.get(key, -1)))

    def tag_index(self, tag: str) -> int:
        table = self.derive(
            "tag_names",
            lambda: {str(t): i for i, t in enumerate(self.tag_name)},
            depends_on=("tags",),
        )
        return int(table.get(tag, -1))

    # ----------------------------------------------------- derived indexes
    def follow_graph(self) -> FollowGraph:
        """The follow matrix with the overlay of changes since its build (lags by
        :data:`~.derived.FOLLOWS_LAG`)."""
        return self.derive_of(
            "follow_graph",
            lambda s: FollowGraph.build(s.follow_src, s.follow_dst, s.n_accounts),
            depends_on=(Grows("accounts"), FOLLOWS_LAG),
            extend=lambda graph, s, since: graph.with_nodes(s.n_accounts),
        )

    def follow_matrix(self) -> sp.csr_matrix:
        """Directed follow graph as CSR (row = follower, column = followed, weight 1), as of
        its last build: it lags by :data:`~.derived.FOLLOWS_LAG`."""
        return self.follow_graph().matrix

    def followers_matrix(self) -> sp.csr_matrix:
        """Transpose of :meth:`follow_matrix` in CSR (row = account, columns = its followers)."""
        return self.derive_of(
            "followers_matrix",
            lambda s: s.follow_matrix().T.tocsr(),
            depends_on=("follow_graph", Grows("accounts")),
            extend=lambda m, s, since: square(m, s.n_accounts),
        )

    def following(self, user: int) -> np.ndarray:
        """Accounts ``user`` follows, exact even while the follow matrix lags: follows added or
        removed since it was built are applied from a small per-user overlay."""
        return self.follow_graph().following(user)

    def note_follow_changes(self, src: np.ndarray, dst: np.ndarray, added: bool) -> None:
        """Record follow edges added (or removed) by a catch-up, for :meth:`following` and for
        the clock of :data:`~.derived.FOLLOWS_LAG`."""
        self._columns.follow_edits += len(src)
        graph = self._derived.get("follow_graph")
        if graph is not None:  # else built from the arrays on next use, changes included
            graph.note(src, dst, added)

    def post_tags_matrix(self) -> sp.csr_matrix:
        """Posts × hashtags incidence (CSR, 1.0 where the post carries the tag; a deleted
        post carries none, so hashtag statistics match a store that never held it)."""

        def rows(snap: Snapshot, first: int, links: slice) -> sp.csr_matrix:
            posts, tags = snap.tag_post[links], snap.tag_id[links]
            data = (~snap.post_removed[posts]).astype(np.float64)
            shape = (snap.n_posts - first, snap.n_tags)
            return sp.csr_matrix((data, (posts - first, tags)), shape=shape)

        def extend(m: sp.csr_matrix, snap: Snapshot, since: Sizes) -> sp.csr_matrix | None:
            links = slice(since.tag_links, None)
            if snap.tag_post[links].min(initial=since.posts) < since.posts:
                return None  # a hashtag added to an old post: its row changes
            return stack_rows(m, rows(snap, since.posts, links))

        return self.derive_of(
            "post_tags",
            lambda snap: rows(snap, 0, slice(None)),
            depends_on=(Grows("posts"), Grows("tags")),
            extend=extend,
        )

    def user_interactions(self, user: int) -> np.ndarray:
        """Positions in the interaction arrays of ``user``'s interactions, in store order."""

        def build(snap: Snapshot) -> tuple[np.ndarray, np.ndarray, InteractionTail]:
            order = np.argsort(snap.inter_user, kind="stable")
            counts = np.bincount(snap.inter_user, minlength=snap.n_accounts)
            indptr = np.concatenate([[0], np.cumsum(counts)])
            return order, indptr, InteractionTail(len(order), state.TAIL_CHUNK)

        # interactions are not an input: the tail appended since the build is grouped by user
        # a chunk at a time (InteractionTail), until it gets long (checked here, on use,
        # rather than by a Lag at every catch-up); a new account has none in the index, and
        # its own are in that tail
        order, indptr, tail = self.derive_of(
            "by_user",
            build,
            depends_on=(Grows("accounts"),),
            extend=lambda v, s, since: (v[0], pad(v[1], s.n_accounts + 1, v[1][-1]), v[2]),
        )
        base = len(order)
        if len(self.inter_user) > base + max(50_000, base // 20):
            self._derived.drop("by_user")  # the unindexed tail got long: index everything
            return self.user_interactions(user)
        own = order[indptr[user] : indptr[user + 1]] if user + 1 < len(indptr) else order[:0]
        if len(self.inter_user) == base:
            return own
        return np.concatenate([own, tail.of(self.inter_user, user)])

    def users_interactions(self, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Interaction positions of many users at once, and which user (by position in
        ``users``) each belongs to — one vectorised gather instead of a loop."""
        users = np.asarray(users, dtype=np.int64)
        if self.n_accounts == 0 or len(users) == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        self.user_interactions(int(users[0]))  # builds (or rebuilds) the index
        order, indptr, tail = self._derived.get("by_user")
        pos, owner = gather_groups(order, indptr, np.minimum(users, len(indptr) - 2))
        if len(self.inter_user) > len(order):  # the rows since, from the tail's sorted chunks
            more, more_owner = tail.gather(self.inter_user, users)
            pos, owner = np.concatenate([pos, more]), np.concatenate([owner, more_owner])
        return pos, owner

    def authors_posts(self, authors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Post indexes of many (distinct) authors at once, with the owner of each (position in
        ``authors``)."""
        return self._by_author().gather(np.asarray(authors, dtype=np.int64))

    def author_posts(self, author: int) -> np.ndarray:
        """Post indexes of one author."""
        return self._by_author().of(author)

    def _by_author(self) -> AuthorPosts:
        """Post indexes grouped by author (a new post goes to the index's tail, rebuilt with it
        past 20,000 posts or 1 %)."""

        def extend(value: AuthorPosts, snap: Snapshot, since: Sizes) -> AuthorPosts | None:
            if len(value.tail_post) + snap.n_posts - since.posts > max(20_000, snap.n_posts // 100):
                return None
            return value.grown(snap.post_author[since.posts :], since.posts)

        return self.derive_of(
            "by_author",
            lambda s: AuthorPosts.build(s.post_author, s.n_accounts),
            depends_on=(Grows("accounts"), Grows("posts")),
            extend=extend,
        )

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
        )
