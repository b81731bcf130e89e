"""A user's personalized PageRank as its support: the accounts it reaches and their values.

Forward push on the million-account world reaches ~3,000 accounts a user, and a dense float64
vector of a million entries costs its 8 MB of zeroing (~0.5 ms of the batch's ~12 ms a user)
plus the scatter, then sits in the PPR cache at 8 MB. A :class:`PPRVector` keeps the sorted
support and the values (~50 kB), answers ``vec[accounts]`` by binary search (0 off the
support, as the dense vector would), and is what :func:`~.affinity.user_ppr` returns in every
mode. numpy has no sparse vector with fancy indexing (scipy's 1-d sparse arrays index one
entry at a time), hence this small class.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, overload

import numpy as np

__all__ = ["PPRVector"]


@dataclass(frozen=True, eq=False)
class PPRVector:
    """PPR over ``n`` accounts: ``values[i]`` at account ``nodes[i]`` (sorted, unique), 0
    elsewhere.

    >>> v = PPRVector.from_dense(np.array([0.0, 0.5, 0.0, 0.25, 0.25]))
    >>> v.nodes.tolist(), len(v), v[3], v[np.array([4, 2, 1])].tolist()
    ([1, 3, 4], 5, 0.25, [0.25, 0.0, 0.5])
    >>> float(v @ np.array([1.0, 2.0, 3.0, 4.0, 5.0])), v.padded(7).dense().tolist()[-3:]
    (3.25, [0.25, 0.0, 0.0])
    >>> list(v) == np.asarray(v).tolist() == [0.0, 0.5, 0.0, 0.25, 0.25]
    True
    """

    nodes: np.ndarray
    values: np.ndarray
    n: int

    @classmethod
    def of(cls, nodes: np.ndarray, values: np.ndarray, n: int) -> PPRVector:
        """From ``(nodes, values)`` in any order; zeros are dropped."""
        nodes, values = np.asarray(nodes, np.int64), np.asarray(values, np.float64)
        keep = values != 0
        nodes, values = nodes[keep], values[keep]
        order = np.argsort(nodes, kind="stable")
        return cls(nodes[order], values[order], int(n))

    @classmethod
    def from_dense(cls, vec: np.ndarray) -> PPRVector:
        vec = np.asarray(vec, np.float64)
        nodes = np.flatnonzero(vec)
        return cls(nodes, vec[nodes], len(vec))

    def __len__(self) -> int:
        return self.n

    @overload
    def __getitem__(self, accounts: int | np.integer[Any]) -> float: ...

    @overload
    def __getitem__(self, accounts: np.ndarray) -> np.ndarray: ...

    def __getitem__(self, accounts: Any) -> Any:
        """The values at ``accounts`` (an index or an array of them; 0 off the support)."""
        at = np.asarray(accounts, np.int64)
        if not len(self.nodes):
            out = np.zeros(at.shape)
        else:
            pos = np.minimum(np.searchsorted(self.nodes, at), len(self.nodes) - 1)
            out = np.where(self.nodes[pos] == at, self.values[pos], 0.0)
        return float(out) if at.ndim == 0 else out

    def __iter__(self) -> Iterator[float]:
        # without it Python would iterate by __getitem__(0, 1, ...), which never ends
        return iter(self.dense().tolist())

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        """The dense vector, for numpy (``np.asarray(vec)``, ``vec - other``)."""
        return self.dense() if dtype is None else self.dense().astype(dtype)

    def __matmul__(self, dense: np.ndarray) -> float:
        """``π · dense`` over the support (a dense vector of length ``n``)."""
        return float(self.values @ np.asarray(dense)[self.nodes])

    @property
    def nbytes(self) -> int:
        return int(self.nodes.nbytes + self.values.nbytes)

    def sum(self) -> float:
        return float(self.values.sum())

    def padded(self, n: int) -> PPRVector:
        """The same vector over ``n >= len(self)`` accounts (the new ones hold no mass)."""
        return PPRVector(self.nodes, self.values, max(int(n), self.n))

    def dense(self) -> np.ndarray:
        out = np.zeros(self.n)
        out[self.nodes] = self.values
        return out
