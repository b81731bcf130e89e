"""An approximate nearest-neighbour index over an ALS model's user factors, built with the model.

The ``als`` source's taste neighbours are the ``k`` accounts whose factors are nearest a user's
by cosine, ``cos(v, x) = v·x / (|v| |x|)``. Brute force reads every known user's factors on
every request: on the large world 858k × 32 float32, 110 MB, 6–8 ms of one core's memory
bandwidth a request (a fifth of an explore feed there), and the requests that stall on it make
the tail. So a model of at least :data:`INDEX_FROM` users also carries hnswlib's HNSW graph over
its user rows (Malkov & Yashunin 2018, "Efficient and robust approximate nearest neighbor
search using HNSW graphs", IEEE TPAMI; the library the embeddings' index uses, picked by
``bench/ann.py``), built by ``discovery train als`` on one thread — so the same model always
has the same graph and answers the same neighbours — and saved in the model's artifact.

Measured on the large world's model (857,901 users × 32): built in 31 s on two threads (M 16,
ef_construction 100), a query 0.04–0.08 ms at ef 64–128, the found 50 neighbours' mean cosine
within 0.007 of the exact 50's (recall of the exact set itself means little there: thousands of
users have identical factors, tied at cosine 1).

Without hnswlib (an install without the ``embed`` extra) no index is built, and a model that
has one is searched by brute force: the exact neighbours, at the brute-force price.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import numpy as np

__all__ = ["EF", "INDEX_FROM", "UserIndex", "build_user_index"]

#: Users from which a model carries an index: below, one product over the rows costs about a
#: millisecond (20k × 32) and is exact.
INDEX_FROM = 50_000
#: The graph's degree and build-time candidate list (the embeddings index's, measured there).
M, EF_CONSTRUCTION = 16, 100
#: Candidates kept during a search: recall against speed (a search for more takes that many).
EF = 64


def _hnswlib() -> Any:
    try:
        import hnswlib
    except ImportError:  # the ``embed`` extra is not installed
        return None
    return hnswlib


def build_user_index(factors: np.ndarray, seed: int, min_rows: int | None = None) -> bytes | None:
    """hnswlib's HNSW graph over ``factors`` (one row per model user, labelled by row) under
    cosine, serialised; None below ``min_rows`` rows (default :data:`INDEX_FROM`) or without
    hnswlib. One thread and a seeded graph: the same factors and seed give the same bytes."""
    lib = _hnswlib()
    n = len(factors)
    if lib is None or n < max(INDEX_FROM if min_rows is None else min_rows, 1):
        return None
    index = lib.Index(space="cosine", dim=int(factors.shape[1]))
    index.init_index(
        max_elements=n, ef_construction=EF_CONSTRUCTION, M=M, random_seed=int(seed) % 2**31
    )
    index.set_num_threads(1)
    index.add_items(np.ascontiguousarray(factors, np.float32), np.arange(n), num_threads=1)
    # hnswlib writes and reads its graph only through a file path
    with tempfile.TemporaryDirectory(prefix="discovery-als-index-") as folder:
        path = os.path.join(folder, "index.bin")
        index.save_index(path)
        with open(path, "rb") as f:
            return f.read()


class UserIndex:
    """A loaded index: :meth:`search` answers model user rows nearest a vector by cosine."""

    def __init__(self, data: bytes, dim: int, size: int) -> None:
        lib = _hnswlib()
        if lib is None:
            raise ImportError("hnswlib is not installed (pip install 'discovery-engine[embed]')")
        self.size = size
        self._index = lib.Index(space="cosine", dim=dim)
        with tempfile.TemporaryDirectory(prefix="discovery-als-index-") as folder:
            path = os.path.join(folder, "index.bin")
            with open(path, "wb") as f:
                f.write(data)
            self._index.load_index(path, max_elements=size)
        self._index.set_num_threads(1)  # a request's search: a second thread only waits

    def check(self, factors: np.ndarray) -> None:
        """Raise ``ValueError`` unless this is an index of ``factors``: as many rows, and a
        non-zero row found again at cosine 1 (an index of other factors, or of another
        dimension, which hnswlib reads without complaint, fails one or the other)."""
        count = int(self._index.get_current_count())
        if count != len(factors) or count != self.size:
            raise ValueError(f"user index holds {count} rows, the model {len(factors)}")
        nonzero = np.flatnonzero(np.any(factors != 0, axis=1))
        if len(nonzero):
            _, cos = self.search(factors[nonzero[0]], 1)
            if not (len(cos) and abs(float(cos[0]) - 1.0) < 1e-3):
                raise ValueError("user index does not find the model's own rows")

    def search(self, x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(rows, cosines)`` of (about) the ``k`` rows nearest ``x``, nearest first."""
        k = min(int(k), self.size)
        if k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        self._index.set_ef(max(EF, k))
        labels, dist = self._index.knn_query(np.asarray(x, np.float32)[None, :], k=k)
        return labels[0].astype(np.int64), (1.0 - dist[0]).astype(np.float32)
