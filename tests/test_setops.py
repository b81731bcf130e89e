"""discovery.setops answers exactly what numpy's set operations answer (values and dtype),
on random integer and float arrays, empty ones and 2-D ones included."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from discovery import setops

ints = hnp.arrays(
    st.sampled_from([np.int8, np.int32, np.int64, np.uint32]),
    hnp.array_shapes(min_dims=1, max_dims=2, min_side=0, max_side=40),
    elements=st.integers(0, 60),
)
floats = hnp.arrays(
    np.float64,
    st.integers(0, 60),
    elements=st.floats(allow_nan=True, allow_infinity=True, width=64),
)


def _same(got: np.ndarray, want: np.ndarray) -> None:
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


@settings(max_examples=200, deadline=None)
@given(ints, ints)
def test_integer_sets_match_numpy(a: np.ndarray, b: np.ndarray) -> None:
    _same(setops.unique(a), np.unique(a))
    _same(setops.union(a, b), np.union1d(a, b))
    _same(setops.intersect(a, b), np.intersect1d(a, b))
    _same(setops.setdiff(a, b), np.setdiff1d(a, b))


@settings(max_examples=100, deadline=None)
@given(floats)
def test_floats_with_nans_match_numpy(a: np.ndarray) -> None:
    """NaNs collapse to one, as in np.unique (equal_nan)."""
    _same(setops.unique(a), np.unique(a))


def test_a_million_distinct_ids_take_numpys_sort_path() -> None:
    """Not a timing test: the answer on a large input is numpy's, computed by sorting (the
    hash path of numpy >= 2.3 took ~0.9 s here, the sort path ~25 ms)."""
    ids = np.random.default_rng(0).permutation(1_000_000).astype(np.int64)[:600_000]
    _same(setops.unique(ids), np.sort(ids))


def test_the_package_routes_set_operations_through_setops() -> None:
    """No plain ``np.unique(x)`` (nor ``union1d``, ``intersect1d``, ``setdiff1d``, which call
    it) is left in the package: each took numpy's hash path. ``np.unique`` with
    ``return_index``/``return_inverse``/``return_counts`` sorts, and stays."""
    import ast
    from pathlib import Path

    import discovery

    slow = {"union1d", "intersect1d", "setdiff1d", "unique_values"}
    found = []
    for path in Path(discovery.__file__).parent.rglob("*.py"):
        if path.name == "setops.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if not (isinstance(node.func.value, ast.Name) and node.func.value.id == "np"):
                continue
            name, keys = node.func.attr, {k.arg for k in node.keywords}
            sorted_path = keys & {"return_index", "return_inverse", "return_counts"}
            if name in slow or (name == "unique" and not sorted_path):
                found.append(f"{path.name}:{node.lineno} np.{name}")
    assert found == []
