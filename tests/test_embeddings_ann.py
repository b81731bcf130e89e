"""The nearest-neighbour indexes: the exact one equals a plain loop, the HNSW one finds what
the exact one finds (recall@10 on hypothesis-drawn data), built at once or grown in steps."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from discovery.embeddings.ann import ExactIndex, HnswIndex, recall_at_k
from discovery.seed import rng


def plain_top(keys: list[int], rows: list[list[float]], query: list[float], k: int) -> list[int]:
    """The reference: score each row with a Python loop, sort by (-score, key)."""
    scored = []
    for key, row in zip(keys, rows, strict=True):
        scored.append((-sum(a * b for a, b in zip(row, query, strict=True)), key))
    return [key for _, key in sorted(scored)[:k]]


@st.composite
def vector_sets(draw, max_n: int = 60):
    n = draw(st.integers(1, max_n))
    dim = draw(st.integers(1, 6))
    # small integers: exact float32 products, so ties are real ties and the order is exact
    values = st.integers(-3, 3).map(float)
    rows = draw(st.lists(st.lists(values, min_size=dim, max_size=dim), min_size=n, max_size=n))
    keys = draw(st.lists(st.integers(0, 10_000), min_size=n, max_size=n, unique=True))
    query = draw(st.lists(values, min_size=dim, max_size=dim))
    return keys, rows, query, draw(st.integers(1, 12))


@given(vector_sets())
@settings(max_examples=60, deadline=None)
def test_exact_index_equals_the_plain_loop(case) -> None:
    keys, rows, query, k = case
    idx = ExactIndex(len(query))
    half = len(keys) // 2  # grown in two steps: the same as one
    idx.add(np.array(keys[:half]), np.array(rows[:half]).reshape(half, len(query)))
    idx.add(np.array(keys[half:]), np.array(rows[half:]))
    found, _ = idx.search(np.array(query), k)
    assert found.tolist() == plain_top(keys, rows, query, k)


def test_exact_index_keeps_the_first_vector_of_a_key() -> None:
    idx = ExactIndex(2)
    idx.add(np.array([5, 5, 6]), np.array([[1.0, 0], [0, 1.0], [0, 1.0]]))
    idx.add(np.array([6, 7]), np.array([[1.0, 0], [0.5, 0.5]]))
    assert len(idx) == 3
    assert idx.search(np.array([1.0, 0.0]), 3)[0].tolist() == [5, 7, 6]


def blobs(n: int, dim: int, seed: int) -> np.ndarray:
    gen = rng(seed)
    centres = gen.standard_normal((max(2, n // 20), dim))
    x = centres[gen.integers(0, len(centres), n)] + 0.5 * gen.standard_normal((n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@given(n=st.integers(50, 1500), dim=st.integers(4, 48), seed=st.integers(0, 2**31))
@settings(max_examples=10, deadline=None)
def test_hnsw_recall_at_10_against_exact(n: int, dim: int, seed: int) -> None:
    pytest.importorskip("hnswlib", reason="hnswlib missing: pip install '.[embed]'")
    data = blobs(n + 50, dim, seed)
    base, queries = data[:n], data[n:]
    keys = np.arange(1000, 1000 + n)
    exact, hnsw, grown = ExactIndex(dim), HnswIndex(dim), HnswIndex(dim)
    exact.add(keys, base)
    hnsw.add(keys, base)
    for part in np.array_split(np.arange(n), 4):  # extended in four steps, never rebuilt
        grown.add(keys[part], base[part])
    grown.add(keys[:10], base[:10])  # keys it holds are not added twice
    assert len(grown) == n
    truth = exact.search_many(queries, 10)
    assert recall_at_k(hnsw.search_many(queries, 10), truth) >= 0.95
    assert recall_at_k(grown.search_many(queries, 10), truth) >= 0.95
    # single-query search agrees with the batched one, scores are cosines
    keys1, scores1 = hnsw.search(queries[0], 10)
    assert keys1.tolist() == hnsw.search_many(queries[:1], 10)[0].tolist()
    rows = base[keys1 - 1000]
    assert np.allclose(scores1, rows @ queries[0], atol=1e-4)
