"""Interest topics: what a post is about.

The hashtag cluster interest (:mod:`.clusters`) sees a post only through its own tags, and a
quarter of the demo world's posts carry no topical tag at all (only ``#love``-style tags, or
none): for them a tag profile says nothing. People post about what they care for, so an
author's other posts say what an untagged post is likely about, and a user's *own* posts say
what they like before they have liked much. This module turns the first into a small
distribution over the *topics* — the hashtag clusters of two or more member tags (a cluster of
one is a generic tag such as ``#love`` or a tag too rare to group):

- a post's topic, the posterior of a mixture of unigrams (Nigam, McCallum, Thrun & Mitchell,
  "Text classification from labeled and unlabeled documents using EM", Machine Learning 2000)
  with the author's topic mix as prior. Each topical tag names its cluster's topic with
  probability ``1 - ε`` and any of the ``K`` topics with ``ε / K``, so with ``m_k`` of the
  post's tags in topic ``k``::

      P(k | post) ∝ π_a(k) · R^{m_k},   R = (1 - ε + ε/K) / (ε/K),
      π_a(k) = (n_ak + β·g_k) / (n_a + β)

  ``n_ak`` the author's posts' tags in topic ``k`` (``n_a`` their sum), ``g`` the topics'
  share over all posts, ``β`` pseudo-tags of prior. A post without topical tags gets its
  author's mix; one tag outweighs all but a tiny prior. The author's own tags are not their
  only trace: what they engage with is drawn from the same interests they post about, so
  their engagement with tagged posts counts as ``γ`` more pseudo-tags (Jamali & Ester's
  homophily prior, "A matrix factorization technique with trust propagation", RecSys 2010,
  taken inside one person rather than across a tie)::

      n_ak ← n_ak + γ · e_ak / e_a,   e_ak = Σ_{engaged p} w_e · m_pk / m_p

  (``w_e`` the weights below; ``e_ak / e_a`` is 0 for someone who never engaged with a tagged
  post). On the demo world it names the true topic of an untagged post 47 % of the time
  against 30 % from the author's tags alone (a tenth of authors never tag).

  Who engaged with a post is evidence too: people engage with what they care for, so each
  engager ``u`` (a click, like, comment, save or share: :mod:`.engaged`) multiplies the
  posterior by their interest in the topic over its share, the likelihood ratio of a naive
  Bayes over engagers (the collaborative side of Basilico & Hofmann's content-collaborative
  hybrid, "Unifying collaborative and content-based filtering", ICML 2004, in its simplest
  form)::

      P(k | post) ∝ π_a(k) · R^{m_k} · Π_{u engaged} (θ̄_u(k) / g_k)^α

  ``θ̄_u`` is ``u``'s interest from the tags-and-author topics alone (the formula of
  :mod:`.interest` without the decay: no loop through this evidence), ``α`` = :data:`ENGAGER_WEIGHT`. On the
  demo world at its start the engagers name the true topic of an untagged post 53 % of the
  time against 47 % (of those with an engager, 61 % against 51 %; α = 2 gives the same, 4
  less, and costs tagged posts' accuracy).

A user's interest in these topics (their own posts among its evidence), and the learned
ranker's topic features, are in :mod:`.interest`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..ranking.stats import KIND_WEIGHT
from ..snapshot import Snapshot
from ..snapshot.derived import Lag
from ..store.model import KIND_CODE
from .clusters import CLUSTERS_LAG, snapshot_clusters
from .engaged import engaged_columns

__all__ = [
    "CLICK_WEIGHT",
    "ENGAGED_LAG",
    "ENGAGED_PRIOR",
    "ENGAGER_WEIGHT",
    "OWN_WEIGHT",
    "TopicModel",
    "engaged_mix",
    "engager_evidence",
    "interest_weight",
    "post_topics",
    "topic_model",
    "topic_posterior",
]

#: Weight of a click in a user's interest (a like weighs 1).
CLICK_WEIGHT = 0.3
#: Weight of each of the user's own posts in their interest.
OWN_WEIGHT = 1.0
#: ``ε``: the chance that a topical tag is not about its cluster's topic (the world's second
#: topic tags and genuinely ambiguous tags).
TAG_NOISE = 0.05
#: ``β``: pseudo-tags of the global topic mix in an author's mix.
AUTHOR_PRIOR = 1.0
#: ``γ``: pseudo-tags of an author's engagement mix in their posting mix (γ from 1 to 30 gave
#: the same untagged-post accuracy on the demo world, 46-47 %; 3 lets an author's own tags
#: decide once they have tagged a few posts).
ENGAGED_PRIOR = 3.0
#: The engagement prior is rebuilt once the interaction log grew by a quarter: it describes
#: what people post about, which moves slowly, and every served impression is logged with
#: the topic features (``features.served_features``), so a lag of 2 % would rebuild it every
#: few minutes under a live event stream.
ENGAGED_LAG = Lag("interactions", share=0.25, slack=10_000)
#: ``α``: the weight of each engager's interest in a post's topic (the module docstring).
ENGAGER_WEIGHT = 1.0
#: ``λ``: pseudo-posts of the global topic mix in a user's interest (:mod:`.interest`, and
#: each engager's in :func:`engager_evidence`).
USER_PRIOR = 2.0
#: Posts per block when every post's topic is computed (bounds the dense block's memory).
_BLOCK = 1 << 17
_WEIGHTS = {KIND_CODE[k]: w for k, w in KIND_WEIGHT.items()} | {KIND_CODE["click"]: CLICK_WEIGHT}
_CODES = np.array(list(_WEIGHTS))
_LOOKUP = np.zeros(max(KIND_CODE.values()) + 1)
_LOOKUP[_CODES] = list(_WEIGHTS.values())


@dataclass(frozen=True)
class TopicModel:
    """Topic columns of the tags and each author's tag counts per topic (a derived structure).

    ``tag_topic[t]`` is tag ``t``'s topic (``-1``: not topical; tags newer than the build are
    not topical until the next one), ``author_counts`` accounts × topics (tags of each
    author's posts per topic plus ``γ`` pseudo-tags of their engagement mix; accounts newer
    than the build have none) and ``share`` the topics' share of all topical tags (``g``).
    """

    tag_topic: np.ndarray
    author_counts: sp.csr_matrix
    share: np.ndarray

    @property
    def n_topics(self) -> int:
        return len(self.share)


def topic_model(snap: Snapshot) -> TopicModel:
    """The snapshot's :class:`TopicModel`, rebuilt with the hashtag clusters (same lag)."""

    def build(snap: Snapshot) -> TopicModel:
        clusters = snapshot_clusters(snap)
        sizes = np.diff(clusters.indptr)
        topical = np.flatnonzero(sizes >= 2)
        column = np.full(clusters.n_clusters, -1, np.int64)
        column[topical] = np.arange(len(topical))
        n_tags = len(clusters.label)
        tag_topic = column[clusters.label] if n_tags else np.zeros(0, np.int64)
        counts = _tag_counts(snap, np.arange(snap.n_posts), tag_topic, len(topical))
        authors = snap.post_author
        rows = np.repeat(authors, np.diff(counts.indptr))
        keep = rows >= 0
        author_counts = sp.csr_matrix(
            (counts.data[keep], (rows[keep], counts.indices[keep])),
            shape=(snap.n_accounts, len(topical)),
        )
        author_counts = (author_counts + ENGAGED_PRIOR * engaged_mix(snap, counts)).tocsr()
        total = np.asarray(counts.sum(axis=0)).ravel() + 1.0  # every topic a little mass
        return TopicModel(tag_topic, author_counts, total / total.sum())

    return snap.derive_of(
        "topic_model", build, depends_on=(CLUSTERS_LAG, ENGAGED_LAG, "hashtag_clusters")
    )


