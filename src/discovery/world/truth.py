"""Ground truth of a synthetic world and the utility that engagement was sampled from.

The probability that user *u* likes post *p* (by author *a*, topic *t*) when shown it at time
:math:`\\tau` is

.. math::

    U(u, p, \\tau) = \\sigma\\big(b + w_i\\,\\theta_{ut} + f_{ua}(w_f + w_a\\,\\alpha_{ua})
        + w_m f_{ua} f_{au} + w_q (q_p - \\tfrac12) + w_{pop}\\,\\pi_a
        - w_{age}\\,\\Delta_{days} + c_p \\ln \\rho\\big)

with :math:`\\theta_{ut}` the user's interest in the topic, :math:`f_{ua}` 1 when *u* follows
*a*, :math:`\\alpha_{ua} \\in [0, 1)` a latent tie strength per pair (a hash of the pair and the
seed — the closeness that makes people like the same friends' posts again and again, i.e. the
*past interactions* a recommender observes), :math:`q_p` post quality, :math:`\\pi_a` the
author's popularity :math:`\\ln(1 + \\text{followers}) / \\ln(1 + \\max \\text{followers})`,
:math:`\\Delta_{days}` the post's age, :math:`c_p` the clickbait flag and :math:`\\rho` the odds
factor of clickbait (:class:`discovery.world.config.UtilityParams`). An oracle ranking for *u*
at ``now`` sorts posts by :func:`utility`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields

import numpy as np

from ..store import Store, StoreError
from .config import UtilityParams

__all__ = ["Truth", "affinity", "load_truth", "utility"]


@dataclass
class Truth:
    """Everything :func:`utility` needs; arrays indexed by ``account id - 1`` / ``post id - 1``."""

    theta: np.ndarray  # (accounts, topics)
    community: np.ndarray
    post_author: np.ndarray
    post_topic: np.ndarray
    post_quality: np.ndarray
    post_clickbait: np.ndarray
    post_time: np.ndarray
    follow_keys: np.ndarray  # sorted int64 src * n + dst (account indices)
    popularity: np.ndarray
    params: UtilityParams
    seed: int
    now: int

    @property
    def n_accounts(self) -> int:
        return int(self.theta.shape[0])

    def follows(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Whether account index ``a`` follows ``b`` (vectorised)."""
        keys = self.follow_keys
        q = np.asarray(a, dtype=np.int64) * self.n_accounts + np.asarray(b, dtype=np.int64)
        if len(keys) == 0:
            return np.zeros(q.shape, dtype=bool)
        pos = np.minimum(np.searchsorted(keys, q), len(keys) - 1)
        return np.asarray(keys[pos] == q)

    @classmethod
    def build(cls, theta, community, posts, src, dst, params, seed, now):  # type: ignore[no-untyped-def]
        """Assemble from generator arrays (``posts`` is a :class:`~discovery.world.posts.Posts`)."""
        n = theta.shape[0]
        keys = np.sort(np.asarray(src, dtype=np.int64) * n + np.asarray(dst, dtype=np.int64))
        followers = np.bincount(np.asarray(dst, dtype=np.int64), minlength=n)
        pop = np.log1p(followers) / max(np.log1p(followers.max()) if n else 1.0, 1e-12)
        return cls(
            theta, community, posts.author, posts.topic, posts.quality, posts.clickbait,
            posts.taken_at, keys, pop, params, int(seed), int(now),
        )  # fmt: skip


def affinity(seed: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Latent tie strength in [0, 1) of each pair ``(a[k], b[k])`` (SplitMix64 hash, stable).

    >>> float(affinity(1, np.array([3]), np.array([4]))[0]) == float(affinity(1, [3], [4])[0])
    True
    """
    x = (np.asarray(a, dtype=np.uint64) << np.uint64(32)) ^ np.asarray(b, dtype=np.uint64)
    x = x ^ np.uint64((int(seed) * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF)
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return np.asarray((x >> np.uint64(11)).astype(np.float64) / float(1 << 53))


def utility_logit(
    truth: Truth, user: np.ndarray, post: np.ndarray, at=None
) -> dict[str, np.ndarray]:  # type: ignore[no-untyped-def]
    """The terms of the utility (logit and its parts), shared by sampling and :func:`utility`."""
    w = truth.params
    u, p = np.broadcast_arrays(np.asarray(user, dtype=np.int64), np.asarray(post, dtype=np.int64))
    a = truth.post_author[p].astype(np.int64)
    topic = truth.post_topic[p].astype(np.int64)
    interest = truth.theta[u, topic]
    follow = truth.follows(u, a).astype(np.float64)
    mutual = follow * truth.follows(a, u)
    tie = follow * (w.follow + w.affinity * affinity(truth.seed, u, a)) + w.mutual * mutual
    when = truth.now if at is None else np.asarray(at)
    age_days = np.maximum(0.0, (when - truth.post_time[p]) / 86_400.0)
    bait = truth.post_clickbait[p].astype(np.float64)
    logit = (
        w.bias
        + w.interest * interest
        + tie
        + w.quality * (truth.post_quality[p] - 0.5)
        + w.popularity * truth.popularity[a]
        - w.age_per_day * age_days
        + bait * np.log(w.clickbait_like)
    )
    return {"logit": logit, "interest": interest, "follow": follow, "mutual": mutual, "bait": bait}


def utility(truth: Truth, user_idx, post_idx, at=None) -> np.ndarray:  # type: ignore[no-untyped-def]
    """P(like | shown) of posts to users: the function the world's interactions were drawn from.

    ``user_idx`` and ``post_idx`` are 0-based indices (``id - 1``), broadcast together; ``at``
    is the time of showing (default: the world's ``now``). See the module docstring.
    """
    logit = utility_logit(truth, user_idx, post_idx, at)["logit"]
    return np.asarray(1.0 / (1.0 + np.exp(-logit)))


def load_truth(store: Store) -> Truth:
    """Read the ground truth of a generated world back from its database."""
    raw = store.get_meta("world")
    if raw is None:
        raise StoreError(f"{store.path}: no synthetic-world ground truth (meta 'world' missing)")
    world = json.loads(raw)
    n = store.count("accounts")
    users = store.truth_users()
    if len(users) != n or (users and users[-1][0] != n):
        raise StoreError(f"{store.path}: truth_users does not cover accounts 1..{n}")
    theta = np.array([r[1] for r in users], dtype=np.float64)
    community = np.array([r[2] for r in users], dtype=np.int32)
    cols = store.truth_posts()

    class _Posts:  # the attributes Truth.build reads
        author = cols["author"].astype(np.int32) - 1
        taken_at = cols["taken_at"].astype(np.int64)
        topic = cols["topic"].astype(np.int16)
        quality = cols["quality"].astype(np.float64)
        clickbait = cols["clickbait"].astype(bool)

    follows = store.follow_edges()
    known = {f.name for f in fields(UtilityParams)}
    params = UtilityParams(**{k: v for k, v in world["utility"].items() if k in known})
    return Truth.build(
        theta, community, _Posts, follows[:, 0] - 1, follows[:, 1] - 1, params,
        world["seed"], int(store.get_meta("now") or world["now"]),
    )  # fmt: skip
