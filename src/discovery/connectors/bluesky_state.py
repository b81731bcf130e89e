"""What the Bluesky connector keeps in the store beside the rows it wrote.

Record keys (``sync_records``, source ``bsky``): every like and follow this connector wrote from
an upstream record it can name, as ``<did>/<collection>/<rkey>`` → (account, effect, target), so
a Jetstream delete (which names only the record key) finds what it undoes in one lookup per
batch (:mod:`discovery.store.records_sync`).

Sync state under ``bsky:<did>``: JSON indexes of what the sync wrote for that account, so the
next sync can tell what disappeared upstream (``index:posts`` uri → sort time, ``index:likes``
post uri → like time, ``index:follows`` followed DID → ""). Under ``bsky:network``: ``dids``,
every DID the connector stored (the accounts Jetstream follows). Each is written inside the
transaction that wrote the rows it describes, and only when it changed, so an unchanged re-sync
writes nothing.

Stores written before ``sync_records`` kept the record keys inside the JSON indexes
(``index:likes`` uri → [time, rkey], ``index:follows`` DID → rkey); :func:`migrate_indexes` moves
them into ``sync_records`` once (the sync and the stream call it on start).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from ..store import Store
from ..store.records_sync import SyncRecord
from .bluesky_records import account_key, post_key

__all__ = [
    "NETWORK",
    "SOURCE",
    "KnownDids",
    "like_time",
    "load_index",
    "migrate_indexes",
    "record_key",
    "save_index",
    "upsert_dids",
]

#: The sync-state source of network-wide values (the DID list, Jetstream's cursor).
NETWORK = "bsky:network"
#: The ``sync_records`` source of this connector's record keys.
SOURCE = "bsky"
LIKE, FOLLOW = "app.bsky.feed.like", "app.bsky.graph.follow"


def load_index(store: Store, did: str, name: str) -> dict[str, Any]:
    """A JSON index kept in sync state (``index:posts`` …); empty when unset or unreadable."""
    try:
        value = json.loads(store.get_sync(account_key(did), f"index:{name}") or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def save_index(store: Store, did: str, name: str, index: dict[str, Any]) -> None:
    """Save an index (inside the transaction that wrote the rows it lists)."""
    store.set_sync(account_key(did), f"index:{name}", json.dumps(index, sort_keys=True))


def record_key(did: str, collection: str, rkey: str) -> str:
    """The ``sync_records`` name of a record: ``<did>/<collection>/<rkey>`` (its AT URI's path).

    >>> record_key("did:plc:ana", "app.bsky.feed.like", "3kabc")
    'did:plc:ana/app.bsky.feed.like/3kabc'
    """
    return f"{did}/{collection}/{rkey}"


def like_time(value: Any) -> int:
    """The time of an ``index:likes`` entry: ``time`` now, ``[time, rkey]`` in older stores."""
    if isinstance(value, list):
        value = value[0] if value else 0
    return int(value) if isinstance(value, int | float) else 0


def migrate_indexes(store: Store) -> int:
    """Move record keys kept in older JSON indexes into ``sync_records``; how many moved.

    One query finds every ``index:likes`` and ``index:follows``; only entries that still carry a
    record key are moved, and their index is rewritten without it in the same transaction, so a
    migrated (or new) store finds nothing to do and writes nothing.
    """
    likes = _old_entries(store, "likes")
    follows = _old_entries(store, "follows")
    if not likes and not follows:
        return 0
    dids = set(likes) | set(follows) | {t for f in follows.values() for t in f}
    accounts = store.ids_for_keys("accounts", [account_key(d) for d in dids])
    posts = store.ids_for_keys("posts", [post_key(u) for f in likes.values() for u in f])
    records: list[SyncRecord] = []
    for did, found in likes.items():
        me = accounts.get(account_key(did))
        for uri, rkey in found.items():
            pid = posts.get(post_key(uri))
            if me is not None and pid is not None:
                records.append(SyncRecord(record_key(did, LIKE, rkey), me, "like", pid))
    for did, found in follows.items():
        me = accounts.get(account_key(did))
        for target, rkey in found.items():
            dst = accounts.get(account_key(target))
            if me is not None and dst is not None:
                records.append(SyncRecord(record_key(did, FOLLOW, rkey), me, "follow", dst))
    with store.transaction():
        store.put_sync_records(SOURCE, records)
        for did in likes:
            index = load_index(store, did, "likes")
            save_index(store, did, "likes", {u: like_time(v) for u, v in index.items()})
        for did in follows:
            save_index(store, did, "follows", dict.fromkeys(load_index(store, did, "follows"), ""))
    return len(records)


def _old_entries(store: Store, name: str) -> dict[str, dict[str, str]]:
    """``did → {uri or DID: rkey}`` of the entries of every ``index:<name>`` with a record key."""
    out: dict[str, dict[str, str]] = {}
    for source, text in store.sync_values(f"index:{name}").items():
        try:
            index = json.loads(text)
        except ValueError:
            continue
        if not isinstance(index, dict) or not source.startswith("bsky:did:"):
            continue
        found = {}
        for key, value in index.items():
            rkey = value[1] if isinstance(value, list) and len(value) > 1 else value
            if isinstance(rkey, str) and rkey:
                found[str(key)] = rkey
        if found:
            out[source[len("bsky:") :]] = found
    return out


def upsert_dids(store: Store, records: Iterable[Any]) -> dict[str, int]:
    """Upsert ``AccountRecord`` s; a handle already held by another account (a handle moved
    between DIDs) is stored as the DID instead. ``did → account id``."""
    recs = {r.key: r for r in records}
    held = store.ids_for_keys("accounts", recs)
    owners = store.account_ids([r.handle for r in recs.values()])
    fixed = []
    for key, r in recs.items():
        owner = owners.get(r.handle)
        if owner is not None and owner != held.get(key):
            r = type(r)(key, key[len("bsky:") :], r.display_name, r.kind, r.created_at)
        fixed.append(r)
    ids = store.upsert_accounts(fixed)
    return {key[len("bsky:") :]: i for key, i in ids.items()}


class KnownDids:
    """The DIDs this connector stored (``bsky:network`` / ``dids``), loaded once and saved
    whenever a write adds some."""

    def __init__(self, store: Store) -> None:
        self.store = store
        try:
            value = json.loads(store.get_sync(NETWORK, "dids") or "[]")
        except ValueError:
            value = []
        self.dids: set[str] = (
            {d for d in value if isinstance(d, str)} if isinstance(value, list) else set()
        )

    def add(self, dids: Iterable[str]) -> None:
        """Record ``dids`` (inside the transaction that stored their accounts)."""
        new = set(dids) - self.dids
        if new:
            self.dids |= new
            self.store.set_sync(NETWORK, "dids", json.dumps(sorted(self.dids)))
