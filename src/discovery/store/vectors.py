"""Post embeddings: one float16 vector per (post, model), written by ``discovery embed``.

A model is named ``"name@version"`` (``efficientnet-lite0@1``), so vectors of a retrained or
replaced encoder never mix with the old ones. Each row is stamped with the change counter of the
transaction that wrote it (``seq``): :meth:`VectorsMixin.vectors_since` reads only what is new,
which is how the similarity index is extended incrementally. Vectors are little-endian float16
bytes (half the size of float32; cosine rankings are unchanged to ~1e-3).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .core import StoreCore
from .errors import StoreError

__all__ = ["EmbedInput", "VectorBatch", "VectorsMixin"]

_F16 = np.dtype("<f2")


@dataclass(frozen=True, slots=True)
class EmbedInput:
    """What an encoder reads for one post: its caption and hashtags, and its image."""

    post: int
    caption: str
    hashtags: tuple[str, ...]
    image: str | None


@dataclass(frozen=True, slots=True)
class VectorBatch:
    """Vectors of one model: ``posts[i]`` has the unit-or-not row ``data[i]`` (float16).

    ``seq`` is the largest change counter among the rows (0 when empty): pass it back to
    :meth:`VectorsMixin.vectors_since` to read only later rows.
    """

    model: str
    posts: np.ndarray  # int64
    data: np.ndarray  # (n, dim) float16
    seq: int

    @property
    def dim(self) -> int:
        return int(self.data.shape[1])


class VectorsMixin(StoreCore):
    """Writes and columnar reads of the ``vectors`` table."""

    def add_vectors(self, model: str, posts: Sequence[int], data: np.ndarray) -> int:
        """Store ``data[i]`` (cast to float16) as post ``posts[i]``'s vector of ``model``;
        a post that already has one keeps it. Returns how many rows were new.

        Raises
        ------
        StoreError
            Shapes disagree, a value is not finite, or the model name is empty.
        """
        arr = np.asarray(data, dtype=np.float32)
        if not model or "@" not in model:
            raise StoreError(f"model {model!r}: expected 'name@version'")
        if arr.ndim != 2 or arr.shape[0] != len(posts):
            raise StoreError(f"{len(posts)} posts but vectors of shape {arr.shape}")
        if not np.isfinite(arr).all():
            raise StoreError(f"{model}: a vector holds NaN or infinity")
        half = arr.astype(_F16)
        now = int(time.time())
        with self.transaction() as seq:
            rows = [
                (int(p), model, int(arr.shape[1]), half[i].tobytes(), now, seq)
                for i, p in enumerate(posts)
            ]
            return self._bulk_insert(
                "vectors", ("post", "model", "dim", "data", "created_at", "seq"), rows
            )

    def delete_vectors(self, model: str) -> int:
        """Forget every vector of ``model`` (to re-embed with a changed encoder)."""
        with self.transaction():
            return self._exec("DELETE FROM vectors WHERE model = ?", (model,))

    def vectors_since(self, model: str, seq: int = 0) -> VectorBatch:
        """Vectors of ``model`` written after change counter ``seq``, in post order."""
        rows = self._fetch(
            "SELECT post, dim, data, seq FROM vectors WHERE model = ? AND seq > ? ORDER BY post",
            (model, int(seq)),
        )
        if not rows:
            return VectorBatch(model, np.zeros(0, np.int64), np.zeros((0, 0), _F16), int(seq))
        dims = {int(r[1]) for r in rows}
        if len(dims) != 1:
            raise StoreError(f"{model}: vectors of several sizes {sorted(dims)}")
        dim = dims.pop()
        data = np.frombuffer(b"".join(bytes(r[2]) for r in rows), dtype=_F16).reshape(-1, dim)
        posts = np.fromiter((int(r[0]) for r in rows), np.int64, len(rows))
        return VectorBatch(model, posts, data, max(int(r[3]) for r in rows))

    def vectors_after(self, seq: int) -> list[VectorBatch]:
        """Every model's vectors written after change counter ``seq`` (by the ``seq`` index:
        what an in-memory index polls for), one batch per model."""
        models = self._fetch(
            "SELECT DISTINCT model FROM vectors WHERE seq > ? ORDER BY model", (int(seq),)
        )
        return [self.vectors_since(str(m), seq) for (m,) in models]

    def vector_models(self) -> dict[str, int]:
        """Every model with stored vectors, and how many posts each covers."""
        rows = self._fetch("SELECT model, COUNT(*) FROM vectors GROUP BY model ORDER BY model")
        return {str(m): int(n) for m, n in rows}

    def posts_to_embed(self, model: str, *, after: int = -1, limit: int = 256) -> list[EmbedInput]:
        """Up to ``limit`` posts with id > ``after`` that have no vector of ``model``
        (id order), with caption, hashtags (as written) and image: the incremental worklist."""
        rows = self._fetch(
            "SELECT p.id, p.caption, p.image FROM posts p"
            " WHERE p.id > ? AND NOT EXISTS (SELECT 1 FROM vectors v"
            "   WHERE v.post = p.id AND v.model = ?)"
            " ORDER BY p.id LIMIT ?",
            (int(after), model, int(limit)),
        )
        tags: dict[int, list[str]] = {}
        for post, original in self._fetch_in(
            "SELECT post, original FROM post_hashtags WHERE post IN ({}) ORDER BY post, original",
            [int(r[0]) for r in rows],
        ):
            tags.setdefault(int(post), []).append(str(original))
        return [
            EmbedInput(int(i), str(c or ""), tuple(tags.get(int(i), ())), img) for i, c, img in rows
        ]

    def count_to_embed(self, model: str) -> int:
        """How many posts have no vector of ``model`` yet (for a progress bar)."""
        rows = self._fetch(
            "SELECT COUNT(*) FROM posts p WHERE NOT EXISTS (SELECT 1 FROM vectors v"
            " WHERE v.post = p.id AND v.model = ?)",
            (model,),
        )
        return int(rows[0][0])
