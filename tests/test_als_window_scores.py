"""The ALS window's top posts are the same bits however the products were summed.

A request scores its window with one matrix-vector product; the batch scores a block of users
with one matrix-matrix product, whose sums run in another order. :func:`preselect` keeps every
post within twice the rounding bound of the ``n``-th best and :func:`exact_scores` rescores
those in one fixed order, so both give what a plain fixed-order ranking of the whole window
gives. Checked here against that plain ranking, with factors drawn to tie and nearly tie.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from discovery.ranking.collaborative import exact_scores, preselect, product_error
from discovery.ranking.sources import top_k_by


def _plain_top(rows: np.ndarray, x: np.ndarray, ids: np.ndarray, n: int) -> list[int]:
    """The reference: every row scored in factor order, one at a time, in Python floats
    rounded to float32 after each step."""
    scores = []
    for row in rows:
        acc = np.float32(0)
        for a, b in zip(row.tolist(), x.tolist(), strict=True):
            acc = np.float32(acc + np.float32(np.float32(a) * np.float32(b)))
        scores.append(acc)
    order = sorted(range(len(rows)), key=lambda i: (-scores[i], int(ids[i])))
    return order[: max(n, 0)]


@st.composite
def _windows(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    m = draw(st.integers(1, 120))
    f = draw(st.integers(1, 40))
    seed = draw(st.integers(0, 2**32 - 1))
    gen = np.random.default_rng(seed)
    if draw(st.booleans()):  # few distinct values: many exact ties and near-ties
        rows = gen.integers(-3, 4, size=(m, f)).astype(np.float32) / np.float32(7)
    else:
        rows = gen.standard_normal((m, f)).astype(np.float32)
    x = gen.standard_normal(f).astype(np.float32)
    ids = gen.permutation(10 * m)[:m].astype(np.int64)
    n = draw(st.integers(0, m + 3))
    return rows, x, ids, n


@settings(max_examples=150, deadline=None)
@given(_windows())
def test_matrix_vector_and_matrix_matrix_products_rank_the_same_posts(
    window: tuple[np.ndarray, np.ndarray, np.ndarray, int],
) -> None:
    rows, x, ids, n = window
    want = _plain_top(rows, x, ids, n)
    largest = float(np.sqrt(np.max(np.einsum("ij,ij->i", rows, rows))))
    error = product_error(largest, x)
    gen = np.random.default_rng(len(rows))
    others = gen.standard_normal((5, len(x))).astype(np.float32)
    reversed_order = exact_scores(rows[:, ::-1], x[::-1])
    # another summation and the fixed one are each within the bound of the truth, so up to
    # twice it apart: push each score to that edge, away from the fixed-order score (in
    # float64, so that no rounding carries it past the edge)
    fixed = exact_scores(rows, x).astype(np.float64)
    worst = fixed + 1.999 * error * gen.choice([-1.0, 1.0], len(rows))
    blas = (rows @ x, (np.vstack([others[:2], x, others[2:]]) @ rows.T)[2])
    for rough in (*blas, reversed_order, worst):
        pool = preselect(rough, n, error)
        exact = exact_scores(rows[pool], x)
        top = top_k_by(exact, ids[pool], n)
        assert pool[top].tolist() == want


def test_the_bound_holds_for_blas_products_and_is_tight() -> None:
    """On the large world's shape (32 factors), the bound covers what BLAS's products differ
    from the float64 truth, and it is small beside the scores (so the preselected pool stays a
    handful of posts)."""
    gen = np.random.default_rng(3)
    rows = gen.standard_normal((20_000, 32)).astype(np.float32) / np.float32(6)
    xs = gen.standard_normal((17, 32)).astype(np.float32)
    largest = float(np.sqrt(np.max(np.einsum("ij,ij->i", rows, rows))))
    truth = rows.astype(np.float64) @ xs.astype(np.float64).T
    gemm = rows @ xs.T
    for j, x in enumerate(xs):
        error = product_error(largest, x)
        assert np.abs(rows @ x - truth[:, j]).max() <= error
        assert np.abs(gemm[:, j] - truth[:, j]).max() <= error
        assert np.abs(exact_scores(rows, x) - truth[:, j]).max() <= error
        assert error < 1e-4 * np.abs(truth[:, j]).max()
        pool = preselect(rows @ x, 50, error)
        assert 50 <= len(pool) < 60
