"""Implicit-feedback ALS: users and posts as vectors whose dot product predicts engagement.

Hu, Koren & Volinsky, "Collaborative filtering for implicit feedback datasets" (ICDM 2008):
with preference ``p_ui = 1`` when user *u* engaged with post *i* and confidence
``c_ui = 1 + α·r_ui``, minimise

``Σ_ui c_ui (p_ui - x_uᵀ y_i)² + λ (Σ_u ‖x_u‖² + Σ_i ‖y_i‖²)``

by alternating least squares (the ``implicit`` library's CPU solver). ``r_ui`` sums kind
weights (like 1; comment, save, share, tag 2; a view ``ALSParams.views``), each times
``log(1 + value)`` when the interaction carries a value above 1 (a Last.fm play count, the
tags a user gave an artist that day). ``ALSParams.weighting`` may then reweight ``r`` by
BM25 or TF-IDF over the posts × users matrix (``implicit.nearest_neighbours.bm25_weight``,
``tfidf_weight``: a post every user engaged with says less about a user's taste), as in
``implicit``'s Last.fm example.

The model is stored as a versioned artifact keyed by **external keys** (``world:7``,
``lastfm:u42``), so it survives a re-import and a copy of the database; an engine maps the keys
to its snapshot once (:func:`align`). A user the model has never seen is *folded in* from their
engagement with posts it knows — one ridge regression, the ALS user step for one row:
``x_u = (YᵀC_uY + λI)⁻¹ YᵀC_u p_u`` — and a post it has never seen (published after training)
is reached through the people with the user's taste who engaged with it
(:mod:`discovery.ranking.collaborative`).
"""

from __future__ import annotations

import functools
import io
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from ..ranking.stats import KIND_WEIGHT
from ..seed import child_rng
from ..snapshot import Grows, IdIndex, Sizes, Snapshot
from ..snapshot.grow import append
from ..store.model import KIND_CODE
from .als_index import UserIndex, build_user_index

if TYPE_CHECKING:
    from ..store import Store

#: The artifact name ALS models are saved under.
ARTIFACT = "als"

_log = logging.getLogger(__name__)

__all__ = [
    "WEIGHTINGS",
    "ALSModel",
    "ALSParams",
    "AlignedALS",
    "LoadedALS",
    "WindowBlock",
    "align",
    "engagement_matrix",
    "fold_in",
    "interaction_weights",
    "load_als",
    "save_als",
    "train_als",
]


@dataclass(frozen=True)
class ALSParams:
    """Training parameters. The defaults were chosen on Last.fm's validation period (the two
    quarters before the year ``bench/learned.py`` reports; ``bench/README.md``)."""

    factors: int = 32
    iterations: int = 15
    regularization: float = 0.1
    alpha: float = 1.0
    seed: int = 42
    #: Kind weight of a view (a play); 0 leaves views out.
    views: float = 1.0
    #: ``none``, ``bm25`` (K1 100, B 0.8) or ``tfidf``, applied to ``r`` before ALS.
    weighting: str = "none"


WEIGHTINGS = ("none", "bm25", "tfidf")


def interaction_weights(snap: Snapshot, pos: np.ndarray | slice, views: float) -> np.ndarray:
    """``r`` of each interaction at ``pos``: its kind weight (0 for kinds that say nothing
    about taste), times ``log(1 + value)`` when its value is above 1.

    >>> from types import SimpleNamespace as NS
    >>> s = NS(inter_kind=np.array([0, 5]), inter_value=np.array([np.nan, 99.0]))
    >>> interaction_weights(s, slice(None), views=0.5).round(3).tolist()  # like, view of 99 plays
    [1.0, 2.303]
    """
    kinds = snap.inter_kind[pos]
    weight = np.zeros(len(kinds))
    for kind, w in {**KIND_WEIGHT, "view": views}.items():
        weight[kinds == KIND_CODE[kind]] = w
    value = np.nan_to_num(snap.inter_value[pos].astype(np.float64), nan=1.0)
    return weight * np.where(value > 1.0, np.log1p(value), 1.0)  # type: ignore[no-any-return]


