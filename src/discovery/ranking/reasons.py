"""One human sentence per feed item, from its strongest source's evidence and its factors."""

from __future__ import annotations

from collections.abc import Mapping

from .evidence import Evidence, Names

__all__ = ["SOURCE_PRIORITY", "primary_source", "reason_for"]

#: When a post comes from several sources, the first of these explains it (sources not listed
#: come after, in the order they proposed it). ``popular`` comes last: it proposes every recent
#: post of a small world, and "popular this week" must not hide why ALS or the embedding
#: source found a post.
SOURCE_PRIORITY = (
    "following",
    "liked_by_followed",
    "hashtags",
    "ppr_authors",
    "als",
    "embedding",
    "popular",
)


def primary_source(sources: Mapping[str, object] | list[str]) -> str | None:
    """The source that explains an item proposed by ``sources`` (``None`` for none).

    >>> primary_source(["hashtags", "ppr_authors", "liked_by_followed"])
    'liked_by_followed'
    >>> primary_source(["similar"])
    'similar'
    """
    for name in SOURCE_PRIORITY:
        if name in sources:
            return name
    return next(iter(sources), None)


def reason_for(
    evidence: Mapping[str, Evidence],
    author: str | None,
    factors: Mapping[str, float],
    names: Names,
) -> str:
    """Explain an item by the evidence of its primary source.

    >>> from .evidence import Likers, PPRPath
    >>> names = Names(lambda i: {1: "ana", 2: "cy", 3: "di"}[i], str)
    >>> reason_for({"liked_by_followed": Likers((1, 2, 3))}, "bo", {}, names)
    'liked by @ana and 2 others you follow'
    >>> reason_for({"ppr_authors": PPRPath(0.01, 2)}, "natgeo", {}, names)
    '@natgeo is 2 steps from you'
    >>> reason_for({}, "natgeo", {}, names)
    'recommended for you'
    """
    first = primary_source(evidence)
    if first is None:
        return "recommended for you"
    return evidence[first].describe(author, factors, names)
