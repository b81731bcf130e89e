"""The hashtag source's per-cluster selection and its one-pass top k against plain references
(hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from discovery.ranking._kernels import top_k_of
from discovery.ranking.sources import best_tagged


def _reference(
    slices: list[tuple[int, np.ndarray]], likes: np.ndarray, ids: np.ndarray, k: int
) -> list[tuple[int, int]]:
    """Every post of the cluster's window with the first member tag carrying it, sorted by
    likes (most first, ties: smaller id), the first ``k``."""
    first: dict[int, int] = {}
    for tag, posts in slices:
        for p in posts.tolist():
            first.setdefault(p, tag)
    order = sorted(first, key=lambda p: (-int(likes[p]), int(ids[p])))
    return [(p, first[p]) for p in order[:k]]


@st.composite
def clusters(draw: st.DrawFn) -> tuple[list[tuple[int, np.ndarray]], np.ndarray, np.ndarray, int]:
    n = draw(st.integers(1, 40))
    likes = np.array(draw(st.lists(st.integers(0, 4), min_size=n, max_size=n)))  # many ties
    ids = np.array(draw(st.permutations(range(100, 100 + n))))
    members = draw(st.integers(0, 4))
    slices = []
    for tag in range(members):
        posts = draw(st.lists(st.integers(0, n - 1), unique=True, max_size=n))
        slices.append((tag + 10, np.array(posts, dtype=np.int64)))
    return slices, likes, ids, draw(st.integers(1, 12))


@settings(max_examples=300, deadline=None)
@given(clusters())
def test_best_tagged_equals_sorting_the_whole_union(
    case: tuple[list[tuple[int, np.ndarray]], np.ndarray, np.ndarray, int],
) -> None:
    slices, likes, ids, k = case
    posts, tags = best_tagged(slices, likes, ids, k)
    assert list(zip(posts.tolist(), tags.tolist(), strict=True)) == _reference(
        slices, likes, ids, k
    )


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(0, 5), min_size=1, max_size=80).flatmap(
        lambda likes: st.tuples(
            st.just(np.array(likes, np.int32)),  # int32 as the snapshot's like counts
            st.permutations(range(len(likes))).map(lambda p: np.array(p, np.int64) * 7 + 3),
            st.lists(st.integers(0, len(likes) - 1), unique=True).map(
                lambda p: np.array(p, np.int64)
            ),
            st.integers(0, 90),
        )
    )
)
def test_the_one_pass_top_k_is_the_sorted_prefix(
    case: tuple[np.ndarray, np.ndarray, np.ndarray, int],
) -> None:
    likes, ids, posts, k = case
    want = sorted(posts.tolist(), key=lambda p: (-int(likes[p]), int(ids[p])))[: max(k, 0)]
    assert top_k_of(posts, likes, ids, k).tolist() == want
