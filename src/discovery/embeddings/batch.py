"""Incremental batch embedding: every post without a vector of the encoder's model gets one.

The worklist is the store's (:meth:`~discovery.store.vectors.VectorsMixin.posts_to_embed`):
posts in id order with no vector for ``encoder.name``, so a second run only embeds what is
new, and an interrupted run resumes where it stopped (each batch commits on its own). A post
whose image cannot be read is counted under its failure (:data:`~.images.FAILURES`) and left
without a vector — the next run tries it again.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..store import Store
from ..store.vectors import EmbedInput
from .encoders import Encoder
from .images import load_image

__all__ = ["EmbedSummary", "embed_posts", "post_text"]


@dataclass
class EmbedSummary:
    """What a run did: vectors written, posts skipped by reason, and its wall time."""

    model: str
    embedded: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return self.embedded / self.seconds if self.seconds > 0 else 0.0


def post_text(post: EmbedInput) -> str:
    """What the text encoder reads: the caption, then the post's hashtags it does not show.

    >>> post_text(EmbedInput(1, "Lunch #food", ("food", "ramen"), None))
    'Lunch #food #ramen'
    """
    shown = post.caption.lower()
    extra = [f"#{t}" for t in post.hashtags if f"#{t.lower()}" not in shown]
    return " ".join([post.caption, *extra]).strip()


def embed_posts(
    store: Store,
    encoder: Encoder,
    media_dir: Path,
    *,
    batch: int = 64,
    limit: int | None = None,
    timeout: float = 10.0,
    fetchers: int = 8,
    progress: Callable[[int], None] | None = None,
) -> EmbedSummary:
    """Embed up to ``limit`` posts that have no ``encoder.name`` vector, ``batch`` at a time.

    Images are read by ``fetchers`` threads (downloads wait on the network, not the CPU);
    ``progress(n)`` is called with the number of posts handled after each batch.
    """
    if batch < 1:
        raise ValueError(f"batch must be at least 1, got {batch}")
    summary = EmbedSummary(encoder.name)
    start = time.perf_counter()
    after, handled = -1, 0
    with ThreadPoolExecutor(max_workers=max(1, fetchers)) as pool:
        while limit is None or handled < limit:
            size = batch if limit is None else min(batch, limit - handled)
            todo = store.posts_to_embed(encoder.name, after=after, limit=size)
            if not todo:
                break
            after = todo[-1].post
            inputs: list[object] = []
            ids: list[int] = []
            if encoder.kind == "image":
                results = pool.map(lambda p: load_image(p.image, media_dir, timeout=timeout), todo)
                for post, res in zip(todo, results, strict=True):
                    if res.failure is not None:
                        summary.failed[res.failure] += 1
                    else:
                        ids.append(post.post)
                        inputs.append(res.image)
            else:
                for post in todo:
                    text = post_text(post)
                    if text:
                        ids.append(post.post)
                        inputs.append(text)
                    else:
                        summary.failed["no-text"] += 1
            if ids:
                vectors = np.asarray(encoder.encode(inputs), np.float32)
                store.add_vectors(encoder.name, ids, vectors)
                summary.embedded += len(ids)
            handled += len(todo)
            if progress is not None:
                progress(len(todo))
    summary.seconds = time.perf_counter() - start
    return summary
