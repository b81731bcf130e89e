"""Rates per impression: what the logged impressions say that like counts cannot.

A post with 40 likes may have been shown to 400 people or to 60; an author a user liked twice
may have been shown to them twice or fifty times. Every impression is an interaction
(``kind = impression``), so the snapshot holds both counts, and the learned ranker's rate
features (:mod:`.features`) divide one by the other.

Counts are of distinct (user, post) pairs: ``seen`` the pairs with an impression, ``liked`` the
seen pairs with a like (a like without a logged impression counts for nothing, so a rate never
exceeds 1 in a store that logs impressions for some posts only), ``hidden`` and ``clicked``
the seen pairs with a hide, a click. A rate of few impressions is shrunk toward a prior mean
by a Beta prior of strength ``n0`` pseudo-impressions (its posterior mean; the empirical-Bayes
estimate of Efron & Morris 1975 with the strength fixed, not fitted)::

    rate(hits, trials | m) = (hits + n0 · m) / (trials + n0)

and the priors nest: a post's rate shrinks toward its author's, the author's toward the
whole snapshot's, a user's per author or per interest toward that user's own rate.

A user's own record counts their latest :data:`RECENT` impressions only: that is evidence
enough for their rates, the recent more telling than the old, and it bounds what a feed costs
for a long history (the learned blend's grew by about 0.8 ms per 1,000 impressions before:
``bench/history.py``).

>>> beta_rate(np.array([0, 3, 30]), np.array([0, 10, 100]), 0.1, strength=10.0).tolist()
[0.1, 0.2, 0.2818181818181818]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .. import setops
from ..snapshot import Grows, LogAt, Sizes, Snapshot, grow
from ..snapshot.derived import INTERACTIONS_LAG
from ..snapshot.grow import stack_rows
from ..store.model import KIND_CODE
from .pairs import LogPairs, log_pairs, take_in

__all__ = [
    "PRIOR_STRENGTH",
    "RECENT",
    "ExposureCounts",
    "UserExposure",
    "beta_rate",
    "exposure_counts",
    "latest",
    "post_labels",
    "user_exposure",
]

#: ``n0``: a rate's prior weighs as much as this many impressions.
PRIOR_STRENGTH = 10.0
#: A user's own record reads their latest this many impressions (and their interest, in
#: :mod:`.interest`, their latest this many engagements and posts); the demo world's busiest
#: people have about 800 after a simulated fortnight.
RECENT = 5_000
_SEEN, _LIKE, _HIDE = KIND_CODE["impression"], KIND_CODE["like"], KIND_CODE["hide"]
_CLICK = KIND_CODE["click"]


def beta_rate(
    hits: np.ndarray, trials: np.ndarray, mean: float | np.ndarray, strength: float = PRIOR_STRENGTH
) -> np.ndarray:
    """``(hits + strength·mean) / (trials + strength)``: the posterior mean of a rate after
    ``hits`` of ``trials`` under a Beta prior with mean ``mean`` weighing ``strength`` trials."""
    hits = np.asarray(hits, np.float64)
    return (hits + strength * np.asarray(mean, np.float64)) / (  # type: ignore[no-any-return]
        np.asarray(trials, np.float64) + strength
    )


@dataclass(frozen=True)
class ExposureCounts:
    """Distinct users shown, liking, hiding and clicking each post, and shown and liking each
    author's posts; the snapshot's shares of shown pairs liked, hidden and clicked."""

    post_seen: np.ndarray
    post_liked: np.ndarray
    post_hidden: np.ndarray
    post_clicked: np.ndarray
    author_seen: np.ndarray
    author_liked: np.ndarray
    like_rate: float  # liked / seen pairs over the snapshot (0 with no impressions)
    hide_rate: float
    click_rate: float
    pairs: LogPairs | None = None  # what they were counted from, which a catch-up extends

    def padded(self, n_posts: int, n_accounts: int) -> ExposureCounts:
        """These counts with zeros for posts and accounts added since they were computed.

        >>> c = ExposureCounts(*[np.ones(2)] * 4, *[np.ones(1)] * 2, 0.5, 0.1, 0.2)
        >>> c.padded(3, 2).post_seen.tolist(), c.padded(3, 2).author_liked.tolist()
        ([1.0, 1.0, 0.0], [1.0, 0.0])
        """

        def pad(a: np.ndarray, n: int) -> np.ndarray:  # appended: amortised O(rows added)
            return a if len(a) >= n else grow.pad(a, n)

        return ExposureCounts(
            pad(self.post_seen, n_posts), pad(self.post_liked, n_posts),
            pad(self.post_hidden, n_posts), pad(self.post_clicked, n_posts),
            pad(self.author_seen, n_accounts), pad(self.author_liked, n_accounts),
            self.like_rate, self.hide_rate, self.click_rate, self.pairs,
        )  # fmt: skip

    def author_like_rate(self, authors: np.ndarray | None = None) -> np.ndarray:
        """Smoothed likes per impression (prior: :attr:`like_rate`) of ``authors`` (account
        indexes; all accounts when None). A feed asks for its few authors: the rate of all
        1M accounts of the large world took 8 ms of every served page."""
        if authors is None:
            return beta_rate(self.author_liked, self.author_seen, self.like_rate)
        return beta_rate(self.author_liked[authors], self.author_seen[authors], self.like_rate)


def _counts(snap: Snapshot, pairs: LogPairs | None = None) -> ExposureCounts:
    pairs = log_pairs(snap) if pairs is None else pairs
    a = snap.post_author
    ok = a >= 0

    def per_author(per: np.ndarray) -> np.ndarray:
        return np.bincount(a[ok], weights=per[ok], minlength=snap.n_accounts)

    n = max(len(pairs.seen), 1)
    return ExposureCounts(
        pairs.post_seen, pairs.post_liked, pairs.post_hidden, pairs.post_clicked,
        per_author(pairs.post_seen), per_author(pairs.post_liked),
        pairs.n_liked / n, pairs.n_hidden / n, pairs.n_clicked / n, pairs,
    )  # fmt: skip


def _catch_up(counts: ExposureCounts, snap: Snapshot, at: LogAt) -> ExposureCounts | None:
    """The counts with the log's rows changed since ``at`` taken in (:mod:`.pairs`)."""
    pairs = None if counts.pairs is None else take_in(counts.pairs, snap, at)
    return None if pairs is None else _counts(snap, pairs)