def engagement_matrix(
    snap: Snapshot, until: int | None = None, views: float = 1.0, weighting: str = "none"
) -> sp.csr_matrix:
    """Users × posts confidence weights ``r_ui`` (see the module docstring), from the
    snapshot's interactions up to ``until`` (all when None)."""
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting {weighting!r}: expected one of {', '.join(WEIGHTINGS)}")
    weight = interaction_weights(snap, slice(None), views)
    keep = weight > 0
    if until is not None:
        keep &= snap.inter_time <= until
    m = sp.csr_matrix(
        (weight[keep], (snap.inter_user[keep], snap.inter_post[keep])),
        shape=(snap.n_accounts, snap.n_posts),
    )
    m.sum_duplicates()
    if weighting != "none" and m.nnz:
        from implicit.nearest_neighbours import bm25_weight, tfidf_weight

        items = m.T.tocoo()
        items = bm25_weight(items, K1=100, B=0.8) if weighting == "bm25" else tfidf_weight(items)
        m = sp.csr_matrix(items.T)
    return m


@dataclass(frozen=True)
class ALSModel:
    """Fitted factors, rows keyed by external keys, and what it was trained on (``meta``)."""

    user_keys: np.ndarray  # str, one per row of user_factors
    post_keys: np.ndarray  # str, one per row of item_factors
    user_factors: np.ndarray  # float32
    item_factors: np.ndarray  # float32
    regularization: float = 0.1
    alpha: float = 1.0
    meta: dict[str, Any] = field(default_factory=dict)
    #: The HNSW graph over ``user_factors`` (:mod:`.als_index`), serialised; None for a small
    #: model or without hnswlib.
    user_index: bytes | None = field(default=None, compare=False, repr=False)

    def to_bytes(self) -> bytes:
        """An ``.npz`` (``allow_pickle=False`` readable: keys as unicode arrays)."""
        buf = io.BytesIO()
        extra: dict[str, Any] = {}
        if self.user_index is not None:
            extra["user_index"] = np.frombuffer(self.user_index, np.uint8)
        np.savez_compressed(
            buf,
            user_keys=self.user_keys.astype(str),
            post_keys=self.post_keys.astype(str),
            user_factors=self.user_factors.astype(np.float32),
            item_factors=self.item_factors.astype(np.float32),
            params=np.array([self.regularization, self.alpha]),
            **extra,
        )
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, meta: dict[str, Any] | None = None) -> ALSModel:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            reg, alpha = (float(v) for v in z["params"])
            index = z["user_index"].tobytes() if "user_index" in z.files else None
            return cls(
                z["user_keys"],
                z["post_keys"],
                z["user_factors"],
                z["item_factors"],
                reg,
                alpha,
                dict(meta or {}),
                index,
            )

    @functools.cached_property
    def neighbour_index(self) -> UserIndex | None:
        """The loaded user index (once per model), or None: no index, no hnswlib to read it, or
        an index that is damaged or not this model's (logged) — the taste neighbours are then
        found by brute force."""
        if self.user_index is None:
            return None
        try:
            index = UserIndex(self.user_index, self.user_factors.shape[1], len(self.user_factors))
            index.check(self.user_factors)
        except ImportError:
            return None
        except (RuntimeError, ValueError) as exc:  # hnswlib: "Index seems to be corrupted"
            _log.warning("ALS user index unusable, neighbours by brute force: %s", exc)
            return None
        return index

    @functools.cached_property
    def gram(self) -> np.ndarray:
        """``YᵀY`` of the item factors in float64 (factors × factors), once per model: every
        fold-in needs it, and computing it per call converted the large world's 2.0M × 32
        factors to float64 and multiplied them on every request of a user the model does not
        know (5 % of a serving worker's samples under load, py-spy). Summed over blocks of
        rows so the float64 copy stays small."""
        y = self.item_factors
        out = np.zeros((y.shape[1], y.shape[1]))
        for lo in range(0, len(y), _GRAM_BLOCK):
            block = np.asarray(y[lo : lo + _GRAM_BLOCK], dtype=np.float64)
            out += block.T @ block
        return out


#: Item-factor rows per block of :attr:`ALSModel.gram`.
_GRAM_BLOCK = 65_536


