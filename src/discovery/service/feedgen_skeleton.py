"""The pages a feed generator serves: a user's explore or blend as at-uris of image posts.

A Bluesky app hydrates posts from their at-uris, so a feed generator can only serve posts
that came from Bluesky: posts whose store key is ``bsky:at://<did>/app.bsky.feed.post/<rkey>``
(as the Bluesky connector writes them), with an image (media ``photo`` or ``carousel`` and an
image URL; videos and text posts are skipped).

- A requester whose DID is an account of the store (key ``bsky:<did>``) gets that account's
  feed of the requested kind (``explore`` or ``blend``), in the engine's order, with every
  post that is not a Bluesky image post left out.
- Anyone else gets the popular-with-images fallback: the image posts of the candidate window
  (``window_days``), most liked first (likes + 2 × comments, as the ``popular`` source).

Pages follow the API's cursors (:mod:`.cursor`): the cursor carries every post already served
*and* every post skipped as not an image, bound to the requester's DID and to the kind, so no
page repeats a post and skipped posts are not looked at again, and how many were served. The
author rule's place in its block of ten is estimated across pages (skipped posts take places),
not carried exactly.

A known requester's pages are served as the API serves its feeds
(:func:`discovery.experiments.serving.serve_feed`): under a running experiment by their arm's
ranker and settings (or two arms interleaved), and every post served becomes an impression row
(:attr:`SkeletonPage.impressions`; experiment, arm, ranker, score and features as the API logs
them, the learned features hydrated for the posts served only), its ``position`` counting the
posts served on earlier pages, skipped ones not. So an
experiment reads its Bluesky users' likes, which the connectors bring back, against what their
arm served them. The fallback's pages are not logged: a requester who is no account of the
store has no account id to log them under.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from ..engine import Engine
from ..errors import InputError
from ..experiments.logging import impression_features
from ..experiments.model import Experiment
from ..experiments.serving import serve_feed
from ..feeds import FeedItem
from ..ranking.sources import window_posts
from ..signals.features import served_features
from ..snapshot import Snapshot
from ..store.experiments import ImpressionRow
from ..store.model import MEDIA_TYPES
from ..store.records import PostInfo
from .cursor import MAX_SHOWN, Cursor, encode_cursor, read_cursor

__all__ = [
    "IMAGE_MEDIA",
    "POPULAR",
    "SkeletonPage",
    "account_of",
    "popular_image_posts",
    "post_uri",
    "skeleton_page",
]

#: Media types that count as image posts.
IMAGE_MEDIA = ("photo", "carousel")
#: The kind name of the fallback feed (in cursors and :attr:`SkeletonPage.source`).
POPULAR = "popular"
_POST_COLLECTION = "app.bsky.feed.post"
_ROUNDS = 4  # engine calls per page before a page of mostly non-image posts ends short


@dataclass(frozen=True)
class SkeletonPage:
    """One page: at-uris in feed order, the cursor of the next page (None: the end), what
    produced it (``explore``, ``blend`` or :data:`POPULAR`), and one impression row per
    served post (none for the fallback)."""

    posts: list[str]
    cursor: str | None
    source: str
    impressions: list[ImpressionRow] = field(default_factory=list)


def post_uri(info: PostInfo | None) -> str | None:
    """The at-uri of a stored Bluesky image post; None for any other post.

    >>> uri = "at://did:plc:abc/app.bsky.feed.post/3kq2"
    >>> post_uri(PostInfo(7, "bsky:" + uri, "", "https://cdn.example/a.jpg", "photo")) == uri
    True
    >>> post_uri(PostInfo(7, "bsky:" + uri, "", None, "photo"))  # text only
    >>> post_uri(PostInfo(7, "ig:C0ffee", "", "https://cdn.example/a.jpg", "photo"))
    """
    if info is None or not info.image or info.media_type not in IMAGE_MEDIA:
        return None
    uri = info.key.removeprefix("bsky:")
    if uri == info.key or not uri.startswith("at://"):
        return None
    parts = uri[5:].split("/")
    if len(parts) != 3 or not parts[0].startswith("did:") or parts[1] != _POST_COLLECTION:
        return None
    return uri if parts[2] else None


def account_of(engine: Engine, did: str) -> int | None:
    """The snapshot index of the account with key ``bsky:<did>``, None when there is none."""
    ids = engine.store.ids_for_keys("accounts", [f"bsky:{did}"])
    if not ids:
        return None
    index = int(engine.snapshot.accounts.lookup(next(iter(ids.values())))[0])
    return index if index >= 0 else None


def popular_image_posts(snap: Snapshot, since: int, until: int) -> np.ndarray:
    """Post indexes taken in ``[since, until]`` with image media and not deleted, most liked
    first (likes + 2 × comments; ties by post id)."""
    posts = window_posts(snap, since, until)
    codes = [MEDIA_TYPES.index(m) for m in IMAGE_MEDIA]
    keep = np.isin(snap.post_media[posts], codes)
    if len(snap.post_removed) == snap.n_posts:
        keep &= ~snap.post_removed[posts]
    posts = posts[keep]
    score = snap.post_likes[posts] + 2 * snap.post_comments[posts]
    return posts[np.lexsort((snap.post_id[posts], -score))]


def _read(cursor: str | None, did: str, source: str) -> tuple[str, Cursor]:
    """The kind a cursor continues and what it has shown. A cursor of the fallback stays
    with it even if the requester became known meanwhile (its pages must not repeat)."""
    if not cursor:
        return source, Cursor(set(), [], 0)
    try:
        return source, read_cursor(cursor, did, source)
    except InputError as own:
        if source == POPULAR:
            raise
        try:
            return POPULAR, read_cursor(cursor, did, POPULAR)
        except InputError:  # not the fallback's either: say what is wrong with it as ``kind``'s
            raise own from None


def _take(
    ids: list[int], info: dict[int, PostInfo], want: int, out: list[tuple[int, str]]
) -> tuple[set[int], bool]:
    """Append ``(id, uri)`` of the image posts among ``ids`` to ``out`` until it holds
    ``want``. Returns the ids skipped on the way, and whether every id was looked at (those
    after the last one taken stay unseen, for the next page)."""
    skipped: set[int] = set()
    for pid in ids:
        if len(out) == want:
            return skipped, False
        uri = post_uri(info.get(pid))
        if uri is None:
            skipped.add(pid)
        else:
            out.append((pid, uri))
    return skipped, True


def skeleton_page(
    engine: Engine,
    did: str,
    kind: str,
    limit: int,
    cursor: str | None = None,
    *,
    experiment: Experiment | None = None,
    learned_features: bool = True,
) -> SkeletonPage:
    """One page of ``did``'s feed of ``kind`` (``explore`` or ``blend``), or of the popular
    fallback when ``did`` is no account of the store. Call it under the engine's lock
    (``Service.engine_for_read``). ``experiment`` is the one running
    (:func:`~discovery.experiments.serving.running_experiment`); ``learned_features`` as
    :func:`~discovery.experiments.serving.serve_feed`'s. :class:`InputError` for a damaged or
    foreign cursor."""
    user = account_of(engine, did)
    source, state = _read(cursor, did, kind if user is not None else POPULAR)
    shown = state.shown
    # a cursor from before the count was carried: every shown post counts as served
    before = len(shown) if state.served is None else state.served
    served: list[tuple[int, str]] = []
    rows: dict[int, ImpressionRow] = {}
    items: dict[int, FeedItem] = {}
    skipped: set[int] = set()
    exhausted = True  # every candidate looked at: no next page
    if source == POPULAR:
        snap = engine.snapshot
        since = int(snap.now - engine.settings.window_days * 86_400)
        order = popular_image_posts(snap, since, int(snap.now))
        ids = [i for i in snap.post_id[order].tolist() if i not in shown]
        step = max(2 * limit, 20)
        for start in range(0, len(ids), step):
            chunk = ids[start : start + step]
            gone, all_seen = _take(chunk, engine.store.post_info(chunk), limit, served)
            skipped |= gone
            if len(served) == limit:
                exhausted = all_seen and start + step >= len(ids)
                break
    else:
        assert user is not None
        for _ in range(_ROUNDS):
            ask = 2 * (limit - len(served)) + 10
            exclude = shown | skipped | {pid for pid, _ in served}
            # the learned features are hydrated below for the posts served only: a round asks
            # for twice the page and more, and most of a page's cost would be posts skipped
            page = serve_feed(
                engine, user, experiment, kind=source, k=ask, exclude=exclude,
                learned_features=False,
            )  # fmt: skip
            ids = [item.post_id for item in page.feed]
            gone, all_seen = _take(ids, engine.store.post_info(ids), limit, served)
            rows |= {row.post: row for row in page.impressions}
            items |= {item.post_id: item for item in page.feed}
            skipped |= gone
            exhausted = all_seen and len(ids) < ask
            if len(served) == limit or exhausted:
                break
    seen = shown | skipped | {pid for pid, _ in served}
    # A short page (mostly non-image posts) still gets a cursor while candidates remain.
    more = not exhausted and len(shown) < len(seen) <= MAX_SHOWN
    count = before + len(served)
    next_cursor = encode_cursor(did, source, seen, served=count) if more else None
    # the rows of the posts served, numbered in page order after earlier pages' posts, one
    # request id for the page (each engine call above drew its own)
    logged = [rows[pid] for pid, _ in served if pid in rows]
    request = logged[0].request if logged else ""
    taken = [items[row.post] for row in logged]
    extra = served_features(engine, user, taken) if learned_features and user is not None else []
    logged = [
        dataclasses.replace(
            row,
            position=before + i,
            request=request,
            features=impression_features(item, extra[i]) if extra else row.features,
        )
        for i, (row, item) in enumerate(zip(logged, taken, strict=True))
    ]
    return SkeletonPage([uri for _, uri in served], next_cursor, source, logged)
