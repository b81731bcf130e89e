"""Input checks shared by the graph functions: adjacency matrices, seeds and parameters.

Every problem a caller can cause becomes one :class:`discovery.errors.InputError` whose message
names the argument and the offending value.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

import numpy as np
import scipy.sparse as sp

from ..errors import InputError

__all__ = ["Seeds", "as_csr", "check_alpha", "check_positive", "edge_arrays", "seed_vector"]

#: A node index, a sequence of node indices (uniform weights) or a mapping index -> weight.
Seeds = int | np.integer[Any] | Sequence[int] | np.ndarray | Mapping[int, float]


def as_csr(
    adjacency: Any, *, weight: bool = True, name: str = "adjacency", copy: bool = True
) -> sp.csr_array:
    """A validated square float64 CSR copy of ``adjacency`` without explicit zeros.

    Accepts any ``scipy.sparse`` matrix or array, or a dense 2-D array. With ``weight=False``
    every stored non-zero becomes 1 (networkx's ``weight=None``). With ``copy=False`` a float64
    CSR input already in that form (sorted, no duplicates, no explicit zeros) is returned
    sharing its arrays — the caller promises not to change them; any other input is copied.

    >>> m = sp.csr_array(np.array([[0.0, 2.0], [1.0, 0.0]]))
    >>> np.shares_memory(as_csr(m, copy=False).data, m.data), np.shares_memory(as_csr(m).data, m.data)
    (True, False)
    """
    if sp.issparse(adjacency):
        a = sp.csr_array(adjacency, dtype=np.float64, copy=copy)
    elif isinstance(adjacency, (np.ndarray, list)):
        dense = np.asarray(adjacency, dtype=np.float64)
        if dense.ndim != 2:
            raise InputError(f"{name}: expected a 2-D matrix, got {dense.ndim} dimension(s)")
        a = sp.csr_array(dense)
    else:
        raise InputError(
            f"{name}: expected a scipy.sparse matrix or a 2-D array, got {type(adjacency).__name__}"
        )
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise InputError(f"{name}: expected a square matrix, got shape {a.shape}")
    if a.nnz and not np.all(np.isfinite(a.data)):
        raise InputError(f"{name}: edge weights must be finite (found nan or inf)")
    if a.nnz and a.data.min() < 0:
        bad = int(np.argmin(a.data))
        row = int(np.searchsorted(a.indptr, bad, side="right") - 1)
        raise InputError(
            f"{name}: edge weights must be >= 0, edge {row} -> {int(a.indices[bad])} "
            f"has weight {float(a.data[bad])!r}"
        )
    if not copy and sp.issparse(adjacency):
        if weight and a.has_canonical_format and (a.nnz == 0 or a.data.min() > 0):
            return a  # shared, as it is
        a = a.copy()  # what follows writes in place
    a.sum_duplicates()
    a.eliminate_zeros()
    if not weight:
        a.data[:] = 1.0
    a.sort_indices()
    return a


def seed_vector(seeds: Seeds, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Sparse personalization vector ``v``: sorted unique indices and weights summing to 1.

    ``seeds`` is an index, a sequence of indices (repeats add up) or a mapping index -> weight.
    Weights must be finite and >= 0 with a positive sum (networkx divides by that sum too).
    """
    if isinstance(seeds, Mapping):
        keys = [_index(k, n) for k in seeds]
        weights = [_weight(k, w) for k, w in seeds.items()]
    elif isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        keys, weights = [_index(seeds, n)], [1.0]
    elif isinstance(seeds, str | bytes | bool | float):
        raise InputError(
            f"seeds: expected a node index, a list of indices or a dict, got {seeds!r}"
        )
    else:
        try:
            items = list(cast(Iterable[Any], seeds))
        except TypeError:
            raise InputError(
                f"seeds: expected a node index, a list of indices or a dict, got {seeds!r}"
            ) from None
        keys = [_index(k, n) for k in items]
        weights = [1.0] * len(keys)
    if not keys:
        raise InputError("seeds: empty; give at least one node index")
    idx = np.asarray(keys, dtype=np.int64)
    w = np.asarray(weights, dtype=np.float64)
    uniq, inv = np.unique(idx, return_inverse=True)
    summed = np.bincount(inv, weights=w, minlength=len(uniq))
    total = summed.sum()
    if not total > 0:
        raise InputError(f"seeds: weights sum to {float(total)!r}; at least one must be positive")
    keep = summed > 0
    return uniq[keep], summed[keep] / total


def _index(key: Any, n: int) -> int:
    if isinstance(key, bool) or not isinstance(key, numbers.Integral):
        raise InputError(f"seeds: node index must be an integer, got {key!r}")
    k = int(key)
    if not 0 <= k < n:
        raise InputError(f"seeds: node index {k} out of range for a graph of {n} nodes")
    return k


def _weight(key: Any, value: Any) -> float:
    try:
        w = float(value)
    except (TypeError, ValueError):
        raise InputError(f"seeds: weight of node {key!r} is not a number: {value!r}") from None
    if not np.isfinite(w) or w < 0:
        raise InputError(f"seeds: weight of node {key!r} must be finite and >= 0, got {value!r}")
    return w


def check_alpha(alpha: float) -> float:
    """``alpha`` (the damping factor, probability of following an edge) must lie in [0, 1)."""
    a = float(alpha)
    if not 0.0 <= a < 1.0:
        raise InputError(f"alpha: must satisfy 0 <= alpha < 1, got {alpha!r}")
    return a


def check_positive(name: str, value: float, *, integer: bool = False) -> Any:
    """A strictly positive number (an int when ``integer``)."""
    if integer:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
            raise InputError(f"{name}: must be a positive integer, got {value!r}")
        return int(value)
    v = float(value)
    if not (np.isfinite(v) and v > 0):
        raise InputError(f"{name}: must be a positive number, got {value!r}")
    return v


def edge_arrays(
    src: Any, dst: Any, n: int, weights: Any = None, *, prefix: str = ""
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Validated int64 ``src``/``dst`` (same length, in ``[0, n)``) and optional float64 weights."""
    n = int(n)
    if n < 0:
        raise InputError(f"{prefix}n: must be >= 0, got {n}")
    s = np.asarray(src).reshape(-1)
    d = np.asarray(dst).reshape(-1)
    for label, arr in (("src", s), ("dst", d)):
        if arr.size and not np.issubdtype(arr.dtype, np.integer):
            raise InputError(f"{prefix}{label}: node indices must be integers, got {arr.dtype}")
    if s.shape != d.shape:
        raise InputError(f"{prefix}src/dst: lengths differ ({s.size} vs {d.size})")
    s = s.astype(np.int64, copy=False)
    d = d.astype(np.int64, copy=False)
    for label, arr in (("src", s), ("dst", d)):
        if arr.size and (arr.min() < 0 or arr.max() >= n):
            bad = int(np.flatnonzero((arr < 0) | (arr >= n))[0])
            raise InputError(
                f"{prefix}{label}[{bad}]: node index {int(arr[bad])} out of range for n={n}"
            )
    w = None
    if weights is not None:
        w = np.broadcast_to(np.asarray(weights, dtype=np.float64), s.shape).copy()
        if w.size and (not np.all(np.isfinite(w)) or w.min() < 0):
            bad = int(np.flatnonzero(~np.isfinite(w) | (w < 0))[0])
            raise InputError(
                f"{prefix}weights[{bad}]: must be finite and >= 0, got {float(w[bad])!r}"
            )
    return s, d, w
