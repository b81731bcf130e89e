"""Nearest neighbours by cosine: an exact numpy index and an HNSW one, extended in place.

Both hold unit vectors under integer keys and answer the ``k`` keys of largest inner product
(cosine, for unit vectors) with a query. :class:`ExactIndex` is the reference — one
matrix-vector product, ``O(n·d)`` per query — and :class:`HnswIndex` the fast one:
a hierarchical navigable small-world graph (Malkov & Yashunin 2018, "Efficient and robust
approximate nearest neighbor search using HNSW graphs", IEEE TPAMI) from ``hnswlib`` (the
authors' own library), chosen over ``usearch`` and ``faiss-cpu`` by ``bench/ann.py``: at 50k
vectors it had the lowest single-query latency at recall@10 >= 0.99 (see bench/README.md). Adding vectors extends the graph; nothing
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
    """hnswlib's HNSW graph over cosine (``m`` = M, the graph's degree; ``ef`` the candidate
    list at query time: recall vs speed; a query for ``k > ef`` neighbours searches with
    ``k``). Capacity doubles as vectors arrive, so adding never rebuilds the graph. The
    defaults are measured (``bench/ann.py``): at 1M clustered 384-d vectors, M = 16 and
    ef_construction = 128 reach recall@10 0.979 at ef = 128 (0.934 at ef = 64) in 1.6 ms of
    CPU at p99."""

    def __init__(
        self, dim: int, m: int = 16, ef_construction: int = 128, ef: int = 128, threads: int = 1
    ) -> None:
        import hnswlib

        self.dim = dim
        self.threads = threads
        self._index: Any = hnswlib.Index(space="cosine", dim=dim)
        self._index.init_index(max_elements=1024, ef_construction=ef_construction, M=m)
        self._index.set_ef(ef)
        self._index.set_num_threads(threads)
        self._known: set[int] = set()

    def __len__(self) -> int:
        return len(self._known)

    def add(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        keys = np.asarray(keys, np.int64)
        _, first = np.unique(keys, return_index=True)
        first = np.sort(first)
        keys, vectors = keys[first], np.asarray(vectors, np.float32)[first]
        fresh = np.array([k not in self._known for k in keys.tolist()], bool)
        keys, vectors = keys[fresh], vectors[fresh]
        if not len(keys):
            return
        need = len(self._known) + len(keys)
        capacity = self._index.get_max_elements()
        if need > capacity:
            self._index.resize_index(max(need, 2 * capacity))
        self._index.add_items(vectors, keys, num_threads=self.threads)
        self._known.update(keys.tolist())

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        k = min(k, len(self._known))
        if k == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        labels, dist = self._index.knn_query(np.asarray(query, np.float32)[None, :], k=k)
        return labels[0].astype(np.int64), (1.0 - dist[0]).astype(np.float32)

    def search_many(self, queries: np.ndarray, k: int) -> np.ndarray:
        out = np.full((len(queries), k), -1, np.int64)
        kk = min(k, len(self._known))
        if kk == 0 or not len(queries):
            return out
        labels, _ = self._index.knn_query(np.asarray(queries, np.float32), k=kk)
        out[:, :kk] = labels
        return out


def make_index(dim: int, n_hint: int = 0, hnsw_from: int = 20_000) -> ExactIndex | HnswIndex:
    """The index for ``n_hint`` vectors: exact below ``hnsw_from`` (one product over 20,000
    rows costs a few milliseconds and is exact), HNSW above when hnswlib is installed."""
    if n_hint < hnsw_from:
        return ExactIndex(dim)
    try:
        return HnswIndex(dim)
    except ImportError:
        return ExactIndex(dim)