def engaged_mix(snap: Snapshot, counts: sp.csr_matrix) -> sp.csr_matrix:
    """``e_ak / e_a``: accounts × topics, each account's engagement spread over the topics
    of the tagged posts it engaged with (``counts``: every post's topical tags per topic, as
    :func:`_tag_counts` gives them); rows sum to 1, or hold nothing.

    Weights are the interest weights (a like 1, a click :data:`CLICK_WEIGHT`, ...), without
    the recency decay: the prior describes what someone posts about, not this week's mood."""
    users, posts, weight = _weighted_engagements(snap)
    spread = sp.diags(1.0 / np.maximum(np.asarray(counts.sum(axis=1)).ravel(), 1.0)) @ counts
    engaged = sp.csr_matrix((weight, (users, posts)), shape=(snap.n_accounts, counts.shape[0]))
    mix = (engaged @ spread).tocsr()
    return (sp.diags(1.0 / np.maximum(np.asarray(mix.sum(axis=1)).ravel(), 1e-12)) @ mix).tocsr()


def _weighted_engagements(snap: Snapshot) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(user, post, weight)`` of the log's rows that carry interest (a like 1, a click
    :data:`CLICK_WEIGHT`, ...; impressions, the bulk, and hides do not)."""
    keep = np.flatnonzero(np.isin(snap.inter_kind, _CODES.astype(snap.inter_kind.dtype)))
    return snap.inter_user[keep], snap.inter_post[keep], interest_weight(snap.inter_kind[keep])


def interest_weight(kinds: np.ndarray) -> np.ndarray:
    """Each interaction's weight in a user's interest, by kind: a like 1, a click
    :data:`CLICK_WEIGHT`, the others as :data:`~discovery.ranking.stats.KIND_WEIGHT`; 0 for
    the kinds that carry none (an impression, a hide, a withdrawn row).

    >>> interest_weight(np.array([KIND_CODE["like"], KIND_CODE["impression"], -1])).tolist()
    [1.0, 0.0, 0.0]
    """
    kinds = np.asarray(kinds)
    return np.where(kinds >= 0, _LOOKUP[np.clip(kinds, 0, len(_LOOKUP) - 1)], 0.0)  # type: ignore[no-any-return]


def _tag_counts(snap: Snapshot, posts: np.ndarray, tag_topic: np.ndarray, k: int) -> sp.csr_matrix:
    """``m[p, k]``: how many of post ``posts[p]``'s tags are in topic ``k`` (CSR)."""
    x = snap.post_tags_matrix()[posts].tocsr()
    tags = x.indices
    topic = np.full(len(tags), -1, np.int64)
    known = tags < len(tag_topic)  # tags newer than the build (or no build) are not topical
    topic[known] = tag_topic[tags[known]]
    rows = np.repeat(np.arange(len(posts)), np.diff(x.indptr))
    ok = (topic >= 0) & (x.data > 0)
    return sp.csr_matrix((np.ones(int(ok.sum())), (rows[ok], topic[ok])), shape=(len(posts), k))


