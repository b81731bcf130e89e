""" "More like this": posts similar to a post, by hashtags and by the graph around authors."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..snapshot import Snapshot
from .stats import post_stats

__all__ = ["similar_posts"]


def _cosine_rows(m: sp.csr_matrix, row: int) -> np.ndarray:
    """Cosine of every row of ``m`` with row ``row``."""
    x = m[row]
    dots = np.asarray((m @ x.T).todense()).ravel()
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    denom = norms * norms[row]
    return np.where(denom > 0, dots / np.maximum(denom, 1e-12), 0.0)  # type: ignore[no-any-return]


def similar_posts(
    snap: Snapshot, p: int, k: int = 10, w_tags: float = 0.7
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Posts most similar to post index ``p``.

    ``similarity = w_tags · cos_idf(tags(p), tags(q)) + (1 - w_tags) · cos(followers(author(p)),
    followers(author(q)))`` — shared IDF-weighted hashtags, and authors followed by the same
    people (item-to-item collaborative filtering on the follow graph). Posts by the same author
    are kept but never outrank an equally similar post by someone else (ties go to post id).

    Returns ``(post indexes, scores, factors)`` best first, ``p`` itself excluded.
    """
    stats = post_stats(snap)
    tags = snap.post_tags_matrix().multiply(stats.idf).tocsr()
    tag_sim = _cosine_rows(tags, p) if tags.nnz else np.zeros(snap.n_posts)
    author_sim = np.zeros(snap.n_posts)
    a = int(snap.post_author[p])
    if a >= 0:
        followers = snap.followers_matrix()
        acc_sim = _cosine_rows(followers, a)
        has = snap.post_author >= 0
        author_sim[has] = acc_sim[snap.post_author[has]]
    score = w_tags * tag_sim + (1 - w_tags) * author_sim
    score[p] = -1.0
    score[snap.post_removed] = -1.0  # deleted posts are never suggested
    candidates = np.flatnonzero(score > 0)
    order = candidates[np.lexsort((snap.post_id[candidates], -score[candidates]))][:k]
    return order, score[order], {"tags": tag_sim[order], "authors": author_sim[order]}
