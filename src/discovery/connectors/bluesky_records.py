"""Bluesky views and records → the store's typed records, checked by the store's value rules.

The AppView answers in lexicon shapes (``app.bsky.feed.defs#postView``,
``app.bsky.actor.defs#profileView``) that the ``atproto`` SDK parses into typed models; Jetstream
sends the raw repository records (``app.bsky.feed.post``). Both become the same
:class:`BskyPost`. Anything a store could not hold (a bidi character in a handle, a 2**63 like
count, a caption past the store's limit, an unknown embed, a record that is not a valid post)
raises :class:`Skip` with a short reason, which the connector counts instead of failing.

Choices:

* the image is the first image's **thumbnail** (``images#view.thumb``; a video's thumbnail;
  the media part of a quote post), never the full-size blob;
* **alt text** is appended to the caption after a blank line, one line per image
  (``alt: …``), so pages and captions carry what the picture shows;
* **hashtags** are the caption's ``#words`` (parsed by the store) plus the facets' ``#tag``
  features and the record's ``tags`` (linked with :meth:`Store.add_post_tags`);
* the time is the record's ``createdAt``, unless it lies after ``indexedAt`` (a clock ahead,
  or a forged date), then ``indexedAt``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..store import AccountRecord, PostRecord, from_iso
from ..store import validate as v

__all__ = [
    "BskyPost",
    "Skip",
    "account_key",
    "account_record",
    "blob_thumb_url",
    "post_from_record",
    "post_from_view",
    "post_key",
    "tid_time",
]

_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
# The same digits as ``int(…, 32)`` spells them: one C-level translate + int per key instead of
# a Python loop (every live like's time is read from its key).
_TID_TO_BASE32 = str.maketrans(_TID_ALPHABET, "0123456789abcdefghijklmnopqrstuv")
_TID_CHARS = frozenset(_TID_ALPHABET)
_CDN = "https://cdn.bsky.app/img/feed_thumbnail/plain"
_TAG = "app.bsky.richtext.facet#tag"


class Skip(Exception):
    """An upstream record the store cannot take; ``str()`` is the reason counted."""


@dataclass(frozen=True)
class BskyPost:
    """One image post of a Bluesky account, ready for :meth:`Store.upsert_posts`."""

    uri: str
    author_did: str
    taken_at: int
    caption: str
    image: str
    media_type: str = "photo"
    like_count: int = 0
    comment_count: int = 0
    tags: tuple[str, ...] = field(default=())

    @property
    def key(self) -> str:
        return post_key(self.uri)

    @property
    def rkey(self) -> str:
        return self.uri.rsplit("/", 1)[-1]

    def record(self, author: int) -> PostRecord:
        return PostRecord(
            self.key,
            author,
            self.taken_at,
            self.caption,
            self.media_type,
            self.image,
            self.like_count,
            self.comment_count,
        )


def account_key(did: str) -> str:
    """The store key of a Bluesky account.

    >>> account_key("did:plc:ab")
    'bsky:did:plc:ab'
    """
    return f"bsky:{did}"


def post_key(uri: str) -> str:
    """The store key of a Bluesky post (its at-uri).

    >>> post_key("at://did:plc:ab/app.bsky.feed.post/3k")
    'bsky:at://did:plc:ab/app.bsky.feed.post/3k'
    """
    return f"bsky:{uri}"


def tid_time(rkey: str) -> int | None:
    """Unix seconds inside a TID record key (13 base32-sortable characters: 53 bits of
    microseconds, 10 of clock id); None when ``rkey`` is not a TID.

    >>> tid_time("3l3qo2vuowo2b") // 86400 * 86400  # 2024-09-09
    1725840000
    >>> tid_time("self") is None
    True
    """
    if len(rkey) != 13 or not _TID_CHARS.issuperset(rkey):
        return None
    return (int(rkey.translate(_TID_TO_BASE32), 32) >> 10) // 1_000_000


def blob_thumb_url(did: str, cid: str) -> str:
    """The AppView CDN's thumbnail of an image blob (what ``images#view.thumb`` holds).

    >>> blob_thumb_url("did:plc:ab", "bafkrei")
    'https://cdn.bsky.app/img/feed_thumbnail/plain/did:plc:ab/bafkrei@jpeg'
    """
    return f"{_CDN}/{did}/{cid}@jpeg"


def _checked(call: Any, *args: Any, **kw: Any) -> Any:
    try:
        return call(*args, **kw)
    except v.BadValue as exc:
        raise Skip(str(exc)) from None


def account_record(
    did: str, handle: str, display_name: str | None, *, kind: str = "person"
) -> AccountRecord:
    """An account under ``bsky:<did>``; an unverified handle (``handle.invalid``) is stored as
    the DID, which is unique. :class:`Skip` when the handle or name breaks the value rules."""
    if not isinstance(did, str) or not did.startswith("did:"):
        raise Skip(f"did: {v.brief(did)} is not a DID")
    if handle == "handle.invalid":
        handle = did
    _checked(v.check_text, did, "did", max_chars=v.HANDLE_MAX)
    _checked(v.check_handle, handle)
    name = _checked(v.check_text, display_name or "", "display_name", max_chars=v.DISPLAY_NAME_MAX)
    return AccountRecord(account_key(did), handle, name, kind)


def _time(text: Any, what: str, now: int) -> int:
    if not isinstance(text, str):
        raise Skip(f"{what}: missing")
    try:
        t = from_iso(text)
    except (ValueError, OverflowError):
        raise Skip(f"{what}: {v.brief(text)} is not a datetime") from None
    return int(_checked(v.check_time, t, what, now=now))


def _tags(record: Any) -> tuple[str, ...]:
    tags: list[str] = []
    for facet in getattr(record, "facets", None) or ():
        for feature in getattr(facet, "features", None) or ():
            if getattr(feature, "py_type", None) == _TAG and isinstance(feature.tag, str):
                tags.append(feature.tag)
    tags += [t for t in getattr(record, "tags", None) or () if isinstance(t, str)]
    return tuple(dict.fromkeys(t.lstrip("#") for t in tags if t.strip("#")))


def _caption(text: str, alts: list[str]) -> str:
    lines = [f"alt: {a.strip()}" for a in dict.fromkeys(alts) if a and a.strip()]
    caption = text if not lines else (text + "\n\n" if text else "") + "\n".join(lines)
    return str(_checked(v.check_text, caption, "caption", max_chars=v.CAPTION_MAX))


def _view_media(embed: Any) -> tuple[str, list[str], str]:
    """``(thumbnail URL, alt texts, media type)`` of an embed view; Skip without an image."""
    from atproto import models

    if isinstance(embed, models.AppBskyEmbedRecordWithMedia.View):
        embed = embed.media
    if isinstance(embed, models.AppBskyEmbedImages.View) and embed.images:
        return embed.images[0].thumb, [i.alt for i in embed.images], "photo"
    if isinstance(embed, models.AppBskyEmbedGallery.View):
        items = [i for i in embed.items if isinstance(i, models.AppBskyEmbedGallery.ViewImage)]
        if items:
            return items[0].thumbnail, [i.alt for i in items], "carousel"
    if isinstance(embed, models.AppBskyEmbedVideo.View) and embed.thumbnail:
        return embed.thumbnail, [embed.alt or ""], "video"
    if embed is None:
        raise Skip("no image")
    try:
        kind = embed["$type"]  # an unknown union member stays a DotDict
    except (KeyError, TypeError):
        kind = getattr(embed, "py_type", None)
    raise Skip(f"embed {v.brief(kind or type(embed).__name__)} has no image")


def _split_uri(uri: Any) -> tuple[str, str, str]:
    parts = uri.split("/") if isinstance(uri, str) else []
    if len(parts) != 5 or parts[0] != "at:" or parts[1] or not parts[2].startswith("did:"):
        raise Skip(f"uri: {v.brief(uri)} is not at://did/collection/rkey")
    return parts[2], parts[3], parts[4]


def post_from_view(view: Any, now: int) -> BskyPost:
    """A :class:`BskyPost` from an SDK ``PostView`` (as ``getAuthorFeed`` and ``getActorLikes``
    return it)."""
    from atproto import models

    did, collection, _ = _split_uri(view.uri)
    _checked(v.check_text, post_key(view.uri), "key", max_chars=v.IMAGE_MAX)
    record = view.record
    if collection != "app.bsky.feed.post" or not isinstance(record, models.AppBskyFeedPost.Record):
        raise Skip("record is not a valid app.bsky.feed.post")
    thumb, alts, media = _view_media(view.embed)
    image = _checked(v.check_url_or_path, thumb)
    if not image.startswith(("http://", "https://")):
        raise Skip(f"image: {v.brief(thumb)} is not a URL")
    taken = min(
        _time(record.created_at, "createdAt", now), _time(view.indexed_at, "indexedAt", now)
    )
    return BskyPost(
        uri=view.uri,
        author_did=did,
        taken_at=taken,
        caption=_caption(record.text, alts),
        image=image,
        media_type=media,
        like_count=_checked(v.check_count, view.like_count or 0, "likeCount"),
        comment_count=_checked(v.check_count, view.reply_count or 0, "replyCount"),
        tags=_tags(record),
    )


def post_from_record(did: str, rkey: str, raw: dict[str, Any], now: int) -> BskyPost:
    """A :class:`BskyPost` from a raw ``app.bsky.feed.post`` record (a Jetstream commit): the
    image is the CDN thumbnail of the first image blob; counts start at zero."""
    from atproto import models

    try:
        record = models.get_or_create(raw, models.AppBskyFeedPost.Record)
    except Exception:
        raise Skip("record is not a valid app.bsky.feed.post") from None
    embed = getattr(record, "embed", None)
    if isinstance(embed, models.AppBskyEmbedRecordWithMedia.Main):
        embed = embed.media
    if not isinstance(embed, models.AppBskyEmbedImages.Main) or not embed.images:
        raise Skip("no image")
    blob = embed.images[0].image
    cid = getattr(getattr(blob, "ref", None), "link", None)
    if not isinstance(cid, str) or not cid.isalnum():
        raise Skip("image blob without a CID")
    uri = f"at://{did}/app.bsky.feed.post/{rkey}"
    _split_uri(uri)
    taken = min(_time(record.created_at, "createdAt", now), now)
    return BskyPost(
        uri=uri,
        author_did=did,
        taken_at=taken,
        caption=_caption(record.text, [i.alt for i in embed.images]),
        image=blob_thumb_url(did, cid),
        tags=_tags(record),
    )
