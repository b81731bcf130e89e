"""The ``replay`` arm: the generator's own exposure process, with the engine out of the loop.

:func:`discovery.world.interactions.simulate` shows a user posts from four sources — a random
followee's post (share ``in_network_share``, 70 %), a friend of a friend's, a globally popular
post (weight :math:`\\sqrt{\\pi_a + 0.05}\\,q_p`) and a post of a topic drawn from the user's
interests — each seen after an exponential delay (8 hours in-network, 2 days otherwise). On a
simulated day the same process runs at serving time: a source's post is drawn with the weight
:math:`e^{-\\text{age}/\\text{delay}}`, the density of that delay at the post's age, among the
window's posts. As in the generator a post is never shown to a user twice and never their own.
It serves as many posts a day as the generator exposes (:math:`\\mathrm{Poisson}(I a_u / W)`),
every one looked at. This arm checks the simulator: it must reproduce the history's like rate and in-network share.
"""

from __future__ import annotations

import numpy as np

from .. import setops
from ..seed import child_rng
from .arms import Arm, Day

__all__ = ["ReplayArm", "weighted_pick"]


def weighted_pick(
    cum: np.ndarray, ptr: np.ndarray, groups: np.ndarray, r: np.ndarray
) -> np.ndarray:
    """For each group, a member drawn with probability proportional to its weight.

    ``cum`` is the running sum of the weights of members sorted by group, ``ptr`` the group
    boundaries (CSR); returns positions in that order, ``-1`` for an empty group.

    >>> cum = np.cumsum([1.0, 3.0, 2.0]); ptr = np.array([0, 2, 2, 3])
    >>> weighted_pick(cum, ptr, np.array([0, 0, 1, 2]), np.array([0.2, 0.5, 0.5, 0.9])).tolist()
    [0, 1, -1, 2]
    """
    lo, hi = ptr[groups], ptr[groups + 1]
    base = np.where(lo > 0, cum[np.maximum(lo - 1, 0)], 0.0)
    top = np.where(hi > 0, cum[np.maximum(hi - 1, 0)], 0.0)
    j = np.searchsorted(cum, base + r * (top - base), side="right")
    return np.where(hi > lo, np.clip(j, lo, np.maximum(hi - 1, lo)), -1)


def _csr(keys: np.ndarray, weights: np.ndarray, n: int):  # type: ignore[no-untyped-def]
    order = np.argsort(keys, kind="stable")
    return order, np.searchsorted(keys[order], np.arange(n + 1)), np.cumsum(weights[order])


class ReplayArm(Arm):
    name = "replay"
    describe = "the generator's exposure process (engine out of the loop)"
    looks_at_all = True  # the generator's exposures are impressions: no positions

    def serve(self, day: Day, users: np.ndarray, times: np.ndarray) -> list[np.ndarray]:
        world, truth = day.world, day.world.truth
        n = truth.n_accounts
        gen = child_rng(day.seed, "simulation", "replay", day.index)
        win = day.window
        age = np.maximum(0, day.start - truth.post_time[win]).astype(np.float64)
        w_in, w_out = np.exp(-age / (8 * 3600.0)), np.exp(-age / (2 * 86_400.0))
        author = truth.post_author[win].astype(np.int64)
        a_order, a_ptr, a_cum_out = _csr(author, w_out, n)
        topics = truth.theta.shape[1]
        t_order, t_ptr, t_cum = _csr(truth.post_topic[win].astype(np.int64), w_out, topics)
        pop_w = np.sqrt(truth.popularity[author] + 0.05) * truth.post_quality[win] * w_out
        pop_cum = np.cumsum(pop_w)
        src, dst = truth.follow_keys // n, truth.follow_keys % n
        indptr = np.searchsorted(src, np.arange(n + 1))
        deg = np.diff(indptr)

        def neighbour(nodes: np.ndarray) -> np.ndarray:
            d = deg[nodes]
            j = indptr[nodes] + (gen.random(len(nodes)) * d).astype(np.int64)
            return np.where(d > 0, dst[np.minimum(j, max(len(dst) - 1, 0))], -1)

        # The generator's intensity: Poisson(I a_u / W) exposures a day, spread over the
        # days the user opens the app (probability 1 - e^{-r a_u}).
        act = world.activity[users]
        mean = world.impressions_per_user * act / world.window_days
        wanted = gen.poisson(mean / (1.0 - np.exp(-day.opens * act)))
        draws = 3 * max(int(wanted.max(initial=0)), 1)  # room for own, repeated, empty draws
        sess = np.repeat(np.arange(len(users)), draws)
        u = np.asarray(users, np.int64)[sess]
        inside = (gen.random(len(u)) < world.in_network_share) & (deg[u] > 0)
        source = np.where(inside, 0, gen.integers(1, 4, len(u)))
        followee = neighbour(u)
        fof = np.full(len(u), -1, dtype=np.int64)
        fof[followee >= 0] = neighbour(followee[followee >= 0])
        pos = np.full(len(u), -1, dtype=np.int64)
        r = gen.random(len(u))
        sel = (source == 1) & (fof >= 0)
        j = weighted_pick(a_cum_out, a_ptr, fof[sel], r[sel])
        pos[sel] = np.where(j >= 0, a_order[np.maximum(j, 0)], -1)
        # In-network: the generator picks a followee, then one of their posts of the whole
        # window, seen after the delay; conditional on being seen now, post p of followee a
        # is drawn with weight e^{-age/8h} / r_a (r_a: a's expected posts in the window).
        rate_in = w_in / np.maximum(world.post_rate[author], 1e-9)
        for s in setops.unique(np.flatnonzero(source == 0) // draws).tolist():
            mine = dst[indptr[users[s]] : indptr[users[s] + 1]]
            pool = np.flatnonzero(np.isin(author, mine))
            slots = np.flatnonzero(source[s * draws : (s + 1) * draws] == 0) + s * draws
            if len(pool) == 0:
                continue
            cum = np.cumsum(rate_in[pool])
            pick = np.searchsorted(cum, r[slots] * cum[-1], side="right")
            pos[slots] = pool[np.minimum(pick, len(pool) - 1)]
        sel = source == 2
        if len(win) and pop_cum[-1] > 0:
            pos[sel] = np.minimum(np.searchsorted(pop_cum, r[sel] * pop_cum[-1]), len(win) - 1)
        sel = source == 3
        cdf = np.cumsum(truth.theta[u[sel]], axis=1)
        topic = np.minimum(
            (cdf < gen.random(sel.sum())[:, None] * cdf[:, -1:]).sum(axis=1), topics - 1
        )
        j = weighted_pick(t_cum, t_ptr, topic, r[sel])
        pos[sel] = np.where(j >= 0, t_order[np.maximum(j, 0)], -1)
        ok = pos >= 0
        post = np.where(ok, win[np.maximum(pos, 0)], -1)
        ok &= truth.post_author[np.maximum(post, 0)] != u
        keys = (u << 32) | np.maximum(post, 0)
        if len(day.shown_before):
            hit = np.searchsorted(day.shown_before, keys)
            ok &= ~(
                (hit < len(day.shown_before))
                & (day.shown_before[np.minimum(hit, len(day.shown_before) - 1)] == keys)
            )
        out = []
        for s in range(len(users)):
            chosen = post[s * draws : (s + 1) * draws][ok[s * draws : (s + 1) * draws]]
            _, first = np.unique(chosen, return_index=True)
            out.append(chosen[np.sort(first)][: wanted[s]])
        return out
