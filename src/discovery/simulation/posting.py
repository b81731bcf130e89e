"""New posts during the simulated days, from the generator's posting process.

Author *a* posts :math:`\\mathrm{Poisson}(r_a / W)` times a day (``r_a`` the expected posts in
the world's window of ``W`` days); each post's topic, quality, clickbait flag, media type, hour
and hashtag count are drawn as :func:`discovery.world.posts.make_posts` draws them, from the
author's re-drawn traits, and its caption as the world's theme writes it
(:func:`discovery.world.photo_posts.captions_for`: a food post's starts with a photo's title
and ends with its credit). Images are not rendered (a simulated post has none).
"""

from __future__ import annotations

import json

import numpy as np

from ..seed import child_rng
from ..store import Store

__all__ = ["post_day"]


def post_day(store: Store, world, day_start: int, seed: int, day: int) -> int:  # type: ignore[no-untyped-def]
    """Draw one day's posts, write them (with their ground truth) and add them to the truth.

    Returns the number of posts written. The caller holds the transaction.
    """
    from ..world.photo_posts import captions_for
    from ..world.posts import DIURNAL, Posts
    from ..world.themes import theme_of_world

    gen = child_rng(seed, "simulation", "posts", day)
    truth = world.truth
    n = truth.n_accounts
    count = gen.poisson(world.post_rate / world.window_days)
    author = np.repeat(np.arange(n, dtype=np.int32), count)
    m = len(author)
    cdf = np.cumsum(truth.theta[author], axis=1)
    theme = theme_of_world(json.loads(store.get_meta("world") or "{}"))
    topic = np.minimum(
        (cdf < gen.random(m)[:, None] * cdf[:, -1:]).sum(axis=1), len(theme.topics) - 1
    )
    s = world.skill[author]
    quality = gen.beta(1 + 4 * s, 1 + 4 * (1 - s))
    bait = gen.random(m) < np.where(world.baiter[author], 0.4, 0.01)
    quality = np.round(np.where(bait, quality * 0.5, quality), 4)
    hour = gen.choice(24, size=m, p=DIURNAL / DIURNAL.sum())
    taken = day_start + hour * 3600 + gen.integers(0, 3600, m)
    media = gen.choice(3, size=m, p=[0.8, 0.08, 0.12]).astype(np.int8)
    n_tags = np.minimum(gen.poisson(world.habit[author]), 15).astype(np.int8)
    order = np.lexsort((np.arange(m), taken))  # ids in time order, as the generator's
    posts = Posts(
        author[order], taken[order].astype(np.int64), topic[order].astype(np.int16),
        quality[order], bait[order], media[order], n_tags[order],
    )  # fmt: skip
    caps = captions_for(theme, posts, truth.theta, 0, m, int(gen.integers(2**31)))
    first = len(truth.post_author) + 1
    ids = range(first, first + m)
    store.add_posts(
        zip(
            ids, (posts.author + 1).tolist(), posts.taken_at.tolist(), caps,
            posts.media_type.tolist(), [None] * m, [0] * m, [0] * m, strict=True,
        ),
        key_prefix="world",
    )  # fmt: skip
    store.add_truth_posts(
        zip(
            ids,
            posts.topic.tolist(),
            posts.quality.tolist(),
            posts.clickbait.astype(int).tolist(),
            strict=True,
        )
    )
    world.add_posts(
        posts.author, posts.taken_at, posts.topic, posts.quality, posts.clickbait, posts.media_type
    )
    return m
