"""Posts of the synthetic world: who posts what, when, with which caption and hashtags.

* Posting rates are lognormal (heavy-tailed: a few accounts post daily, most rarely); brands
  post often. A post's topic is drawn from its author's interests :math:`t \\sim \\theta_a`.
* Quality :math:`q \\sim \\mathrm{Beta}(1 + 4 s_a, 1 + 4 (1 - s_a))` around the author's skill
  :math:`s_a \\sim \\mathrm{Beta}(2, 2)`; a few authors are click-baiters whose posts are often
  clickbait (many clicks, few likes, see :mod:`discovery.world.interactions`).
* Times: a uniform day in the window and an hour from a diurnal profile (lunch and evening
  peaks), ending before the world's fixed ``now``. Ids follow time order, as on Instagram.
* Captions: a short phrase plus 0–15 hashtags, Zipf-weighted from the topic's vocabulary,
  sometimes one from the author's second topic, and generic tags (``#love``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..seed import child_rng
from .accounts import Accounts
from .config import WorldConfig
from .topics import GENERIC_TAGS, TOPICS

__all__ = ["DIURNAL", "AuthorTraits", "Posts", "author_traits", "captions", "make_posts"]

#: Relative posting activity per UTC hour (quiet nights, lunch and evening peaks).
DIURNAL = np.array(
    [2, 1, 1, 1, 1, 2, 4, 6, 7, 7, 7, 8, 10, 9, 7, 7, 7, 8, 10, 12, 13, 12, 8, 4], dtype=float
)


@dataclass
class Posts:
    """Post attributes indexed by ``post id - 1`` (ids in time order)."""

    author: np.ndarray  # int32 account index
    taken_at: np.ndarray  # int64
    topic: np.ndarray  # int16
    quality: np.ndarray  # float64, rounded to 4 decimals
    clickbait: np.ndarray  # bool
    media_type: np.ndarray  # int8: 0 photo, 1 video, 2 carousel
    n_tags: np.ndarray  # int8

    def __len__(self) -> int:
        return len(self.author)


@dataclass
class AuthorTraits:
    """What an author's posts are drawn from, indexed by account: skill (quality), whether
    they bait clicks, and how many hashtags they tend to use."""

    skill: np.ndarray
    baiter: np.ndarray
    habit: np.ndarray


def make_posts(cfg: WorldConfig, acc: Accounts) -> Posts:
    """Draw every post's author, time, topic, quality and tag count (vectorised)."""
    return _draw(cfg, acc)[0]


def author_traits(cfg: WorldConfig, acc: Accounts) -> AuthorTraits:
    """The traits :func:`make_posts` drew for each author (it replays the same stream), so
    the posting process can continue after the world's ``now`` (the simulator)."""
    return _draw(cfg, acc)[1]


def _draw(cfg: WorldConfig, acc: Accounts) -> tuple[Posts, AuthorTraits]:
    rng = child_rng(cfg.seed, "posts")
    n = acc.n
    count = rng.poisson(acc.post_rate)
    author = np.repeat(np.arange(n, dtype=np.int32), count)
    m = len(author)

    cdf = np.cumsum(acc.theta, axis=1)
    topic = np.empty(m, dtype=np.int16)
    for lo in range(0, m, 1_000_000):  # chunked: an (m, T) matrix would not fit for large
        a = author[lo : lo + 1_000_000]
        r = rng.random(len(a))[:, None] * cdf[a, -1:]
        topic[lo : lo + len(a)] = np.minimum((cdf[a] < r).sum(axis=1), len(TOPICS) - 1)

    skill = rng.beta(2.0, 2.0, n)
    skill[acc.kind == 1] = 0.85
    baiter = rng.random(n) < 0.05
    s = skill[author]
    quality = rng.beta(1 + 4 * s, 1 + 4 * (1 - s))
    clickbait = rng.random(m) < np.where(baiter[author], 0.4, 0.01)
    quality = np.round(np.where(clickbait, quality * 0.5, quality), 4).astype(np.float64)

    start = cfg.now - cfg.window_days * 86_400
    day = rng.integers(0, cfg.window_days, m)
    hour = rng.choice(24, size=m, p=DIURNAL / DIURNAL.sum())
    taken = start + day * 86_400 + hour * 3_600 + rng.integers(0, 3_600, m)
    media = rng.choice(3, size=m, p=[0.8, 0.08, 0.12]).astype(np.int8)

    habit = rng.lognormal(1.2, 0.8, n)  # how many tags an author tends to use
    habit[rng.random(n) < 0.12] = 0.0  # some never tag
    n_tags = np.minimum(rng.poisson(habit[author]), 15).astype(np.int8)

    order = np.lexsort((np.arange(m), taken))  # ids in time order, ties by draw order
    posts = Posts(
        author=author[order],
        taken_at=taken[order].astype(np.int64),
        topic=topic[order],
        quality=quality[order],
        clickbait=clickbait[order],
        media_type=media[order],
        n_tags=n_tags[order],
    )
    return posts, AuthorTraits(skill, baiter, habit)


def captions(posts: Posts, theta: np.ndarray, lo: int, hi: int, seed: int) -> list[str]:
    """Captions of posts ``lo..hi-1``: a phrase, then topical, second-topic and generic tags.

    Deterministic for a given ``(seed, lo)``; chunks are independent so the large world can be
    written as a stream.
    """
    rng = child_rng(seed, "captions", lo)
    idx = np.arange(lo, hi)
    topic, k = posts.topic[idx].astype(np.int64), posts.n_tags[idx].astype(np.int64)
    n_generic = np.minimum(rng.binomial(k, 0.3), len(GENERIC_TAGS))
    n_topic = k - n_generic
    # Second topic: the author's strongest interest other than the post's own.
    th = theta[posts.author[idx]].copy()
    th[np.arange(len(idx)), topic] = -1.0
    second = th.argmax(axis=1)
    use_second = (rng.random(len(idx)) < 0.25) & (n_topic >= 2)

    width = max(len(t.tags) for t in TOPICS)
    rank = np.arange(width, dtype=float)
    # Zipf-weighted sampling without replacement: sort Gumbel-perturbed log-weights.
    topical = np.argsort(-(-0.8 * np.log1p(rank) + rng.gumbel(size=(len(idx), width))), axis=1)
    generic = np.argsort(rng.random((len(idx), len(GENERIC_TAGS))), axis=1)
    phrase = rng.integers(0, 3, len(idx))
    sec_pick = rng.integers(0, 3, len(idx))

    # Plain Python lists: indexing numpy scalars per post would dominate the loop.
    hashed = [tuple("#" + x for x in t.tags) for t in TOPICS]
    generic_h = ["#" + g for g in GENERIC_TAGS]
    out = []
    for t_j, top_j, nt, us, sec, sp, gen, ng, ph in zip(
        topic.tolist(),
        topical.tolist(),
        n_topic.tolist(),
        use_second.tolist(),
        second.tolist(),
        sec_pick.tolist(),
        generic.tolist(),
        n_generic.tolist(),
        phrase.tolist(),
        strict=True,
    ):
        vocab = hashed[t_j]
        size = len(vocab)
        tags = [vocab[c] for c in top_j if c < size][:nt]
        if us:
            tags[-1] = hashed[sec][sp]
        tags += [generic_h[c] for c in gen[:ng]]
        phrases = TOPICS[t_j].phrases
        text = phrases[ph % len(phrases)]
        out.append(text + " " + " ".join(tags) if tags else text)
    return out
