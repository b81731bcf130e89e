"""Post vectors in memory for "more like this": per model, unit rows and a nearest-neighbour
index, extended incrementally as ``discovery embed`` writes more.

:class:`PostVectors` holds one model's vectors keyed by post id; :class:`VectorCache` keeps one
per model and catches up with the store's ``vectors`` table by change counter (only rows
written since the last catch-up are read, and the index is extended, not rebuilt). The
ranking side (:func:`discovery.ranking.similar.similar_posts`) receives these structures and
never reads the database.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ..store.vectors import VectorBatch
from .ann import ExactIndex, HnswIndex, make_index
from .encoders import normalize_rows

__all__ = [
    "HNSW_FROM",
    "PostVectors",
    "SimilarContent",
    "VectorCache",
    "model_kind",
    "similar_evidence",
    "taste_model",
]

#: Vectors of one model beyond which the HNSW index replaces the exact one.
HNSW_FROM = 20_000


def model_kind(model: str) -> str:
    """``"image"`` or ``"text"``: what a model's vectors describe (by its name).

    >>> model_kind("efficientnet-lite0@57934424"), model_kind("all-minilm-l6-v2@0.1.0")
    ('image', 'text')
    """
    name = model.split("@")[0]
    return "image" if ("image" in name or "efficientnet" in name) else "text"


def taste_model(
    vectors: Mapping[str, PostVectors] | None, post_ids: np.ndarray
) -> tuple[PostVectors, np.ndarray] | None:
    """The model to describe someone's taste by, and the rows of ``post_ids`` in it (``-1``
    where a post has none): the first model — image models before text ones, then by name —
    that holds a vector of any of the posts; ``None`` when none does.

    ``vectors`` is what engines hand the ranking parts as ``artifacts["vectors"]``: model name
    to :class:`PostVectors` (the ``embedding`` source and the learned ranker's features read
    it through this one function, so both judge taste by the same model).
    """
    held = sorted((vectors or {}).values(), key=lambda v: (v.kind != "image", v.model))
    for model in held:
        rows = model.rows(post_ids)
        if (rows >= 0).any():
            return model, rows
    return None


@dataclass
class PostVectors:
    """One model's unit vectors by post id, with an index over them."""

    model: str
    dim: int
    ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    data: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    index: ExactIndex | HnswIndex | None = None
    _sorted: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    _block: tuple[Any, np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    @property
    def kind(self) -> str:
        return model_kind(self.model)

    def __len__(self) -> int:
        return len(self.ids)

    def extend(self, batch: VectorBatch) -> None:
        """Add a batch's vectors (posts already held keep theirs)."""
        if not len(batch.posts):
            return
        fresh = self.rows(batch.posts) < 0
        ids, rows = batch.posts[fresh], normalize_rows(batch.data[fresh])
        if not len(ids):
            return
        if not len(self.ids):
            self.data = np.zeros((0, self.dim), np.float32)
        self.ids = np.concatenate([self.ids, ids])
        self.data = np.vstack([self.data, rows])
        self._sorted = np.argsort(self.ids, kind="stable")
        self._block = None
        if self.index is None or (
            isinstance(self.index, ExactIndex) and len(self.ids) >= HNSW_FROM
        ):
            self.index = make_index(self.dim, len(self.ids), HNSW_FROM)
            self.index.add(self.ids, self.data)
        else:
            self.index.add(ids, rows)

    def rows(self, posts: np.ndarray) -> np.ndarray:
        """Row of each post id in :attr:`data`, ``-1`` where the post has no vector."""
        q = np.atleast_1d(np.asarray(posts, np.int64))
        if not len(self.ids):
            return np.full(q.shape, -1, np.int64)
        s = self.ids[self._sorted]
        pos = np.clip(np.searchsorted(s, q), 0, len(s) - 1)
        return np.where(s[pos] == q, self._sorted[pos], -1).astype(np.int64)

    def block(self, key: Any, post_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(has, rows)``: which of ``post_ids`` have a vector, and those vectors as one
        contiguous matrix — kept for the next call with the same ``key`` (a feed's candidate
        window changes far less often than feeds are asked for: one gather of a few thousand
        rows, not one per request)."""
        if self._block is not None and self._block[0] == key:
            return self._block[1], self._block[2]
        at = self.rows(post_ids)
        has = at >= 0
        self._block = (key, has, self.data[at[has]])
        return has, self._block[2]

    def nearest(self, post: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Up to ``n`` post ids nearest to ``post`` (itself excluded) and their cosines."""
        row = int(self.rows(np.array([post]))[0])
        if row < 0 or self.index is None:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        keys, scores = self.index.search(self.data[row], n + 1)
        keep = keys != post
        return keys[keep][:n], scores[keep][:n]

    def cosine(self, post: int, others: np.ndarray) -> np.ndarray:
        """Cosine of ``post``'s vector with each of ``others`` (0 where either has none)."""
        others = np.asarray(others, np.int64)
        row = int(self.rows(np.array([post]))[0])
        out = np.zeros(len(others), np.float32)
        if row < 0:
            return out
        rows = self.rows(others)
        has = rows >= 0
        out[has] = self.data[rows[has]] @ self.data[row]
        return out


class VectorCache:
    """Every model's :class:`PostVectors`, caught up with the store on :meth:`refresh`."""

    def __init__(self) -> None:
        self.models: dict[str, PostVectors] = {}
        self.seq = 0
        self._counter = -1
        self._lock = threading.Lock()

    def refresh(self, store: Any) -> Mapping[str, PostVectors]:
        """Read vectors written since the last call (nothing when the store's change counter
        has not moved) and extend each model's index."""
        with self._lock:
            counter = store.change_counter
            if counter != self._counter:
                for batch in store.vectors_after(self.seq):
                    held = self.models.get(batch.model)
                    if held is None:
                        held = self.models[batch.model] = PostVectors(batch.model, batch.dim)
                    held.extend(batch)
                    self.seq = max(self.seq, batch.seq)
                self._counter = counter
            return dict(self.models)


@dataclass(frozen=True, slots=True)
class SimilarContent:
    """Why a post is like another by its content: the vectors' verdict, and shared hashtags."""

    tags: tuple[str, ...]
    looks: str  # "image", "text" or "" (no vector evidence)
    source: ClassVar[str] = "similar"

    def describe(self, author: str | None, factors: Mapping[str, float], names: Any) -> str:
        head = {"image": "looks like this photo", "text": "a similar caption"}.get(self.looks)
        tags = "shares " + " ".join(f"#{t}" for t in self.tags) if self.tags else ""
        parts = [p for p in (head, tags) if p]
        return "; ".join(parts) if parts else "by an account followed by the same people"

    def to_json(self, names: Any) -> Any:
        return {"tags": list(self.tags), "looks": self.looks or None}


def similar_evidence(tags: tuple[str, ...], factors: Mapping[str, np.ndarray], i: int) -> Any:
    """The evidence of the ``i``-th similar post: :class:`SimilarContent` naming the vector
    kind that matched most when one did, else the hashtag/author evidence of old."""
    from ..ranking.evidence import SimilarTags

    kinds = [(float(factors[k][i]), k) for k in ("image", "text") if k in factors]
    best = max(kinds, default=(0.0, ""))
    return SimilarContent(tags, best[1]) if best[0] > 0 else SimilarTags(tags)
