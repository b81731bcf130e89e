"""The records a feed is made of: a :class:`Pool` of scored candidates (columns, one row per
post that passed the filters), a :class:`Candidate` (one post and what every source knew), and
a :class:`Pick` (one post shown, with its score and factors).

A pool holds thousands of rows as numpy arrays; candidates and picks are built only for the
posts a feed shows or ``explain`` looks at.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .candidates import Candidates
from .context import UserContext
from .evidence import Evidence
from .filters import Filtered

__all__ = ["Candidate", "Pick", "Pool", "evidence_of", "evidence_of_all"]


def evidence_of(
    ctx: UserContext, proposals: Iterable[Candidates], post: int
) -> dict[str, Evidence]:
    """What every source that proposed ``post`` knew about it, by source name (a source that
    proposed it without evidence for it is left out)."""
    author = int(ctx.snap.post_author[post])
    out: dict[str, Evidence] = {}
    for c in proposals:
        if c.source not in out and post in c:
            found = c.why(post, author)
            if found is not None:
                out[c.source] = found
    return out


def evidence_of_all(
    ctx: UserContext, proposals: Iterable[Candidates], posts: np.ndarray
) -> list[dict[str, Evidence]]:
    """:func:`evidence_of` for each of ``posts``, the same dicts (keys in the proposals'
    order), with one membership test per source for all posts instead of one per post."""
    plist = posts.tolist()
    authors = ctx.snap.post_author[posts].tolist()
    out: list[dict[str, Evidence]] = [{} for _ in plist]
    for c in proposals:
        if not len(c.posts) or not plist:
            continue
        for i in np.flatnonzero(np.isin(posts, c.posts)).tolist():
            found = out[i]
            if c.source not in found:
                why = c.why(plist[i], authors[i])
                if why is not None:
                    found[c.source] = why
    return out


@dataclass(frozen=True)
class Candidate:
    """One post as the pipeline saw it: the sources that proposed it, with their evidence,
    and why the filters removed it (``None``: it passed)."""

    post: int
    evidence: dict[str, Evidence]
    removed_by: str | None = None

    @property
    def sources(self) -> list[str]:
        return sorted(self.evidence)


@dataclass(frozen=True, slots=True)
class Pick:
    """One post a feed shows: post index, score, every score factor and the evidence of
    every source that proposed it (by source name)."""

    post: int
    score: float
    factors: dict[str, float]
    evidence: dict[str, Evidence]

    @property
    def sources(self) -> list[str]:
        return sorted(self.evidence)


@dataclass
class Pool:
    """Scored candidates of one feed kind that passed its filters, as columns.

    ``posts[i]`` has score ``scores[i]`` and factors ``factors[name][i]``; ``proposals`` are
    the sources' answers (for evidence), ``filtered`` what the filters kept and removed.
    """

    kind: str
    posts: np.ndarray
    scores: np.ndarray
    factors: dict[str, np.ndarray]
    proposals: tuple[Candidates, ...]
    filtered: Filtered

    def __len__(self) -> int:
        return len(self.posts)

    def candidate(self, ctx: UserContext, post: int) -> Candidate:
        """What this pool's sources knew about ``post`` and whether a filter removed it."""
        return Candidate(
            post, evidence_of(ctx, self.proposals, post), self.filtered.reason_for(post)
        )

    def pick(self, ctx: UserContext, i: int, evidence: dict[str, Evidence] | None = None) -> Pick:
        """Row ``i`` as a pick (with ``evidence`` instead of its sources' when given)."""
        p = int(self.posts[i])
        return Pick(
            post=p,
            score=float(self.scores[i]),
            factors={name: float(v[i]) for name, v in self.factors.items()},
            evidence=evidence_of(ctx, self.proposals, p) if evidence is None else evidence,
        )

    def picks(self, ctx: UserContext, rows: list[int], *, factors: bool = True) -> list[Pick]:
        """``[self.pick(ctx, i) for i in rows]``, with the factors and the evidence gathered
        for all rows at once (a feed's 200 picks of the batch cost ~1 ms less a user); without
        ``factors``, every pick's factors are empty."""
        at = np.asarray(rows, dtype=np.int64)
        posts = self.posts[at]
        names = list(self.factors) if factors else []
        columns = [np.asarray(self.factors[n][at], dtype=np.float64).tolist() for n in names]
        per_pick = [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]
        evidence = evidence_of_all(ctx, self.proposals, posts)
        return [
            Pick(post=p, score=score, factors=f, evidence=ev)
            for p, score, f, ev in zip(
                posts.tolist(),
                np.asarray(self.scores[at], dtype=np.float64).tolist(),
                per_pick if names else [{} for _ in rows],
                evidence,
                strict=True,
            )
        ]
