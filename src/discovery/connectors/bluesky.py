"""``discovery sync bluesky ACTOR``: an actor's network and its image posts, into the store.

What one run does, every page in its own transaction together with the sync state that
describes it (so a killed run resumes from the last committed page and never duplicates):

1. the actor's profile (``getProfile``; an unknown actor is one line);
2. the follow graph, breadth first: the actor's follows and, up to ``depth``, their follows
   (``getFollows``, at most ``max_follows`` per account); a follow list read in full also
   removes the edges no longer listed (unfollows upstream). The actor's follow records are read
   from its PDS (``com.atproto.repo.listRecords``, public) and their record keys kept in
   ``sync_records``, so a later Jetstream delete of one of those follows removes it;
3. for the actor and every account reached, recent image posts (``getAuthorFeed`` with
   ``posts_with_media``, at most ``max_posts``, none older than ``since_days``), stopping at the
   newest post the previous run saw (``cursor:feed``); a post tracked in the span of the pages
   read but absent from them was deleted upstream and leaves the store (``remove_posts``);
4. with an app password, the actor's likes (``getActorLikes``), stopping at ``cursor:likes``;
   a like no longer listed in the span read leaves the store (``remove_interactions``).

Sync state lives under ``bsky:<did>``: ``cursor:feed``/``cursor:likes`` (the newest item seen),
``cursor:feed_page``/``cursor:likes_page`` (the page to resume from, while a walk is under way),
and ``index:posts``/``index:likes``/``index:follows`` (what this connector wrote); the record
keys Jetstream's deletes name are in ``sync_records`` (see :mod:`.bluesky_state`). A run that
changes nothing writes nothing, so a re-sync of an unchanged network leaves the change counter
where it was.
"""

from __future__ import annotations

import time
from typing import Any

from ..store import Store, to_iso
from ..store.records_sync import SyncRecord
from .bluesky_client import BlueskyError, NotFound, Reader
from .bluesky_feeds import FeedSync, Progress, SyncOptions, SyncSummary
from .bluesky_records import account_key
from .bluesky_state import FOLLOW, SOURCE, load_index, migrate_indexes, record_key, save_index

__all__ = ["Progress", "SyncOptions", "SyncSummary", "sync_bluesky"]