def train_als(
    snap: Snapshot,
    user_keys: np.ndarray,
    post_keys: np.ndarray,
    params: ALSParams | None = None,
    until: int | None = None,
) -> ALSModel:
    """Fit ALS on the snapshot's engagement (rows of users and posts with any), keyed by
    ``user_keys[account index]`` and ``post_keys[post index]``."""
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    p = params or ALSParams()
    full = engagement_matrix(snap, until, p.views, p.weighting)
    users = np.flatnonzero(np.diff(full.indptr) > 0)
    posts = np.flatnonzero(np.bincount(full.indices, minlength=snap.n_posts) > 0)
    matrix = full[users][:, posts].tocsr()
    started = time.perf_counter()
    with threadpool_limits(1, "blas"):  # implicit warns (and slows) under threaded BLAS
        model = AlternatingLeastSquares(
            factors=p.factors,
            regularization=p.regularization,
            alpha=p.alpha,
            iterations=p.iterations,
            random_state=int(child_rng(p.seed, "als").integers(2**31)),
            num_threads=1,
        )
        model.fit(matrix, show_progress=False)
    fitted = time.perf_counter() - started
    user_factors = np.asarray(model.user_factors, dtype=np.float32)
    index = build_user_index(user_factors, seed=int(child_rng(p.seed, "als-index").integers(2**31)))
    meta = {
        "factors": p.factors,
        "iterations": p.iterations,
        "regularization": p.regularization,
        "alpha": p.alpha,
        "views": p.views,
        "weighting": p.weighting,
        "seed": p.seed,
        "users": len(users),
        "posts": len(posts),
        "nonzeros": int(matrix.nnz),
        "trained_on_counter": int(snap.counter),
        "trained_until": int(snap.now if until is None else until),
        "seconds": round(fitted, 3),
    }
    if index is not None:
        meta["user_index_seconds"] = round(time.perf_counter() - started - fitted, 3)
    return ALSModel(
        np.asarray(user_keys)[users].astype(str),
        np.asarray(post_keys)[posts].astype(str),
        user_factors,
        np.asarray(model.item_factors, dtype=np.float32),
        p.regularization,
        p.alpha,
        meta,
        index,
    )


def fold_in(
    item_factors: np.ndarray,
    rows: np.ndarray,
    weights: np.ndarray,
    reg: float,
    alpha: float,
    gram: np.ndarray | None = None,
) -> np.ndarray:
    """The ALS user step for one user who engaged with item ``rows`` (confidence weights
    ``weights``): ``x = (YᵀY + Yᵀ(C - I)Y + λI)⁻¹ YᵀC p`` with ``C = 1 + α·w`` on those rows
    (Hu, Koren & Volinsky, ICDM 2008, eq. 4). ``gram``: ``YᵀY`` when the caller keeps it
    (:attr:`ALSModel.gram`); else computed here.

    >>> y = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> fold_in(y, np.array([0]), np.array([1.0]), reg=0.0, alpha=1.0).round(3).tolist()
    [1.0, 0.0]
    """
    f = item_factors.shape[1]
    if len(rows) == 0:
        return np.zeros(f)
    yu = np.asarray(item_factors[rows], dtype=np.float64)
    if gram is None:
        y = np.asarray(item_factors, dtype=np.float64)
        gram = y.T @ y
    conf = 1.0 + alpha * np.asarray(weights, dtype=np.float64)
    a = gram + (yu.T * (conf - 1.0)) @ yu + reg * np.eye(f)
    b = (yu.T * conf).sum(axis=1)
    return np.linalg.solve(a, b)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class WindowBlock:
    """The posts of a candidate window the model has rows for, in time order, with their
    times, their factor rows as one contiguous block, and the largest Euclidean norm among
    those rows (what bounds a product's rounding error)."""

    posts: np.ndarray
    factors: np.ndarray
    taken: np.ndarray
    largest: float

    def between(self, since: int, until: int) -> slice:
        """The rows of the posts taken in ``[since, until]`` (times are sorted)."""
        lo = int(np.searchsorted(self.taken, since, "left"))
        return slice(lo, max(lo, int(np.searchsorted(self.taken, until, "right"))))


