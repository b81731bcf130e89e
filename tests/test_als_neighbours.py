"""Taste neighbours of the ``als`` source (discovery.ranking.collaborative.taste_neighbours)
against a plain reference: over random factor tables (accounts without a row, zero vectors,
duplicated rows) the neighbours are the ``k`` best by cosine computed in float64 one user at a
time, nearest first, never the user; and the factors gathered once per alignment are the
model's rows for exactly the accounts it knows. A large model's HNSW index answers (about) the
same neighbours, the same ones every time and after a trip through the artifact."""

from __future__ import annotations

import importlib.util
import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from discovery.ranking.collaborative import taste_neighbours
from discovery.signals import als_index
from discovery.signals.als import AlignedALS, ALSModel
from discovery.signals.als_index import build_user_index


def _aligned(factors: np.ndarray, user_row: np.ndarray) -> AlignedALS:
    n = len(factors)
    model = ALSModel(
        np.array([f"u{i}" for i in range(n)]),
        np.array([], dtype=str),
        factors.astype(np.float32),
        np.zeros((0, factors.shape[1]), np.float32),
    )
    return AlignedALS(model, user_row, np.zeros(0, np.int64))


def _cos(v: np.ndarray, x: np.ndarray) -> float:
    """The reference: float64, one pair at a time."""
    nv = math.sqrt(sum(float(a) * float(a) for a in v))
    nx = math.sqrt(sum(float(a) * float(a) for a in x))
    if nv == 0 or nx == 0:
        return 0.0
    return sum(float(a) * float(b) for a, b in zip(v, x, strict=True)) / (nv * nx)


@st.composite
def tables(draw: st.DrawFn) -> tuple[AlignedALS, int, np.ndarray, int]:
    n_accounts = draw(st.integers(1, 25))
    dim = draw(st.integers(1, 4))
    # small integers: exact ties and zero vectors are common, as in a real model's cold rows
    values = draw(
        st.lists(st.integers(-3, 3), min_size=n_accounts * dim, max_size=n_accounts * dim)
    )
    factors = np.array(values, np.float64).reshape(n_accounts, dim)
    known = draw(st.lists(st.booleans(), min_size=n_accounts, max_size=n_accounts))
    rows = draw(st.permutations(list(range(n_accounts))))
    user_row = np.array([r if k else -1 for r, k in zip(rows, known, strict=True)], np.int64)
    user = draw(st.integers(0, n_accounts - 1))
    x = np.array(draw(st.lists(st.integers(-3, 3), min_size=dim, max_size=dim)), np.float64)
    k = draw(st.integers(0, n_accounts + 2))
    return _aligned(factors, user_row), user, x, k


@settings(max_examples=300, deadline=None)
@given(tables())
def test_neighbours_are_the_k_nearest_by_cosine_never_the_user(
    case: tuple[AlignedALS, int, np.ndarray, int],
) -> None:
    aligned, user, x, k = case
    factors = aligned.model.user_factors
    others = [a for a in range(len(aligned.user_row)) if aligned.user_row[a] >= 0 and a != user]
    cos = {a: _cos(factors[aligned.user_row[a]], x) for a in others}
    want = sorted(others, key=lambda a: (-cos[a], a))[: min(k, len(others))]
    got = taste_neighbours(aligned, user, x, k).tolist()
    assert user not in got
    # rank by rank the same cosine (accounts may swap only where cosines tie to within the
    # float32 rounding of the fast path), and nothing left out beats what was chosen
    assert len(got) == len(want)
    assert all(abs(cos[g] - cos[w]) < 1e-6 for g, w in zip(got, want, strict=True))
    if want:
        worst = min(cos[a] for a in got)
        assert all(cos[a] <= worst + 1e-6 for a in set(others) - set(got))


def test_known_users_are_the_models_rows_of_the_accounts_it_knows() -> None:
    factors = np.arange(12, dtype=np.float64).reshape(4, 3)  # model rows 0..3
    user_row = np.array([2, -1, 0, -1, 3, 1])  # six accounts, four known
    users, vecs, lengths = _aligned(factors, user_row).known_users
    assert users.tolist() == [0, 2, 4, 5]
    assert vecs.tolist() == factors[[2, 0, 3, 1]].tolist()
    assert np.allclose(lengths, np.linalg.norm(factors[[2, 0, 3, 1]], axis=1))


def test_a_user_alone_in_the_model_has_no_neighbours() -> None:
    aligned = _aligned(np.ones((1, 2)), np.array([0, -1]))
    assert taste_neighbours(aligned, 0, np.ones(2), 5).tolist() == []
    assert taste_neighbours(aligned, 1, np.ones(2), 5).tolist() == [0]


