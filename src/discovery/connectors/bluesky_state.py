"""What the Bluesky connector keeps in the store's sync state, beside the rows it wrote.

Under ``bsky:<did>``: JSON indexes of what this connector wrote for that account
(``index:posts`` uri → sort time, ``index:likes`` post uri → [time, like rkey],
``index:follows`` followed DID → follow rkey or ""), so a sync can tell what disappeared upstream
and a Jetstream delete (which names only a record key) can find what it undoes. Under
``bsky:network``: ``dids``, every DID the connector stored (the accounts Jetstream follows).
Each is written inside the transaction that wrote the rows it describes, and only when it
changed, so an unchanged re-sync writes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from ..store import Store
from .bluesky_records import account_key

__all__ = ["NETWORK", "KnownDids", "load_index", "save_index", "upsert_dids"]

#: The sync-state source of network-wide values (the DID list, Jetstream's cursor).
NETWORK = "bsky:network"


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
