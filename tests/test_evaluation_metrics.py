"""Metric functions against hand-computed values and slow, obviously-correct references."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from discovery.evaluation import metrics as m
from discovery.seed import rng

# ------------------------------------------------------------------ hand-computed values


def test_ndcg_of_a_known_ranking():
    # Hits at ranks 2 and 4 of 4; two relevant items.
    # DCG = 1/log2(3) + 1/log2(5); IDCG = 1/log2(2) + 1/log2(3).
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    idcg = 1 + 1 / math.log2(3)
    assert m.ndcg_at_k([10, 20, 30, 40], [40, 20], k=4) == pytest.approx(dcg / idcg)
    assert m.ndcg_at_k([10, 20, 30, 40], [40, 20], k=4) == pytest.approx(
        1.061606 / 1.630930, abs=1e-6
    )


def test_ndcg_extremes():
    assert m.ndcg_at_k([1, 2, 3], [1, 2, 3], k=3) == 1.0
    assert m.ndcg_at_k([1, 2, 3], [7], k=3) == 0.0
    assert m.ndcg_at_k([1, 2, 3], [], k=3) == 0.0
    # More relevant items than k: the ideal list is k hits long.
    assert m.ndcg_at_k([1, 2], [1, 2, 3, 4], k=2) == 1.0
    # A hit beyond k does not count.
    assert m.ndcg_at_k([9, 8, 1], [1], k=2) == 0.0


def test_precision_recall_hit_on_a_known_list():
    ranked, rel = [5, 1, 6, 2, 7], [1, 2, 3]
    assert m.precision_at_k(ranked, rel, 5) == pytest.approx(2 / 5)
    assert m.recall_at_k(ranked, rel, 5) == pytest.approx(2 / 3)
    assert m.recall_at_k(ranked, rel, 2) == pytest.approx(1 / 3)
    assert m.hit_at_k(ranked, rel, 1) == 0.0
    assert m.hit_at_k(ranked, rel, 2) == 1.0
    # A short list is still divided by k.
    assert m.precision_at_k([1], rel, 10) == pytest.approx(0.1)


def test_average_precision_by_hand():
    # Hits at ranks 2 and 4; three relevant: (1/2 + 2/4) / min(4, 3).
    assert m.average_precision_at_k([9, 1, 8, 2], [1, 2, 3], k=4) == pytest.approx(1 / 3)
    assert m.average_precision_at_k([1, 2], [1, 2], k=2) == 1.0
    assert m.average_precision_at_k([9], [1], k=1) == 0.0


def test_intra_list_distance_by_topic_and_by_tags():
    topics = np.array([0, 0, 1, 2])
    # Items 0,1,2: pairs (0,1) same, (0,2) and (1,2) different.
    assert m.intra_list_distance([0, 1, 2], topics) == pytest.approx(2 / 3)
    assert m.intra_list_distance([0, 1], topics) == 0.0
    assert m.intra_list_distance([3], topics) == 0.0
    # Tags: item 0 {a, b}, item 1 {a}, item 2 {} (no features: distance 1).
    tags = sp.csr_matrix(np.array([[1, 1], [1, 0], [0, 0]], dtype=float))
    cos01 = 1 / math.sqrt(2)
    expected = ((1 - cos01) + 1 + 1) / 3
    assert m.intra_list_distance([0, 1, 2], tags) == pytest.approx(expected)


def test_novelty_by_hand():
    pop = np.array([9, 0, 4])
    # n_users = 9: -log2(10/10) = 0, -log2(1/10), -log2(5/10) = 1.
    assert m.novelty([0], pop, 9) == 0.0
    assert m.novelty([1, 2], pop, 9) == pytest.approx((math.log2(10) + 1) / 2)
    assert m.novelty([], pop, 9) == 0.0


def test_largest_share_and_gini_by_hand():
    assert m.largest_share([1, 1, 2, 3, 1]) == pytest.approx(0.6)
    assert m.largest_share([-1, -1, 4]) == 1.0  # items without author are ignored
    assert m.largest_share([]) == 0.0
    assert m.gini([5, 5, 5]) == 0.0
    assert m.gini([0, 0, 0, 0, 10]) == pytest.approx(0.8)  # (n - 1) / n when one holds all
    assert m.gini([1, 2, 3]) == pytest.approx(2 / 9)


# ---------------------------------------------------------- slow references (hypothesis)


def slow_ndcg(ranked, relevant, k):
    rel = set(relevant)
    if not rel:
        return 0.0
    dcg = sum(1 / math.log2(i + 2) for i, x in enumerate(ranked[:k]) if x in rel)
    idcg = sum(1 / math.log2(i + 2) for i in range(min(k, len(rel))))
    return dcg / idcg


def slow_ap(ranked, relevant, k):
    rel = set(relevant)
    hits, total = 0, 0.0
    for i, x in enumerate(ranked[:k]):
        if x in rel:
            hits += 1
            total += hits / (i + 1)
    return total / min(k, len(rel)) if rel else 0.0


def slow_gini(values):
    n, mean = len(values), sum(values) / len(values)
    if mean == 0:
        return 0.0
    return sum(abs(a - b) for a in values for b in values) / (2 * n * n * mean)


lists = st.lists(st.integers(0, 30), min_size=0, max_size=15, unique=True)


@settings(max_examples=150, deadline=None)
@given(
    ranked=lists,
    relevant=st.lists(st.integers(0, 30), max_size=8, unique=True),
    k=st.integers(1, 12),
)
def test_ranking_metrics_match_slow_references(ranked, relevant, k):
    assert m.ndcg_at_k(ranked, relevant, k) == pytest.approx(slow_ndcg(ranked, relevant, k))
    assert m.average_precision_at_k(ranked, relevant, k) == pytest.approx(
        slow_ap(ranked, relevant, k)
    )
    hits = len(set(ranked[:k]) & set(relevant))
    assert m.precision_at_k(ranked, relevant, k) == pytest.approx(hits / k)
    assert m.recall_at_k(ranked, relevant, k) == pytest.approx(
        hits / len(relevant) if relevant else 0
    )
    assert 0.0 <= m.ndcg_at_k(ranked, relevant, k) <= 1.0


@settings(max_examples=150, deadline=None)
@given(st.lists(st.floats(0, 100, allow_nan=False), min_size=1, max_size=30))
def test_gini_matches_mean_absolute_difference(values):
    assert m.gini(values) == pytest.approx(slow_gini(values), abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    labels=st.lists(st.integers(0, 4), min_size=2, max_size=12),
    dense=st.lists(st.lists(st.integers(0, 1), min_size=3, max_size=3), min_size=12, max_size=12),
)
def test_intra_list_distance_matches_pair_loops(labels, dense):
    items = list(range(len(labels)))
    pairs = [(i, j) for i in items for j in items if i < j]
    by_label = sum(labels[i] != labels[j] for i, j in pairs) / len(pairs)
    assert m.intra_list_distance(items, np.array(labels)) == pytest.approx(by_label)
    x = np.array(dense, dtype=float)

    def cos(a, b):
        na, nb = math.sqrt(a @ a), math.sqrt(b @ b)
        return 0.0 if na == 0 or nb == 0 else float(a @ b) / (na * nb)

    by_tags = sum(1 - cos(x[i], x[j]) for i, j in pairs) / len(pairs)
    assert m.intra_list_distance(items, sp.csr_matrix(x)) == pytest.approx(by_tags)


# -------------------------------------------------------------------------- bootstrap


def test_bootstrap_of_a_constant_is_the_constant():
    assert m.bootstrap_mean(np.full(50, 0.25), rng(1)) == (0.25, 0.25, 0.25)


def test_bootstrap_is_seeded_and_covers_the_mean():
    values = rng(3).normal(1.0, 1.0, 400)
    a = m.bootstrap_mean(values, rng(7))
    assert a == m.bootstrap_mean(values, rng(7))
    point, lo, hi = a
    assert point == pytest.approx(values.mean())
    assert lo < point < hi
    # The width is about 2 × 1.96 × σ / √n.
    assert hi - lo == pytest.approx(2 * 1.96 * values.std() / math.sqrt(400), rel=0.15)


def test_bias_correction_keeps_a_union_statistic_inside_its_interval():
    # Each unit recommends a distinct item: the union grows with distinct units, so a
    # with-replacement resample (≈63 % distinct) always looks smaller.
    n = 200

    def union_size(w):
        return (w > 0).sum(axis=1) / n

    point, lo, hi = m.bootstrap(union_size, n, rng(0))
    assert point == 1.0 and hi < point  # plain percentile interval misses the point
    point, lo, hi = m.bootstrap(union_size, n, rng(0), bias_corrected=True)
    assert lo <= point <= hi