@dataclass(frozen=True)
class AlignedALS:
    """A model mapped onto one snapshot: the factor row of each account and post index (-1:
    unknown to the model)."""

    model: ALSModel
    user_row: np.ndarray
    post_row: np.ndarray
    _window: dict[Any, WindowBlock] = field(default_factory=dict, compare=False, repr=False)
    _primed: dict[tuple[Any, int], tuple[np.ndarray, np.ndarray]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def window_block(
        self, key: Any, posts: Callable[[], np.ndarray], taken: np.ndarray
    ) -> WindowBlock:
        """The :class:`WindowBlock` of a candidate window (``posts()``, in time order, lists
        it when ``key`` is new; ``taken`` is every post's time), kept for the next call with
        the same ``key``: the window widened to whole hours changes once an hour, or when
        posts arrive, and gathering 637k rows of the large world's week took 11 ms a
        request."""
        held = self._window.get(key)
        if held is None:
            window = posts()
            rows = self.post_row[window]
            known = window[rows >= 0]
            block = np.ascontiguousarray(self.model.item_factors[rows[rows >= 0]])
            squares = np.einsum("ij,ij->i", block, block, dtype=np.float64)  # not rounded down
            largest = float(np.sqrt(np.max(squares, initial=0.0)))
            held = WindowBlock(known, block, taken[known], largest)
            self._window.clear()  # one window at a time: the previous hour's is done
            self._primed.clear()
            self._window[key] = held
        return held

    def prime(self, key: Any, users: np.ndarray, xs: np.ndarray, scores: np.ndarray) -> None:
        """Keep ``scores[i]`` (the window block of ``key`` times ``xs[i]``, computed for a
        block of users in one matrix product) for the next :meth:`primed` of ``users[i]``;
        replaces what an earlier block left."""
        self._primed.clear()
        for i, user in enumerate(users.tolist()):
            self._primed[(key, user)] = (xs[i], scores[i])

    def primed(self, key: Any, user: int, x: np.ndarray) -> np.ndarray | None:
        """The window scores :meth:`prime` kept for ``user`` under ``key``, if they were
        computed from this very factor vector ``x``; else None (the caller multiplies)."""
        held = self._primed.pop((key, user), None)
        if held is None or not np.array_equal(held[0], x):
            return None
        return held[1]

    @functools.cached_property
    def known_users(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(accounts, factors, norms)`` of every account the model has a row for: account
        indexes ascending, their factor rows gathered into one contiguous float32 block, and
        the rows' Euclidean norms (float32, as the factors). Built once per alignment: the co-likers' cosine
        over a million users then costs one matrix-vector product a request instead of also
        gathering 116 MB of factors and their norms again (121 of the 167 ms of a large-world
        explore with ALS on)."""
        users = np.flatnonzero(self.user_row >= 0)
        vecs = np.ascontiguousarray(self.model.user_factors[self.user_row[users]])
        return users, vecs, np.linalg.norm(vecs, axis=1)

    @functools.cached_property
    def account_of_row(self) -> np.ndarray:
        """The account index of each model user row (-1: an account this snapshot lacks)."""
        out = np.full(len(self.model.user_factors), -1, np.int64)
        users = np.flatnonzero(self.user_row >= 0)
        out[self.user_row[users]] = users
        return out

    def user_vector(self, snap: Snapshot, user: int) -> np.ndarray | None:
        """The user's factors, folded in from their engagement when the model has no row for
        them; None when they engaged with nothing the model knows."""
        if user < len(self.user_row) and self.user_row[user] >= 0:
            return self.model.user_factors[self.user_row[user]].astype(np.float64)  # type: ignore[no-any-return]
        pos = snap.user_interactions(user)
        if len(pos) == 0:
            return None
        # the training rule before any BM25/TF-IDF reweighting (which needs every user)
        w = interaction_weights(snap, pos, float(self.model.meta.get("views", 0.0)))
        posts = snap.inter_post[pos]
        known = posts < len(self.post_row)
        rows = np.where(known, self.post_row[np.where(known, posts, 0)], -1)
        ok = (w > 0) & (rows >= 0)
        if not ok.any():
            return None
        uniq, inv = np.unique(rows[ok], return_inverse=True)
        summed = np.bincount(inv, weights=w[ok])
        m = self.model
        return fold_in(m.item_factors, uniq, summed, m.regularization, m.alpha, m.gram)


def align(
    model: ALSModel, snap: Snapshot, user_ids: np.ndarray, post_ids: np.ndarray
) -> AlignedALS:
    """Map the model's rows (whose internal ids the engine looked up from their external keys:
    ``user_ids[row]``, -1 for keys the store no longer has) onto the snapshot's indexes."""
    user_row = np.full(snap.n_accounts, -1, np.int64)
    idx = snap.accounts.lookup(np.asarray(user_ids, dtype=np.int64))
    ok = (np.asarray(user_ids) >= 0) & (idx >= 0)
    user_row[idx[ok]] = np.flatnonzero(ok)
    post_row = np.full(snap.n_posts, -1, np.int64)
    idx = snap.posts.lookup(np.asarray(post_ids, dtype=np.int64))
    ok = (np.asarray(post_ids) >= 0) & (idx >= 0)
    post_row[idx[ok]] = np.flatnonzero(ok)
    return AlignedALS(model, user_row, post_row)


@dataclass(frozen=True)
class LoadedALS:
    """A stored model and the internal ids of its rows in the store it was loaded from (-1:
    a key the store does not have); :meth:`aligned` maps it onto a snapshot, once per
    snapshot change of accounts or posts (a derived structure)."""

    model: ALSModel
    version: int
    user_ids: np.ndarray
    post_ids: np.ndarray

    def aligned(self, snap: Snapshot) -> AlignedALS:
        # keyed by the model object too: in-memory models (one per harness fold and setting)
        # share a version, and one snapshot may see several of them

        def extend(al: AlignedALS, snap: Snapshot, since: Sizes) -> AlignedALS:
            # -1: not in the model
            users = self._user_rows.lookup(snap.account_id[since.accounts :])
            posts = self._post_rows.lookup(snap.post_id[since.posts :])
            return AlignedALS(al.model, append(al.user_row, users), append(al.post_row, posts))

        return snap.derive_of(
            f"als@{self.version}:{id(self.model)}",
            lambda s: align(self.model, s, self.user_ids, self.post_ids),
            depends_on=(Grows("accounts"), Grows("posts")),
            extend=extend,
        )

    @functools.cached_property
    def _user_rows(self) -> IdIndex:
        """The model's rows by account id (what a new account is looked up in)."""
        return IdIndex.build(self.user_ids)

    @functools.cached_property
    def _post_rows(self) -> IdIndex:
        """The model's rows by post id (what a new post is looked up in)."""
        return IdIndex.build(self.post_ids)


def save_als(store: Store, snap: Snapshot, params: ALSParams | None = None) -> tuple[int, ALSModel]:
    """Train on the snapshot, key the rows by the store's external keys and save the model as
    the next version of the ``als`` artifact; ``(version, model)``."""
    user_keys = _keys(store, "accounts", snap.account_id)
    post_keys = _keys(store, "posts", snap.post_id)
    model = train_als(snap, user_keys, post_keys, params)
    version = store.save_artifact(ARTIFACT, model.to_bytes(), model.meta)
    return version, model


def load_als(store: Store, version: int | None = None) -> LoadedALS | None:
    """The newest (or ``version``) ALS artifact with its rows' internal ids; None when the
    store has none."""
    from ..store import NotFound

    try:
        art = store.load_artifact(ARTIFACT, version)
    except NotFound:
        return None
    model = ALSModel.from_bytes(art.data, art.meta)
    user_keys, post_keys = model.user_keys.tolist(), model.post_keys.tolist()
    users = store.ids_of_keys("accounts", user_keys)
    posts = store.ids_of_keys("posts", post_keys)
    return LoadedALS(
        model,
        art.version,
        np.fromiter((users.get(k, -1) for k in user_keys), np.int64, len(user_keys)),
        np.fromiter((posts.get(k, -1) for k in post_keys), np.int64, len(post_keys)),
    )


def _keys(store: Store, table: str, ids: np.ndarray) -> np.ndarray:
    found = store.external_keys(table, [int(i) for i in ids])
    return np.array([found.get(int(i), f"id:{int(i)}") for i in ids], dtype=str)
