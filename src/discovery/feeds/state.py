"""What the viewing user has already done to the posts of a feed, and whom they follow.

Each feed item of the JSON API, the CLI's ``--json`` and the pages carries the viewer's
state, so a client can draw "♥ Liked" or "Following" without a second request:

- ``liked``, ``saved``, ``hidden``: the viewer has a live ``like`` / ``save`` / ``hide`` of
  the post in the snapshot (an ``unlike`` turns the row into kind ``-1``, so it no longer
  counts);
- ``following``: the viewer follows the post's author now (``snapshot.following``, exact even
  while the follow matrix lags).

Read from the snapshot only (ranking's wall: never the database), for the snapshot the feed
itself was ranked on.

>>> import numpy as np
>>> from types import SimpleNamespace
>>> from discovery.store.model import KIND_CODE
>>> snap = SimpleNamespace(
...     user_interactions=lambda u: np.array([0, 1, 2]),
...     inter_kind=np.array([KIND_CODE["like"], KIND_CODE["save"], -1]),
...     inter_post=np.array([0, 1, 0]), post_id=np.array([101, 102]),
...     following=lambda u: np.array([7]), account_index=lambda h: {"ana": 7}.get(h, -1))
>>> item = FeedItem(101, "ana", "", 0, 0, 0.0, {}, [], "")
>>> mark_viewer(snap, 0, [item])
>>> item.liked, item.saved, item.hidden, item.following
(True, False, False, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..store.model import KIND_CODE
from .items import FeedItem

__all__ = ["mark_viewer", "post_flags"]

#: state name -> the interaction kind whose live row sets it
STATE_KINDS = {"liked": "like", "saved": "save", "hidden": "hide"}


def post_flags(snapshot: Any, viewer: int) -> dict[str, frozenset[int]]:
    """``{"liked", "saved", "hidden"}`` -> the ids of the posts ``viewer`` (an account index)
    has a live row of that kind for."""
    pos = snapshot.user_interactions(viewer)
    kinds, posts = snapshot.inter_kind[pos], snapshot.inter_post[pos]
    out = {}
    for state, kind in STATE_KINDS.items():
        chosen = posts[kinds == KIND_CODE[kind]]
        out[state] = frozenset(int(p) for p in snapshot.post_id[chosen].tolist())
    return out


def mark_viewer(snapshot: Any, viewer: int, items: Sequence[FeedItem]) -> None:
    """Set each item's ``liked``, ``saved``, ``hidden`` and ``following`` for ``viewer`` (an
    account index)."""
    if not items:
        return
    done = post_flags(snapshot, viewer)
    followed = set(np.asarray(snapshot.following(viewer)).tolist())
    for item in items:
        author = snapshot.account_index(item.author) if item.author else -1
        item.liked = item.post_id in done["liked"]
        item.saved = item.post_id in done["saved"]
        item.hidden = item.post_id in done["hidden"]
        item.following = author >= 0 and author in followed
