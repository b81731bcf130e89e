"""A PPR vector kept as its support answers every question the dense vector did, the same
way: look-ups (in and off the support, out of order, repeated, scalar), dot products, padding
for accounts added, and the cache's reuse of it."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from discovery.graph import PPRIndex, push_pagerank, push_pagerank_sparse
from discovery.ranking.ppr_cache import GraphLog, PPRCache
from discovery.ranking.ppr_vector import PPRVector

values = arrays(
    np.float64,
    st.integers(0, 40),
    elements=st.one_of(st.just(0.0), st.floats(1e-12, 1.0)),
)


@settings(max_examples=200, deadline=None)
@given(values, st.data())
def test_lookups_and_dots_equal_the_dense_vectors(dense, data):
    n = len(dense)
    vec = PPRVector.from_dense(dense)
    assert len(vec) == n and vec.nbytes == 16 * int((dense != 0).sum())
    assert vec.nodes.tolist() == np.flatnonzero(dense).tolist()
    np.testing.assert_array_equal(vec.dense(), dense)
    assert list(vec) == dense.tolist() and np.array_equal(vec - dense, np.zeros(n))
    if n:
        at = np.array(data.draw(st.lists(st.integers(0, n - 1), max_size=60)), dtype=np.int64)
        np.testing.assert_array_equal(vec[at], dense[at])  # any order, repeats, zeros
        i = data.draw(st.integers(0, n - 1))
        assert vec[i] == dense[i] and vec[np.int64(i)] == dense[i]
        assert isinstance(vec[i], float)
    other = data.draw(arrays(np.float64, n, elements=st.floats(-5, 5)))
    assert vec @ other == pytest.approx(float(dense @ other), rel=1e-12, abs=1e-12)
    assert vec.sum() == pytest.approx(float(dense.sum()), rel=1e-12, abs=0)
    grown = vec.padded(n + 3)
    np.testing.assert_array_equal(grown.dense(), np.r_[dense, 0.0, 0.0, 0.0])
    assert grown[np.array([n, n + 2])].tolist() == [0.0, 0.0]


def test_of_sorts_and_drops_zeros():
    vec = PPRVector.of(np.array([7, 2, 5, 0]), np.array([0.1, 0.4, 0.0, 0.5]), 9)
    assert vec.nodes.tolist() == [0, 2, 7] and vec.values.tolist() == [0.5, 0.4, 0.1]
    assert vec[np.array([5, 7, 8])].tolist() == [0.0, 0.1, 0.0]
    empty = PPRVector.of(np.zeros(0, np.int64), np.zeros(0), 4)
    assert empty[np.array([0, 3])].tolist() == [0.0, 0.0] and empty[2] == 0.0


def test_a_push_vector_is_the_dense_push_and_the_cache_pads_it():
    """The push's sparse answer on a ring with a chord is the dense answer's support (same
    bits), and the cache pads it for an account added without recomputing."""
    src = [0, 1, 2, 3, 4, 5, 0]
    dst = [1, 2, 3, 4, 5, 0, 3]
    a = sp.csr_matrix((np.ones(len(src)), (src, dst)), shape=(7, 7))
    index = PPRIndex(a)
    dense = push_pagerank(index, 2, eps=1e-7)
    vec = PPRVector(*push_pagerank_sparse(index, 2, eps=1e-7), 7)
    assert vec.nodes.tolist() == [0, 1, 2, 3, 4, 5]  # node 6 is unreachable
    np.testing.assert_array_equal(vec.dense(), dense)

    log = GraphLog()
    log.update(a)
    cache = PPRCache(max_bytes=1 << 20)
    assert cache.get((2,), 2, log, 0.85, 1e-3, lambda previous: vec) is vec
    bigger = sp.csr_matrix((a.data, a.indices, np.r_[a.indptr, a.indptr[-1:]]), shape=(8, 8))
    log.update(bigger)
    again = cache.get((2,), 2, log, 0.85, 1e-3, lambda previous: pytest.fail("recomputed"))
    assert len(again) == 8 and again.nodes is vec.nodes and again[7] == 0.0
