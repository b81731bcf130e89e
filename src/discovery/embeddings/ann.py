"""Nearest neighbours by cosine: an exact numpy index and an HNSW one, extended in place.

Both hold unit vectors under integer keys and answer the ``k`` keys of largest inner product
(cosine, for unit vectors) with a query. :class:`ExactIndex` is the reference — one
matrix-vector product, ``O(n·d)`` per query — and :class:`HnswIndex` the fast one:
a hierarchical navigable small-world graph (Malkov & Yashunin 2018, "Efficient and robust
approximate nearest neighbor search using HNSW graphs", IEEE TPAMI) from the ``usearch``
library, chosen over ``hnswlib`` and ``faiss-cpu`` by ``bench/ann.py`` (recall@10 against
:class:`ExactIndex` and p99 latency, side by side). Adding vectors extends the graph; nothing
is rebuilt. A key added twice keeps its first vector (as the vectors table does).

>>> idx = ExactIndex(dim=2)
>>> idx.add(np.array([10, 20, 30]), np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]]))
>>> keys, scores = idx.search(np.array([0.8, 0.6]), k=2)
>>> keys.tolist(), [round(float(s), 2) for s in scores]
([30, 10], [0.96, 0.8])
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["ExactIndex", "HnswIndex", "make_index", "recall_at_k"]


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean share of each query's true top-k keys that were found (``found``, ``truth``:
    ``(queries, k)`` arrays of keys; ``-1`` pads short answers).

    >>> round(recall_at_k(np.array([[1, 2, 3], [4, 5, 9]]), np.array([[3, 2, 1], [4, 5, 6]])), 4)
    0.8333
    """
    hits = [
        len(set(f[f >= 0].tolist()) & set(t[t >= 0].tolist()))
        for f, t in zip(found, truth, strict=True)
    ]
    sizes = [max(1, int((t >= 0).sum())) for t in truth]
    return float(np.mean(np.array(hits) / np.array(sizes)))


class ExactIndex:
    """Brute force: scores every stored vector (the reference the HNSW index is tested on)."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._keys = np.zeros(0, np.int64)
        self._data = np.zeros((0, dim), np.float32)
        self._known: set[int] = set()

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        keys = np.asarray(keys, np.int64)
        fresh = np.array([k not in self._known for k in keys.tolist()], bool)
        _, first = np.unique(keys, return_index=True)
        once = np.zeros(len(keys), bool)
        once[first] = True
        keep = fresh & once
        self._known.update(keys[keep].tolist())
        self._keys = np.concatenate([self._keys, keys[keep]])
        self._data = np.vstack([self._data, np.asarray(vectors, np.float32)[keep]])

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best keys and their scores, best first (ties: smaller key first)."""
        if not len(self._keys):
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        scores = self._data @ np.asarray(query, np.float32)
        order = np.lexsort((self._keys, -scores))[:k]
        return self._keys[order], scores[order]

    def search_many(self, queries: np.ndarray, k: int) -> np.ndarray:
        """``(len(queries), k)`` keys (``-1`` where fewer than ``k`` are stored)."""
        out = np.full((len(queries), k), -1, np.int64)
        for i, q in enumerate(queries):
            keys, _ = self.search(q, k)
            out[i, : len(keys)] = keys
        return out


class HnswIndex:
    """usearch's HNSW graph over cosine, float16 storage (``connectivity`` = M, the graph's
    degree; ``expansion_search`` = ef, the candidate list at query time: recall vs speed)."""

    def __init__(
        self,
        dim: int,
        connectivity: int = 16,
        expansion_add: int = 128,
        expansion_search: int = 64,
        threads: int = 0,
    ) -> None:
        from usearch.index import Index

        self.dim = dim
        self.threads = threads
        self._index: Any = Index(
            ndim=dim,
            metric="cos",
            dtype="f16",
            connectivity=connectivity,
            expansion_add=expansion_add,
            expansion_search=expansion_search,
        )

    def __len__(self) -> int:
        return len(self._index)

    def add(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        keys = np.asarray(keys, np.uint64)
        _, first = np.unique(keys, return_index=True)
        first = np.sort(first)
        keys, vectors = keys[first], np.asarray(vectors, np.float32)[first]
        fresh = ~np.asarray(self._index.contains(keys), bool) if len(self._index) else None
        if fresh is not None:
            keys, vectors = keys[fresh], vectors[fresh]
        if len(keys):
            self._index.add(keys, vectors, threads=self.threads)

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if not len(self._index):
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        m = self._index.search(np.asarray(query, np.float32), k)
        return np.asarray(m.keys, np.int64), 1.0 - np.asarray(m.distances, np.float32)

    def search_many(self, queries: np.ndarray, k: int) -> np.ndarray:
        out = np.full((len(queries), k), -1, np.int64)
        if not len(self._index):
            return out
        m = self._index.search(np.asarray(queries, np.float32), k, threads=self.threads)
        if not hasattr(m, "counts"):  # usearch answers one query with a flat Matches
            keys = np.asarray(m.keys, np.int64)
            out[0, : len(keys)] = keys
            return out
        keys, counts = np.asarray(m.keys, np.int64), np.asarray(m.counts)
        for i, c in enumerate(counts):
            out[i, :c] = keys[i, :c]
        return out


def make_index(dim: int, n_hint: int = 0) -> ExactIndex | HnswIndex:
    """The index for ``n_hint`` vectors: exact below 20,000 (a product over that many
    rows takes well under a millisecond, and is exact), HNSW above when usearch is installed."""
    if n_hint < 20_000:
        return ExactIndex(dim)
    try:
        return HnswIndex(dim)
    except ImportError:
        return ExactIndex(dim)
