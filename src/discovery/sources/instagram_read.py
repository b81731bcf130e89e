"""Parse an Instagram export's entries into typed records, skipping (and counting) bad ones.

Each routed file kind (:data:`~.instagram_files.ROUTES`) has one parser that turns an entry's
:class:`~.instagram_files.Fields` into a record, checking every value with
:mod:`discovery.store.validate`; a malformed entry (no username, a bidi character in one, a
caption over the store's limit, a time in year 9999) becomes a :class:`Skip` naming the file
and the entry's position, and the import goes on.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from ..store.validate import (
    CAPTION_MAX,
    DISPLAY_NAME_MAX,
    BadValue,
    check_handle,
    check_text,
    check_time,
)
from .instagram_files import ExportFiles, Fields, flatten

__all__ = [
    "InstagramExport",
    "LikedComment",
    "OwnPost",
    "PostRef",
    "Relation",
    "Skip",
    "post_key",
    "read_export",
    "username_from_href",
]

_POST_URL = re.compile(r"instagram\.com/(?:[^/?#]+/)?(p|reels?|tv)/([A-Za-z0-9_-]{1,64})")
_VIDEO = frozenset({"mp4", "mov", "m4v", "webm"})


@dataclass(frozen=True, slots=True)
class Relation:
    """An account (or hashtag) in a relationship list, with when the relationship began."""

    name: str
    time: int | None
    display_name: str = ""


@dataclass(frozen=True, slots=True)
class PostRef:
    """Someone else's post you liked or saved: its key, owner, when, and caption if given."""

    key: str
    owner: str | None
    time: int
    caption: str = ""
    media_type: str = "photo"
    owner_name: str = ""


@dataclass(frozen=True, slots=True)
class LikedComment:
    """A comment you liked: the comment's author and the post it is on."""

    author: str
    post: PostRef


@dataclass(frozen=True, slots=True)
class OwnPost:
    """One of your posts: caption, media files (paths inside the export), time."""

    key: str
    time: int
    caption: str
    media: tuple[str, ...]
    media_type: str


@dataclass(frozen=True, slots=True)
class Skip:
    """An entry (or a whole file, ``entry`` -1) that was not imported, and why."""

    kind: str
    file: str
    entry: int
    reason: str

    def __str__(self) -> str:
        where = self.file if self.entry < 0 else f"{self.file}: entry {self.entry}"
        return f"{where}: {self.reason}"


@dataclass
class InstagramExport:
    """Everything read from one export (no database involved)."""

    username: str | None = None
    display_name: str = ""
    following: list[Relation] = field(default_factory=list)
    followers: list[Relation] = field(default_factory=list)
    hashtags: list[Relation] = field(default_factory=list)
    blocked: list[Relation] = field(default_factory=list)
    unfollowed: list[Relation] = field(default_factory=list)
    liked_posts: list[PostRef] = field(default_factory=list)
    saved_posts: list[PostRef] = field(default_factory=list)
    liked_comments: list[LikedComment] = field(default_factory=list)
    comments: list[tuple[Relation, PostRef | None]] = field(default_factory=list)
    posts: list[OwnPost] = field(default_factory=list)
    read: Counter[str] = field(default_factory=Counter)  # entries read per kind
    files: Counter[str] = field(default_factory=Counter)  # files read per kind
    skipped: list[Skip] = field(default_factory=list)

    def times(self) -> list[int]:
        """Every time the export's records carry."""
        rows = (self.following, self.followers, self.hashtags, self.unfollowed)
        times = [r.time for rel in rows for r in rel if r.time is not None]
        times += [p.time for refs in (self.liked_posts, self.saved_posts) for p in refs]
        times += [c.post.time for c in self.liked_comments] + [p.time for p in self.posts]
        return times + [r.time for r, _ in self.comments if r.time is not None]

    def latest(self) -> int | None:
        """The newest time in the export: when it was made, as far as its data tells."""
        return max(self.times(), default=None)


