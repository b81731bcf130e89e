"""Taking appended rows into a derived structure without rebuilding it (:class:`.derived.Grows`).

A new post must be findable on the next request; on the large world, rebuilding the structures
built on the posts table for it took 6.6 s (``bench/newpost.py``). Each structure declared with
``Grows("posts")`` instead extends its value with the new rows: an insert into a sorted order,
rows stacked under a sparse matrix, columns or zeros padded on. A test compares every
extension with a build from scratch (``tests/test_snapshot_grow.py``).

Appending is amortised O(rows added) through :func:`append`: an array it returns is a view of
a buffer with spare room, and the next append to that view writes into the room instead of
copying the whole column (5 M posts, 19 M hashtag links on the large world). The old view
never sees the new rows, so a value that is being read — by a request, or by a rebuild beside
on its frozen copy — is never changed; only the first of two appends to the same view writes in
place, the other copies (numpy has no such growable array, hence this).
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

__all__ = ["LogAt", "Sizes", "append", "merge_sorted", "pad", "pad_columns", "square", "stack_rows"]

#: id(buffer) -> rows of it handed out so far (an entry goes with its buffer).
_FILLED: dict[int, int] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Sizes:
    """Rows of each table of a snapshot at one moment (:meth:`Snapshot.sizes`): where a
    :class:`~.derived.Grows` structure's ``extend`` takes up the appended rows."""

    accounts: int
    posts: int
    tag_links: int
    tag_names: int
    interactions: int


@dataclass(frozen=True)
class LogAt:
    """How much of the interaction log a value has taken in (:meth:`Snapshot.log_at`): its
    first ``rows`` rows, as they were after the first ``withdrawals`` entries of the snapshot's
    withdrawal log — where a catch-up (:mod:`.derived`) starts."""

    rows: int
    withdrawals: int


def append(cur: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``cur`` followed by ``values`` (1-d, ``cur``'s dtype), without changing ``cur``: written
    into the spare room of the buffer ``cur`` heads when it was made here and nothing was
    appended to it since, else copied into a new buffer with 25 % room.

    >>> a = append(np.arange(3), np.array([3]))
    >>> b = append(a, np.array([4, 5]))
    >>> b.base is a.base, a.tolist(), b.tolist(), append(a, np.array([9])).tolist()
    (True, [0, 1, 2, 3], [0, 1, 2, 3, 4, 5], [0, 1, 2, 3, 9])
    """
    values = np.asarray(values, dtype=cur.dtype)
    n, m = len(cur), len(values)
    buf = cur.base
    if isinstance(buf, np.ndarray) and buf.ndim == 1 and buf.dtype == cur.dtype:
        with _LOCK:
            mine = (
                _FILLED.get(id(buf)) == n
                and len(buf) >= n + m
                and cur.ctypes.data == buf.ctypes.data
                and cur.strides == buf.strides
            )
            if mine:
                _FILLED[id(buf)] = n + m  # claimed: a second append to ``cur`` copies
        if mine:
            buf[n : n + m] = values
            return buf[: n + m]
    buf = np.empty((n + m) * 5 // 4 + 1024, dtype=cur.dtype)
    buf[:n], buf[n : n + m] = cur, values
    with _LOCK:
        _FILLED[id(buf)] = n + m
    weakref.finalize(buf, _FILLED.pop, id(buf), None)
    return buf[: n + m]


def merge_sorted(
    order: np.ndarray, keys: np.ndarray, tail: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """A stable argsort of ``values`` and the sorted values, from those of its head
    (``order``, ``keys = values[order]``) and its ``tail`` (rows ``len(order)…``): what
    ``np.argsort(values, kind="stable")`` gives, without a sort of all (a key equal to an
    older one sorts after it, as the stable sort puts it). New ids and new posts' times are
    usually the largest: then an :func:`append`, else an O(n) insert.

    >>> merge_sorted(np.array([1, 0]), np.array([3, 5]), np.array([5, 1]))
    (array([3, 1, 0, 2]), array([1, 3, 5, 5]))
    """
    mine = np.argsort(tail, kind="stable")
    at = np.searchsorted(keys, tail[mine], side="right")
    if len(at) and at[0] == len(keys):
        return append(order, mine + len(order)), append(keys, tail[mine])
    return np.insert(order, at, mine + len(order)), np.insert(keys, at, tail[mine])


def stack_rows(m: sp.csr_matrix, block: sp.csr_matrix) -> sp.csr_matrix:
    """``m`` with the rows of ``block`` below it (columns: the wider of the two), appended
    (``sp.vstack`` converts through COO and copies everything)."""
    indptr = append(m.indptr, block.indptr[1:] + m.indptr[-1])
    shape = (m.shape[0] + block.shape[0], max(m.shape[1], block.shape[1]))
    data, indices = append(m.data, block.data), append(m.indices, block.indices)
    return sp.csr_matrix((data, indices, indptr), shape=shape)


def pad(values: np.ndarray, n: int, fill: float = 0) -> np.ndarray:
    """``values`` followed by ``fill`` up to length ``n`` (appended: ``values`` unchanged).

    >>> pad(np.array([1.0, 2.0]), 4).tolist()
    [1.0, 2.0, 0.0, 0.0]
    """
    return append(values, np.full(n - len(values), fill, dtype=values.dtype))


def pad_columns(m: sp.csc_matrix, n: int, rows: int | None = None) -> sp.csc_matrix:
    """CSC ``m`` with empty columns up to ``n`` (and empty rows up to ``rows``), sharing its
    entries.

    >>> pad_columns(sp.csc_matrix(np.eye(2)), 3, rows=3).toarray().tolist()
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]
    """
    indptr = pad(m.indptr, n + 1, m.indptr[-1])
    shape = (max(m.shape[0], rows or 0), n)
    return sp.csc_matrix((m.data, m.indices, indptr), shape=shape)


def square(m: sp.csr_matrix, n: int) -> sp.csr_matrix:
    """Square CSR ``m`` with empty rows and columns up to ``n`` (accounts added; sharing its
    entries).

    >>> square(sp.csr_matrix(np.eye(2)), 3).toarray().tolist()
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]
    """
    if n <= m.shape[0]:
        return m
    return sp.csr_matrix((m.data, m.indices, pad(m.indptr, n + 1, m.indptr[-1])), shape=(n, n))
