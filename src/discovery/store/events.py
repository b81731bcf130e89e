"""Live events (likes, hides, follows...) written idempotently, keyed by a client event id.

Every event carries a client id; ``events_seen`` remembers each id with the account it belongs
to, in the same transaction as the event's effect, so a retried request (after a timeout or a
crash) never applies an event twice, and a crash never leaves the id without its effect.
Ids are scoped by account: the key stored is ``"<account id>/<client id>"``, so one client
cannot pre-empt (and silently swallow) another account's ids.

Likes, saves and hides are per-user *states*: a second like of a post by the same account
changes nothing (``like_count`` counts accounts, not clicks); ``unlike``, ``unsave`` and
``unhide`` withdraw them. ``block`` and ``unblock`` name a target account, like ``follow`` and
``unfollow``; a block is kept in the user's settings (``blocked``, a list of handles) that
every feed filters by.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .base import Store
from .errors import StoreError
from .model import INTERACTION_KINDS, KIND_CODE

__all__ = [
    "EVENT_KINDS",
    "FOLLOW_KINDS",
    "TARGET_KINDS",
    "UNDO_KINDS",
    "EventRow",
    "account_ids",
    "event_key",
    "existing_posts",
    "read_consistently",
    "record_events",
    "seen_keys",
]

#: Events about another account (they carry ``target``, not ``post``).
FOLLOW_KINDS = ("follow", "unfollow")
TARGET_KINDS = (*FOLLOW_KINDS, "block", "unblock")
#: Events that withdraw a per-user state: ``unlike`` removes the account's like of the post.
UNDO_KINDS = {"unlike": "like", "unsave": "save", "unhide": "hide"}
#: What an API client may send: the interaction kinds (``tag`` is import-only), their undos,
#: and the account events.
EVENT_KINDS = (*(k for k in INTERACTION_KINDS if k != "tag"), *UNDO_KINDS, *TARGET_KINDS)


@dataclass(frozen=True)
class EventRow:
    """One resolved event: ids, not handles.

    ``post`` is set for interaction kinds and their undos, ``target`` (an account id) for
    :data:`TARGET_KINDS`; ``at`` is Unix seconds; ``value`` an optional number (a view's
    seconds, say).
    """

    client_id: str
    account: int
    kind: str
    at: int
    post: int | None = None
    target: int | None = None
    value: float | None = None


def event_key(account: int, client_id: str) -> str:
    """The idempotency key stored for an event.

    >>> event_key(7, "a1")
    '7/a1'
    """
    return f"{int(account)}/{client_id}"


def record_events(store: Store, rows: Sequence[EventRow], received_at: int) -> list[bool]:
    """Apply ``rows`` in one transaction; ``result[i]`` is False when row *i*'s id was seen
    before (its effect is not applied again).

    Interactions go through :meth:`Store.add_interactions` with ``update_counts`` (a new like
    raises the post's ``like_count``; likes, saves and hides are states), undos through
    :meth:`Store.remove_interactions`, follows through :meth:`Store.add_follows` and
    :meth:`Store.remove_follows`, blocks into the user's settings; deletions leave the
    tombstones snapshots catch up on.
    """
    for row in rows:
        if row.kind not in EVENT_KINDS:
            raise StoreError(f"event {row.client_id!r}: unknown kind {row.kind!r}")
        if (row.kind in TARGET_KINDS) != (row.target is not None) or (
            row.kind not in TARGET_KINDS and row.post is None
        ):
            raise StoreError(f"event {row.client_id!r}: {row.kind} needs a post or a target")
    keys = [event_key(r.account, r.client_id) for r in rows]
    with store.transaction():  # BEGIN IMMEDIATE: nobody else writes between check and insert
        known = store.seen_keys(keys)
        fresh = []
        for key in keys:  # an id repeated inside the batch is a duplicate too
            fresh.append(key not in known)
            known.add(key)
        store.mark_seen(
            [(k, r.account) for k, r, new in zip(keys, rows, fresh, strict=True) if new],
            received_at,
        )
        # effects in event order; consecutive interactions go in one statement
        run: list[tuple[Any, ...]] = []
        for row, new in zip(rows, fresh, strict=True):
            if not new:
                continue
            if row.kind in KIND_CODE:
                run.append((row.account, row.post, KIND_CODE[row.kind], row.at, row.value))
                continue
            store.add_interactions(run, update_counts=True, states=STATE_KINDS)
            run = []
            _apply(store, row)
        store.add_interactions(run, update_counts=True, states=STATE_KINDS)
    return fresh


#: Interaction kinds that are per-user states when they arrive as live events.
STATE_KINDS = ("like", "save", "hide")


def _apply(store: Store, row: EventRow) -> None:
    """One event that is not a plain interaction, in its place in the batch."""
    target = int(row.target or 0)
    if row.kind in UNDO_KINDS:
        store.remove_interactions([(row.account, int(row.post or 0), UNDO_KINDS[row.kind])])
    elif row.kind == "follow":
        store.add_follows([(row.account, target, row.at)])
    elif row.kind == "unfollow":
        store.remove_follows([(row.account, target)])
    else:  # block / unblock: the user's blocked handles, read by every feed
        handle = store.account_info([target])[target].handle
        body = store.user_settings(row.account)
        blocked = [h for h in body.get("blocked", []) if h != handle]
        if row.kind == "block":
            blocked.append(handle)
        if blocked != body.get("blocked", []):
            body["blocked"] = blocked
            store.save_user_settings(row.account, body)


def seen_keys(store: Store, keys: Iterable[str]) -> set[str]:
    """Which of ``keys`` (see :func:`event_key`) are recorded."""
    return store.seen_keys(keys)


def account_ids(store: Store, handles: Iterable[str]) -> dict[str, int]:
    """Account id of each known handle (unknown handles are absent)."""
    return store.account_ids(handles)


def existing_posts(store: Store, post_ids: Iterable[int]) -> set[int]:
    """Which of ``post_ids`` the store holds."""
    return store.existing_posts(post_ids)


@contextlib.contextmanager
def read_consistently(store: Store) -> Iterator[Store]:
    """A read transaction: every query inside sees the same committed state
    (:meth:`Store.read_consistently`)."""
    with store.read_consistently():
        yield store
