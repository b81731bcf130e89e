"""Mutable state a snapshot keeps beside its arrays, each in a small typed object with one owner:

* :class:`FollowGraph` — the follow matrix and the overlay that keeps each user's own follows
  exact while the matrix lags (it is rebuilt only after :data:`~.derived.FOLLOW_REBUILD_SHARE`
  of the edges changed); owned by the ``follow_graph`` derived structure, so a rebuild starts
  with an empty overlay.
* :class:`InteractionTail` — the interaction rows appended since the per-user index was built,
  grouped by user a chunk at a time; owned by the ``by_user`` derived structure.
* :class:`Columns` — what catch-ups keep about the array fields (growth buffers, ownership of
  the count columns, the follow-edit clock); owned by the loader.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from .. import setops

__all__ = ["AuthorPosts", "Columns", "FollowGraph", "InteractionTail", "gather_groups"]


@dataclass
class FollowGraph:
    """The follow matrix (row = follower, column = followed) as of its build, and the follows
    added (True) or removed (False) since, per follower: ``overlay[src][dst]``.

    >>> g = FollowGraph.build(np.array([0, 0]), np.array([1, 2]), 3)
    >>> g.note(np.array([0, 1]), np.array([2, 0]), added=False)
    >>> g.note(np.array([1]), np.array([0]), added=True)
    >>> g.following(0).tolist(), g.following(1).tolist()
    ([1], [0])
    >>> g.contains(np.array([0, 0, 1]), np.array([1, 2, 0])).tolist()
    [True, False, True]
    """

    matrix: sp.csr_matrix
    overlay: dict[int, dict[int, bool]] = field(default_factory=dict)

    @classmethod
    def build(cls, src: np.ndarray, dst: np.ndarray, n: int) -> FollowGraph:
        data = np.ones(len(src), dtype=np.float64)
        m = sp.csr_matrix((data, (src, dst)), shape=(n, n))
        m.sum_duplicates()
        return cls(m)

    def with_nodes(self, n: int) -> FollowGraph:
        """The graph with accounts up to ``n`` (new ones follow nobody as of the build), the
        same overlay object: what catch-ups note goes on being noted in both.

        >>> g = FollowGraph.build(np.array([0]), np.array([1]), 2).with_nodes(3)
        >>> g.matrix.shape, g.following(2).tolist()
        ((3, 3), [])
        """
        m = self.matrix
        if n <= m.shape[0]:
            return self
        indptr = np.concatenate([m.indptr, np.full(n - m.shape[0], m.indptr[-1], m.indptr.dtype)])
        return FollowGraph(sp.csr_matrix((m.data, m.indices, indptr), shape=(n, n)), self.overlay)

    def note(self, src: np.ndarray, dst: np.ndarray, added: bool) -> None:
        """Record follow edges added (or removed) after the build."""
        for s, d in zip(src.tolist(), dst.tolist(), strict=True):
            self.overlay.setdefault(int(s), {})[int(d)] = added

    def adopt(self, old: FollowGraph) -> None:
        """Take over the changes ``old`` noted that this matrix, built later, does not show.

        Swapping in a graph rebuilt beside the serving one (:mod:`.rebuild`): its matrix holds
        the follows as of the rebuild's copy, ``old``'s overlay the latest state of every edge
        changed since ``old`` was built — those after the copy included. Each such state that
        differs from this matrix is kept, which is exact whichever side of the copy it came
        from (an equal one is already in the matrix).

        >>> old = FollowGraph.build(np.array([0]), np.array([1]), 3)
        >>> old.note(np.array([0, 0]), np.array([2, 1]), added=True)  # (0, 2) is new
        >>> new = FollowGraph.build(np.array([0]), np.array([1]), 3)  # built before it
        >>> new.adopt(old)
        >>> new.overlay, new.following(0).tolist()
        ({0: {2: True}}, [1, 2])
        """
        m = self.matrix
        for src, changes in old.overlay.items():
            row = m.indices[m.indptr[src] : m.indptr[src + 1]] if src < m.shape[0] else ()
            now = set(np.asarray(row).tolist())
            keep = {dst: on for dst, on in changes.items() if (dst in now) != on}
            if keep:
                self.overlay.setdefault(src, {}).update(keep)

    def following(self, user: int) -> np.ndarray:
        """Accounts ``user`` follows now: the matrix row with the overlay applied."""
        m = self.matrix
        row = m.indices[m.indptr[user] : m.indptr[user + 1]]
        change = self.overlay.get(user)
        if not change:
            return row  # type: ignore[no-any-return]
        now = set(row.tolist())
        for dst, on in change.items():
            if on:
                now.add(dst)
            else:
                now.discard(dst)
        return np.array(sorted(now), dtype=row.dtype)

    def follow_user(self, accounts: np.ndarray, user: int) -> np.ndarray:
        """Whether each of ``accounts`` follows ``user`` now (vectorised: one column of the
        matrix, then the overlay of the accounts that changed a follow since the build).

        >>> g = FollowGraph.build(np.array([1, 2]), np.array([0, 0]), 4)
        >>> g.note(np.array([2, 3]), np.array([0, 0]), added=False)
        >>> g.note(np.array([3]), np.array([0]), added=True)
        >>> g.follow_user(np.array([1, 2, 3, 0, 1]), 0).tolist()
        [True, False, True, False, True]
        """
        m = self.matrix
        accounts = np.asarray(accounts, dtype=np.int64)
        out = np.zeros(len(accounts), dtype=bool)
        inside = (accounts >= 0) & (accounts < m.shape[0])
        if inside.any() and 0 <= user < m.shape[1]:
            out[inside] = m[accounts[inside], user].toarray().ravel() > 0
        for a in setops.unique(accounts).tolist():  # single lookups: a catch-up may be noting
            on = self.overlay.get(a, {}).get(user)
            if on is not None:
                out[accounts == a] = on
        return out

    def contains(self, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
        """Whether each edge ``(src[i], dst[i])`` exists now (a row lookup per edge: for the few
        edges of a catch-up, not for bulk)."""
        m = self.matrix
        out = np.zeros(len(src), dtype=bool)
        for i, (a, b) in enumerate(zip(src.tolist(), dst.tolist(), strict=True)):
            since_build = self.overlay.get(a, {}).get(b)  # the matrix may lag: recent first
            if since_build is not None:
                out[i] = since_build
            elif 0 <= a < m.shape[0]:
                out[i] = b in m.indices[m.indptr[a] : m.indptr[a + 1]]
        return out


@dataclass
class Columns:
    """What catch-ups keep about the snapshot's array fields (never saved, never copied by
    :func:`dataclasses.replace`).

    Attributes
    ----------
    buffers : per field, the array with spare capacity that the field is a view of, so that a
        catch-up appends in amortised O(rows added) (see ``load._extend``).
    owns_counts : ``post_likes``/``post_comments`` are this snapshot's own writable copies
        (views made by ``as_of`` or a memory-mapped cache are copied before the first update).
    follow_edits : follow edges added or removed by catch-ups so far — the clock of
        :data:`~.derived.FOLLOWS_LAG` (edges can be removed, so the length does not tell).
    edits : per table, catch-ups that changed its rows in place (a deleted post, a hashtag
        link removed): what drops a :class:`~.derived.Grows` structure, which takes in only
        appended rows.
    withdrawn, withdrawn_kind : the withdrawal log — interaction rows withdrawn by catch-ups
        (an unlike, a deleted post's interactions), in order, and the kind each had: what a
        catch-up subtracts (:meth:`Snapshot.withdrawn_since`).
    kinds_shared : a frozen copy reads the buffer of ``inter_kind``: the next withdrawal
        writes a copy of its own (:meth:`own`), not into what the copy reads.
    """

    buffers: dict[str, np.ndarray] = field(default_factory=dict)
    owns_counts: bool = False
    follow_edits: int = 0
    edits: dict[str, int] = field(default_factory=dict)
    withdrawn: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    withdrawn_kind: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))
    kinds_shared: bool = False

    def edited(self, table: str) -> None:
        """Note that a catch-up changed rows of ``table`` in place."""
        self.edits[table] = self.edits.get(table, 0) + 1

    def reserve(self, name: str, cur: np.ndarray) -> np.ndarray:
        """``cur`` in a buffer with 25 % spare (a copy, once): what the first :meth:`append`
        would make, made ahead — on a large world that first copy takes seconds.

        >>> c = Columns()
        >>> a = c.reserve("x", np.arange(3))
        >>> c.append("x", a, np.array([3])).base is c.buffers["x"]
        True
        """
        buf = self.buffers.get(name)
        if buf is not None and len(cur) and np.shares_memory(buf[:1], cur[:1]):
            return cur
        buf = np.empty(max(len(cur), len(cur) * 5 // 4 + 1024), dtype=cur.dtype)
        buf[: len(cur)] = cur
        self.buffers[name] = buf
        return buf[: len(cur)]

    def own(self, name: str, cur: np.ndarray) -> np.ndarray:
        """A writable copy of ``cur`` in a new buffer with 25 % spare (``cur``, which others
        may read, stays as it is)."""
        buf = np.empty(len(cur) * 5 // 4 + 1024, dtype=cur.dtype)
        buf[: len(cur)] = cur
        self.buffers[name] = buf
        return buf[: len(cur)]

    def append(self, name: str, cur: np.ndarray, values: np.ndarray) -> np.ndarray:
        """``cur`` followed by ``values``, written into ``name``'s buffer when ``cur`` is its
        head and it has room, else into a new buffer with 25 % spare."""
        n, m = len(cur), len(values)
        buf = self.buffers.get(name)
        if buf is None or len(buf) < n + m or not np.shares_memory(buf[:1], cur[:1]) or n == 0:
            buf = np.empty(max(n + m, (n + m) * 5 // 4 + 1024), dtype=cur.dtype)
            buf[:n] = cur
            self.buffers[name] = buf
        buf[n : n + m] = values.astype(cur.dtype, copy=False)
        return buf[: n + m]


@dataclass(frozen=True)
class AuthorPosts:
    """Post indexes grouped by author, in index order: account ``a``'s (``a`` below the
    ``accounts`` counted at the build) at ``order[indptr[a]:indptr[a + 1]]``, posts without an
    author in the group after them; the posts added since the build in a tail sorted by
    ``(author, post)`` (-1: no author), so a new post costs the tail, not an insert into the
    large world's 5 M-entry order.

    >>> ix = AuthorPosts.build(np.array([1, 0, 1, -1]), 2).grown(np.array([0, 2]), 4)
    >>> ix.of(0).tolist(), ix.of(1).tolist(), ix.of(2).tolist()
    ([1, 4], [0, 2], [5])
    >>> ix.gather(np.array([2, 0]))
    (array([5, 1, 4]), array([0, 1, 1]))
    """

    order: np.ndarray
    indptr: np.ndarray
    accounts: int
    tail_author: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    tail_post: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    @classmethod
    def build(cls, authors: np.ndarray, accounts: int) -> AuthorPosts:
        key = np.where(authors < 0, accounts, authors)
        counts = np.bincount(key, minlength=accounts + 1)
        return cls(
            np.argsort(key, kind="stable"), np.concatenate([[0], np.cumsum(counts)]), accounts
        )

    def grown(self, authors: np.ndarray, first: int) -> AuthorPosts:
        """With the posts ``first, first + 1, …`` by ``authors`` added to the tail."""
        author = np.concatenate([self.tail_author, np.asarray(authors, np.int64)])
        post = np.concatenate([self.tail_post, np.arange(first, first + len(authors))])
        by = np.lexsort((post, author))
        return AuthorPosts(self.order, self.indptr, self.accounts, author[by], post[by])

    def of(self, author: int) -> np.ndarray:
        """Post indexes of one author, in index order."""
        base = (
            self.order[self.indptr[author] : self.indptr[author + 1]]
            if 0 <= author < self.accounts
            else self.order[:0]
        )
        if not len(self.tail_author):
            return base
        lo, hi = np.searchsorted(self.tail_author, [author, author + 1])
        return np.concatenate([base, self.tail_post[lo:hi]]) if hi > lo else base

    def gather(self, authors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Post indexes of many authors (distinct) at once, grouped by author in their order,
        with the owner of each (position in ``authors``)."""
        authors = np.asarray(authors, dtype=np.int64)
        known = np.flatnonzero((authors >= 0) & (authors < self.accounts))
        pos, owner = gather_groups(self.order, self.indptr, authors[known])
        owner = known[owner]
        hit = np.isin(self.tail_author, authors) if len(self.tail_author) else None
        if hit is None or not hit.any():
            return pos, owner
        by = np.argsort(authors, kind="stable")
        mine = by[np.searchsorted(authors[by], self.tail_author[hit])]
        pos, owner = np.concatenate([pos, self.tail_post[hit]]), np.concatenate([owner, mine])
        keep = np.argsort(owner, kind="stable")  # each author's: the index's, then the tail's
        return pos[keep], owner[keep]