def post_topics(
    snap: Snapshot,
    posts: np.ndarray,
    model: TopicModel | None = None,
    *,
    engagers: bool = True,
) -> np.ndarray:
    """``P(k | post)`` for each of ``posts`` (snapshot indexes): dense, rows sum to 1.

    See the module docstring; an unknown author (or a post without one) has the global mix
    as prior. ``engagers=False``: from the tags and the author alone, without the evidence of
    who engaged with the post.
    """
    tm = topic_model(snap) if model is None else model
    posts = np.asarray(posts, dtype=np.int64)
    k = tm.n_topics
    if k == 0 or len(posts) == 0:
        return np.zeros((len(posts), k))
    authors = snap.post_author[posts]
    known = (authors >= 0) & (authors < tm.author_counts.shape[0])
    counts = np.zeros((len(posts), k))
    if known.any():
        counts[known] = tm.author_counts[authors[known]].toarray()
    evidence = _engager_sums(snap, posts) if engagers else None
    tags = _tag_counts(snap, posts, tm.tag_topic, k).toarray()
    return topic_posterior(counts, tm.share, tags, evidence=evidence)


def engager_evidence(snap: Snapshot) -> np.ndarray:
    """``α · ln(θ̄_u(k) / g_k)``: accounts × topics (float32), what one engagement of each
    account says of a post's topic (the module docstring; accounts newer than the build say
    nothing). Rebuilt with :data:`ENGAGED_LAG`: it describes what people care for, which
    moves slowly."""

    def build(snap: Snapshot) -> np.ndarray:
        tm = topic_model(snap)
        users, posts, weight = _weighted_engagements(snap)
        own = np.flatnonzero((snap.post_author >= 0) & ~snap.post_removed)
        weights = sp.csc_matrix(
            (
                np.concatenate([weight, np.full(len(own), OWN_WEIGHT)]),
                (np.concatenate([users, snap.post_author[own]]), np.concatenate([posts, own])),
            ),
            shape=(snap.n_accounts, snap.n_posts),
        )
        total = np.zeros((snap.n_accounts, tm.n_topics))
        for start in range(0, snap.n_posts, _BLOCK):
            block = np.arange(start, min(start + _BLOCK, snap.n_posts))
            total += weights[:, block] @ post_topics(snap, block, tm, engagers=False)
        mass = np.asarray(weights.sum(axis=1)).ravel()
        theta = (total + USER_PRIOR * tm.share) / (mass + USER_PRIOR)[:, None]
        return (ENGAGER_WEIGHT * np.log(theta / tm.share)).astype(np.float32)  # type: ignore[no-any-return]

    return snap.derive_of(  # type: ignore[no-any-return]
        "engager_evidence", build, depends_on=(ENGAGED_LAG, "topic_model")
    )


