"""Serving from precomputed candidates: a user's stored list stands in for the explore sources.

``discovery batch candidates`` stores each user's explore list (post ids, the sources that
proposed each post and their evidence, as ``explain`` shows it). While the list is younger
than ``precomputed_max_age``, explore (and the explore half of blend) take their candidates
from it instead of running forward push and the other sources; everything after the sources
stays live — the filters (seen, hidden, followed since, blocked, too old), the ranker with
today's counts, the author rule — so a follow, hide or like still changes the very next feed.

This is the gorse/Pinterest split of offline candidate generation and online ranking. The
evidence is turned back into the typed records the reasons are written from; a source whose
evidence has no decoder here (a new source) explains its posts with a generic reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar

import numpy as np

from ..snapshot import Snapshot
from ..store.precomputed import CandidateList
from .candidates import Candidates
from .evidence import POPULAR, Evidence, InterestTag, Likers, Names, PPRPath

__all__ = ["STORED_KINDS", "Stored", "StoredList", "encode_evidence"]

#: Feed kinds whose candidates a stored list replaces (blend through its explore pool).
STORED_KINDS = ("explore",)


@dataclass(frozen=True, slots=True)
class Stored:
    """Evidence of a source this module cannot decode: the post was in the stored list."""

    name: str
    source: ClassVar[str] = "stored"

    def describe(self, author: str | None, factors: Mapping[str, float], names: Names) -> str:
        return "suggested for you"

    def to_json(self, names: Names) -> Any:
        return None


def _handles(snap: Snapshot, handles: Sequence[str]) -> tuple[int, ...]:
    found = (snap.account_index(h) for h in handles)
    return tuple(i for i in found if i >= 0)


def _taste(snap: Snapshot, data: Any) -> Evidence | None:
    from .collaborative import Taste  # the ALS source's evidence

    return Taste(float(data.get("score", 0.0)), _handles(snap, data.get("likers", [])))


def _tag(snap: Snapshot, data: Any, tags: dict[str, int]) -> Evidence | None:
    if isinstance(data, dict):  # {"tag": "#head", "via": "#member"} (see encode_evidence)
        head, via = tags.get(str(data["tag"]).lstrip("#"), -1), str(data.get("via") or "")
        via_index = tags.get(via.lstrip("#"), -1) if via else -1
    else:
        head, via_index = tags.get(str(data).lstrip("#"), -1), -1
    return InterestTag(head, via_index) if head >= 0 else None


def encode_evidence(evidence: Evidence, names: Names) -> Any:
    """What a stored list keeps of one source's evidence: ``explain``'s form, plus what a
    reason needs and that form leaves out (the cluster member tag of an interest)."""
    if isinstance(evidence, InterestTag) and evidence.via >= 0 and evidence.via != evidence.tag:
        return {"tag": f"#{names.tag(evidence.tag)}", "via": f"#{names.tag(evidence.via)}"}
    return evidence.to_json(names)


_DECODERS: dict[str, Callable[[Snapshot, Any], Evidence | None]] = {
    "ppr_authors": lambda snap, d: PPRPath(float(d["ppr"]), int(d["hops"])),
    "liked_by_followed": lambda snap, d: Likers(_handles(snap, d)) if _handles(snap, d) else None,
    "popular": lambda snap, d: POPULAR,
    "als": _taste,
}


@dataclass
class StoredList:
    """One user's stored list, in snapshot indexes: the posts still in the snapshot and, by
    source, the posts it proposed with their evidence (:attr:`by_source`, decoded from the
    stored JSON on first use: a timeline or interests feed reads only the PageRank)."""

    posts: np.ndarray
    computed_at: int
    counter: int
    ppr_accounts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    ppr: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))
    decode: Callable[[], dict[str, dict[int, Any]]] = field(default=dict, repr=False)

    @cached_property
    def by_source(self) -> dict[str, dict[int, Any]]:
        return self.decode()

    def covers(self, following: np.ndarray) -> bool:
        """Whether the stored PageRank knows every account in ``following`` (sorted account
        indexes): false once the user followed someone after the list was computed, which
        moves their PageRank too much to keep serving from the list."""
        if not len(following):
            return True
        if not len(self.ppr_accounts):
            return False
        pos = np.minimum(np.searchsorted(self.ppr_accounts, following), len(self.ppr_accounts) - 1)
        return bool(np.all(self.ppr_accounts[pos] == following))

    def ppr_of(self, accounts: np.ndarray) -> np.ndarray:
        """The stored PageRank at ``accounts`` (account indexes); 0 for an account the list
        did not keep (neither an author of it, followed, nor among the nearest)."""
        if not len(self.ppr_accounts):
            return np.zeros(len(accounts))
        pos = np.minimum(np.searchsorted(self.ppr_accounts, accounts), len(self.ppr_accounts) - 1)
        return np.where(self.ppr_accounts[pos] == accounts, self.ppr[pos], 0.0)

    @classmethod
    def from_list(cls, snap: Snapshot, stored: CandidateList) -> StoredList:
        """From a user's :class:`~discovery.store.precomputed.CandidateList` (posts deleted
        or unknown to the snapshot are dropped)."""
        index = snap.posts.lookup(stored.posts) if len(stored) else np.zeros(0, np.int64)
        keep = index >= 0

        def decode() -> dict[str, dict[int, Any]]:
            by_source: dict[str, dict[int, Any]] = {}
            for p, sources, evidence in zip(
                index[keep].tolist(),
                (x for x, k in zip(stored.sources, keep, strict=True) if k),
                (x for x, k in zip(stored.evidence, keep, strict=True) if k),
                strict=True,
            ):
                for source in sources or ("stored",):
                    by_source.setdefault(source, {})[int(p)] = evidence.get(source)
            return by_source

        at = snap.accounts.lookup(stored.ppr_accounts) if len(stored.ppr_accounts) else None
        known = np.zeros(0, np.int64) if at is None else at[at >= 0]
        values = np.zeros(0) if at is None else stored.ppr[at >= 0].astype(np.float64)
        order = np.argsort(known)
        return cls(
            index[keep].astype(np.int64),
            stored.computed_at,
            stored.counter,
            known[order].astype(np.int64),
            values[order],
            decode,
        )

    def candidates(self, snap: Snapshot) -> list[Candidates]:
        """One :class:`Candidates` per source that proposed posts of the list."""
        tags: dict[str, int] = {}
        out = []
        for source, posts in sorted(self.by_source.items()):
            decode = _DECODERS.get(source)
            if source == "hashtags":
                if not tags:
                    tags = {str(t): i for i, t in enumerate(snap.tag_name)}
                decode = lambda s, d, _t=tags: _tag(s, d, _t)  # noqa: E731
            out.append(
                Candidates(
                    source,
                    np.array(sorted(posts), dtype=np.int64),
                    _lookup(snap, posts, decode, source),
                )
            )
        return out


def _lookup(
    snap: Snapshot,
    posts: dict[int, Any],
    decode: Callable[[Snapshot, Any], Evidence | None] | None,
    source: str,
) -> Callable[[int, int], Evidence | None]:
    def why(post: int, author: int) -> Evidence | None:
        if post not in posts:
            return None
        if decode is None:
            return Stored(source)
        try:
            return decode(snap, posts[post])
        except (KeyError, TypeError, ValueError, AttributeError):  # a list of an older format
            return Stored(source)

    return why
