"""Scorers: the tutorial's exact formula (the named baseline) and the default ranker.

Both follow one interface, ``score(ctx, posts, discovery) -> Scored``, so feeds and evaluation
see only the interface.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ..settings import Settings
from .affinity import author_ppr, tutorial_ppr
from .context import UserContext
from .registry import Registry
from .stats import follower_counts, post_stats

__all__ = ["RANKERS", "DefaultRanker", "Ranker", "Scored", "TutorialRanker", "get_ranker"]


@dataclass
class Scored:
    """Scores of candidate posts and the per-factor values that produced them."""

    scores: np.ndarray
    factors: dict[str, np.ndarray]


class Ranker(Protocol):
    name: str

    def score(self, ctx: UserContext, posts: np.ndarray, *, discovery: bool) -> Scored: ...


class TutorialRanker:
    """The seed tutorial's ranker, exactly.

    ``score = log10(comments + 2) · log10(likes + 1) · ppr(author) · exp(-(now - taken_at) / 1e5)
    · log(weight + 1)`` where ``weight`` is the number of the user's likes on the author's posts
    in the last 365 days (0.5 when none) and ``ppr`` is PageRank personalised on the user over
    the undirected 2-hop follow graph. The discovery variant drops the weight factor. Note that
    a post with zero likes scores exactly 0 (``log10(1)``), one of the reasons for the default
    ranker.
    """

    name = "tutorial"

    def score(self, ctx: UserContext, posts: np.ndarray, *, discovery: bool) -> Scored:
        snap = ctx.snap
        authors = snap.post_author[posts]
        ppr = np.where(authors >= 0, tutorial_ppr(ctx)[np.maximum(authors, 0)], 0.0)
        likes = snap.post_likes[posts].astype(np.float64)
        comments = snap.post_comments[posts].astype(np.float64)
        time_score = np.exp(-(ctx.now - snap.post_taken[posts]) / 1e5)
        weight = lookup(ctx.author_likes, authors, 0.0)
        weight[weight == 0] = 0.5
        score = np.log10(comments + 2) * np.log10(likes + 1) * ppr * time_score
        if not discovery:
            score = score * np.log(weight + 1)
        factors = {"ppr": ppr, "weight": weight, "time_score": time_score}
        return Scored(score, factors)


class DefaultRanker:
    """Weighted sum of four factors in [0, 1], times a demotion for hidden authors.

    ``score = (w_r·recency + w_p·popularity + w_a·affinity + w_i·interest) · penalty^hides``

    - recency ``= 2^(-age / half_life)``;
    - popularity: smoothed engagement rate ``r = (likes + 2·comments + m·μ) / (reach·maturity + m)``
      with ``reach`` = author's followers + 1, ``maturity = 1 - exp(-age / 12 h)`` (a fresh post
      has had little time to collect likes), ``μ`` the mean rate and ``m = 5``; reported as
      ``r / (r + μ)`` (0.5 for an average post, never 0 for a fresh one), times a clickbait
      discount ``(likes_seen + 1) / (likes_seen + clicks·0.5 + 1)`` when clicks are logged;
    - affinity: noisy-or of PPR proximity ``1 - exp(-ppr(author) / p0)`` with ``p0 = α(1-α)/|F|``
      (the mass a directly followed account gets) and past interactions
      ``1 - exp(-weight / 3)``;
    - interest: cosine between the user's hashtag profile and the post's IDF-weighted tags.
    """

    name = "default"

    def score(self, ctx: UserContext, posts: np.ndarray, *, discovery: bool) -> Scored:
        snap, s, st = ctx.snap, ctx.settings, ctx.stats
        authors = snap.post_author[posts]
        has_author = authors >= 0
        a = np.maximum(authors, 0)
        age = np.maximum(ctx.now - snap.post_taken[posts], 0).astype(np.float64)
        recency = np.exp2(-age / (s.half_life_hours * 3600.0))

        reach = np.where(has_author, follower_counts(snap)[a], st.mean_in_degree) + 1.0
        maturity = 1.0 - np.exp(-(age + 600.0) / 43_200.0)
        raw = snap.post_likes[posts] + 2.0 * snap.post_comments[posts]
        m, mu = 5.0, st.eng_mean
        rate = (raw + m * mu) / (reach * maturity + m)
        seen_likes, clicks = st.inter_likes[posts], st.clicks[posts]
        bait = (seen_likes + 1.0) / (seen_likes + 0.5 * clicks + 1.0)
        popularity = rate / (rate + mu) * bait

        ppr = np.where(has_author, author_ppr(ctx, a), 0.0)
        p0 = s.alpha * (1 - s.alpha) / max(1, len(ctx.following))
        weight = lookup(ctx.author_likes, authors, 0.0)
        affinity = 1 - np.exp(-ppr / p0) * np.exp(-weight / 3.0)

        interest = interest_match(ctx, posts)
        demote = s.hidden_author_penalty ** lookup(ctx.hidden_authors, authors, 0.0)
        w = s.weights()
        total = (
            w["recency"] * recency
            + w["popularity"] * popularity
            + w["affinity"] * affinity
            + w["interest"] * interest
        ) * demote
        factors = {
            "recency": recency,
            "popularity": popularity,
            "affinity": affinity,
            "interest": interest,
            "ppr": ppr,
            "weight": weight,
            "demote": demote,
        }
        return Scored(total, factors)


def lookup(table: dict[int, int], keys: np.ndarray, default: float) -> np.ndarray:
    """``table.get(k, default)`` for an array of keys, vectorised (keys < 0 get the default).

    >>> lookup({3: 2, 7: 5}, np.array([7, 1, 3, -1]), 0.0).tolist()
    [5.0, 0.0, 2.0, 0.0]
    """
    out = np.full(len(keys), default, dtype=np.float64)
    if not table or len(keys) == 0:
        return out
    known = np.array(sorted(table), dtype=np.int64)
    values = np.array([table[k] for k in known.tolist()], dtype=np.float64)
    pos = np.clip(np.searchsorted(known, keys), 0, len(known) - 1)
    hit = known[pos] == keys
    out[hit] = values[pos[hit]]
    return out


def interest_match(ctx: UserContext, posts: np.ndarray) -> np.ndarray:
    """Cosine similarity between the user's profile ``p`` and each post's IDF-weighted
    hashtags ``x = b ⊙ idf`` (``b``: the post's row of the incidence matrix),
    ``x·p / (‖x‖ ‖p‖) = b·(idf ⊙ p) / (‖p‖ √(b²·idf²))``.

    Computed from the candidates' rows at each request, not from a matrix of every post's
    unit rows: every ``idf`` moves with each new post, so that matrix was rebuilt (1.1 s on
    the large world) on the page after every post."""
    prof = ctx.profile
    norm = float(np.linalg.norm(prof))
    if norm == 0 or len(posts) == 0:
        return np.zeros(len(posts))
    idf = post_stats(ctx.snap).idf
    rows = ctx.snap.post_tags_matrix()[posts]
    dot = rows @ (idf * prof)
    length = np.sqrt(rows.multiply(rows) @ (idf * idf))
    return np.divide(dot, length * norm, out=np.zeros(len(posts)), where=length > 0)  # type: ignore[no-any-return]


#: Rankers by name: ``RANKERS.build(name, settings, artifacts)`` (a learned ranker reads its
#: model from ``artifacts`` in its factory).
RANKERS: Registry[Ranker] = Registry("ranker")
RANKERS.register("default", lambda settings, artifacts: DefaultRanker())
RANKERS.register("tutorial", lambda settings, artifacts: TutorialRanker())


def _learned(settings: Settings, artifacts: Mapping[str, Any]) -> Ranker:
    from .learned import learned_ranker  # LightGBM is imported only when a model is used

    return learned_ranker(settings, artifacts)


RANKERS.register("learned", _learned)


def get_ranker(
    name: str, settings: Settings | None = None, artifacts: Mapping[str, Any] | None = None
) -> Ranker:
    """The ranker registered as ``name`` (:class:`~discovery.errors.InputError` naming the
    known ones otherwise)."""
    return RANKERS.build(name, Settings() if settings is None else settings, artifacts)
