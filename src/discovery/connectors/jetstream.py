"""``discovery stream bluesky``: Jetstream's live commits of the store's accounts, applied.

Jetstream (``bluesky-social/jetstream``) sends repository commits as JSON over a websocket:
``{"did", "time_us", "kind": "commit", "commit": {"rev", "operation", "collection", "rkey",
"record", "cid"}}``. The consumer subscribes to posts, likes and follows
(``wantedCollections``) of the DIDs the Bluesky sync stored (``wantedDids``; past
:data:`URL_DIDS` of them in an ``options_update`` message after ``requireHello``), and applies:

* a like or follow create → :func:`discovery.store.events.record_events`, the path of the HTTP
  API's ``POST /v1/events`` (idempotent by the event id ``jetstream:<collection>/<rkey>``);
* a post create (with an image) → ``upsert_posts`` with its hashtags;
* deletes → ``remove_posts``, ``remove_interactions`` and an ``unfollow`` event. A delete names
  only the record key: the keys of the likes and follows this connector created (live or by
  ``sync``) are kept in ``sync_records`` (see :mod:`.bluesky_state`), inserted in bulk with each
  batch, and a batch's like and follow deletes are looked up there in one query.

Events for DIDs the store does not hold, likes of posts it does not hold and follows of
accounts it does not hold are counted and dropped. Messages are applied in batches, each in one
transaction with the cursor (``time_us``, sync state ``bsky:network`` / ``jetstream_cursor``);
a dropped connection reconnects and resumes from that cursor.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from ..store import Store, from_iso
from ..store.events import EventRow, record_events
from ..store.records_sync import SyncRecord
from .bluesky_client import BlueskyError
from .bluesky_records import Skip, account_key, post_from_record, post_key, tid_time
from .bluesky_state import (
    NETWORK,
    SOURCE,
    KnownDids,
    load_index,
    migrate_indexes,
    record_key,
    save_index,
)

__all__ = ["COLLECTIONS", "DEFAULT_JETSTREAM", "URL_DIDS", "Consumer", "StreamSummary"]

DEFAULT_JETSTREAM = "wss://jetstream2.us-east.bsky.network/subscribe"
COLLECTIONS = ("app.bsky.feed.post", "app.bsky.feed.like", "app.bsky.graph.follow")
#: Up to this many DIDs go in the URL; more go in an ``options_update`` message.
URL_DIDS = 100
_POST, _LIKE, _FOLLOW = COLLECTIONS


@dataclass
class StreamSummary:
    """What a stream run received, applied and dropped (with reasons)."""

    received: int = 0
    applied: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)
    connections: int = 0
    cursor: int | None = None
    seconds: float = 0.0


class Consumer:
    """Jetstream → store, for the accounts the Bluesky sync stored."""

    def __init__(self, store: Store, url: str = DEFAULT_JETSTREAM, *, batch: int = 500) -> None:
        self.store, self.url, self.batch = store, url, batch
        migrate_indexes(store)
        self.summary = StreamSummary()
        dids = sorted(KnownDids(store).dids)
        self.ids = {
            k[len("bsky:") :]: i
            for k, i in store.ids_for_keys("accounts", [account_key(d) for d in dids]).items()
        }
        saved = store.get_sync(NETWORK, "jetstream_cursor")
        self.cursor: int | None = int(saved) if saved and saved.isdigit() else None
        self._indexes: dict[tuple[str, str], dict[str, Any]] = {}
        self._dirty: set[tuple[str, str]] = set()
        self._posts: dict[str, int] = {}
        self._records: dict[str, SyncRecord] = {}  # stored records the batch's deletes name
        self._created: dict[str, SyncRecord] = {}  # records this batch creates
        self._deleted: list[str] = []

    # ---------------------------------------------------------- connection
    def subscribe_url(self) -> str:
        """The URL with collections, DIDs (when few) and the cursor to resume from."""
        query = [("wantedCollections", c) for c in COLLECTIONS]
        if len(self.ids) <= URL_DIDS:
            query += [("wantedDids", d) for d in sorted(self.ids)]
        else:
            query.append(("requireHello", "true"))
        if self.cursor is not None:
            query.append(("cursor", str(self.cursor)))
        return f"{self.url}?{urlencode(query)}"

    def run(
        self, *, max_events: int | None = None, seconds: float | None = None, on_batch: Any = None
    ) -> StreamSummary:
        """Consume until ``max_events`` messages or ``seconds`` (None: until interrupted)."""
        import orjson  # every message is parsed here: orjson takes a third of json's time
        from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
        from websockets.sync.client import connect

        started = time.monotonic()
        deadline = None if seconds is None else started + seconds
        failures = 0
        pending: list[dict[str, Any]] = []
        while not self._done(max_events, deadline):
            try:
                ws = connect(self.subscribe_url(), max_size=None, open_timeout=10)
            except (OSError, InvalidHandshake, TimeoutError) as exc:
                failures += 1
                if failures >= 5:
                    raise BlueskyError(
                        f"bluesky: cannot reach Jetstream at {self.url} ({type(exc).__name__})"
                    ) from None
                time.sleep(min(0.2 * 2**failures, 5.0))
                continue
            except InvalidURI:
                raise BlueskyError(f"bluesky: {self.url!r} is not a websocket URL") from None
            failures = 0
            self.summary.connections += 1
            with ws:
                if len(self.ids) > URL_DIDS:
                    payload = {
                        "wantedCollections": list(COLLECTIONS),
                        "wantedDids": sorted(self.ids),
                    }
                    ws.send(json.dumps({"type": "options_update", "payload": payload}))
                flushed = time.monotonic()
                try:
                    while not self._done(max_events, deadline):
                        wait = (
                            0.25
                            if deadline is None
                            else max(0.0, min(0.25, deadline - time.monotonic()))
                        )
                        try:
                            text = ws.recv(timeout=wait, decode=False)
                        except TimeoutError:
                            text = None
                        if text is not None:
                            self.summary.received += 1
                            pending.append(_parse(text, orjson.loads))
                        if len(pending) >= self.batch or (
                            pending and time.monotonic() - flushed > 0.25
                        ):
                            self.apply(pending)
                            pending, flushed = [], time.monotonic()
                            if on_batch:
                                on_batch(self.summary)
                except ConnectionClosed:
                    pass  # reconnect from the saved cursor
            self.apply(pending)
            pending = []
        self.apply(pending)
        self.summary.cursor = self.cursor
        self.summary.seconds = time.monotonic() - started
        return self.summary

    def _done(self, max_events: int | None, deadline: float | None) -> bool:
        if max_events is not None and self.summary.received >= max_events:
            return True
        return deadline is not None and time.monotonic() >= deadline

    # -------------------------------------------------------------- applying
    def _undo(self, key: str, me: int, effect: str) -> SyncRecord | None:
        """The record a delete names (created earlier in this batch or stored), forgotten."""
        found = self._created.get(key) or self._records.get(key)
        if found is None or (found.account, found.effect) != (me, effect):
            return None
        if self._created.pop(key, None) is None:
            del self._records[key]
            self._deleted.append(key)
        return found

    def _index(self, did: str, name: str) -> dict[str, Any]:
        key = (did, name)
        if key not in self._indexes:
            self._indexes[key] = load_index(self.store, did, name)
        return self._indexes[key]

    def _touch(self, did: str, name: str) -> dict[str, Any]:
        self._dirty.add((did, name))
        return self._index(did, name)

    def apply(self, messages: list[dict[str, Any]]) -> None:
        """Apply ``messages`` in one transaction with the cursor they reach."""
        messages = [m for m in messages if m]
        if not messages:
            return
        try:
            with self.store.transaction():
                events: list[EventRow] = []
                self._posts = self.store.ids_for_keys("posts", _liked_keys(messages))
                self._records = self.store.sync_records(SOURCE, _deleted_records(messages))
                self._created, self._deleted = {}, []
                for m in messages:
                    events = self._one(m, events)
                self._flush(events)
                self.store.put_sync_records(SOURCE, self._created.values())
                self.store.drop_sync_records(SOURCE, self._deleted)
                for did, name in self._dirty:
                    save_index(self.store, did, name, self._indexes[(did, name)])
                cursor = max(int(m.get("time_us") or 0) for m in messages)
                self.cursor = max(self.cursor or 0, cursor)
                self.store.set_sync(NETWORK, "jetstream_cursor", str(self.cursor))
        except BaseException:
            self._indexes.clear()  # the rolled-back changes are in these copies
            raise
        finally:
            self._dirty.clear()

    def _flush(self, events: list[EventRow]) -> list[EventRow]:
        if events:
            new = record_events(self.store, events, int(time.time()))
            for row, fresh in zip(events, new, strict=True):
                self.summary.applied[row.kind if fresh else "repeated"] += 1
        return []

    def _one(self, m: dict[str, Any], events: list[EventRow]) -> list[EventRow]:
        did, c = m.get("did"), m.get("commit")
        if m.get("kind") != "commit" or not isinstance(c, dict):
            self.summary.dropped[f"{m.get('kind') or 'malformed'} message"] += 1
            return events
        if did not in self.ids:
            self.summary.dropped["account not in the store"] += 1
            return events
        op, coll, rkey = c.get("operation"), c.get("collection"), str(c.get("rkey") or "")
        raw = c.get("record")
        record: dict[str, Any] = raw if isinstance(raw, dict) else {}
        at = int(m.get("time_us") or 0) // 1_000_000 or int(time.time())
        me = self.ids[did]
        if coll == _POST and op in ("create", "update"):
            events = self._flush(events)
            try:
                post = post_from_record(did, rkey, record, int(time.time()))
            except Skip as exc:
                self.summary.dropped[f"post: {exc}"] += 1
                return events
            ids = self.store.upsert_posts([post.record(me)])
            self._posts[post.key] = ids[post.key]  # a like later in this batch finds it
            self.store.add_post_tags([(ids[post.key], t) for t in post.tags])
            self._touch(did, "posts")[post.uri] = at
            self.summary.applied["post"] += 1
        elif coll == _POST and op == "delete":
            events = self._flush(events)
            uri = f"at://{did}/{_POST}/{rkey}"
            ids = self.store.ids_for_keys("posts", [post_key(uri)])
            self.summary.applied["post deleted"] += self.store.remove_posts(ids.values())
            self._touch(did, "posts").pop(uri, None)
        elif coll == _LIKE and op == "create":
            subject = record.get("subject")
            liked = subject.get("uri") if isinstance(subject, dict) else None
            pid = self._posts.get(post_key(str(liked)))
            if pid is None:
                self.summary.dropped["like of a post not in the store"] += 1
                return events
            when = tid_time(rkey) or _record_time(record) or at
            events.append(EventRow(f"jetstream:{coll}/{rkey}", me, "like", when, post=pid))
            key = record_key(did, coll, rkey)
            self._created[key] = SyncRecord(key, me, "like", pid)
        elif coll == _LIKE and op == "delete":
            events = self._flush(events)
            found = self._undo(record_key(did, coll, rkey), me, "like")
            if found is None:
                self.summary.dropped["delete of a like this store never saw"] += 1
                return events
            self.summary.applied["like deleted"] += self.store.remove_interactions(
                [(me, found.target, "like")]
            )
        elif coll == _FOLLOW and op == "create":
            target = record.get("subject")
            if target not in self.ids:
                self.summary.dropped["follow of an account not in the store"] += 1
                return events
            events.append(
                EventRow(f"jetstream:{coll}/{rkey}", me, "follow", at, target=self.ids[target])
            )
            key = record_key(did, coll, rkey)
            self._created[key] = SyncRecord(key, me, "follow", self.ids[target])
        elif coll == _FOLLOW and op == "delete":
            found = self._undo(record_key(did, coll, rkey), me, "follow")
            if found is None:
                self.summary.dropped["delete of a follow this store never saw"] += 1
                return events
            events.append(
                EventRow(f"jetstream:{coll}/{rkey}/delete", me, "unfollow", at, target=found.target)
            )
        else:
            self.summary.dropped[f"{coll} {op}"] += 1
        return events


def _deleted_records(messages: list[dict[str, Any]]) -> list[str]:
    """``sync_records`` keys of the batch's like and follow deletes (looked up in one query)."""
    keys = []
    for m in messages:
        c = m.get("commit")
        if not isinstance(c, dict) or c.get("operation") != "delete":
            continue
        if c.get("collection") in (_LIKE, _FOLLOW):
            keys.append(record_key(str(m.get("did")), str(c["collection"]), str(c.get("rkey"))))
    return keys


def _liked_keys(messages: list[dict[str, Any]]) -> list[str]:
    """Post keys the batch's like creates name (looked up in one query)."""
    keys = []
    for m in messages:
        c = m.get("commit")
        record = c.get("record") if isinstance(c, dict) else None
        subject = record.get("subject") if isinstance(record, dict) else None
        if isinstance(subject, dict) and c and c.get("collection") == _LIKE:
            keys.append(post_key(str(subject.get("uri"))))
    return keys


def _parse(text: str | bytes, loads: Any = json.loads) -> dict[str, Any]:
    try:
        value = loads(text)
    except ValueError:  # orjson.JSONDecodeError is a ValueError too
        return {"kind": "malformed"}
    return value if isinstance(value, dict) else {"kind": "malformed"}


def _record_time(record: dict[str, Any]) -> int | None:
    try:
        return from_iso(str(record.get("createdAt")))
    except ValueError:
        return None
