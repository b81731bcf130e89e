"""The user's ego network (1st and 2nd degree) as nodes and edges, for the network view."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import setops
from ..ranking.affinity import hop_distance, user_ppr
from ..ranking.context import UserContext

__all__ = ["ego_network"]


def _topic(ctx: UserContext, accounts: np.ndarray) -> list[str]:
    """Each account's most frequent hashtag over its own posts (its visible "topic")."""
    snap = ctx.snap
    tags = snap.post_tags_matrix()
    idf = ctx.stats.idf
    out = []
    for a in accounts:
        posts = snap.author_posts(int(a))
        if len(posts) == 0:
            out.append("")
            continue
        counts = np.asarray(tags[posts].sum(axis=0)).ravel() * idf
        out.append(str(snap.tag_name[int(np.argmax(counts))]) if counts.max() > 0 else "")
    return out


def ego_network(ctx: UserContext, depth: int = 2, max_nodes: int = 150) -> dict[str, Any]:
    """The accounts within ``depth`` follow hops of the user (at most ``max_nodes``, those with
    the highest PPR kept), with PPR, hop, whether the user follows them, a topic label, and the
    follow edges among them."""
    snap = ctx.snap
    m = snap.follow_matrix()
    frontier = np.array([ctx.user])
    reached = {ctx.user}
    for _ in range(depth):
        nxt = setops.unique(
            np.concatenate([m.indices[m.indptr[u] : m.indptr[u + 1]] for u in frontier])
        )
        nxt = np.array([x for x in nxt if x not in reached], dtype=np.int64)
        reached.update(int(x) for x in nxt)
        frontier = nxt
        if len(frontier) == 0:
            break
    ppr = user_ppr(ctx)
    others = np.array(sorted(reached - {ctx.user}), dtype=np.int64)
    if len(others) > max_nodes - 1:
        keep = np.lexsort((others, -ppr[others]))[: max_nodes - 1]
        others = others[keep]
    nodes = np.concatenate([[ctx.user], np.sort(others)]).astype(np.int64)
    hops = hop_distance(ctx, nodes)
    hops[0] = 0
    follows = ctx.follows_mask()
    topics = _topic(ctx, nodes)
    sub = m[nodes][:, nodes].tocoo()
    return {
        "center": str(snap.handle[ctx.user]),
        "depth": depth,
        "nodes": [
            {
                "id": int(snap.account_id[a]),
                "handle": str(snap.handle[a]),
                "kind": "brand" if snap.account_kind[a] == 1 else "person",
                "ppr": float(ppr[a]),
                "hop": int(h),
                "followed": bool(follows[a]),
                "topic": t,
            }
            for a, h, t in zip(nodes, hops, topics, strict=True)
        ],
        "edges": [
            {"source": int(snap.account_id[nodes[i]]), "target": int(snap.account_id[nodes[j]])}
            for i, j in zip(sub.row, sub.col, strict=True)
        ],
    }
