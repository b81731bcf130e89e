"""Feeds for many users from one snapshot, with no store access: the pure batch path.

:func:`recommend_batch` is what :meth:`discovery.Engine.feed` runs for one user, the evaluation
harness and the simulator run for many, and ``discovery batch candidates`` runs over every user
(locally or on Ray workers, which hold the snapshot's arrays and nothing else). Everything a
feed needs beyond the snapshot — the user's saved weights and blocked accounts — is passed in as
:class:`UserPrefs`, read from the store once, up front, by the caller.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError
from ..settings import Settings
from ..signals.clusters import use_tag_vectors
from ..snapshot import Snapshot
from .context import UserContext, user_context
from .feedkinds import PUBLIC_KINDS
from .picks import Pick
from .pipeline import Pipeline
from .rankers import get_ranker

__all__ = ["FeedRequest", "UserPrefs", "context_for", "recommend", "recommend_batch"]


@dataclass(frozen=True)
class UserPrefs:
    """What a user saved that ranking honours: score weights (``w_*`` settings) and the
    handles of blocked accounts. Read from the store by the caller
    (``UserPrefs.from_saved(store.user_settings(account_id))``)."""

    weights: Mapping[str, float] = field(default_factory=dict)
    blocked: tuple[str, ...] = ()

    @classmethod
    def from_saved(cls, saved: Mapping[str, Any]) -> UserPrefs:
        weights = {k: float(v) for k, v in saved.get("weights", {}).items() if k.startswith("w_")}
        return cls(weights, tuple(str(h) for h in saved.get("blocked", [])))

    def settings(self, base: Settings) -> Settings:
        """``base`` overridden by the saved weights."""
        return base.replace(**self.weights) if self.weights else base


NO_PREFS = UserPrefs()


@dataclass(frozen=True)
class FeedRequest:
    """One feed asked of every user in a batch: kind, length, ranker and mix."""

    kind: str = "blend"
    k: int = 10
    ranker: str = "default"
    mix: str = "score"

    def check(self) -> None:
        if self.kind not in PUBLIC_KINDS:
            raise InputError(
                f"unknown feed kind {self.kind!r}; expected one of {', '.join(PUBLIC_KINDS)}"
            )
        if self.mix not in ("score", "random"):
            raise InputError(f"unknown mix {self.mix!r}; expected score or random")
        if self.k < 1:
            raise InputError(f"k must be at least 1, got {self.k}")


def context_for(
    snap: Snapshot,
    user: int,
    settings: Settings,
    prefs: UserPrefs = NO_PREFS,
    *,
    override: Settings | None = None,
) -> UserContext:
    """The ranking context of account index ``user``: ``override`` when given, else
    ``settings`` with the user's saved weights; blocked handles unknown to the snapshot are
    ignored."""
    blocked = [snap.account_index(h) for h in prefs.blocked]
    s = override if override is not None else prefs.settings(settings)
    return user_context(snap, user, s, np.array([b for b in blocked if b >= 0], dtype=np.int64))


def recommend(
    ctx: UserContext,
    request: FeedRequest,
    artifacts: Mapping[str, Any] | None = None,
    *,
    factors: bool = True,
) -> tuple[str, list[Pick]]:
    """One feed for the user of ``ctx``: the ranker's name and the picks, best first (without
    ``factors``, the picks of a score-ordered kind carry none)."""
    request.check()
    rk = get_ranker(request.ranker, ctx.settings, artifacts or {})
    run = Pipeline(ctx, rk, artifacts, factors=factors)
    return rk.name, run.picks("random" if request.mix == "random" else request.kind, request.k)


def recommend_batch(
    snap: Snapshot,
    users: Iterable[int],
    settings: Settings,
    prefs: Mapping[int, UserPrefs] | None = None,
    request: FeedRequest | None = None,
    artifacts: Mapping[str, Any] | None = None,
) -> list[list[Pick]]:
    """Feeds for ``users`` (account indexes) from one snapshot, in order.

    ``prefs`` maps an account index to its saved preferences (absent: none). The result is,
    item for item, what :meth:`discovery.Engine.feed` serves each user at the snapshot's
    ``now`` (tested). Nothing here reads the store, so a batch worker needs only the
    snapshot's arrays.
    """
    request = request or FeedRequest()
    request.check()
    prefs = prefs or {}
    if artifacts and "tag_vectors" in artifacts:  # the clusters an engine would use
        use_tag_vectors(snap, artifacts["tag_vectors"])
    out: list[list[Pick]] = []
    for user in users:
        ctx = context_for(snap, int(user), settings, prefs.get(int(user), NO_PREFS))
        out.append(recommend(ctx, request, artifacts)[1])
    return out


def check_users(snap: Snapshot, users: Sequence[int]) -> None:
    """Raise :class:`InputError` for an account index outside the snapshot."""
    bad = [u for u in users if not 0 <= int(u) < snap.n_accounts]
    if bad:
        raise InputError(f"no account with index {bad[0]} (the snapshot has {snap.n_accounts})")