def username_from_href(href: str) -> str:
    """The last path segment of a profile or tag URL (``/_u/`` dropped).

    >>> username_from_href("https://www.instagram.com/_u/synthetic_foodblog")
    'synthetic_foodblog'
    >>> username_from_href("https://www.instagram.com/explore/tags/pdx/")
    'pdx'
    """
    path = re.sub(r"^[a-z]+://[^/]+", "", href).split("?")[0].split("#")[0]
    parts = [p for p in path.split("/") if p and p != "_u"]
    return parts[-1] if parts else ""


def post_key(url: str) -> tuple[str, str] | None:
    """``(key, media type)`` of a post URL: ``ig:<shortcode>``; None when not a post URL.

    >>> post_key("https://www.instagram.com/reel/AbC_d-1/"), post_key("https://x.org/p/A")
    (('ig:AbC_d-1', 'video'), None)
    """
    match = _POST_URL.search(url)
    if not match:
        return None
    return f"ig:{match.group(2)}", "photo" if match.group(1) == "p" else "video"


class _Bad(Exception):
    """One entry's problem (becomes a :class:`Skip`)."""


class _Reader:
    def __init__(self, now: int) -> None:
        self.now = now

    def time(self, fields: Fields, required: bool = True) -> int | None:
        for value in fields.times:
            if value not in (None, "", 0):
                try:
                    return check_time(value, "timestamp", now=self.now)
                except BadValue as exc:
                    raise _Bad(str(exc)) from None
        if required:
            raise _Bad("no timestamp")
        return None

    @staticmethod
    def name(value: str, what: str = "username") -> str:
        try:
            return check_handle(value.strip().removeprefix("@"), what)
        except BadValue as exc:
            raise _Bad(str(exc)) from None

    @staticmethod
    def text(value: str, what: str, limit: int) -> str:
        try:
            return check_text(value, what, max_chars=limit)
        except BadValue as exc:
            raise _Bad(str(exc)) from None

    def relation(self, f: Fields, required_time: bool = True) -> Relation:
        """Username in ``title`` (2025+), else ``value`` (older), else the href's path."""
        raw = f.title or next((v for v in f.values if v), "")
        raw = raw or next((username_from_href(h) for h in f.hrefs), "")
        if not raw:
            raise _Bad("no username")
        return Relation(self.name(raw), self.time(f, required_time))

    def post_ref(self, f: Fields) -> PostRef:
        """A liked or saved post: the old shape (owner in ``title``, URL in an href) or the
        2025 shape (``label_values``: URL, Owner.Username, Owner.Name, Caption)."""
        url = f.labels.get("URL") or next((h for h in f.hrefs if _POST_URL.search(h)), "")
        found = post_key(url) if url else None
        if found is None:
            raise _Bad("no post URL" if not url else f"not a post URL: {url[:60]!r}")
        owner = f.labels.get("Owner.Username") or f.title or f.labels.get("Media Owner", "")
        return PostRef(
            found[0],
            self.name(owner, "owner") if owner else None,
            self.time(f),  # type: ignore[arg-type]
            self.text(f.labels.get("Caption", ""), "caption", CAPTION_MAX),
            found[1],
            self.text(f.labels.get("Owner.Name", ""), "owner name", DISPLAY_NAME_MAX),
        )

    def own_post(self, entry: Any, username: str) -> OwnPost:
        media = entry.get("media") if isinstance(entry, dict) else None
        if not isinstance(media, list):
            media = [entry] if isinstance(entry, dict) and "uri" in entry else []
        uris = tuple(
            m["uri"] for m in media if isinstance(m, dict) and isinstance(m.get("uri"), str)
        )
        if not uris:
            raise _Bad("no media")
        outer, first = flatten(entry), flatten(media[0])
        when = self.time(outer, False) or self.time(first)
        titles = [t for t in (outer.title, first.title) if t]
        caption = self.text(max(titles, key=len, default=""), "caption", CAPTION_MAX)
        ext = PurePosixPath(uris[0]).suffix.lower().lstrip(".")
        kind = "carousel" if len(uris) > 1 else "video" if ext in _VIDEO else "photo"
        key = f"ig:{username}/{when}/{uris[0]}"
        return OwnPost(key, when, caption, uris, kind)  # type: ignore[arg-type]


