"""Per-user candidate lists for a block of users, from the snapshot alone.

A block is the unit of work of ``discovery batch candidates``: the same function runs in the
calling process (``--engine local``) and in Ray tasks (``--engine ray``), so both write the same
rows. Rows carry store ids (not snapshot indexes), the candidate sources and their evidence as
``explain`` shows it, and the snapshot counter the list was computed at.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import setops
from ..ranking.affinity import user_ppr
from ..ranking.batch import NO_PREFS, FeedRequest, UserPrefs, context_for, recommend
from ..ranking.collaborative import PRIME_USERS, prime_window_scores
from ..ranking.context import UserContext
from ..ranking.evidence import Names
from ..ranking.precomputed import encode_evidence
from ..settings import Settings
from ..signals.clusters import use_tag_vectors
from ..snapshot import Snapshot
from ..store.precomputed import CandidateList

__all__ = ["BatchJob", "candidate_block", "user_blocks"]


@dataclass(frozen=True)
class BatchJob:
    """What every block of a run shares: the request (kind, ``k``, ranker), the engine
    settings, the snapshot counter and the time stamped on the rows."""

    request: FeedRequest
    settings: Settings
    counter: int
    computed_at: int


def user_blocks(users: Sequence[int], size: int) -> list[list[int]]:
    """``users`` cut into consecutive blocks of at most ``size``.

    >>> user_blocks([5, 6, 7, 8, 9], 2)
    [[5, 6], [7, 8], [9]]
    """
    if size < 1:
        raise ValueError(f"block size must be at least 1, got {size}")
    return [list(users[i : i + size]) for i in range(0, len(users), size)]


#: Besides the list's authors and the accounts the user follows, a list keeps the PageRank of
#: the user's ``NEAREST`` nearest accounts (what an interests feed's authors mostly are).
NEAREST = 200


def candidate_block(
    snap: Snapshot,
    users: Sequence[int],
    job: BatchJob,
    prefs: Mapping[int, UserPrefs] | None = None,
    artifacts: Mapping[str, Any] | None = None,
) -> list[CandidateList]:
    """The candidate lists of ``users`` (account indexes): each user's feed of ``job.request``
    (``k`` long, as :func:`~discovery.ranking.batch.recommend_batch` computes it), best
    first, one :class:`~discovery.store.precomputed.CandidateList` each (its JSON encoded
    here, so a Ray driver only writes), with the user's PageRank at the list's authors, the
    accounts they follow and their :data:`NEAREST` nearest accounts."""
    job.request.check()
    prefs = prefs or {}
    if artifacts and "tag_vectors" in artifacts:  # the clusters the serving engine uses
        use_tag_vectors(snap, artifacts["tag_vectors"])
    names = Names.of(snap)
    als = (artifacts or {}).get("als")
    out: list[CandidateList] = []
    contexts: list[UserContext] = []
    for user in users:
        if not contexts:  # the next users' ALS windows, scored in one matrix product
            contexts = [
                context_for(snap, int(u), job.settings, prefs.get(int(u), NO_PREFS))
                for u in users[len(out) : len(out) + PRIME_USERS]
            ][::-1]
            prime_window_scores(contexts, als)
        ctx = contexts.pop()
        picks = recommend(ctx, job.request, artifacts, factors=False)[1]  # a list keeps none
        posts = np.fromiter((p.post for p in picks), np.int64, len(picks))
        out.append(
            CandidateList.build(
                int(snap.account_id[user]),
                job.request.kind,
                snap.post_id[posts],
                np.round(np.fromiter((p.score for p in picks), np.float64, len(picks)), 12),
                [p.sources for p in picks],
                [  # keys sorted where the list is encoded
                    {n: encode_evidence(ev, names) for n, ev in p.evidence.items()} for p in picks
                ],
                job.counter,
                job.computed_at,
                ppr=_affinity(ctx, snap.post_author[posts]),
            )
        )
    return out


def _affinity(ctx: UserContext, authors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The user's PageRank at ``authors``, the followed accounts and the nearest ones: account
    store ids, sorted, and the values."""
    snap = ctx.snap
    ppr = user_ppr(ctx)
    reached = ppr.nodes  # the accounts it reaches, sorted, with ppr.values
    if len(reached) > NEAREST:
        reached = reached[np.argpartition(-ppr.values, NEAREST - 1)[:NEAREST]]
    accounts = setops.union(setops.union(authors[authors >= 0], ctx.following), reached)
    ids = np.asarray(snap.account_id[accounts], np.int64)
    order = np.argsort(ids, kind="stable")
    return ids[order], np.asarray(ppr[accounts], np.float64)[order]