def exposure_counts(snap: Snapshot) -> ExposureCounts:
    """:class:`ExposureCounts` of the snapshot (memoised; may lag the log like post stats).

    The counts read the interaction log only: a post or account added since they were built
    reads zeros — exact, none of its impressions can be older than it — through a copy padded
    to the snapshot's size (a structure of its own that grows with the posts; the counts took
    5–7 s on the large world, on the page after every new post). A deleted post's interactions
    are withdrawn, which drops the counts at once, or in a server marks them for a catch-up:
    there, when the lag runs out or rows were withdrawn, the counts take in the rows changed
    since (:mod:`.pairs`) instead of being counted again."""
    counts = _logged(snap)
    if len(counts.post_seen) == snap.n_posts and len(counts.author_seen) == snap.n_accounts:
        return counts
    return snap.derive_of(  # type: ignore[no-any-return]
        "exposure_counts_padded",
        lambda s: _logged(s).padded(s.n_posts, s.n_accounts),
        depends_on=(Grows("posts"), Grows("accounts"), "exposure_counts"),
        extend=lambda padded, s, since: padded.padded(s.n_posts, s.n_accounts),
    )


def _logged(snap: Snapshot) -> ExposureCounts:
    return snap.derive_of(  # type: ignore[no-any-return]
        "exposure_counts", _counts, depends_on=(INTERACTIONS_LAG,), catch_up=_catch_up
    )


