"""Warm-up: build what an engine builds on first use before the first request needs it.

Every snapshot-wide structure a feed reads — the follow graph and PageRank state, hashtag
clusters, the tags' unit rows, exposure counts, the ALS alignment, its known users' factors
and the Gram matrix of a fold-in — is derived lazily (:mod:`discovery.snapshot.derived`). On
the large world the first feed of a worker took 20 s and a user unknown to the ALS model or
the first one with interests another 0.1–1.6 s, and under load those builds landed on whichever
requests came first: an open loop of 60 feeds/s started on a cold server never drained the
backlog (bench/README.md, "Serving from the lists"). ``serve`` warms each worker before it
accepts requests; ``bench/feeds.py`` warms before it times.

The warm-up serves every feed kind once to the account with the most interactions (the one
most likely to reach every structure: follows, likes, interests), and once to an account the
ALS model does not know, computes the features the impression log records for each of those
feeds (exposure counts, engaged columns, topics: 13 s on the first request of a large-world
worker before they were warmed too) and looks each account up by handle, as requests name them,
then touches the model's cached parts. It also gives the columns catch-ups append to their
spare room (:func:`~discovery.snapshot.load.reserve_growth`), a copy the first catch-up made
before. Nothing is written: no impression is logged and no state is marked, and what
``/metrics`` reports (the feeds served from stored lists or online, the PageRank cache's hits)
does not count it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .ranking.affinity import ppr_state
from .ranking.feedkinds import PUBLIC_KINDS

if TYPE_CHECKING:
    from .engine import Engine

__all__ = ["WarmUp", "warm_up"]


@dataclass
class WarmUp:
    """What a warm-up did: the accounts it served, the derived structures it built and how
    long it took."""

    users: list[int] = field(default_factory=list)
    built: list[str] = field(default_factory=list)
    seconds: float = 0.0


def warm_up(engine: Engine) -> WarmUp:
    """Serve each feed kind once to the most active account (and to one the ALS model does
    not know, when there is a model) and build the model's cached parts; see the module
    docstring. An empty world is left as it is."""
    started = time.perf_counter()
    snap = engine.snapshot
    before = set(snap.derived.keys())
    out = WarmUp()
    if snap.n_accounts == 0:
        return out
    served = dict(engine.candidate_counts)  # /metrics counts requests, not the warm-up
    cache = ppr_state(snap).cache
    looked_up = (cache.hits, cache.kept, cache.misses)
    counts = np.bincount(snap.inter_user, minlength=snap.n_accounts)
    out.users.append(int(np.argmax(counts)))
    loaded = engine.artifacts.get("als")
    if loaded is not None:
        aligned = loaded.aligned(snap)
        # the taste neighbours' index (read from the artifact once) and its rows as accounts,
        # or without one the co-likers' factor block for brute force
        indexed = aligned.model.neighbour_index is not None
        _ = aligned.account_of_row if indexed else aligned.known_users
        _ = aligned.model.gram  # every fold-in's YᵀY
        unknown = np.flatnonzero((aligned.user_row < 0) & (counts[: len(aligned.user_row)] > 0))
        if len(unknown):
            out.users.append(int(unknown[0]))
    from .ranking._kernels import warm_kernels  # numba: not loaded with the engine

    warm_kernels()  # what a follow-graph rebuild runs, compiled before it comes
    from .signals.features import served_features  # the impression log's features
    from .snapshot.load import reserve_growth

    reserve_growth(snap)  # the first catch-up's copy of the appendable columns, made now
    for user in out.users:
        engine.user_index(str(snap.handle[user]))  # requests name users by handle
        for kind in PUBLIC_KINDS:
            served_features(engine, user, engine.feed(user, k=10, kind=kind).items)
        engine.interests(user, k=10)
    engine.candidate_counts.update(served)
    cache.hits, cache.kept, cache.misses = looked_up  # nor the PageRank cache's hit rate
    out.built = sorted(set(snap.derived.keys()) - before)
    out.seconds = time.perf_counter() - started
    return out
