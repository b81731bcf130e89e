"""Posts that show real photographs: which photo each post shows, and its caption.

Every post of a topic that has photos shows one of that topic's photos (many posts share a
photo, as reposts and look-alike dishes do): in time order, a topic's posts go through its
photos in a shuffled order, reshuffled at each pass, so each pass of *n* posts of a topic with
*n* photos shows every photo once and no *n* consecutive posts show one photo more than twice
(look-alikes spread out in time, as the feeds see them); each in one of :data:`VARIANTS`
framings (as taken or mirrored; whole, the central 80 % or the top-left 75 %), so a feed
rarely shows the same picture twice.

A photo post's caption is the photo's title, then its hashtags, then the photo's credit::

    California Maki on Black Plate #sushi #SushiTime #🍣 #japanese #foodie 📷 Pexels, …

The hashtags follow the drawn world's caption model (:func:`discovery.world.posts.captions`):
the post's tag count :math:`k` splits into generic tags, :math:`k_g \\sim
\\mathrm{Bin}(k, 0.3)`, and topical ones drawn without replacement with Zipf weights
:math:`w_r \\propto (1 + r)^{-0.8}` over the topic's vocabulary (most common first; the
Gumbel-top-k trick, Vieira 2014), one of which is, a third of the time, one of the photo's
own descriptive tags (``#japanese``), spaces removed as people write them. Only own tags that
at least :data:`MIN_SHARED` photos carry are used, and none that names another topic (``salad``
on a salmon plate): the interest signal weighs hashtags by IDF, and rare tags of one photo
(``#paprika``, ``#goatcheese``) became the demo user's "interests" before this rule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..seed import child_rng
from .images import Photo
from .posts import Posts
from .themes import Theme

if TYPE_CHECKING:
    from PIL import Image as PILImage

__all__ = [
    "MIN_SHARED",
    "VARIANTS",
    "assign_photos",
    "captions_for",
    "frame",
    "photo_captions",
    "variant_name",
]

#: An own tag is used only if at least this many photos carry it.
MIN_SHARED = 3

#: Framings of a photo: bit 0 mirrors; 0–1 whole, 2–3 the central 80 %, 4–5 the top-left 75 %.
VARIANTS = 6


def assign_photos(
    topic: np.ndarray, photos: list[Photo], seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(photo index or -1, variant)`` for posts of topics ``topic`` (deterministic).

    >>> from pathlib import Path
    >>> ph = [Photo(Path("a.jpg"), "A", (), 0), Photo(Path("b.jpg"), "B", (), 2)]
    >>> pick, variant = assign_photos(np.array([0, 1, 2, 0]), ph, 7)
    >>> pick.tolist(), bool(((variant >= 0) & (variant < VARIANTS)).all())
    ([0, -1, 1, 0], True)
    """
    rng = child_rng(seed, "photos")
    pick = np.full(len(topic), -1, dtype=np.int64)
    by_topic: dict[int, list[int]] = {}
    for k, ph in enumerate(photos):
        by_topic.setdefault(ph.topic, []).append(k)
    for t, members in sorted(by_topic.items()):
        sel = np.flatnonzero(topic == t)  # post ids follow time
        passes = -(-len(sel) // len(members))
        order = np.argsort(rng.random((passes, len(members))), axis=1).ravel()
        pick[sel] = np.array(members)[order[: len(sel)]]
    variant = rng.integers(0, VARIANTS, len(topic)).astype(np.int8)
    return pick, variant


def variant_name(photo: Photo, variant: int) -> str:
    """The media file name of a photo's framing.

    >>> from pathlib import Path
    >>> p = Photo(Path("x/0000111.jpg"), "Sushi", (), 0)
    >>> variant_name(p, 0), variant_name(p, 3)
    ('0000111.jpg', '0000111-3.jpg')
    """
    return photo.file.name if variant == 0 else f"{photo.file.stem}-{variant}.jpg"


def frame(image: PILImage.Image, variant: int) -> PILImage.Image:
    """The framing ``variant`` of an image (see :data:`VARIANTS`).

    >>> from PIL import Image
    >>> im = Image.new("RGB", (100, 50))
    >>> [frame(im, v).size for v in range(VARIANTS)]
    [(100, 50), (100, 50), (80, 40), (80, 40), (75, 37), (75, 37)]
    """
    from PIL import ImageOps

    w, h = image.size
    if variant // 2 == 1:
        image = image.crop((w // 10, h // 10, w - w // 10, h - h // 10))
    elif variant // 2 == 2:
        image = image.crop((0, 0, w * 3 // 4, h * 3 // 4))
    return ImageOps.mirror(image) if variant % 2 else image


def photo_captions(
    posts: Posts,
    photos: list[Photo],
    pick: np.ndarray,
    theme: Theme,
    lo: int,
    hi: int,
    seed: int,
) -> list[str]:
    """Captions of posts ``lo..hi-1`` (see the module docstring); a post without a photo
    starts with its topic's first phrase and has no credit. Chunks are independent."""
    rng = child_rng(seed, "photo-captions", lo)
    idx = np.arange(lo, hi)
    k = posts.n_tags[idx].astype(np.int64)
    n_generic = np.minimum(rng.binomial(k, 0.3), len(theme.generic_tags))
    width = max(len(t.tags) for t in theme.topics)
    rank = np.arange(width, dtype=float)
    topical = np.argsort(-(-0.8 * np.log1p(rank) + rng.gumbel(size=(len(idx), width))), axis=1)
    generic = np.argsort(rng.random((len(idx), len(theme.generic_tags))), axis=1)
    own = rng.random(len(idx)) < 1 / 3
    own_pick = rng.random(len(idx))
    hashed = [tuple("#" + x for x in t.tags) for t in theme.topics]
    own_tags = _own_tags(photos, theme)
    generic_h = ["#" + g for g in theme.generic_tags]
    out = []
    for t_j, p_j, top, nt, gen, ng, use_own, r in zip(
        posts.topic[idx].tolist(),
        pick[idx].tolist(),
        topical.tolist(),
        (k - n_generic).tolist(),
        generic.tolist(),
        n_generic.tolist(),
        own.tolist(),
        own_pick.tolist(),
        strict=True,
    ):
        vocab = hashed[t_j]
        tags = [vocab[c] for c in top if c < len(vocab)][:nt]
        photo = photos[p_j] if p_j >= 0 else None
        if photo is not None and own_tags[p_j] and use_own and tags:
            tags[-1] = "#" + own_tags[p_j][int(r * len(own_tags[p_j]))]
        tags += [generic_h[c] for c in gen[:ng]]
        head = photo.title if photo is not None and photo.title else theme.topics[t_j].phrases[0]
        parts = [head, *dict.fromkeys(tags)]
        if photo is not None and photo.credit:
            parts.append(photo.credit)
        out.append(" ".join(parts))
    return out


def captions_for(
    theme: Theme,
    posts: Posts,
    theta: np.ndarray,
    lo: int,
    hi: int,
    seed: int,
    photos: list[Photo] | None = None,
    pick: np.ndarray | None = None,
) -> list[str]:
    """Captions of posts ``lo..hi-1`` as a world of ``theme`` writes them.

    A photo theme captions every post with :func:`photo_captions`; a drawn world uses
    :func:`discovery.world.posts.captions` except for posts that show a photo (``--photos``).
    Without ``photos``, a photo theme reads the shipped photographs and assigns them to these
    posts afresh (for posts drawn after generation, e.g. by the simulator).
    """
    from .images import load_photos
    from .posts import captions
    from .themes import photos_folder

    if photos is None or pick is None:
        photos = load_photos(photos_folder(), theme.topics) if theme.photos else []
        pick = assign_photos(posts.topic, photos, seed)[0]
    if theme.photos:
        return photo_captions(posts, photos, pick, theme, lo, hi, seed)
    caps = captions(posts, theta, lo, hi, seed)
    shown = np.flatnonzero(pick[lo:hi] >= 0)
    if len(shown):
        mine = photo_captions(posts, photos, pick, theme, lo, hi, seed)
        for j in shown.tolist():
            caps[j] = mine[j]
    return caps


def _own_tags(photos: list[Photo], theme: Theme) -> list[tuple[str, ...]]:
    # A photo's tags that MIN_SHARED photos share, minus another topic's vocabulary.
    from collections import Counter

    from ..store.model import normalize_hashtag

    vocab = [{normalize_hashtag(t) for t in topic.tags} for topic in theme.topics]
    every = set().union(*vocab)
    shared = Counter(n for ph in photos for n in {normalize_hashtag(t) for t in ph.tags})
    return [
        tuple(
            t
            for t in ph.tags
            if (n := normalize_hashtag(t))
            and shared[n] >= MIN_SHARED
            and (n in vocab[ph.topic] or n not in every)
        )
        for ph in photos
    ]
