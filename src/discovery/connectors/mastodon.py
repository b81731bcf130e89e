"""``discovery sync mastodon USER@INSTANCE``: a Mastodon or Pixelfed network into the store.

What one sync reads (Mastodon.py, the Mastodon client API that Pixelfed also speaks):

* the user's following (``account_following``, Link-header pages), and with ``depth=2`` the
  following of each followed account; every list is capped at ``max_follows``;
* recent statuses with media (``account_statuses(only_media=True)``, boosts excluded) of the
  followed accounts and, at depth 2, of the ``max_follows`` second-degree accounts most
  followed by your follows: at most ``max_posts`` per account, none older than ``since_days``;
* with the user's own token: favourites and followed hashtags (:mod:`.mastodon_likes`).

State (``store.set_sync("mastodon:@user@host", …)``, written in the transaction of the rows it
describes): each account's window of statuses (id, key, time) and each following list. A
second sync asks each account only for statuses newer than its window's oldest (``since_id``):
what is new comes in, and a window status no longer listed was deleted upstream
(:meth:`Store.remove_posts`); an unfollow removes the edge. Re-syncing unchanged data writes
nothing (the change counter stays), and a killed sync resumes: every step commits its rows
with its state, and redoing a committed step changes nothing.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from ..store import AccountRecord, Store
from .mastodon_client import Client, MastodonSyncError, NotFoundError, connect, instance_info
from .mastodon_likes import sync_favourites, sync_followed_tags
from .mastodon_records import Skip, StatusDraft, to_account
from .mastodon_sync import MastodonOptions, Run, SyncProgress, SyncSummary, parse_user

__all__ = ["MastodonOptions", "MastodonSyncError", "SyncSummary", "sync_mastodon"]


def sync_following(
    run: Run, account_id: str, account: AccountRecord
) -> list[tuple[str, AccountRecord]]:
    """Store whom ``account`` follows (``(instance id, record)`` pairs, returned); a complete
    listing (shorter than ``max_follows``) also removes the edges no longer listed."""
    limit = run.options.max_follows
    listed: dict[str, tuple[str, AccountRecord]] = {}
    raw = 0
    for entity in run.client.pages("account_following", account_id, limit=80, max_items=limit):
        raw += 1
        try:
            ident, record = to_account(entity, run.host, run.now)
        except Skip as skip:
            run.summary.skip("accounts", skip.reason)
            continue
        if record.key != account.key:
            listed.setdefault(record.key, (ident, record))
    complete = raw < limit
    name = f"following:{account.key}"
    before = set(run.state(name, []))
    with run.writing():
        ids = run.accounts([account, *(r for _, r in listed.values())])
        new = run.store.add_follows((ids[account.key], ids[k], run.now) for k in listed)
        gone = run.store.ids_for_keys("accounts", before - set(listed)) if complete else {}
        removed = run.store.remove_follows((ids[account.key], i) for i in gone.values())
        run.summary.add("follows", read=len(listed), new=new, removed=removed)
        run.save(name, sorted(set(listed) if complete else before | set(listed)))
    return list(listed.values())


def _list_statuses(
    run: Run, account_id: str, account: AccountRecord, window: list[list[Any]]
) -> tuple[list[StatusDraft], bool, str | None]:
    """The account's image statuses newer than its window's oldest, newest first; whether the
    listing reached its end; the id a deletion check must spare (an exclusive ``since_id``)."""
    query: dict[str, Any] = {"only_media": True, "exclude_reblogs": True}
    query["limit"] = min(40, run.options.max_posts + len(window))
    exempt = None
    if window:
        oldest = str(window[-1][0])
        if oldest.isdigit() and int(oldest) > 0:  # since_id is exclusive: one below keeps it
            query["since_id"] = str(int(oldest) - 1)
        else:
            query["since_id"], exempt = oldest, oldest
    listed: list[StatusDraft] = []
    cap, raw = run.options.max_posts + len(window) + 40, 0
    page = run.client.call("account_statuses", account_id, **query)
    while page:
        raw += len(page)
        drafts = run.drafts(page, "posts", account)
        fresh = [d for d in drafts if d.taken_at >= run.cutoff]
        listed += fresh
        if len(fresh) < len(drafts) or raw >= cap:
            return listed, False, exempt  # older than the window (newest come first), or enough
        after = (getattr(page, "_pagination_next", None) or {}).get("max_id")
        if after is None:
            break
        page = run.client.call("account_statuses", account_id, max_id=after, **query)
    return listed, True, exempt


def sync_statuses(run: Run, account_id: str, account: AccountRecord) -> None:
    """Bring ``account``'s window of image statuses up to date: new ones in, deleted ones out."""
    name = f"window:{account.key}"
    window: list[list[Any]] = run.state(name, [])  # [id, key, taken_at], newest first
    listed, exhausted, exempt = _list_statuses(run, account_id, account, window)
    seen = {d.id for d in listed}
    floor = min((d.taken_at for d in listed), default=run.cutoff)
    # A window status that is not listed was deleted, unless it aged out of the window or
    # lies below where a cut-short listing stopped.
    deleted = [
        w
        for w in window
        if str(w[0]) not in seen
        and str(w[0]) != exempt
        and int(w[2]) >= run.cutoff
        and (exhausted or int(w[2]) >= floor)
    ]
    keep = sorted(listed, key=lambda d: -d.taken_at)[: run.options.max_posts]
    gone = {str(w[0]) for w in deleted} | seen
    rest = [w for w in window if str(w[0]) not in gone and int(w[2]) >= run.cutoff]
    fresh = [[d.id, d.key, d.taken_at] for d in keep]
    new_window = sorted(fresh + rest, key=lambda w: -int(w[2]))[: run.options.max_posts]
    with run.writing():
        ids = run.accounts([account])
        run.posts(keep, ids)
        doomed = run.store.ids_for_keys("posts", [str(w[1]) for w in deleted])
        run.summary.add("posts", removed=run.store.remove_posts(doomed.values()))
        run.save(name, new_window)


