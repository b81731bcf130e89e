"""The vectors table on both backends: float16 round trip, incremental reads, the worklist."""

from __future__ import annotations

import numpy as np
import pytest

from discovery.store import Store, StoreError
from worlds import build_known_world


def test_vectors_round_trip_and_incremental_reads(store_url: str) -> None:
    with build_known_world(store_url) as store:
        model = "fake@1"
        todo = store.count_to_embed(model)
        assert todo == 20  # the known world: 14 posts + 6 filler
        first = store.posts_to_embed(model, limit=3)
        assert [e.post for e in first] == [101, 102, 103]
        assert first[0].caption == "Summit! #hiking #love"
        assert first[0].hashtags == ("hiking", "love")
        data = np.array([[1.0, 0.0, 0.5], [0.25, -2.0, 0.0], [1 / 3, 0.0, 0.0]])
        assert store.add_vectors(model, [101, 102, 103], data) == 3
        assert store.add_vectors(model, [101], np.ones((1, 3))) == 0  # kept, not replaced
        got = store.vectors_since(model)
        assert got.posts.tolist() == [101, 102, 103]
        assert got.data.dtype == np.float16 and got.dim == 3
        # 1/3 in float16 is 0.333251953125 (10-bit mantissa): stored as half, read back exactly
        assert got.data[2, 0] == np.float16(1 / 3) == np.float16(0.333251953125)
        assert got.data[:2].tolist() == data[:2].tolist()
        assert store.count_to_embed(model) == 17
        assert [e.post for e in store.posts_to_embed(model, limit=2)] == [104, 105]
        assert [e.post for e in store.posts_to_embed(model, after=600, limit=2)] == [601, 602]
        # only rows written after the first batch come back from its seq
        store.add_vectors(model, [105, 104], np.ones((2, 3)))
        later = store.vectors_since(model, got.seq)
        assert later.posts.tolist() == [104, 105] and later.seq > got.seq
        assert store.vectors_since(model, later.seq).posts.size == 0
        assert store.vectors_since("other@1").posts.size == 0
        assert store.vector_models() == {model: 5}
        assert store.delete_vectors(model) == 5 and store.vector_models() == {}


@pytest.mark.parametrize(
    ("model", "posts", "data", "message"),
    [
        ("noversion", [101], np.ones((1, 2)), "name@version"),
        ("m@1", [101, 102], np.ones((1, 2)), "2 posts but vectors of shape"),
        ("m@1", [101], np.array([[np.nan, 1.0]]), "NaN"),
    ],
)
def test_bad_vectors_are_refused_and_leave_the_table_empty(
    tmp_path, model: str, posts: list[int], data: np.ndarray, message: str
) -> None:
    with build_known_world(tmp_path / "w.db") as store:
        with pytest.raises(StoreError, match=message):
            store.add_vectors(model, posts, data)
        assert store.vector_models() == {}


def test_vectors_of_two_sizes_in_one_model_are_an_error(tmp_path) -> None:
    with Store.open(tmp_path / "v.db") as store:
        store.add_vectors("m@1", [1], np.ones((1, 2)))
        store.add_vectors("m@1", [2], np.ones((1, 3)))
        with pytest.raises(StoreError, match="several sizes"):
            store.vectors_since("m@1")