@dataclass(frozen=True)
class UserExposure:
    """One user's own record: the posts they were shown and, of those, liked and clicked
    (sorted)."""

    seen: np.ndarray
    liked: np.ndarray
    clicked: np.ndarray

    def rate(self, hits: np.ndarray, prior: float) -> float:
        """The user's smoothed share of shown posts among ``hits`` (``liked``, ``clicked``)."""
        return float(beta_rate(np.array(len(hits)), np.array(len(self.seen)), prior))

    def author_counts(self, snap: Snapshot, authors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posts of each of ``authors`` the user was shown, and liked."""
        return _lookup(snap.post_author[self.seen], authors), _lookup(
            snap.post_author[self.liked], authors
        )

    def shared_counts(
        self, posts: np.ndarray, labels: sp.csr_matrix, *groups: np.ndarray
    ) -> list[np.ndarray]:
        """For each group of the user's posts (``seen``, ``liked``, …) and each of ``posts``:
        how many posts of the group share a label with it (``labels``: posts × labels, a
        stored entry where the post carries the label: its hashtags, or hashtag clusters),
        counted once per shared label."""
        owner, label = _row_entries(labels, posts)
        out = []
        for group in groups:
            per_label = np.bincount(_row_entries(labels, group)[1], minlength=labels.shape[1])
            out.append(
                np.bincount(
                    owner, weights=per_label[label].astype(np.float64), minlength=len(posts)
                )
            )
        return out


def _row_entries(m: sp.csr_matrix, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The stored entries of ``rows`` of ``m``: which of ``rows`` (its position) and column."""
    starts, ends = m.indptr[rows], m.indptr[np.asarray(rows) + 1]
    lens = ends - starts
    owner = np.repeat(np.arange(len(rows)), lens)
    first = np.cumsum(lens) - lens
    at = np.arange(int(lens.sum())) - np.repeat(first - starts, lens)
    return owner, m.indices[at]


def post_labels(snap: Snapshot, by: str) -> sp.csr_matrix:
    """Posts × hashtags (``by="tags"``) or × hashtag clusters (``"clusters"``), an entry where
    the post carries the tag (a tag of the cluster); removed posts carry none (memoised)."""
    from .clusters import snapshot_clusters

    def rows(snap: Snapshot, first: int) -> sp.csr_matrix:
        m = snap.post_tags_matrix()[first:]
        if by == "clusters":
            m = m @ snapshot_clusters(snap).membership(snap.n_tags)
        m = sp.csr_matrix(m, copy=True)
        m.eliminate_zeros()  # a removed post's tags are stored zeros
        return m

    def extend(m: sp.csr_matrix, snap: Snapshot, since: Sizes) -> sp.csr_matrix:
        new = rows(snap, since.posts)  # the matrix's own extension declines a changed old row
        return stack_rows(m, new)

    keys: tuple[str | Grows, ...] = (Grows("posts"), Grows("tags"), "post_tags")
    if by == "clusters":
        keys += ("hashtag_clusters",)
    return snap.derive_of(f"post_{by}_labels", lambda s: rows(s, 0), depends_on=keys, extend=extend)  # type: ignore[no-any-return]


def user_exposure(snap: Snapshot, user: int, recent: int | None = None) -> UserExposure:
    """The user's shown, and liked or clicked when shown, posts, from their own interactions
    (exact: a user's interactions never lag): the posts of their latest ``recent``
    (:data:`RECENT`) impressions, and of those the ones they ever liked or clicked."""
    pos = snap.user_interactions(user)
    kinds, posts = snap.inter_kind[pos], snap.inter_post[pos]
    shown = np.flatnonzero(kinds == _SEEN)
    shown = shown[latest(snap.inter_time[pos[shown]], RECENT if recent is None else recent)]
    seen = setops.unique(posts[shown]).astype(np.int64)
    liked = setops.intersect(posts[kinds == _LIKE], seen)
    clicked = setops.intersect(posts[kinds == _CLICK], seen)
    return UserExposure(seen, liked.astype(np.int64), clicked.astype(np.int64))


def _lookup(values: np.ndarray, query: np.ndarray) -> np.ndarray:
    """How often each of ``query`` occurs in ``values``."""
    keys, counts = np.unique(values, return_counts=True)
    at = np.minimum(np.searchsorted(keys, query), max(len(keys) - 1, 0))
    hit = (keys[at] == query) if len(keys) else np.zeros(len(query), bool)
    return np.where(hit, counts[at] if len(keys) else 0, 0).astype(np.float64)  # type: ignore[no-any-return]


def latest(times: np.ndarray, n: int) -> np.ndarray:
    """Positions of the ``n`` latest of ``times`` in their own order (all of them when there
    are no more; at a tie across the cut, the later positions).

    >>> latest(np.array([5, 1, 9, 5, 2]), 3).tolist()
    [0, 2, 3]
    >>> latest(np.array([5, 1]), 3).tolist()
    [0, 1]
    """
    if len(times) <= n:
        return np.arange(len(times))
    return np.sort(np.argsort(times, kind="stable")[len(times) - n :])  # type: ignore[no-any-return]
