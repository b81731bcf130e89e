"""Opaque feed cursors: the ids of the posts already shown, bound to one user and feed kind.

A feed is re-ranked on every request (new posts, new events), so an offset would skip or
repeat items. The cursor instead carries the set of post ids already served; the next page is
the same feed with those excluded (``Engine.feed(exclude=...)``), which rules out duplicates
across pages by construction.

Encoding: sorted ids, delta-encoded, as JSON, zlib-compressed (small window), base64url without
padding. A cursor is not a secret: a client that edits one only changes which posts it is not
shown.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from typing import Any

from ..errors import InputError

__all__ = ["MAX_SHOWN", "decode_cursor", "encode_cursor"]

#: A feed stops paging after this many posts (the cursor would grow past a URL's comfort).
MAX_SHOWN = 1000
_VERSION = 1


def encode_cursor(user: str, kind: str, shown: set[int]) -> str:
    """Cursor for the page after ``shown`` post ids of ``user``'s ``kind`` feed.

    >>> c = encode_cursor("me", "blend", {101, 103, 102})
    >>> decode_cursor(c, "me", "blend")
    {101, 102, 103}
    """
    ids = sorted(int(i) for i in shown)
    deltas = [b - a for a, b in zip([0, *ids], ids, strict=False)]
    body = json.dumps({"v": _VERSION, "u": user, "k": kind, "d": deltas}, separators=(",", ":"))
    # A 1 KiB window and small memory level: the default state costs ~60 µs to set up per call.
    z = zlib.compressobj(6, zlib.DEFLATED, 10, 2)
    packed = z.compress(body.encode()) + z.flush()
    return base64.urlsafe_b64encode(packed).rstrip(b"=").decode()


def decode_cursor(cursor: str, user: str, kind: str) -> set[int]:
    """Post ids a cursor says were shown; :class:`InputError` if it is damaged or belongs to
    another user's feed or another kind."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data: Any = json.loads(zlib.decompressobj().decompress(raw, 1 << 20))
    except (binascii.Error, ValueError, zlib.error):
        raise InputError("cursor: not a cursor this server issued") from None
    if not isinstance(data, dict) or data.get("v") != _VERSION:
        raise InputError("cursor: not a cursor this server issued")
    if data.get("u") != user or data.get("k") != kind:
        raise InputError(
            f"cursor: issued for the {data.get('k')!r} feed of {data.get('u')!r}, "
            f"not the {kind!r} feed of {user!r}"
        )
    deltas = data.get("d")
    if not isinstance(deltas, list) or len(deltas) > MAX_SHOWN:
        raise InputError("cursor: damaged post list")
    ids: set[int] = set()
    total = 0
    for d in deltas:
        if isinstance(d, bool) or not isinstance(d, int) or d < 0:
            raise InputError("cursor: damaged post list")
        total += d
        if total >= 2**63:
            raise InputError("cursor: damaged post list")
        ids.add(total)
    return ids