# ----------------------------------------------------------------------------- the HNSW index
needs_hnswlib = pytest.mark.skipif(
    importlib.util.find_spec("hnswlib") is None,
    reason="the user index needs hnswlib (the embed extra)",
)


def _clustered(n: int, dim: int, seed: int) -> np.ndarray:
    """Users around 40 tastes, each a little apart: no ties, a clear nearest set."""
    gen = np.random.default_rng(seed)
    centres = gen.normal(size=(40, dim))
    return centres[gen.integers(0, 40, n)] + 0.3 * gen.normal(size=(n, dim))


def _indexed(factors: np.ndarray, user_row: np.ndarray) -> AlignedALS:
    plain = _aligned(factors, user_row)
    index = build_user_index(plain.model.user_factors, seed=3, min_rows=0)
    return AlignedALS(replace(plain.model, user_index=index), user_row, np.zeros(0, np.int64))


@needs_hnswlib
def test_the_index_finds_the_brute_force_neighbours_and_never_the_user_or_the_gone() -> None:
    n, dim, k = 4000, 16, 20
    factors = _clustered(n, dim, seed=1)
    user_row = np.arange(n)
    user_row[::50] = -1  # accounts the store no longer has: never anyone's neighbour
    fast, plain = _indexed(factors, user_row), _aligned(factors, user_row)
    assert fast.model.neighbour_index is not None and plain.model.neighbour_index is None
    hits = []
    for user in range(1, n, 97):
        x = factors[user]
        got = taste_neighbours(fast, user, x, k)
        want = taste_neighbours(plain, user, x, k)
        assert len(got) == k and user not in got.tolist()
        assert (user_row[got] >= 0).all()
        cos = np.array([_cos(factors[a], x) for a in got])
        assert (np.diff(cos) <= 1e-6).all()  # nearest first
        hits.append(len(set(got.tolist()) & set(want.tolist())) / k)
    assert np.mean(hits) >= 0.95


@needs_hnswlib
def test_the_index_is_the_same_for_the_same_model_and_survives_the_artifact() -> None:
    factors = _clustered(600, 8, seed=2).astype(np.float32)
    a = build_user_index(factors, seed=5, min_rows=0)
    assert a is not None and a == build_user_index(factors, seed=5, min_rows=0)
    aligned = _indexed(factors, np.arange(600))
    back = ALSModel.from_bytes(aligned.model.to_bytes())
    assert back.user_index == aligned.model.user_index
    again = AlignedALS(back, np.arange(600), np.zeros(0, np.int64))
    for user in (0, 17, 599):
        x = factors[user]
        assert taste_neighbours(again, user, x, 10).tolist() == (
            taste_neighbours(aligned, user, x, 10).tolist()
        )


@needs_hnswlib
def test_small_models_carry_no_index_and_an_unreadable_one_falls_back_to_brute_force(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    factors = _clustered(300, 4, seed=3)
    assert build_user_index(factors, seed=1) is None  # below INDEX_FROM
    aligned = _indexed(factors, np.arange(300))
    monkeypatch.setattr(als_index, "_hnswlib", lambda: None)  # an install without hnswlib
    model = replace(aligned.model)  # a fresh model: its index not loaded yet
    assert model.neighbour_index is None
    plain = AlignedALS(model, np.arange(300), np.zeros(0, np.int64))
    want = [a for a in np.argsort([-_cos(f, factors[7]) for f in factors], kind="stable") if a != 7]
    assert taste_neighbours(plain, 7, factors[7], 5).tolist() == want[:5]


@needs_hnswlib
def test_a_damaged_or_foreign_index_is_set_aside_for_brute_force() -> None:
    factors = _clustered(400, 8, seed=4)
    good = _indexed(factors, np.arange(400)).model
    other = build_user_index(_clustered(400, 8, seed=9), seed=3, min_rows=0)
    smaller = build_user_index(factors[:300], seed=3, min_rows=0)
    assert other is not None and smaller is not None and good.user_index is not None
    half = good.user_index[: len(good.user_index) // 2]
    for bad in (b"not an index" * 50, half, other, smaller):
        model = replace(good, user_index=bad)
        assert model.neighbour_index is None
        aligned = AlignedALS(model, np.arange(400), np.zeros(0, np.int64))
        plain = _aligned(factors, np.arange(400))
        x = factors[11]
        assert taste_neighbours(aligned, 11, x, 7).tolist() == (
            taste_neighbours(plain, 11, x, 7).tolist()
        )
    assert good.neighbour_index is not None  # the check passes the model's own index
