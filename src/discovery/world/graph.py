"""The follow graph: homophily, preferential attachment, triadic closure and reciprocity.

Edges come in five vectorised rounds (no per-edge Python loops, chunked by user blocks):

1. **Community** — each person follows members of their home community, drawn in proportion to
   a heavy-tailed popularity (*fitness*, Bianconi & Barabási 2001) and accepted with probability
   :math:`0.2 + 0.8\\cos(\\theta_u, \\theta_v)` (interest homophily).
2. **Interest** — a topic :math:`t \\sim \\theta_u`, then an account keen on *t* anywhere in the
   network, drawn in proportion to :math:`\\text{fitness}_v\\,\\theta_{vt}`.
3. **Brands** — a person follows a brand with probability :math:`0.6\\sum_{t \\in b}\\theta_{ut}`.
4. **Triadic closure** — two-step walks *u → v → w* add *u → w*. A random followee of a random
   followee is drawn in proportion to in-degree, so this round is also preferential attachment
   (Barabási & Albert 1999) and closes triangles (Holme & Kim 2002).
5. **Reciprocity** — friends follow back: within a community with probability 0.4, across
   communities 0.1; brands never do.
"""

from __future__ import annotations

import numpy as np

from .. import setops
from ..seed import child_rng
from .accounts import Accounts
from .config import WorldConfig
from .stats import unique_sorted
from .themes import Theme, theme_named

__all__ = ["FollowGraph", "make_follows"]

_SHARES = (0.5, 0.2, 0.3)  # community, interest, triadic shares of a person's own follows


