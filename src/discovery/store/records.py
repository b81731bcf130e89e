"""Typed records that cross the store's interface: what goes in, and the columnar reads out.

Rows keyed by a source-scoped external key (:class:`AccountRecord`, :class:`PostRecord`) go in
through :meth:`Store.upsert_accounts` / :meth:`Store.upsert_posts`, which answer with the
internal ids. Display reads come back as :class:`AccountInfo` / :class:`PostInfo`; the snapshot
loader reads :class:`Changes`, numpy columns of everything written after a change counter.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "ACCOUNT_COLUMNS",
    "FOLLOW_COLUMNS",
    "INTERACTION_COLUMNS",
    "POST_COLUMNS",
    "AccountInfo",
    "AccountRecord",
    "Changes",
    "PostInfo",
    "PostRecord",
    "TokenRecord",
]


@dataclass(frozen=True, slots=True)
class AccountRecord:
    """An account as a source knows it.

    ``key`` is source-scoped and stable (``csv:123``, ``lastfm:u42``, ``bsky:did:plc:…``,
    ``mastodon:@user@host``, ``ig:username``); the handle may change between syncs.
    """

    key: str
    handle: str
    display_name: str = ""
    kind: str = "person"
    created_at: int = 0


@dataclass(frozen=True, slots=True)
class PostRecord:
    """A post as a source knows it; ``author`` is an internal account id (None: no author)."""

    key: str
    author: int | None
    taken_at: int
    caption: str = ""
    media_type: str = "photo"
    image: str | None = None
    like_count: int = 0
    comment_count: int = 0


@dataclass(frozen=True, slots=True)
class AccountInfo:
    """An account for display (not on the ranking path)."""

    id: int
    key: str
    handle: str
    display_name: str
    kind: str
    created_at: int


@dataclass(frozen=True, slots=True)
class PostInfo:
    """The display fields of a post (not on the ranking path)."""

    id: int
    key: str
    caption: str
    image: str | None
    media_type: str


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """Who a stored token speaks for (the secret itself is never stored), and its bookkeeping:
    when it was created and last used (Unix seconds) and when its browser sessions were last
    signed out (Unix milliseconds; sessions issued before are void)."""

    account: int | None
    admin: bool
    token_hash: str = ""
    handle: str | None = None
    created_at: int = 0
    last_used: int | None = None
    signed_out_at: int | None = None


#: numpy dtypes of the columnar reads in :class:`Changes` (ids are int64 everywhere).
ACCOUNT_COLUMNS = [("id", "i8"), ("kind", "i1")]
FOLLOW_COLUMNS = [("s", "i8"), ("d", "i8"), ("t", "i8")]
POST_COLUMNS = [
    ("id", "i8"),
    ("author", "i8"),
    ("taken", "i8"),
    ("likes", "i8"),
    ("comments", "i8"),
    ("media", "i1"),
]
INTERACTION_COLUMNS = [
    ("id", "i8"),
    ("u", "i8"),
    ("p", "i8"),
    ("k", "i1"),
    ("t", "i8"),
    ("v", "f4"),
]


@dataclass(frozen=True)
class Changes:
    """Everything written after change counter ``since`` (all of it when ``since`` is -1), read
    in one consistent transaction by :meth:`Store.changes_since`.

    Structured arrays use the dtypes above; ``account_handles`` is parallel to ``accounts``
    (accounts whose row changed: new ones, or a handle that changed), ``removed_follows`` holds
    the unfollow tombstones, ``hashtags`` the vocabulary entries with id above the caller's
    ``tag_id``, and ``interactions`` the rows with id above the caller's ``interaction_id``.
    """

    counter: int
    now: int | None  # meta "now" of a fixed clock; None on the wall clock
    clock: str  # "fixed" or "wall" (see Store.clock)
    accounts: np.ndarray
    account_handles: list[str]
    removed_follows: np.ndarray  # (s, d)
    follows: np.ndarray
    posts: np.ndarray
    hashtags: list[tuple[int, str]]
    post_hashtags: np.ndarray  # (p, h)
    interactions: np.ndarray
    removed_posts: np.ndarray  # post ids deleted since
    removed_interactions: np.ndarray  # (u, p, k) triples withdrawn since
    #: (p, h) hashtag links an edited caption dropped since
    removed_post_hashtags: np.ndarray = field(
        default_factory=lambda: np.zeros(0, np.dtype([("p", "i8"), ("h", "i8")]))
    )
