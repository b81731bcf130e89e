"""``explain``: every factor of one post for one user, and where each came from."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..store.model import to_iso
from .affinity import hop_distance
from .context import UserContext
from .evidence import POPULAR, Names
from .feedkinds import explained_sources
from .filters import filter_reasons
from .picks import evidence_of
from .pipeline import gather
from .rankers import RANKERS
from .reasons import reason_for
from .stats import follower_counts

__all__ = ["explain_post"]


def explain_post(
    ctx: UserContext, p: int, artifacts: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Explain post index ``p`` for the context's user: the sources that propose it (with their
    evidence), the filters that would drop it (the feeds' own filter components, in the order
    feeds run them: a feed that removed it recorded the first of these its kind applies), every
    ranker's factors with their origins, and the human reason."""
    snap, s = ctx.snap, ctx.settings
    a = int(snap.post_author[p])
    author = str(snap.handle[a]) if a >= 0 else None
    followed = a >= 0 and bool(ctx.follows_mask()[a])
    posts = np.array([p])
    evidence = evidence_of(ctx, gather(ctx, explained_sources(), artifacts), p)
    names = Names.of(snap)
    rankers: dict[str, dict[str, Any]] = {}
    proposed = {name: np.array([True]) for name in evidence}
    for name in RANKERS:
        ranker = RANKERS.build(name, s, artifacts)
        if ranker.name != name:  # a stand-in (no learned model: the default) is not repeated
            continue
        extra = {"proposals": proposed} if getattr(ranker, "uses_proposals", False) else {}
        scored = ranker.score(ctx, posts, discovery=not followed, **extra)
        rankers[name] = {
            "score": float(scored.scores[0]),
            "factors": {k: float(v[0]) for k, v in scored.factors.items()},
        }
        if hasattr(ranker, "contributions"):  # each feature's share of a learned score
            rankers[name]["contributions"] = ranker.contributions(ctx, posts, proposed)[0]
    d = rankers["default"]["factors"]
    n_following = len(ctx.following)
    origins = {
        "recency": f"2^(-age / {s.half_life_hours:g} h); age "
        f"{(snap.now - snap.post_taken[p]) / 3600:.1f} h",
        "popularity": f"smoothed (likes + 2·comments) per follower of the author: "
        f"{snap.post_likes[p]} likes, {snap.post_comments[p]} comments, "
        f"{int(follower_counts(ctx.snap)[a]) if a >= 0 else 0} followers, "
        f"{int(ctx.stats.clicks[p])} clicks logged",
        "affinity": f"noisy-or of PPR {d['ppr']:.3g} (mode {s.ppr_mode}, alpha {s.alpha}, "
        f"{'weighted' if s.weighted_edges else 'unweighted'} follow graph, you follow "
        f"{n_following}) and your {int(d['weight'])} likes of @{author}'s posts in 365 days",
        "interest": "cosine of your hashtag profile and the post's tags: "
        + ", ".join(
            f"#{snap.tag_name[t]}"
            for t in snap.post_tags_matrix()[p].indices  # type: ignore[union-attr]
        ),
        "demote": f"{s.hidden_author_penalty}^(posts of @{author} you hid: "
        f"{ctx.hidden_authors.get(a, 0)})",
        "weight": "the tutorial's weight: your likes on the author's posts, 0.5 when none",
        "time_score": "exp(-(now - taken_at) / 1e5 s)",
        "ppr": "personalized PageRank of the author from you",
    }
    hops = int(hop_distance(ctx, np.array([max(a, 0)]))[0]) if a >= 0 else None
    reason = reason_for(
        evidence or {"popular": POPULAR}, author, rankers["default"]["factors"], names
    )
    return {
        "user": str(snap.handle[ctx.user]),
        "post_id": int(snap.post_id[p]),
        "author": author,
        "taken_at": to_iso(snap.post_taken[p]),
        "hops": hops,
        "sources": {name: ev.to_json(names) for name, ev in evidence.items()},
        "filtered_by": filter_reasons(ctx, p),
        "rankers": rankers,
        "weights": s.weights(),
        "origins": origins,
        "reason": reason,
    }
