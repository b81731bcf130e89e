"""Graph affinity for one user: personalized PageRank over the follow graph, and hop distance.

The follow graph is directed (row = follower, column = followed): a walk from the user moves to
the accounts they follow, then to the accounts those follow, so mass lands on accounts the user
is close to — friends of friends, and the big accounts their circle follows.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .. import graph
from ..snapshot import INTERACTIONS_LAG, WEIGHTS_LAG, Grows, LogAt, Sizes, Snapshot
from ..snapshot.grow import square
from ..store.model import KIND_CODE
from .context import UserContext
from .own_row import own_row, with_own_row
from .ppr_cache import PPRCache, PPRState, _entries
from .ppr_vector import PPRVector

__all__ = [
    "author_ppr",
    "engagement_pairs",
    "follow_adjacency",
    "hop_distance",
    "ppr_state",
    "tutorial_ppr",
    "user_ppr",
]

EXACT_LIMIT = 50_000
_LRU_BYTES = 64 * 2**20


def follow_adjacency(snap: Snapshot, weighted: bool) -> sp.csr_matrix:
    """The follow graph, optionally with the tutorial's first improvement: edge weights raised
    by the follower's likes (1) and comments (2) on the followed account's posts."""

    def build(snap: Snapshot) -> sp.csr_matrix:
        follows = snap.follow_matrix()
        if not weighted:
            return follows
        # graph.interaction_weights(follows, pairs), computed on the memoised follow matrix:
        # each edge's weight is 1 + the pair's engagement, found by a binary search among the
        # follower's own pairs (one numba pass; loaded on first use, not with the engine)
        from ._kernels import edge_weights

        user, author, weight = engagement_pairs(snap)  # sorted: they come from np.unique
        data = edge_weights(follows, user, author, weight)
        data += 1.0  # in place: a second 160 MB array on the large world took up to 0.9 s
        # the follow matrix's index arrays, shared, not copied: derived matrices are replaced,
        # never written (a copy took ~0.3 s and 90 MB a rebuild on the large world)
        shape = follows.shape
        return sp.csr_matrix((data, follows.indices, follows.indptr), shape=shape, copy=False)

    def extend(m: sp.csr_matrix, snap: Snapshot, since: Sizes) -> sp.csr_matrix:
        return square(m, snap.n_accounts) if weighted else snap.follow_matrix()

    # the weighted graph reads the engagement pairs as they are when it is built, and keeps
    # them for a lag of its own (WEIGHTS_LAG), not for the pairs' 2 %: it is not rebuilt with
    # every catch-up of the pairs, nor with every unlike
    deps = ("follow_graph", WEIGHTS_LAG) if weighted else ("follow_graph",)
    return snap.derive_of(
        f"adjacency_w{int(weighted)}", build, depends_on=(*deps, Grows("accounts")), extend=extend
    )


def engagement_pairs(snap: Snapshot) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(user, author, weight)``: likes (1) and comments (2) summed per pair, memoised apart
    from the follows, so a follow rebuilds the weighted graph from these pairs, not from the
    whole interaction log."""

    def build(snap: Snapshot) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        key, weight = _pairs(snap, snap.inter_user, snap.inter_post, snap.inter_kind)
        return key // snap.n_accounts, key % snap.n_accounts, weight

    def catch_up(
        pairs: tuple[np.ndarray, np.ndarray, np.ndarray], snap: Snapshot, at: LogAt
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # the pairs of the rows since (less those withdrawn since), merged into the sorted
        # ones: (user, author) order does not depend on the account count of the keys
        user, author, weight = pairs
        n = snap.n_accounts
        key = user.astype(np.int64) * n + author
        gone, kinds = snap.withdrawn_since(at)
        tail = slice(at.rows, None)
        more, extra = _pairs(
            snap,
            np.concatenate([snap.inter_user[tail], snap.inter_user[gone]]),
            np.concatenate([snap.inter_post[tail], snap.inter_post[gone]]),
            np.concatenate([snap.inter_kind[tail], kinds]),
            np.concatenate([np.ones(len(snap.inter_user) - at.rows), -np.ones(len(gone))]),
        )
        pos = np.searchsorted(key, more)
        hit = np.zeros(len(more), dtype=bool)
        inside = pos < len(key)
        hit[inside] = key[pos[inside]] == more[inside]
        weight = weight.copy()
        weight[pos[hit]] += extra[hit]  # distinct keys: no position twice
        key = np.insert(key, pos[~hit], more[~hit])  # new pairs: only added rows make them
        weight = np.insert(weight, pos[~hit], extra[~hit])
        keep = weight != 0  # every row of the pair withdrawn (weights are whole numbers)
        return key[keep] // n, key[keep] % n, weight[keep]

    # not the posts: a new post has no likes in the log yet (those that come lag with the log),
    # and a deleted one's are withdrawn, which a catch-up subtracts (``catch_up``); so a post
    # keeps the pairs, the weighted graph and its PageRank index (3.5-4 s on the large world)
    # a new account has no pairs as of the build, and the pairs do not depend on the count
    return snap.derive_of(
        "engagement_pairs",
        build,
        depends_on=(Grows("accounts"), INTERACTIONS_LAG),
        extend=lambda pairs, snap, since: pairs,
        catch_up=catch_up,
    )


def _pairs(
    snap: Snapshot,
    user: np.ndarray,
    post: np.ndarray,
    kind: np.ndarray,
    sign: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct ``user · n_accounts + author`` keys of the likes (1) and comments (2)
    among the rows given, and each pair's summed weight (each row's times ``sign``)."""
    w = np.zeros(len(kind))
    w[kind == KIND_CODE["like"]] = 1.0
    w[kind == KIND_CODE["comment"]] = 2.0
    if sign is not None:
        w *= sign
    keep = np.flatnonzero(w != 0)
    authors = snap.post_author[post[keep]]
    keep, authors = keep[authors >= 0], authors[authors >= 0]
    key = user[keep].astype(np.int64) * snap.n_accounts + authors
    pairs, inverse = np.unique(key, return_inverse=True)
    return pairs, np.bincount(inverse, weights=w[keep], minlength=len(pairs))


def user_ppr(ctx: UserContext) -> PPRVector:
    """PPR (sums to 1) seeded at the user, by ``settings.ppr_mode``: a :class:`PPRVector`
    (``vec[accounts]`` as a dense vector would answer it, without its million zeros).

    Vectors are kept in a per-snapshot LRU (:class:`~.ppr_cache.PPRCache`): a user paging
    through a feed, or the blend asking for timeline and explore, pays once, and a follow
    elsewhere in the graph recomputes only the vectors it can move by more than
    ``settings.ppr_stale_l1`` (L1, a proven bound — see :mod:`.ppr_cache`). The user's own
    follows, and their weights in the like-weighted graph, are exact even while the graph lags
    its rebuild (:mod:`.own_row`; not in ``ego`` mode, whose subgraph is the matrix's)."""
    if "ppr" in ctx._cache:
        return ctx._cache["ppr"]  # type: ignore[no-any-return]
    snap, s = ctx.snap, ctx.settings
    adj = follow_adjacency(snap, s.weighted_edges)
    state = ppr_state(snap)
    log = state.log(s.weighted_edges)
    log.update(adj)
    key = (ctx.user, s.ppr_mode, s.alpha, s.weighted_edges, s.seed)
    vec: PPRVector = state.cache.get(
        key, ctx.user, log, s.alpha, s.ppr_stale_l1, lambda v: _compute_ppr(ctx, v)
    )
    if _mode(ctx) != "ego":
        index = _ppr_index(snap, s.weighted_edges)
        row = own_row(snap, ctx.user, index, s.weighted_edges)
        if row is not None:
            base = vec
            vec = state.cache.get(
                (*key, row.key),
                ctx.user,
                log,
                s.alpha,
                s.ppr_stale_l1,
                lambda v: with_own_row(base, row, index, s.alpha, lambda q: _query(ctx, q)),
            )
    ctx._cache["ppr"] = vec
    return vec


def author_ppr(ctx: UserContext, accounts: np.ndarray) -> np.ndarray:
    """The user's PPR at ``accounts``: from the user's fresh precomputed list when the request
    has one (``discovery batch candidates`` kept it for the list's authors, the followed and
    the nearest accounts; 0 elsewhere), so a feed served from a list runs no PageRank;
    otherwise :func:`user_ppr`."""
    stored = ctx.precomputed
    if stored is not None and len(getattr(stored, "ppr_accounts", ())):
        return np.asarray(stored.ppr_of(accounts))
    return user_ppr(ctx)[np.asarray(accounts, np.int64)]


def ppr_state(snap: Snapshot) -> PPRState:
    """The snapshot's PPR vectors and graph logs: kept across catch-ups (each vector carries its
    own staleness bound), and as accounts are added (a new account is an isolated node: each
    vector is padded with its zeros, exactly)."""
    return snap.derive_of(  # the same state as accounts are added: see GraphLog.update
        "ppr_state",
        lambda s: PPRState(PPRCache(_LRU_BYTES)),
        depends_on=(Grows("accounts"),),
        extend=lambda state, s, since: state,
    )


def _mode(ctx: UserContext) -> str:
    mode = ctx.settings.ppr_mode
    if mode == "auto":
        return "exact" if ctx.snap.n_accounts <= EXACT_LIMIT else "push"
    return mode


def _ppr_index(snap: Snapshot, weighted: bool) -> graph.PPRIndex:
    w = int(weighted)
    return snap.derive_of(
        f"ppr_index_w{w}",
        lambda s: graph.PPRIndex(follow_adjacency(s, bool(w)), copy=False),  # never written
        depends_on=(f"adjacency_w{w}", Grows("accounts")),
        extend=lambda index, s, since: index.with_nodes(s.n_accounts),
    )


def _query(
    ctx: UserContext, seeds: int | dict[int, float], start: PPRVector | None = None
) -> PPRVector:
    """The PPR of ``seeds`` on the snapshot's index by the settings' mode (not ``ego``)."""
    snap, s = ctx.snap, ctx.settings
    index = _ppr_index(snap, s.weighted_edges)
    mode = _mode(ctx)
    if mode == "exact":
        # L1 error <= tol·α/(1-α) ≈ 6e-5: far below ppr_stale_l1 and anything a ranking can
        # see; from the previous vector of a slightly changed graph when the cache had one
        warm = None if start is None else start.padded(snap.n_accounts).dense()
        return PPRVector.from_dense(index.pagerank(seeds, alpha=s.alpha, tol=1e-5, start=warm))
    if mode == "push":
        # eps 3e-6: top-200 overlap 0.96-0.98 with exact PPR on the large world at ~3.5 ms
        nodes, values = graph.push_pagerank_sparse(index, seeds, alpha=s.alpha, eps=3e-6)
        return PPRVector(nodes, values, snap.n_accounts)
    walk_seed = (s.seed * 1_000_003 + ctx.user) % 2**32  # fora: reproducible per user
    vec = graph.fora_pagerank(index, seeds, alpha=s.alpha, seed=walk_seed)
    return PPRVector.from_dense(np.asarray(vec))


def _compute_ppr(ctx: UserContext, previous: PPRVector | None = None) -> PPRVector:
    if _mode(ctx) == "ego":
        adj = follow_adjacency(ctx.snap, ctx.settings.weighted_edges)
        alpha = ctx.settings.alpha
        nodes, scores = graph.ego_pagerank(adj, ctx.user, depth=2, alpha=alpha)
        return PPRVector.of(nodes, scores, ctx.snap.n_accounts)
    return _query(ctx, ctx.user, start=previous)


def tutorial_ppr(ctx: UserContext) -> np.ndarray:
    """The tutorial's PPR: ``nx.pagerank`` on the *undirected* graph of the user, the accounts
    they follow and the accounts those follow (``nx.from_pandas_dataframe`` of the follow rows)."""
    if "tppr" in ctx._cache:
        return ctx._cache["tppr"]  # type: ignore[no-any-return]
    snap = ctx.snap
    sub, nodes = graph.ego_subgraph(snap.follow_matrix(), ctx.user, depth=2)
    coo = sub.tocoo()
    und = graph.tutorial_graph(coo.row, coo.col, len(nodes))
    center = int(np.flatnonzero(nodes == ctx.user)[0])
    scores = graph.personalized_pagerank(und, center, alpha=ctx.settings.alpha)
    vec = np.zeros(snap.n_accounts)
    vec[nodes] = scores
    ctx._cache["tppr"] = vec
    return vec


def hop_distance(ctx: UserContext, accounts: np.ndarray) -> np.ndarray:
    """Follow-graph distance from the user: 1 (followed), 2 (followed by a followed account),
    3 meaning "3 or more"."""
    if "hop2" not in ctx._cache:
        m = ctx.snap.follow_matrix()
        two = np.zeros(ctx.snap.n_accounts, dtype=bool)
        if len(ctx.following):  # the followed rows' entries, without scipy's row slicing
            two[m.indices[_entries(m, ctx.following)[0]]] = True
        ctx._cache["hop2"] = two
    out = np.full(len(accounts), 3, dtype=np.int8)
    out[ctx._cache["hop2"][accounts]] = 2
    out[ctx.follows_mask()[accounts]] = 1
    return out
