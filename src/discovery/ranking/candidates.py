"""What a candidate source returns: the posts it proposes and a look-up of its evidence.

A source proposes hundreds or thousands of posts and a feed shows ten, so evidence stays in
the source's arrays and becomes a typed record (:mod:`.evidence`) only when asked for one post.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .evidence import Evidence, InterestTag, Likers, PPRPath

__all__ = [
    "Candidates",
    "Grouped",
    "always",
    "likers_lookup",
    "ppr_lookup",
    "tag_lookup",
]

#: ``why(post, author) -> evidence``: ``post`` and ``author`` are snapshot indexes.
Lookup = Callable[[int, int], Evidence | None]


def _nothing(post: int, author: int) -> Evidence | None:
    return None


@dataclass
class Candidates:
    """Posts proposed by one source (post indexes) and its evidence look-up.

    >>> from .evidence import FOLLOWED
    >>> c = Candidates("following", np.array([3, 5]), always(FOLLOWED))
    >>> 5 in c, 4 in c, c.why(5, 0)
    (True, False, Followed())
    """

    source: str
    posts: np.ndarray
    why: Lookup = _nothing
    _members: set[int] | None = field(default=None, repr=False)

    def __contains__(self, post: int) -> bool:
        if self._members is None:
            self._members = set(self.posts.tolist())
        return post in self._members


class Grouped(Mapping[int, list[int]]):
    """``post -> sorted values`` over arrays grouped by post, built on look-up: a feed shows
    20 items, so the likers of thousands of candidates need never become Python lists.

    >>> g = Grouped(np.array([5, 9]), np.array([0, 2]), np.array([1, 3, 7]))
    >>> g.get(5), g.get(9), g.get(6), len(g)
    ([1, 3], [7], None, 2)
    """

    def __init__(self, keys: np.ndarray, starts: np.ndarray, values: np.ndarray) -> None:
        self._keys, self._starts, self._values = keys, starts, values
        self._lists: tuple[list[int], list[int]] | None = None

    def get(self, key: int, default: Any = None) -> Any:
        """``self[key]``, or ``default``: a binary search in Python lists, made on the first
        look-up (a batch list asks for ~200 posts, most of them absent; numpy's scalar
        search and ``Mapping.get``'s KeyError each cost more than the search)."""
        if self._lists is None:
            self._lists = (self._keys.tolist(), self._starts.tolist())
        keys, starts = self._lists
        i = bisect_left(keys, key)
        if i >= len(keys) or keys[i] != key:
            return default
        end = starts[i + 1] if i + 1 < len(starts) else len(self._values)
        return self._values[starts[i] : end].tolist()  # type: ignore[no-any-return]

    def __getitem__(self, key: int) -> list[int]:
        found = self.get(key)
        if found is None:
            raise KeyError(key)
        return found  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[int]:
        return iter(int(k) for k in self._keys)

    def __len__(self) -> int:
        return len(self._keys)


def always(evidence: Evidence) -> Lookup:
    """The same evidence for every proposed post (``following``, ``popular``)."""
    return lambda post, author: evidence


def ppr_lookup(authors: np.ndarray, ppr: np.ndarray, hops: np.ndarray) -> Lookup:
    """Evidence per author: ``authors[j]`` has PageRank ``ppr[j]`` and is ``hops[j]`` away.

    >>> why = ppr_lookup(np.array([7, 2]), np.array([0.1, 0.3]), np.array([2, 1]))
    >>> why(40, 2), why(41, 5)
    (PPRPath(ppr=0.3, hops=1), None)
    """
    index = {a: j for j, a in enumerate(authors.tolist())}

    def why(post: int, author: int) -> Evidence | None:
        j = index.get(author)
        return None if j is None else PPRPath(float(ppr[j]), int(hops[j]))

    return why


def likers_lookup(likers: Mapping[int, list[int]]) -> Lookup:
    """Evidence per post: the followed accounts that engaged with it."""

    def why(post: int, author: int) -> Evidence | None:
        found = likers.get(post)
        return None if found is None else Likers(tuple(found))

    return why


def tag_lookup(tags: Mapping[int, int | tuple[int, int]]) -> Lookup:
    """Evidence per post: the interest hashtag that brought it, or ``(interest, member tag)``
    when a hashtag cluster's member reached it."""

    def why(post: int, author: int) -> Evidence | None:
        tag = tags.get(post)
        if tag is None:
            return None
        return InterestTag(*tag) if isinstance(tag, tuple) else InterestTag(tag)

    return why