class _Sync(FeedSync):
    """The graph walk on top of the feed walks."""

    #: Each account's follows as listed by this run (DIDs).
    listed: dict[str, list[str]]

    def graph(self, me: Any) -> list[str]:
        """Read follows breadth first; the DIDs whose posts to sync, the actor first."""
        self.listed = {}
        with self.store.transaction():
            self._accounts([me])
        self.progress.start("follows", None)
        order, frontier = [me.did], [me.did]
        for _level in range(self.opts.depth):
            nxt: list[str] = []
            for did in frontier:
                for dst in self._follows(did):
                    if dst not in order:
                        order.append(dst)
                        nxt.append(dst)
                self.progress.advance(self.summary)
            frontier = nxt
        return order

    def _follows(self, did: str) -> list[str]:
        cursor, complete = None, False
        listed: list[str] = []
        self.listed[did] = listed
        while len(listed) < self.opts.max_follows:
            want = min(100, self.opts.max_follows - len(listed))
            try:
                items, bad, cursor = self.reader.follows(did, cursor, want)
            except NotFound as exc:
                self.summary.skip("follows", f"follows of an account not shown ({exc})")
                return []
            for reason in bad:
                self.summary.skip("follows", reason)
            with self.store.transaction():
                ids = self._accounts(items)
                edges = [(self.ids[did], ids[p.did], self.now) for p in items if p.did in ids]
                new = self.store.add_follows(edges)
            self.summary.add("follows", read=len(edges), new=new)
            listed += [p.did for p in items if p.did in ids and p.did != did]
            if cursor is None:
                complete = True
                break
        self._prune_follows(did, listed, complete)
        return listed

    def _prune_follows(self, did: str, listed: list[str], complete: bool) -> None:
        """Remove the follows of ``did`` this connector wrote (by a sync: the index; live: a
        record) that a complete list no longer shows."""
        me = self.ids[did]
        old = load_index(self.store, did, "follows")
        index = dict.fromkeys(listed, "")
        if not complete:  # a capped list says nothing about what lies past the cap
            index = {**old, **index}
        keep = set(self.store.ids_for_keys("accounts", [account_key(d) for d in index]).values())
        live = {r.target for r in self.store.sync_records_of(SOURCE, me, "follow")}
        stale = live - keep if complete else set()
        if index == old and not stale:
            return
        with self.store.transaction():
            gone = [account_key(d) for d in old if d not in index]
            dst = set(self.store.ids_for_keys("accounts", gone).values()) | stale
            removed = self.store.remove_follows([(me, i) for i in dst])
            self.store.drop_sync_records_to(SOURCE, me, "follow", dst)
            if index != old:
                save_index(self.store, did, "follows", index)
        self.summary.add("follows", removed=removed)

    def follow_records(self, did: str, listed: list[str]) -> None:
        """Keep the record keys of ``did``'s follows of ``listed`` accounts (listRecords on
        the PDS; pages stop once every listed account is found). An unreachable PDS is a note,
        not an error: the follows stay, only a live delete of them cannot be matched."""
        if self.opts.dry_run or not listed:
            return
        pds = Reader(
            self.opts.pds, retries=self.opts.retries, backoff=self.opts.backoff,
            on_wait=self.progress.wait,
        )  # fmt: skip
        wanted, cursor = set(listed), None
        found: dict[str, str] = {}
        try:
            for _page in range(self.opts.max_follows // 100 + 2):
                pairs, cursor = pds.follow_records(did, cursor)
                found.update((d, rkey) for d, rkey in pairs if d in wanted)
                if cursor is None or len(found) == len(wanted):
                    break
        except (BlueskyError, NotFound) as exc:
            self.summary.notes.append(f"follow record keys not read ({exc})")
        finally:
            self.reader.calls += pds.calls
        me = self.ids[did]
        records = [
            SyncRecord(record_key(did, FOLLOW, rkey), me, "follow", self.ids[d])
            for d, rkey in sorted(found.items())
            if d in self.ids
        ]
        with self.store.transaction():
            self.store.put_sync_records(SOURCE, records)


def sync_bluesky(store: Store, actor: str, opts: SyncOptions, progress: Any) -> SyncSummary:
    """Run one sync (see the module docstring); ``progress`` (:class:`Progress`) is told each
    phase, each account done and each wait."""
    started = time.monotonic()
    reader = Reader(opts.service, retries=opts.retries, backoff=opts.backoff, on_wait=progress.wait)
    me = reader.profile(actor)
    migrate_indexes(store)
    run = _Sync(store, reader, opts, progress)
    before = store.change_counter

    def body() -> None:
        order = run.graph(me)
        run.follow_records(me.did, run.listed.get(me.did, []))
        progress.start("posts", len(order))
        for did in order:
            if did in run.ids:
                run.posts(did)
            progress.advance(run.summary)
        if opts.app_password:
            authed = Reader(
                opts.pds, retries=opts.retries, backoff=opts.backoff, on_wait=progress.wait
            )
            authed.login(me.handle, opts.app_password)
            run.reader = authed
            progress.start("likes", None)
            run.likes(me.did)
            reader.calls += authed.calls
        else:
            run.summary.notes.append("likes not read: getActorLikes needs --app-password")
        if store.change_counter != before:
            with store.transaction():
                store.set_sync(account_key(me.did), "last_sync", to_iso(run.now))

    if opts.dry_run:
        try:
            with store.transaction():
                body()
                raise _DryRun
        except _DryRun:
            run.summary.notes.append("dry run: nothing was written")
    else:
        body()
    summary = run.summary
    summary.actor, summary.did = me.handle, me.did
    summary.calls, summary.waited = reader.calls, reader.waited
    summary.seconds = time.monotonic() - started
    return summary


class _DryRun(Exception):
    pass
