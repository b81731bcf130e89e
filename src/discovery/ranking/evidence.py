"""What a candidate source knew when it proposed a post: one small frozen record per kind of
source, each able to say it in words (the feed's reason) and as JSON (``explain``).

Records are built only for the posts a feed shows or ``explain`` looks at; sources keep their
evidence in arrays and make a record on look-up (:attr:`Candidates.why
<discovery.ranking.candidates.Candidates.why>`).

>>> names = Names(lambda i: ["me", "ana", "cy"][i], lambda t: ["hiking"][t])
>>> Likers((1, 2)).describe("bo", {}, names)
'liked by @ana and 1 other you follow'
>>> PPRPath(0.012, 2).to_json(names)
{'ppr': 0.012, 'hops': 2}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from ..snapshot import Snapshot

__all__ = [
    "FOLLOWED",
    "POPULAR",
    "Evidence",
    "Followed",
    "InterestTag",
    "Likers",
    "Names",
    "PPRPath",
    "Popular",
    "SimilarTags",
]


@dataclass(frozen=True)
class Names:
    """How evidence turns account and hashtag indexes into words."""

    handle: Callable[[int], str]
    tag: Callable[[int], str]

    @classmethod
    def of(cls, snap: Snapshot) -> Names:
        return cls(lambda i: str(snap.handle[i]), lambda t: str(snap.tag_name[t]))


class Evidence(Protocol):
    """One source's knowledge about one post."""

    #: The source that produces this kind of evidence (its key in a pick's ``evidence``).
    source: ClassVar[str]

    def describe(self, author: str | None, factors: Mapping[str, float], names: Names) -> str:
        """The item's reason when this source explains it best."""
        ...

    def to_json(self, names: Names) -> Any:
        """This evidence in ``explain``'s ``sources``."""
        ...


@dataclass(frozen=True, slots=True)
class Followed:
    """The user follows the author (``following``)."""

    source: ClassVar[str] = "following"

    def describe(self, author: str | None, factors: Mapping[str, float], names: Names) -> str:
        # ``weight`` is the user's likes of the author's posts (the tutorial ranker's 0.5 means
        # none); the default ranker reports the raw count.
        likes = int(factors.get("weight", 0) or 0)
        if likes >= 1 and factors.get("weight", 0.5) != 0.5:
            return f"from @{author}, whose posts you liked {likes} time{'s' if likes > 1 else ''}"
        return f"from @{author}, whom you follow"

    def to_json(self, names: Names) -> Any:
        return None


@dataclass(frozen=True, slots=True)
class PPRPath:
    """The author's personalized PageRank from the user and their distance in follow hops
    (``ppr_authors``)."""

    ppr: float
    hops: int
    source: ClassVar[str] = "ppr_authors"

    def describe(self, author: str | None, factors: Mapping[str, float], names: Names) -> str:
        if self.hops >= 3:
            return f"@{author} is close to you in the network"
        return f"@{author} is {self.hops} steps from you"

    def to_json(self, names: Names) -> Any:
        return {"ppr": self.ppr, "hops": self.hops}


def _people(handles: Sequence[str]) -> str:
    if len(handles) == 1:
        return f"@{handles[0]}"
    others = len(handles) - 1
    return f"@{handles[0]} and {others} other{'s' if others > 1 else ''}"


@dataclass(frozen=True, slots=True)
class Likers:
    """Followed accounts that liked, commented on or saved the post, by account index
    (``liked_by_followed``)."""

    likers: tuple[int, ...]
    source: ClassVar[str] = "liked_by_followed"

    def describe(self, author: str | None, factors: Mapping[str, float], names: Names) -> str:
        handles = [names.handle(i) for i in self.likers]
        if len(handles) == 1:  # "liked by @ana you follow" read as a typo
            return f"liked by @{handles[0]}, whom you follow"
        return f"liked by {_people(handles)} you follow"

    def to_json(self, names: Names) -> Any:
        return [names.handle(i) for i in self.likers]


@dataclass(frozen=True, slots=True)
class InterestTag:
    """The interest (its head tag index) under which the post was proposed (``hashtags``),
    and ``via``, the member tag of the interest's cluster that reached it (-1: the head)."""

    tag: int
    via: int = -1
    source: ClassVar[str] = "hashtags"

    def describe(self, author: str | None, factors: Mapping[str, float], names: Names) -> str:
        if self.via >= 0 and self.via != self.tag:
            return f"because you like #{names.tag(self.tag)} (#{names.tag(self.via)})"
        return f"because you like #{names.tag(self.tag)}"

    def to_json(self, names: Names) -> Any:
        return f"#{names.tag(self.tag)}"


@dataclass(frozen=True, slots=True)
class Popular:
    """Among the most liked recent posts (``popular``)."""

    source: ClassVar[str] = "popular"

    def describe(self, author: str | None, factors: Mapping[str, float], names: Names) -> str:
        return "popular this week"

    def to_json(self, names: Names) -> Any:
        return None


@dataclass(frozen=True, slots=True)
class SimilarTags:
    """Hashtag names a post shares with the post it is similar to (``similar``)."""

    tags: tuple[str, ...]
    source: ClassVar[str] = "similar"

    def describe(self, author: str | None, factors: Mapping[str, float], names: Names) -> str:
        if self.tags:
            return "shares " + " ".join(f"#{t}" for t in self.tags)
        return "by an account followed by the same people"

    def to_json(self, names: Names) -> Any:
        return list(self.tags)


#: Evidence without content: one instance serves every post.
FOLLOWED = Followed()
POPULAR = Popular()
