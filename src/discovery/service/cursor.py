"""Opaque feed cursors: the ids of the posts already shown, bound to one user and feed kind.

A feed is re-ranked on every request (new posts, new events), so an offset would skip or
repeat items. The cursor instead carries the set of post ids already served; the next page is
the same feed with those excluded (``Engine.feed(exclude=...)``), which rules out duplicates
across pages by construction.

The cursor also keeps, in order, the posts of the block of ten that the last page left open
(``o``), so the author rule (at most ``max_per_author`` posts of one author in every block of
ten items) continues exactly across pages of any size, and, where a feed skips posts it looked
at (the Bluesky feed generator serves image posts only), how many of the shown posts were
served (``s``), so logged impressions count their positions across pages.

Encoding: sorted ids, delta-encoded, as JSON, zlib-compressed (small window), base64url without
padding. A cursor is not a secret: a client that edits one only changes which posts it is not
shown.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from collections.abc import Sequence
from typing import Any, NamedTuple

from ..errors import InputError

__all__ = ["MAX_SHOWN", "Cursor", "decode_cursor", "encode_cursor", "read_cursor"]

#: A feed stops paging after this many posts (the cursor would grow past a URL's comfort).
MAX_SHOWN = 1000
_VERSION = 1


class Cursor(NamedTuple):
    """What a cursor carries: every post id shown, the open block's ids in serve order (None
    when the cursor does not say: the author rule then estimates), and how many of the shown
    posts were served (None when every one was)."""

    shown: set[int]
    open_block: list[int] | None
    served: int | None = None


def encode_cursor(
    user: str,
    kind: str,
    shown: set[int],
    open_block: Sequence[int] = (),
    served: int | None = None,
) -> str:
    """Cursor for the page after ``shown`` post ids of ``user``'s ``kind`` feed; ``open_block``
    lists, in order, the posts served so far in the block of ten that is still open;
    ``served`` how many of ``shown`` were served, when the feed skipped some.

    >>> c = encode_cursor("me", "blend", {101, 103, 102}, [103, 102, 101])
    >>> read_cursor(c, "me", "blend")
    Cursor(shown={101, 102, 103}, open_block=[103, 102, 101], served=None)
    >>> read_cursor(encode_cursor("me", "blend", {101, 102}, served=1), "me", "blend").served
    1
    """
    ids = sorted(int(i) for i in shown)
    deltas = [b - a for a, b in zip([0, *ids], ids, strict=False)]
    fields: dict[str, Any] = {"v": _VERSION, "u": user, "k": kind, "d": deltas}
    if open_block:
        fields["o"] = [int(i) for i in open_block]
    if served is not None:
        fields["s"] = int(served)
    body = json.dumps(fields, separators=(",", ":"))
    # A 1 KiB window and small memory level: the default state costs ~60 µs to set up per call.
    z = zlib.compressobj(6, zlib.DEFLATED, 10, 2)
    packed = z.compress(body.encode()) + z.flush()
    return base64.urlsafe_b64encode(packed).rstrip(b"=").decode()


def decode_cursor(cursor: str, user: str, kind: str) -> set[int]:
    """Post ids a cursor says were shown (see :func:`read_cursor`)."""
    return read_cursor(cursor, user, kind).shown


def read_cursor(cursor: str, user: str, kind: str) -> Cursor:
    """What a cursor says was shown; :class:`InputError` if it is damaged or belongs to
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
    served = data.get("s")
    if served is not None and (
        isinstance(served, bool) or not isinstance(served, int) or not 0 <= served <= len(ids)
    ):
        raise InputError("cursor: damaged post list")
    block = data.get("o", [] if len(ids) % 10 == 0 else None)
    if block is None:
        return Cursor(ids, None, served)
    if (
        not isinstance(block, list)
        or len(block) >= 10
        or not all(isinstance(i, int) and not isinstance(i, bool) and i in ids for i in block)
    ):
        raise InputError("cursor: damaged post list")
    return Cursor(ids, block, served)