class FollowGraph:
    """Directed edges as sorted, unique ``(src, dst)`` index arrays plus follow times."""

    def __init__(self, src: np.ndarray, dst: np.ndarray, created_at: np.ndarray, n: int) -> None:
        self.src, self.dst, self.created_at, self.n = src, dst, created_at, n
        self.indptr = np.searchsorted(src, np.arange(n + 1)).astype(np.int64)

    def __len__(self) -> int:
        return len(self.src)

    def followees(self, i: int) -> np.ndarray:
        return self.dst[self.indptr[i] : self.indptr[i + 1]]

    def has_edge(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Vectorised membership test for edges ``a[k] → b[k]``."""
        keys = self.src.astype(np.int64) * self.n + self.dst
        q = np.asarray(a, dtype=np.int64) * self.n + np.asarray(b, dtype=np.int64)
        pos = np.searchsorted(keys, q)
        pos = np.minimum(pos, len(keys) - 1)
        return np.asarray(keys[pos] == q) if len(keys) else np.zeros(len(q), dtype=bool)


def make_follows(cfg: WorldConfig, acc: Accounts) -> FollowGraph:
    """Build the follow graph for the accounts (see the module docstring for the model)."""
    rng = child_rng(cfg.seed, "follows")
    theme = theme_named(cfg.theme)
    n, nb = acc.n, cfg.n_brands
    people = np.arange(nb + 1, n)
    unit = acc.theta / np.maximum(np.linalg.norm(acc.theta, axis=1, keepdims=True), 1e-12)
    unit = unit.astype(np.float32)

    # Own-follow budget per person: lognormal around the target (reciprocity and brands add
    # the rest of the average out-degree).
    target = cfg.follows_per_user / 1.05
    budget = np.zeros(n)
    budget[people] = target * rng.lognormal(-0.245, 0.7, len(people))
    budget = np.minimum(budget, 2_000)

    comm_pool = _community_pool(acc, people)
    topic_pool = _topic_pool(acc, people)
    parts_src, parts_dst = [], []
    for lo in range(0, len(people), cfg.chunk_users):
        block = people[lo : lo + cfg.chunk_users]
        brng = child_rng(cfg.seed, "follows", lo)
        for s, d in (
            _community_edges(brng, block, budget, acc, unit, comm_pool),
            _interest_edges(brng, block, budget, acc, topic_pool),
            _brand_edges(brng, block, acc, nb, theme),
        ):
            parts_src.append(s)
            parts_dst.append(d)
    src, dst = _dedupe(np.concatenate(parts_src), np.concatenate(parts_dst), n)
    src, dst = _triadic(rng, src, dst, budget, n, cfg.chunk_users)
    src, dst = _reciprocate(rng, src, dst, acc)
    src, dst = _me(rng, src, dst, acc, cfg, theme)
    # Follow times: after both accounts exist, skewed towards the past.
    start = np.maximum(acc.created_at[src], acc.created_at[dst])
    created = start + ((cfg.now - start) * rng.random(len(src)) ** 2).astype(np.int64)
    return FollowGraph(src.astype(np.int32), dst.astype(np.int32), created, n)


def _community_pool(acc: Accounts, people: np.ndarray) -> tuple[np.ndarray, ...]:
    order = people[np.argsort(acc.community[people], kind="stable")]
    cum = np.cumsum(acc.fitness[order])
    comms = acc.community[order]
    n_comm = int(acc.community.max()) + 1
    start = np.searchsorted(comms, np.arange(n_comm), side="left")
    end = np.searchsorted(comms, np.arange(n_comm), side="right")
    lo = np.where(start > 0, cum[np.maximum(start - 1, 0)], 0.0)
    hi = np.where(end > 0, cum[np.maximum(end - 1, 0)], 0.0)
    return order, cum, lo, hi


def _topic_pool(acc: Accounts, people: np.ndarray) -> tuple[np.ndarray, ...]:
    members, weights, bounds = [], [], [0]
    for t in range(acc.theta.shape[1]):
        m = people[acc.theta[people, t] > 0.1]
        members.append(m)
        weights.append(acc.fitness[m] * acc.theta[m, t])
        bounds.append(bounds[-1] + len(m))
    order = np.concatenate(members)
    cum = np.cumsum(np.concatenate(weights))
    b = np.array(bounds)
    lo = np.where(b[:-1] > 0, cum[np.maximum(b[:-1] - 1, 0)], 0.0)
    hi = np.where(b[1:] > 0, cum[np.maximum(b[1:] - 1, 0)], 0.0)
    return order, cum, lo, hi


def _draw(rng: np.random.Generator, pool: tuple[np.ndarray, ...], which: np.ndarray) -> np.ndarray:
    # Weighted draw inside sub-pool `which` by inverse CDF on the global cumulative weights.
    order, cum, lo, hi = pool
    r = lo[which] + rng.random(len(which)) * (hi[which] - lo[which])
    idx = np.minimum(np.searchsorted(cum, r, side="right"), len(order) - 1)
    return np.asarray(order[idx])


def _community_edges(rng, block, budget, acc, unit, pool):  # type: ignore[no-untyped-def]
    m = rng.poisson(budget[block] * _SHARES[0] / 0.55)
    src = np.repeat(block, m)
    dst = _draw(rng, pool, acc.community[src])
    sim = np.einsum("ij,ij->i", unit[src], unit[dst])
    keep = rng.random(len(src)) < 0.2 + 0.8 * sim
    return src[keep], dst[keep]


def _interest_edges(rng, block, budget, acc, pool):  # type: ignore[no-untyped-def]
    m = rng.poisson(budget[block] * _SHARES[1])
    src = np.repeat(block, m)
    cdf = np.cumsum(acc.theta[src], axis=1)
    topic = (cdf < rng.random(len(src))[:, None] * cdf[:, -1:]).sum(axis=1)
    topic = np.minimum(topic, acc.theta.shape[1] - 1)
    return src, _draw(rng, pool, topic)


def _brand_edges(rng, block, acc, nb, theme: Theme):  # type: ignore[no-untyped-def]
    srcs, dsts = [], []
    for b in range(nb):
        topics = [theme.topic_index(t) for t in theme.brands[b][2]]
        p = np.minimum(0.9, 0.6 * acc.theta[block][:, topics].sum(axis=1))
        hit = block[rng.random(len(block)) < p]
        srcs.append(hit)
        dsts.append(np.full(len(hit), 1 + b))
    return np.concatenate(srcs), np.concatenate(dsts)


def _dedupe(src: np.ndarray, dst: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    keys = unique_sorted(src.astype(np.int64) * n + dst.astype(np.int64))
    s, d = keys // n, keys % n
    ok = s != d
    return s[ok], d[ok]


def _triadic(rng, src, dst, budget, n, chunk):  # type: ignore[no-untyped-def]
    indptr = np.searchsorted(src, np.arange(n + 1))
    deg = np.diff(indptr)
    walks = rng.poisson(budget * _SHARES[2])
    walks[deg == 0] = 0
    new_s, new_d = [], []
    for lo in range(0, n, chunk):
        u = np.repeat(np.arange(lo, min(n, lo + chunk)), walks[lo : lo + chunk])
        v = dst[indptr[u] + (rng.random(len(u)) * deg[u]).astype(np.int64)]
        ok = deg[v] > 0
        u, v = u[ok], v[ok]
        w = dst[indptr[v] + (rng.random(len(v)) * deg[v]).astype(np.int64)]
        new_s.append(u)
        new_d.append(w)
    return _dedupe(np.concatenate([src, *new_s]), np.concatenate([dst, *new_d]), n)


def _reciprocate(rng, src, dst, acc):  # type: ignore[no-untyped-def]
    people = (acc.kind[src] == 0) & (acc.kind[dst] == 0)
    same = acc.community[src] == acc.community[dst]
    p = np.where(same, 0.4, 0.1) * people
    back = rng.random(len(src)) < p
    return _dedupe(np.concatenate([src, dst[back]]), np.concatenate([dst, src[back]]), acc.n)


def _me(rng, src, dst, acc, cfg, theme: Theme):  # type: ignore[no-untyped-def]
    """The demo user follows ~40 accounts: community friends, like-minded people, two brands."""
    keep = src != 0
    src, dst = src[keep], dst[keep]
    nb = cfg.n_brands
    mates = np.flatnonzero(acc.community == acc.community[0])
    mates = mates[mates > nb]
    score = np.log(acc.fitness[mates]) + rng.gumbel(size=len(mates))
    friends = mates[np.argsort(-score)[:28]]
    mine_topics = [theme.topic_index(t) for t, _ in theme.me_interests]
    keen = np.flatnonzero((acc.theta[:, mine_topics].sum(axis=1) > 0.6) & (acc.kind == 0))
    keen = setops.setdiff(keen, np.concatenate([friends, [0]]))
    far = rng.choice(keen, size=min(40 - len(friends) - 2, len(keen)), replace=False)
    handles = [b[0] for b in theme.brands]
    brands = np.array([1 + handles.index(h) for h in theme.me_brands])
    mine = np.concatenate([friends, far, brands])
    back = friends[rng.random(len(friends)) < 0.7]
    src = np.concatenate([src, np.zeros(len(mine), dtype=src.dtype), back])
    dst = np.concatenate([dst, mine, np.zeros(len(back), dtype=dst.dtype)])
    return _dedupe(src, dst, acc.n)
