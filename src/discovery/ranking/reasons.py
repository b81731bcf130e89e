"""One human sentence per feed item, from its strongest source and factors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["SOURCE_PRIORITY", "reason_for"]

#: When a post comes from several sources, the first of these explains it.
SOURCE_PRIORITY = ("following", "liked_by_followed", "hashtags", "ppr_authors", "popular")


def _people(handles: Sequence[str]) -> str:
    if len(handles) == 1:
        return f"@{handles[0]}"
    others = len(handles) - 1
    return f"@{handles[0]} and {others} other{'s' if others > 1 else ''}"


def reason_for(
    sources: Sequence[str],
    evidence: dict[str, Any],
    author: str | None,
    factors: dict[str, float],
    handle_of: Any,
    tag_of: Any,
) -> str:
    """Explain an item.

    >>> reason_for(["liked_by_followed"], {"liked_by_followed": [1, 2, 3]}, "bo", {},
    ...            lambda i: {1: "ana", 2: "cy", 3: "di"}[i], str)
    'liked by @ana and 2 others you follow'
    >>> reason_for(["ppr_authors"], {"ppr_authors": (0.01, 2)}, "natgeo", {}, str, str)
    '@natgeo is 2 steps from you'
    """
    ordered = sorted(
        sources, key=lambda s: SOURCE_PRIORITY.index(s) if s in SOURCE_PRIORITY else 99
    )
    first = ordered[0] if ordered else ""
    if first == "following":
        likes = int(factors.get("weight", 0) or 0)
        if likes >= 1 and factors.get("weight", 0.5) != 0.5:
            return f"from @{author}, whose posts you liked {likes} time{'s' if likes > 1 else ''}"
        return f"from @{author}, whom you follow"
    if first == "liked_by_followed":
        likers = [handle_of(i) for i in evidence[first]]
        return f"liked by {_people(likers)} you follow"
    if first == "hashtags":
        return f"because you like #{tag_of(evidence[first])}"
    if first == "ppr_authors":
        _, hops = evidence[first]
        if hops >= 3:
            return f"@{author} is close to you in the network"
        return f"@{author} is {hops} steps from you"
    if first == "popular":
        return "popular this week"
    return "recommended for you"
