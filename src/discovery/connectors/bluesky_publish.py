"""Publish a feed generator's record, so Bluesky apps can find the feed.

A feed is an ``app.bsky.feed.generator`` record in its publisher's repository
(``at://<publisher>/app.bsky.feed.generator/<rkey>``) naming the service that serves it
(``did``), with a display name and description (lexicon ``app.bsky.feed.generator``:
``did``, ``displayName`` and ``createdAt`` required; at most 24 graphemes of name and 300 of
description). :func:`publish` logs in to the publisher's PDS with an app password
(``com.atproto.server.createSession``) and writes the record with
``com.atproto.repo.putRecord``, through the atproto SDK (imported inside the function).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..errors import DiscoveryError, InputError

__all__ = [
    "FEEDS",
    "GENERATOR",
    "FeedRecord",
    "PublishError",
    "feed_record",
    "graphemes",
    "is_did",
    "publish",
]

#: The record's collection (NSID).
GENERATOR = "app.bsky.feed.generator"
#: The feeds the feed generator serves: record key → feed kind.
FEEDS = {"explore": "explore", "blend": "blend"}
_DID = re.compile(r"did:[a-z]+:[A-Za-z0-9._:%-]{1,2040}")
_RKEY = re.compile(r"[A-Za-z0-9._:~-]{1,512}")
_DEFAULTS = {
    "explore": (
        "Explore (discovery)",
        "Image posts from accounts close to the people you follow, ranked for you by"
        " discovery-engine. New here? You get what is popular with images.",
    ),
    "blend": (
        "Blend (discovery)",
        "The image posts of the people you follow, blended with posts from accounts close to"
        " them, ranked for you by discovery-engine.",
    ),
}
# Marks that join the character before them into one grapheme (an approximation of UAX #29
# that never counts fewer graphemes than a user sees).
_JOINERS = {0x200D, 0xFE0E, 0xFE0F, *range(0x1F3FB, 0x1F400)}


class PublishError(DiscoveryError):
    """The PDS could not be reached, refused the credentials or refused the record."""


@dataclass(frozen=True)
class FeedRecord:
    """An ``app.bsky.feed.generator`` record."""

    did: str
    display_name: str
    description: str
    created_at: str

    def to_json(self) -> dict[str, Any]:
        """The record as written (lexicon field names, with its ``$type``)."""
        return {
            "$type": GENERATOR,
            "did": self.did,
            "displayName": self.display_name,
            "description": self.description,
            "createdAt": self.created_at,
        }


def is_did(value: str) -> bool:
    """Whether ``value`` is a DID in atproto's syntax (no fragment).

    >>> is_did("did:plc:ewvi7nxzyoun6zhxrhs64oiz"), is_did("did:web:example.com")
    (True, True)
    >>> is_did("did:plc:abc#atproto_labeler"), is_did("alice.bsky.social")
    (False, False)
    """
    return _DID.fullmatch(value) is not None and not value.endswith(":")


def graphemes(text: str) -> int:
    """User-perceived characters in ``text`` (combining marks, zero-width joiners, variation
    selectors and skin tones count with the character before them).

    >>> graphemes("Explore"), graphemes("e\\u0301"), graphemes("\\U0001F469\\u200D\\U0001F4BB")
    (7, 1, 1)
    """
    n = 0
    after_joiner = False
    for ch in text:
        code = ord(ch)
        joins = unicodedata.category(ch).startswith("M") or code in _JOINERS
        if not joins and not after_joiner:
            n += 1
        after_joiner = code == 0x200D
    return n


def _text(name: str, value: str, max_graphemes: int, max_bytes: int) -> str:
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n" for ch in value):
        raise InputError(f"{name}: contains a control character")
    if graphemes(value) > max_graphemes or len(value.encode()) > max_bytes:
        raise InputError(f"{name}: at most {max_graphemes} characters ({max_bytes} bytes)")
    return value


def feed_record(
    service_did: str,
    rkey: str,
    display_name: str | None = None,
    description: str | None = None,
    now: datetime | None = None,
) -> FeedRecord:
    """The record of feed ``rkey`` served by ``service_did``; the name and description
    default to the feed kind's own when ``rkey`` is ``explore`` or ``blend``.

    >>> r = feed_record("did:web:feeds.example.com", "explore", now=datetime(2026, 1, 2, tzinfo=UTC))
    >>> r.to_json()["displayName"], r.created_at
    ('Explore (discovery)', '2026-01-02T00:00:00.000Z')
    """
    if not is_did(service_did):
        raise InputError(f"--feedgen-did: {service_did!r} is not a DID (did:web:HOST)")
    if not _RKEY.fullmatch(rkey) or rkey in (".", ".."):
        raise InputError(f"--rkey: {rkey!r} is not a record key")
    name, text = _DEFAULTS.get(rkey, (rkey, ""))
    stamp = (now or datetime.now(UTC)).astimezone(UTC)
    return FeedRecord(
        did=service_did,
        display_name=_text("--display-name", display_name or name, 24, 240),
        description=_text("--description", text if description is None else description, 300, 3000),
        created_at=stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z",
    )


def _why(exc: Exception) -> str:
    """The XRPC ``error: message`` of a failed call, else the exception's own words."""
    response = getattr(exc, "response", None)
    content = getattr(response, "content", None)
    error, message = getattr(content, "error", None), getattr(content, "message", None)
    if error:
        return f"{error}: {message}" if message else str(error)
    for cause in (exc, exc.__cause__, exc.__context__):  # transport errors wrap httpx's
        if cause is not None and str(cause).strip():
            return str(cause).strip().splitlines()[0]
    return type(exc).__name__


def publish(record: FeedRecord, rkey: str, handle: str, app_password: str, service: str) -> str:
    """Write ``record`` as ``rkey`` in the repository of ``handle`` on PDS ``service``; the
    at-uri written. :class:`PublishError` (one line) when the PDS cannot be reached, refuses
    the login, or refuses the record."""
    from atproto_client import Client
    from atproto_client.exceptions import (
        NetworkError,
        RequestErrorBase,
        UnauthorizedError,
    )
    from atproto_client.models.com.atproto.repo.put_record import Data

    client = Client(base_url=service)
    sessions: list[Any] = []
    client.on_session_change(lambda event, session: sessions.append(session))
    try:
        client.login(handle, app_password, fetch_bsky_profile=False)
    except NetworkError as exc:
        raise PublishError(f"cannot reach {service}: {_why(exc)}") from None
    except (UnauthorizedError, RequestErrorBase) as exc:
        raise PublishError(f"{service} refused the login of {handle}: {_why(exc)}") from None
    did = sessions[-1].did if sessions else handle
    data = Data(repo=did, collection=GENERATOR, rkey=rkey, record=record.to_json())
    try:
        out = client.com.atproto.repo.put_record(data)
    except NetworkError as exc:
        raise PublishError(f"cannot reach {service}: {_why(exc)}") from None
    except RequestErrorBase as exc:
        raise PublishError(f"{service} refused the feed record: {_why(exc)}") from None
    return str(out.uri)
