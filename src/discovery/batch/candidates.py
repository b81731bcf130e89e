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

from ..ranking.batch import FeedRequest, UserPrefs, recommend_batch
from ..ranking.evidence import Names
from ..ranking.precomputed import encode_evidence
from ..settings import Settings
from ..snapshot import Snapshot
from ..store.precomputed import PrecomputedRow

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


def candidate_block(
    snap: Snapshot,
    users: Sequence[int],
    job: BatchJob,
    prefs: Mapping[int, UserPrefs] | None = None,
    artifacts: Mapping[str, Any] | None = None,
) -> list[PrecomputedRow]:
    """The candidate rows of ``users`` (account indexes): each user's feed of ``job.request``
    (``k`` long), best first, as :class:`~discovery.store.precomputed.PrecomputedRow`."""
    feeds = recommend_batch(snap, users, job.settings, prefs, job.request, artifacts)
    names = Names.of(snap)
    rows: list[PrecomputedRow] = []
    for user, picks in zip(users, feeds, strict=True):
        account = int(snap.account_id[user])
        for rank, pick in enumerate(picks):
            evidence = {n: encode_evidence(ev, names) for n, ev in sorted(pick.evidence.items())}
            rows.append(
                PrecomputedRow(
                    account=account,
                    kind=job.request.kind,
                    rank=rank,
                    post=int(snap.post_id[pick.post]),
                    score=round(float(pick.score), 12),
                    sources=tuple(pick.sources),
                    evidence=evidence,
                    counter=job.counter,
                    computed_at=job.computed_at,
                )
            )
    return rows