def _engager_sums(snap: Snapshot, posts: np.ndarray) -> np.ndarray:
    """``Σ_{u engaged with p} α · ln(θ̄_u(k) / g_k)`` for each of ``posts``: posts × topics."""
    evidence = engager_evidence(snap)
    cols = engaged_columns(snap)
    inside = posts < cols.shape[1]
    sub = cols[:, posts[inside]]
    owner = np.repeat(np.flatnonzero(inside), np.diff(sub.indptr))
    who = sub.indices
    ok = who < evidence.shape[0]
    pick = sp.csr_matrix(
        (np.ones(int(ok.sum())), (owner[ok], who[ok])), shape=(len(posts), evidence.shape[0])
    )
    return np.asarray(pick @ evidence, dtype=np.float64)


def topic_posterior(
    author_counts: np.ndarray,
    share: np.ndarray,
    tag_counts: np.ndarray,
    noise: float = TAG_NOISE,
    prior: float = AUTHOR_PRIOR,
    evidence: np.ndarray | None = None,
) -> np.ndarray:
    """``P(k | post) ∝ π_a(k) · R^{m_k} · exp(evidence)`` row by row (the module docstring's
    formula): ``author_counts``, ``tag_counts`` and ``evidence`` are posts × topics (``n_ak``
    of each post's author, ``m_k`` of the post, the log-likelihood ratios of its engagers),
    ``share`` is ``g``.

    Hand-computed: ``π = ([3, 1] + [.5, .5]) / 5 = [.7, .3]``, ``R = .975 / .025 = 39``, so
    a post with one tag of topic 1 is ``[.7, .3·39] / 12.4``; without tags, its author's mix.

    >>> topic_posterior(np.array([[3.0, 1.0], [3.0, 1.0]]), np.array([0.5, 0.5]),
    ...                 np.array([[0.0, 1.0], [0.0, 0.0]])).round(4).tolist()
    [[0.0565, 0.9435], [0.7, 0.3]]
    """
    k = len(share)
    pi = author_counts + prior * np.asarray(share)[None, :]
    log_post = np.log(pi / pi.sum(axis=1, keepdims=True))
    log_post = log_post + tag_counts * np.log((1.0 - noise + noise / k) / (noise / k))
    if evidence is not None:
        log_post = log_post + evidence
    log_post -= log_post.max(axis=1, keepdims=True)
    p = np.exp(log_post)
    return p / p.sum(axis=1, keepdims=True)  # type: ignore[no-any-return]
