"""``explain``: every factor of one post for one user, and where each came from."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..snapshot import Snapshot
from ..store.model import to_iso
from .affinity import hop_distance
from .context import UserContext
from .pipeline import EXPLORE_SOURCES, evidence_of, gather
from .rankers import get_ranker
from .reasons import reason_for
from .stats import follower_counts

__all__ = ["explain_post"]


def explain_post(ctx: UserContext, p: int) -> dict[str, Any]:
    """Explain post index ``p`` for the context's user: the sources that propose it (with their
    evidence), the filters that would drop it, both rankers' factors with their origins, and
    the human reason."""
    snap, s = ctx.snap, ctx.settings
    a = int(snap.post_author[p])
    author = str(snap.handle[a]) if a >= 0 else None
    followed = a >= 0 and bool(ctx.follows_mask()[a])
    posts = np.array([p])
    evidence = evidence_of(ctx, gather(ctx, ("following", *EXPLORE_SOURCES, "popular")), p)
    filters = {
        "own post": a == ctx.user,
        "already seen": bool(np.isin(p, ctx.seen)),
        "hidden": bool(np.isin(p, ctx.hidden)),
        "author blocked": bool(np.isin(a, ctx.blocked)),
        "followed author (explore only)": followed,
        f"older than {s.window_days:g} days": bool(
            snap.post_taken[p] < snap.now - s.window_days * 86_400
        ),
    }
    rankers: dict[str, dict[str, Any]] = {}
    for name in ("default", "tutorial"):
        scored = get_ranker(name).score(ctx, posts, discovery=not followed)
        rankers[name] = {
            "score": float(scored.scores[0]),
            "factors": {k: float(v[0]) for k, v in scored.factors.items()},
        }
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
        list(evidence) or ["popular"],
        evidence,
        author,
        rankers["default"]["factors"],
        lambda i: str(snap.handle[i]),
        lambda t: str(snap.tag_name[t]),
    )
    return {
        "user": str(snap.handle[ctx.user]),
        "post_id": int(snap.post_id[p]),
        "author": author,
        "taken_at": to_iso(snap.post_taken[p]),
        "hops": hops,
        "sources": {k: _jsonable(v, snap) for k, v in evidence.items()},
        "filtered_by": [name for name, hit in filters.items() if hit],
        "rankers": rankers,
        "weights": s.weights(),
        "origins": origins,
        "reason": reason,
    }


def _jsonable(value: Any, snap: Snapshot) -> Any:
    """Evidence as JSON: likers become handles, tags become names."""
    if isinstance(value, list):
        return [str(snap.handle[i]) for i in value]
    if isinstance(value, tuple):
        return {"ppr": value[0], "hops": value[1]}
    if isinstance(value, int | np.integer):
        return f"#{snap.tag_name[int(value)]}"
    return value
