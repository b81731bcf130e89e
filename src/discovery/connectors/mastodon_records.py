"""Mastodon API entities → store records: accounts, image statuses, and safe HTML-to-text.

The Mastodon API (and Pixelfed's copy of it) returns ``Account`` and ``Status`` entities as
JSON (Mastodon.py hands them over as dicts). Every field is treated as untrusted: a value that
breaks the store's rules (:mod:`discovery.store.validate`) raises :class:`Skip` with a short
reason, which the connector counts instead of failing the sync.

Captions: a status's ``content`` is HTML. :func:`html_to_text` keeps only text — paragraphs and
line breaks become newlines, ``<script>``/``<style>`` bodies are dropped, entities decoded,
control characters removed — so hashtags (``#<span>tag</span>`` → ``#tag``), mentions and the
full URL of links (Mastodon splits it into visible and invisible spans) survive as plain text.
The content warning (``spoiler_text``) comes first, and the first picture's alt text last, on
its own line after ``Image:``, so an image-only status still has words that describe it (the
web pages use the caption as the image's ``alt``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from html.parser import HTMLParser
from typing import Any

from ..store import AccountRecord
from ..store import validate as v

__all__ = [
    "Skip",
    "StatusDraft",
    "account_handle",
    "html_to_text",
    "parse_time",
    "to_account",
    "to_status",
]

_BLOCK = frozenset(
    ["p", "div", "blockquote", "li", "ul", "ol", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "tr"]
)
_DROP = frozenset(
    ["script", "style", "template", "noscript", "iframe", "object", "svg", "math", "head", "title"]
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SPACES = re.compile(r"[ \t\u00a0]+")
_PUBLIC = ("public", "unlisted")
_PICTURE_TYPES = ("image", "gifv", "video")


class Skip(Exception):
    """A record left out; ``reason`` is the short phrase the sync summary counts it under."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.dropping = 0
        self.href: list[str | None] = []
        self.link_start: list[int] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROP:
            self.dropping += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCK:
            self.parts.append("\n\n")
        elif tag == "a":
            self.href.append(dict(attrs).get("href"))
            self.link_start.append(len(self.parts))

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROP:
            self.dropping = max(0, self.dropping - 1)
        elif tag in _BLOCK:
            self.parts.append("\n\n")
        elif tag == "a" and self.href:
            href, start = self.href.pop(), self.link_start.pop()
            shown = "".join(self.parts[start:]).strip()
            # A link whose words are not its address (other servers' HTML) keeps the address as
            # text; Mastodon's own links already show it, hashtags and mentions need none.
            if (
                href
                and href.startswith(("http://", "https://"))
                and shown
                and href not in shown
                and not shown.startswith(("#", "@"))
                and shown.rstrip("…") not in href
            ):
                self.parts.append(f" ({href})")

    def handle_data(self, data: str) -> None:
        if not self.dropping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Plain text of Mastodon's HTML ``content``: no markup, hashtags kept, links as text.

    >>> html_to_text('<p>Dawn <a href="https://m.example/tags/Sky" class="hashtag">#<span>Sky</span></a></p>'
    ...              '<p>more<br>lines &amp; <script>alert(1)</script>done</p>')
    'Dawn #Sky\\n\\nmore\\nlines & done'
    >>> html_to_text('<a href="https://x.example/a"><span class="invisible">https://</span>'
    ...              '<span class="ellipsis">x.example/</span><span class="invisible">a</span></a>')
    'https://x.example/a'
    >>> html_to_text('see <a href="https://x.example/a">this</a>')
    'see this (https://x.example/a)'
    """
    parser = _Text()
    parser.feed(html)
    parser.close()
    text = _CONTROL.sub("", "".join(parser.parts))
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def parse_time(value: Any, what: str, now: int) -> int:
    """Unix seconds of an API datetime (a string or Mastodon.py's datetime), in range."""
    if isinstance(value, dt.datetime):
        stamp = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        seconds = int(stamp.timestamp())
    elif isinstance(value, str) and value:
        try:
            seconds = int(dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
        except ValueError:
            raise Skip(f"bad {what}") from None
    else:
        raise Skip(f"missing {what}")
    try:
        return v.check_time(seconds, what, now=now)
    except v.BadValue:
        raise Skip(f"{what} out of range") from None


def _ident(entity: Mapping[str, Any], what: str) -> str:
    ident = entity.get("id")
    if isinstance(ident, bool) or not isinstance(ident, str | int) or str(ident) == "":
        raise Skip(f"{what} without id")
    text = str(ident)
    if len(text) > 100 or not text.isprintable() or " " in text:
        raise Skip(f"bad {what} id")
    return text


def account_handle(acct: str, host: str) -> str:
    """``user@host`` for an ``acct`` (local accounts carry no domain; hosts are lower-cased).

    >>> account_handle("Ana", "Photos.Example"), account_handle("bo@Pix.Example", "m.example")
    ('Ana@photos.example', 'bo@pix.example')
    """
    user, _, domain = acct.lstrip("@").partition("@")
    return f"{user}@{(domain or host).lower()}"


def to_account(entity: Any, host: str, now: int) -> tuple[str, AccountRecord]:
    """``(instance-local id, AccountRecord)`` of an Account entity; key ``mastodon:@user@host``.

    Raises
    ------
    Skip
        No id, no ``acct``, or a handle the store refuses (white space, bidi controls...).
    """
    if not isinstance(entity, Mapping):
        raise Skip("account is not an object")
    ident = _ident(entity, "account")
    acct = entity.get("acct") or entity.get("username")
    if not isinstance(acct, str) or not acct.strip("@"):
        raise Skip("account without acct")
    try:
        handle = v.check_handle(account_handle(acct, host))
    except v.BadValue:
        raise Skip("bad handle") from None
    name = entity.get("display_name")
    name = _CONTROL.sub("", name)[: v.DISPLAY_NAME_MAX] if isinstance(name, str) else ""
    try:
        created = parse_time(entity.get("created_at"), "created_at", now)
    except Skip:
        created = 0  # cosmetic: an account without a usable creation date is still an account
    kind = "brand" if entity.get("bot") or entity.get("group") else "person"
    return ident, AccountRecord(f"mastodon:@{handle.lower()}", handle, name, kind, created)


@dataclass(frozen=True, slots=True)
class StatusDraft:
    """An image status ready for the store, its author still an external key."""

    id: str
    key: str
    author_id: str
    author: AccountRecord
    taken_at: int
    caption: str
    media_type: str
    image: str
    like_count: int
    comment_count: int

    def by(self, author: AccountRecord) -> StatusDraft:
        """The same status credited to ``author`` (an account's own listing names its author)."""
        return replace(self, author=author)


def _picture(attachments: Any) -> tuple[str, str, str]:
    """``(image URL, media type, alt text)`` of the first picture among the attachments."""
    usable = [
        a for a in attachments or [] if isinstance(a, Mapping) and a.get("type") in _PICTURE_TYPES
    ]
    if not usable:
        raise Skip("no image attachment")
    first = next((a for a in usable if a.get("type") == "image"), usable[0])
    for url in (first.get("preview_url"), first.get("url")):
        try:
            image = v.check_url_or_path(url)
        except v.BadValue:
            continue
        if image.startswith(("http://", "https://")):
            break
    else:
        raise Skip("bad image url")
    media = "carousel" if len(usable) > 1 else ("photo" if first["type"] == "image" else "video")
    alt = first.get("description")
    return image, media, html_to_text(alt) if isinstance(alt, str) else ""


def to_status(entity: Any, host: str, now: int) -> StatusDraft:
    """A Status entity with a picture → :class:`StatusDraft` (raises :class:`Skip` otherwise).

    The key is ``mastodon:`` + the status's ``url`` (else its ``uri``, else ``host/id``);
    counts are ``favourites_count`` and ``replies_count``; only public and unlisted statuses
    are kept (followers-only posts never reach a shared store).
    """
    if not isinstance(entity, Mapping):
        raise Skip("status is not an object")
    ident = _ident(entity, "status")
    if entity.get("visibility", "public") not in _PUBLIC:
        raise Skip("not public")
    if entity.get("reblog"):
        raise Skip("boost")
    author_id, author = to_account(entity.get("account"), host, now)
    taken = parse_time(entity.get("created_at"), "created_at", now)
    image, media, alt = _picture(entity.get("media_attachments"))
    content = entity.get("content")
    text = html_to_text(content) if isinstance(content, str) else ""
    warning = entity.get("spoiler_text")
    parts = [html_to_text(warning) if isinstance(warning, str) else "", text]
    if alt and alt not in text:
        parts.append(f"Image: {alt}")
    try:
        caption = v.check_text(
            "\n\n".join(p for p in parts if p), "caption", max_chars=v.CAPTION_MAX
        )
        likes = v.check_count(entity.get("favourites_count") or 0, "like_count")
        replies = v.check_count(entity.get("replies_count") or 0, "comment_count")
    except v.BadValue as exc:
        problem = "too long" if exc.field == "caption" else "out of range"
        raise Skip(f"{exc.field} {problem}") from None
    return StatusDraft(
        ident, _status_key(entity, host, ident), author_id, author, taken, caption, media,
        image, likes, replies,
    )  # fmt: skip


def _status_key(entity: Mapping[str, Any], host: str, ident: str) -> str:
    for link in (entity.get("url"), entity.get("uri")):
        if isinstance(link, str) and link.startswith(("http://", "https://")):
            try:
                return f"mastodon:{v.check_url_or_path(link)}"
            except v.BadValue:
                continue
    return f"mastodon:{host.lower()}/{ident}"
