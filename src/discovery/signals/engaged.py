"""Who engaged with which post: the users × posts matrix that item-based collaborative
filtering (:func:`column_affinity`, the learned ranker's ``item_cosine``) and the topic
evidence of a post's engagers (:mod:`.topics`) read, kept current as the log grows.

"Engaged" is any interaction but an impression or a hide (a click, like, comment, save or
share); a withdrawn row (kind -1, an unlike) engages no more.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..snapshot import Grows, LogAt, Snapshot
from ..snapshot.derived import INTERACTIONS_LAG
from ..snapshot.grow import pad_columns
from ..store.model import KIND_CODE
from .pairs import held, pair_keys

__all__ = ["column_affinity", "engaged_columns", "engaged_pairs", "engaging", "unit_columns"]

_NOT_ENGAGED = [KIND_CODE[k] for k in ("impression", "hide")]


def engaged_columns(snap: Snapshot) -> sp.csc_matrix:
    """Users × posts 0/1 (engaged in any way but an impression or a hide), columns scaled to
    unit length; memoised (a new post: an empty column, a new account an empty row, as the
    lagging log has them; in a server the rows appended to and withdrawn from the log since are
    taken in when the lag runs out, instead of building the matrix again: 2.5 s on the large
    world)."""

    def build(snap: Snapshot) -> sp.csc_matrix:
        return unit_columns(engaged_pairs(snap, 0))

    def catch_up(m: sp.csc_matrix, snap: Snapshot, at: LogAt) -> sp.csc_matrix | None:
        m = pad_columns(m, snap.n_posts, rows=snap.n_accounts)
        before = sp.csc_matrix((np.ones(m.nnz), m.indices, m.indptr), shape=m.shape)
        gone, kinds = snap.withdrawn_since(at)
        gone = gone[engaging(kinds)]
        if len(gone):  # pairs whose every engagement was withdrawn leave the matrix
            keys = pair_keys(snap.inter_user[gone], snap.inter_post[gone])
            if (still := held(snap, keys, engaging)) is None:
                return None
            lost = keys[~still]
            before = before - sp.csc_matrix(
                (np.ones(len(lost)), (lost >> 32, lost & 0xFFFFFFFF)), shape=m.shape
            )
            before.eliminate_zeros()
        return unit_columns(sp.csc_matrix(before + engaged_pairs(snap, at.rows)))

    return snap.derive_of(  # type: ignore[no-any-return]
        "engaged_columns",
        build,
        depends_on=(Grows("accounts"), Grows("posts"), INTERACTIONS_LAG),
        extend=lambda m, snap, since: pad_columns(m, snap.n_posts, rows=snap.n_accounts),
        catch_up=catch_up,
    )


def engaged_pairs(snap: Snapshot, first: int) -> sp.csc_matrix:
    """Users × posts, the engagements of the log's rows from ``first`` on (duplicates summed)."""
    user, post, kind = (a[first:] for a in (snap.inter_user, snap.inter_post, snap.inter_kind))
    m = engaging(kind)
    return sp.csc_matrix(
        (np.ones(int(m.sum())), (user[m], post[m])), shape=(snap.n_accounts, snap.n_posts)
    )


def engaging(kind: np.ndarray) -> np.ndarray:
    """Rows that engage with their post: any kind but an impression or a hide (withdrawn rows,
    kind -1, engage no more)."""
    return (kind >= 0) & ~np.isin(kind, _NOT_ENGAGED)  # type: ignore[no-any-return]


def unit_columns(pairs: sp.csc_matrix) -> sp.csc_matrix:
    """``pairs`` (canonical: sorted, summed) as 0/1, each column divided by its norm, the
    square root of its entries: ``1 / sqrt(n_j)`` repeated down column ``j``."""
    per_column = np.diff(pairs.indptr)
    norm = np.sqrt(per_column)
    scale = np.divide(1.0, norm, out=np.zeros_like(norm), where=norm > 0)
    return sp.csc_matrix((np.repeat(scale, per_column), pairs.indices, pairs.indptr), pairs.shape)


def column_affinity(cols: sp.csc_matrix, mine: np.ndarray, posts: np.ndarray) -> np.ndarray:
    """``cols[:, posts].T @ cols[:, mine].sum(axis=1)``: for each of ``posts``, the sum of
    its column's dot products with the ``mine`` columns.

    Written with numpy rather than as that scipy expression: the taste ``Σ_j e_j`` is kept
    as a sparse vector over the rows (users) in the ``mine`` columns, then each post's
    column is matched against it, so the cost is the entries of those columns. The scipy
    form builds a dense rows-long vector: 7.7 ms a feed on the large world's 1M users.
    """
    mine_cols = cols[:, mine]
    order = np.argsort(mine_cols.indices, kind="stable")
    engagers = mine_cols.indices[order]
    if len(engagers) == 0 or len(posts) == 0:
        return np.zeros(len(posts))
    starts = np.flatnonzero(np.r_[True, engagers[1:] != engagers[:-1]])
    users, taste = engagers[starts], np.add.reduceat(mine_cols.data[order], starts)
    theirs = cols[:, posts]
    at = np.minimum(np.searchsorted(users, theirs.indices), len(users) - 1)
    contrib = np.where(users[at] == theirs.indices, theirs.data * taste[at], 0.0)
    owner = np.repeat(np.arange(len(posts)), np.diff(theirs.indptr))
    return np.bincount(owner, weights=contrib, minlength=len(posts))