def _lookup(client: Client, name: str, host: str, now: int) -> tuple[str, AccountRecord]:
    handle = f"{name}@{host}".lower()
    try:
        found = [client.call("account_lookup", name)]
    except NotFoundError as exc:
        if not exc.endpoint_missing:
            found = []
        else:  # Pixelfed has no /accounts/lookup: search, then match the handle exactly
            found = list(client.call("account_search", name, limit=10) or [])
    for entity in found:
        try:
            ident, record = to_account(entity, host, now)
        except Skip:
            continue
        if record.handle.lower() == handle:
            return ident, record
    raise MastodonSyncError(f"mastodon: no account {name}@{host} on {client.base}")


def sync_mastodon(
    store: Store,
    options: MastodonOptions,
    progress: SyncProgress | None = None,
    now: int | None = None,
) -> SyncSummary:
    """Sync ``options.user``'s network into ``store`` (see the module docstring).

    Raises
    ------
    MastodonSyncError
        One line: not ``USER@INSTANCE``, no network, not a Mastodon-compatible server, an
        unknown account, a refused token, or a server that kept failing after the retries.
    """
    name, host = parse_user(options.user)
    shown = progress or SyncProgress()
    clock = int(time.time()) if now is None else now
    client = connect(
        options.api_base or f"https://{host}",
        options.token,
        retries=options.retries,
        backoff=options.backoff,
        timeout=options.timeout,
        on_wait=lambda s: shown.status(f"rate limited: waiting {s:.0f} s"),
    )
    shown.attach(client.rate)
    info = instance_info(client)
    me = client.call("account_verify_credentials") if options.token else None
    user_id, user = _lookup(client, name, host, clock)
    source = f"mastodon:@{user.handle.lower()}"
    summary = SyncSummary(source, str(info.get("version", "")), dry_run=options.dry_run)
    run = Run(store, client, options, host, source, clock, summary, shown)
    shown.watch(run)
    shown.phase("following", None)
    first = sync_following(run, user_id, user)
    authors = list(first)
    if options.depth >= 2:
        shown.phase("following of follows", len(first))
        votes: Counter[str] = Counter()
        records: dict[str, tuple[str, AccountRecord]] = {}
        followed = {r.key for _, r in first} | {user.key}
        for ident, record in first:
            for pair in sync_following(run, ident, record):
                if pair[1].key not in followed:
                    votes[pair[1].key] += 1
                    records[pair[1].key] = pair
            shown.advance()
        authors += [records[k] for k, _ in votes.most_common(options.max_follows)]
    shown.phase("statuses", len(authors))
    for ident, record in authors:
        sync_statuses(run, ident, record)
        shown.advance()
    if me is not None and str(me.get("id")) == user_id:
        shown.phase("favourites", None)
        sync_favourites(run, user)
        shown.phase("followed tags", None)
        sync_followed_tags(run, user)
    else:
        summary.notes.append(
            "favourites and followed tags need the user's own access token"
            " (--token or DISCOVERY_MASTODON_TOKEN)"
        )
    shown.phase("done", None)
    accounts = (len(run.accounts_seen), len(run.accounts_new))
    summary.finish(client, accounts, (len(run.posts_seen), len(run.posts_new)))
    return summary