def read_export(
    files: ExportFiles, *, username: str | None = None, now: int | None = None
) -> InstagramExport:
    """Read every routed file of ``files`` into an :class:`InstagramExport`.

    ``username`` overrides the exporting person's username (found otherwise in
    ``personal_information.json``, else in the archive's name); ``now`` is the clock that
    times are checked against (default: the wall clock).
    """
    reader = _Reader(int(time.time()) if now is None else now)
    out = InstagramExport()
    routed = list(files.routed())
    for kind, name in routed:
        if kind == "profile":
            for entry in _entries(files, kind, name, out):
                f = flatten(entry)
                out.username = out.username or f.labels.get("Username") or None
                out.display_name = out.display_name or f.labels.get("Name", "")
    out.username = username or out.username or files.username_hint()
    parsers: dict[str, tuple[list[Any], Callable[[Any], Any]]] = {
        "following": (out.following, lambda e: reader.relation(flatten(e))),
        "followers": (out.followers, lambda e: reader.relation(flatten(e))),
        "unfollowed": (out.unfollowed, lambda e: reader.relation(flatten(e))),
        "blocked": (out.blocked, lambda e: reader.relation(flatten(e), False)),
        "hashtags": (out.hashtags, lambda e: reader.relation(flatten(e), False)),
        "liked_posts": (out.liked_posts, lambda e: reader.post_ref(flatten(e))),
        "saved_posts": (out.saved_posts, lambda e: reader.post_ref(flatten(e))),
        "liked_comments": (out.liked_comments, lambda e: _liked_comment(reader, flatten(e))),
        "comments": (out.comments, lambda e: _comment(reader, flatten(e), e)),
        "posts": (out.posts, lambda e: reader.own_post(e, out.username or "me")),
    }
    for kind, name in routed:
        if kind not in parsers:
            continue
        rows, parse = parsers[kind]
        for n, entry in enumerate(_entries(files, kind, name, out), start=1):
            out.read[kind] += 1
            try:
                rows.append(parse(entry))
            except _Bad as exc:
                out.skipped.append(Skip(kind, name, n, str(exc)))
    return out


def _entries(files: ExportFiles, kind: str, name: str, out: InstagramExport) -> list[Any]:
    try:
        entries = files.load(name)
    except (ValueError, OSError) as exc:
        out.skipped.append(Skip(kind, name, -1, str(exc)))
        return []
    out.files[kind] += 1
    return entries


def _liked_comment(reader: _Reader, f: Fields) -> LikedComment:
    if not f.title:
        raise _Bad("no comment author")
    post = reader.post_ref(Fields("", f.hrefs, f.values, f.labels, f.times))
    return LikedComment(reader.name(f.title, "comment author"), post)


def _comment(reader: _Reader, f: Fields, entry: Any = None) -> tuple[Relation, PostRef | None]:
    """Your comment: the post's owner and time; the post itself when a link names it — an
    href, or a post URL in ``media_list_data[].uri`` (both shapes of
    ``post_comments_N.json`` / ``reels_comments.json`` usually leave that ``uri`` empty and
    give only the owner)."""
    owner = f.labels.get("Media Owner") or f.labels.get("Owner.Username") or f.title
    if not owner:
        raise _Bad("no media owner")
    person = Relation(reader.name(owner, "media owner"), reader.time(f))
    media = entry.get("media_list_data") if isinstance(entry, dict) else None
    uris = [m.get("uri") for m in media if isinstance(m, dict)] if isinstance(media, list) else []
    links = f.hrefs + [u for u in uris if isinstance(u, str)]
    url = next((h for h in links if _POST_URL.search(h)), "")
    found = post_key(url) if url else None
    if found is None:
        return person, None
    return person, PostRef(found[0], person.name, person.time or 0, "", found[1])