#: Rows per sorted chunk of :class:`InteractionTail` (the scan of the last, partial one costs
#: ~10 µs per 50,000 rows; sorting a whole one ~3 ms, once).
TAIL_CHUNK = 50_000


@dataclass
class InteractionTail:
    """Rows ``base, base + 1, …`` of the interaction log grouped by user, one sorted chunk of
    :attr:`chunk` rows at a time as they are appended; the last partial chunk is scanned.

    A user's own interactions never lag, so the per-user index (rebuilt once the tail passes
    5 % of the log: an argsort of 60 M rows on the large world) is followed by its tail. A
    linear scan of that tail cost 0.26 ms per lookup at 1.2 M rows — ten minutes of the load
    test's 2,000 events/s — and grew with it; a lookup here is two binary searches per chunk
    and a scan of fewer than :attr:`chunk` rows. Rows are only ever appended (a withdrawal
    changes a row's kind, not its user), so a sorted chunk stays valid; chunks are keyed by
    their first row, so two threads sorting the same one keep one.

    >>> users = np.array([9, 9, 1, 2, 1, 2, 1])
    >>> tail = InteractionTail(base=2, chunk=2)
    >>> tail.of(users, 1).tolist(), tail.of(users, 2).tolist(), sorted(tail.chunks)
    ([2, 4, 6], [3, 5], [2, 4])
    """

    base: int
    chunk: int = TAIL_CHUNK
    chunks: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def _sorted(self, users: np.ndarray) -> tuple[list[tuple[np.ndarray, np.ndarray]], int]:
        """The sorted ``(users, rows)`` of every whole chunk, and the first row not in one."""
        out, start = [], self.base
        while start + self.chunk <= len(users):
            found = self.chunks.get(start)
            if found is None:
                part = users[start : start + self.chunk]
                order = np.argsort(part, kind="stable")
                found = self.chunks.setdefault(start, (part[order], start + order))
            out.append(found)
            start += self.chunk
        return out, start

    def of(self, users: np.ndarray, user: int) -> np.ndarray:
        """Rows of ``user`` from ``base`` on, in log order (``users``: the log's user column)."""
        chunks, rest = self._sorted(users)
        parts = []
        # in the column's own dtype: a Python int list made searchsorted cast every chunk
        query = np.array([user, user + 1], dtype=users.dtype)
        for keys, rows in chunks:
            lo, hi = np.searchsorted(keys, query)
            if hi > lo:
                parts.append(rows[lo:hi])
        parts.append(rest + np.flatnonzero(users[rest:] == user))
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    def gather(self, users: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows from ``base`` on of any of the distinct ``wanted`` users, and which of them
        (position in ``wanted``) each belongs to; grouped by chunk, each chunk's by user.

        >>> users = np.array([9, 9, 1, 2, 1, 2, 1])
        >>> rows, owner = InteractionTail(base=2, chunk=2).gather(users, np.array([2, 1]))
        >>> rows.tolist(), owner.tolist()
        ([2, 3, 4, 5, 6], [1, 0, 1, 0, 1])
        """
        chunks, rest = self._sorted(users)
        by = np.argsort(wanted, kind="stable")
        keys_wanted = wanted[by].astype(users.dtype)
        rows_out, owner_out = [], []
        for keys, rows in chunks:
            lo = np.searchsorted(keys, keys_wanted, side="left")
            lens = np.searchsorted(keys, keys_wanted, side="right") - lo
            if lens.any():  # each wanted user's span of the chunk, without a Python loop
                offsets = np.arange(int(lens.sum())) - np.repeat(np.cumsum(lens) - lens, lens)
                rows_out.append(rows[np.repeat(lo, lens) + offsets])
                owner_out.append(np.repeat(by, lens))
        tail_rows = rest + np.flatnonzero(np.isin(users[rest:], wanted))
        if len(tail_rows):
            rows_out.append(tail_rows)
            owner_out.append(by[np.searchsorted(keys_wanted, users[tail_rows])])
        if not rows_out:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        return np.concatenate(rows_out).astype(np.int64), np.concatenate(owner_out).astype(np.int64)


def gather_groups(
    order: np.ndarray, indptr: np.ndarray, keys: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate ``order[indptr[k]:indptr[k + 1]]`` for every key, with the key's position.

    >>> gather_groups(np.array([5, 6, 7]), np.array([0, 2, 3]), np.array([1, 0]))
    (array([7, 5, 6]), array([0, 1, 1]))
    """
    if len(keys) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    starts, ends = indptr[keys], indptr[keys + 1]
    lengths = ends - starts
    owner = np.repeat(np.arange(len(keys)), lengths)
    offsets = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return order[np.repeat(starts, lengths) + offsets], owner
