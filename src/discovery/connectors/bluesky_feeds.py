"""Walking a Bluesky author feed or an actor's likes into the store, page by page.

A walk reads pages newest first and stops at the newest item the previous run saw
(``cursor:<what>``), at ``max_posts`` or at the ``since`` window's end; each page is written in
one transaction with the cursor of the next page (``cursor:<what>_page``), so a killed run
resumes there. Deletions: an item tracked in the index (see :mod:`.bluesky_state`) whose sort
time lies inside the span of the pages read, but which the pages did not list, was deleted
upstream: its post (``remove_posts``) or like (``remove_interactions``) leaves the store. Likes
also count as tracked when their record key is in ``sync_records`` (written by the live stream,
timed by their TID record key), and every like read keeps its record key there, so a Jetstream
delete of it finds it.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..store import Store, from_iso
from ..store.records_sync import SyncRecord
from .bluesky_client import PUBLIC_APPVIEW, NotFound, Reader
from .bluesky_records import (
    BskyPost,
    Skip,
    account_key,
    account_record,
    post_from_view,
    post_key,
    tid_time,
)
from .bluesky_state import (
    LIKE,
    SOURCE,
    KnownDids,
    like_time,
    load_index,
    record_key,
    save_index,
    upsert_dids,
)

__all__ = ["FeedSync", "Progress", "SyncOptions", "SyncSummary"]

KINDS = ("accounts", "follows", "posts", "likes")


@dataclass
class SyncOptions:
    """What to read and from where (the CLI's options, one to one)."""

    service: str = PUBLIC_APPVIEW
    pds: str = "https://bsky.social"
    app_password: str | None = None
    depth: int = 2
    max_follows: int = 100
    max_posts: int = 20
    since_days: float = 30.0
    retries: int = 4
    backoff: float = 0.5
    dry_run: bool = False


@dataclass
class SyncSummary:
    """Counts per kind (read, new, removed, skipped), skip reasons, waits and calls."""

    actor: str = ""
    did: str = ""
    counts: dict[str, Counter[str]] = field(default_factory=lambda: {k: Counter() for k in KINDS})
    reasons: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    calls: int = 0
    waited: float = 0.0
    seconds: float = 0.0

    def add(self, kind: str, **n: int) -> None:
        self.counts[kind].update(n)

    def skip(self, kind: str, reason: str) -> None:
        self.counts[kind]["skipped"] += 1
        self.reasons[f"{kind}: {reason}"] += 1

    def rows(self) -> list[tuple[str, int, int, int, int]]:
        c = self.counts
        return [(k, c[k]["read"], c[k]["new"], c[k]["removed"], c[k]["skipped"]) for k in KINDS]


class Progress:
    """What a sync reports as it goes; this one reports nothing (the CLI draws a bar)."""

    def start(self, phase: str, total: int | None) -> None:
        """A phase begins (``follows``, ``posts``, ``likes``); ``total`` accounts, if known."""

    def advance(self, summary: SyncSummary) -> None:
        """One account done; ``summary`` holds the counts so far."""

    def wait(self, seconds: float, why: str) -> None:
        """About to wait (a rate limit, a retry's backoff)."""


class FeedSync:
    """One run's state and its walks of author feeds and likes."""

    def __init__(self, store: Store, reader: Reader, opts: SyncOptions, progress: Any) -> None:
        self.store, self.reader, self.opts, self.progress = store, reader, opts, progress
        self.now = int(time.time())
        self.since = self.now - int(opts.since_days * 86_400)
        self.summary = SyncSummary()
        self.ids: dict[str, int] = {}
        self.known = KnownDids(store)

    def _accounts(self, profiles: Iterable[Any], kind: str = "accounts") -> dict[str, int]:
        recs = []
        for p in profiles:
            try:
                recs.append(account_record(p.did, p.handle, p.display_name))
            except Skip as exc:
                self.summary.skip(kind, f"account {exc}")
        known = self.store.ids_for_keys("accounts", [r.key for r in recs])
        self.summary.add("accounts", read=len(recs), new=len({r.key for r in recs} - set(known)))
        ids = upsert_dids(self.store, recs) if recs else {}
        self.known.add(ids)
        self.ids.update(ids)
        return ids

    def _walk(
        self,
        did: str,
        what: str,
        fetch: Callable[[str | None], tuple[list[Any], list[str], str | None]],
        keep: Callable[[list[tuple[Any, BskyPost, int]]], None],
    ) -> tuple[set[str], int | None, int | None, bool]:
        """Page through a feed until the last seen item, the budget or the window's end.

        Returns the URIs seen, the span of sort times read and whether it started at the top.
        """
        state = account_key(did)
        stop = self.store.get_sync(state, f"cursor:{what}")
        cursor = self.store.get_sync(state, f"cursor:{what}_page") or None
        top, seen, low, high, newest = cursor is None, set(), None, None, None
        while True:
            items, bad, nxt = fetch(cursor)
            for reason in bad:
                self.summary.skip(what if what == "likes" else "posts", reason)
            rows, done = [], nxt is None
            for fv in items:
                if fv.reason is not None:
                    continue  # a repost: the original's author is someone else
                view = fv.post
                seen.add(view.uri)
                newest = newest or view.uri
                try:
                    post = post_from_view(view, self.now)
                except Skip as exc:
                    self.summary.skip("likes" if what == "likes" else "posts", str(exc))
                    continue
                when = _sort_time(fv, post, what)
                low, high = min(low or when, when), max(high or when, when)
                if when < self.since or len(seen) > self.opts.max_posts:
                    done = True
                    break
                rows.append((view, post, when))
            done = done or stop in seen or len(seen) >= self.opts.max_posts
            with self.store.transaction():
                keep(rows)
                self.store.set_sync(state, f"cursor:{what}_page", "" if done else nxt or "")
                if done and top and newest:
                    self.store.set_sync(state, f"cursor:{what}", newest)
            if done:
                return seen, low, high, top
            cursor = nxt

    def posts(self, did: str) -> None:
        index = load_index(self.store, did, "posts")

        def keep(rows: list[tuple[Any, BskyPost, int]]) -> None:
            self.write_posts([p for _, p, _ in rows])
            for _, p, when in rows:
                index[p.uri] = when

        try:
            seen, low, high, top = self._walk(
                did,
                "feed",
                lambda c: self.reader.author_feed(did, c, min(100, self.opts.max_posts)),
                keep,
            )
        except NotFound as exc:
            self.summary.skip("posts", f"feed not shown ({exc})")
            return
        gone = _missing(index, seen, low, None if top else high)
        with self.store.transaction():
            ids = self.store.ids_for_keys("posts", [post_key(u) for u in gone])
            self.summary.add("posts", removed=self.store.remove_posts(ids.values()))
            kept = {u: t for u, t in index.items() if u not in gone and t >= self.since}
            if kept != load_index(self.store, did, "posts"):
                save_index(self.store, did, "posts", kept)

    def write_posts(self, posts: list[BskyPost], authors: Iterable[Any] = ()) -> dict[str, int]:
        self._accounts(authors)
        posts = [p for p in posts if p.author_did in self.ids]
        keys = [p.key for p in posts]
        known = self.store.ids_for_keys("posts", keys)
        ids = self.store.upsert_posts([p.record(self.ids[p.author_did]) for p in posts])
        self.store.add_post_tags([(ids[p.key], t) for p in posts for t in p.tags])
        self.summary.add("posts", read=len(posts), new=len(set(keys) - set(known)))
        return ids

    def likes(self, did: str) -> None:
        index = {u: like_time(v) for u, v in load_index(self.store, did, "likes").items()}
        me = self.ids[did]

        def keep(rows: list[tuple[Any, BskyPost, int]]) -> None:
            ids = self.write_posts([p for _, p, _ in rows], [v.author for v, _, _ in rows])
            likes = [(me, ids[p.key], "like", when, None) for _, p, when in rows if p.key in ids]
            new = self.store.add_interactions(likes)
            self.summary.add("likes", read=len(likes), new=new)
            records = []
            for v, p, when in rows:
                index[p.uri] = when
                rkey = (v.viewer.like or "").rsplit("/", 1)[-1] if v.viewer else ""
                if rkey and p.key in ids:
                    key = record_key(did, LIKE, rkey)
                    records.append(SyncRecord(key, me, "like", ids[p.key]))
            self.store.put_sync_records(SOURCE, records)

        seen, low, high, top = self._walk(
            did,
            "likes",
            lambda c: self.reader.actor_likes(did, c, min(100, self.opts.max_posts)),
            keep,
        )
        times = {**self._live_likes(me, index), **index}
        gone = _missing(times, seen, low, None if top else high)
        with self.store.transaction():
            ids = self.store.ids_for_keys("posts", [post_key(u) for u in gone])
            rows = [(me, i, "like") for i in ids.values()]
            self.summary.add("likes", removed=self.store.remove_interactions(rows))
            self.store.drop_sync_records_to(SOURCE, me, "like", ids.values())
            kept = {u: t for u, t in index.items() if u not in gone}
            if kept != load_index(self.store, did, "likes"):
                save_index(self.store, did, "likes", kept)

    def _live_likes(self, me: int, index: dict[str, int]) -> dict[str, int]:
        """Likes the stream recorded that the index lacks: post uri → the like's TID time."""
        records = self.store.sync_records_of(SOURCE, me, "like")
        info = self.store.post_info(sorted({r.target for r in records}))
        out = {}
        for r in records:
            post = info.get(r.target)
            when = tid_time(r.record.rsplit("/", 1)[-1])
            if post is not None and when is not None and post.key.startswith("bsky:"):
                out[post.key[len("bsky:") :]] = when
        return {u: t for u, t in out.items() if u not in index}


def _sort_time(fv: Any, post: BskyPost, what: str) -> int:
    """The order key of a feed: a like's time (its record key is a TID), a post's
    ``indexedAt`` (a backdated ``createdAt`` does not move a post down an author feed)."""
    if what == "likes":
        like = fv.post.viewer.like if fv.post.viewer else None
        t = tid_time(like.rsplit("/", 1)[-1]) if like else None
        return t if t is not None and 0 < t <= post.taken_at + 10**9 else post.taken_at
    try:
        return max(post.taken_at, from_iso(fv.post.indexed_at))
    except ValueError:
        return post.taken_at


def _missing(index: dict[str, Any], seen: set[str], low: int | None, high: int | None) -> set[str]:
    """Tracked items inside the span read ([low, high], high open at the top) that it lacks."""
    if low is None:
        return set()
    return {
        u for u, t in index.items() if u not in seen and t >= low and (high is None or t <= high)
    }
