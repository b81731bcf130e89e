"""Taste neighbours of the ``als`` source (discovery.ranking.collaborative.taste_neighbours)
against a plain reference: over random factor tables (accounts without a row, zero vectors,
duplicated rows) the neighbours are the ``k`` best by cosine computed in float64 one user at a
time, nearest first, never the user; and the factors gathered once per alignment are the
model's rows for exactly the accounts it knows."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from discovery.ranking.collaborative import taste_neighbours
from discovery.signals.als import AlignedALS, ALSModel


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
