"""The pieces one Mastodon sync shares: its options, the summary of what it read, added,
removed and skipped, the progress interface the CLI draws a bar with (the base class draws
nothing), and :class:`Run`, the write helpers every step goes through (one transaction per
step, rolled back under ``--dry-run``; counts of distinct accounts and posts)."""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..store import AccountRecord, PostRecord, Store
from .mastodon_client import MastodonSyncError
from .mastodon_records import Skip, StatusDraft, to_status

if TYPE_CHECKING:
    from .mastodon_client import Client, RateLimit

__all__ = ["DAY", "MastodonOptions", "Run", "SyncProgress", "SyncSummary", "parse_user"]

DAY = 86_400


@dataclass(frozen=True)
class MastodonOptions:
    """What to sync; ``token`` is used for requests only (never stored, never shown)."""

    user: str
    api_base: str | None = None
    token: str | None = field(default=None, repr=False)
    depth: int = 2
    max_follows: int = 100
    max_posts: int = 20
    since_days: int = 30
    max_likes: int = 200
    dry_run: bool = False
    retries: int = 4
    backoff: float = 1.0
    timeout: float = 30.0


def parse_user(user: str) -> tuple[str, str]:
    """``USER@INSTANCE`` → ``(user, host)``.

    >>> parse_user("@ana@Photos.Example")
    ('ana', 'photos.example')
    """
    name, _, host = user.strip().lstrip("@").partition("@")
    if not name or not host or "@" in host or "/" in host or " " in user.strip():
        raise MastodonSyncError(
            f"mastodon: {user!r} is not USER@INSTANCE (e.g. ana@pixelfed.social)"
        )
    return name, host.lower()


@dataclass
class SyncSummary:
    """Counts of one sync.

    ``rows`` maps a kind of row (accounts, follows, posts, likes, ...) to ``[read, new,
    removed]``; ``skipped`` counts left-out upstream records by ``(what, reason)``. Under
    ``dry_run`` the counts say what a real run would have written.
    """

    source: str
    server: str = ""
    dry_run: bool = False
    rows: dict[str, list[int]] = field(default_factory=dict)
    skipped: Counter[tuple[str, str]] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    requests: int = 0
    retries: int = 0
    waits: int = 0
    waited: float = 0.0

    def add(self, what: str, *, read: int = 0, new: int = 0, removed: int = 0) -> None:
        row = self.rows.setdefault(what, [0, 0, 0])
        row[0] += read
        row[1] += new
        row[2] += removed

    def skip(self, what: str, reason: str) -> None:
        self.skipped[what, reason] += 1

    @property
    def n_skipped(self) -> int:
        return sum(self.skipped.values())

    def finish(self, client: Client, accounts: tuple[int, int], posts: tuple[int, int]) -> None:
        """Stamp the client's request counts; ``accounts`` and ``posts`` are distinct
        ``(read, new)`` counts (a post read twice, in a window and as a like, counts once)."""
        removed = self.rows.pop("posts", [0, 0, 0])[2]
        self.rows = {"accounts": [*accounts, 0], "posts": [*posts, removed], **self.rows}
        self.requests = client.calls
        self.retries = client.retried
        self.waits = client.rate.waits
        self.waited = client.rate.waited

    def table_rows(self) -> list[tuple[str, str, str, str]]:
        """``(what, read, new, removed)`` rows for a summary table, skipped reasons last."""
        out = [(w, f"{r:,}", f"{n:,}", f"{d:,}") for w, (r, n, d) in self.rows.items()]
        for (what, reason), n in sorted(self.skipped.items()):
            out.append((f"skipped {what}: {reason}", f"{n:,}", "-", "-"))
        return out


class SyncProgress:
    """Progress callbacks of a sync; the CLI subclasses it with a rich progress bar."""

    rate: RateLimit | None = None
    run: Run | None = None

    def attach(self, rate: RateLimit) -> None:
        """The client's live rate-limit state (shown next to the counts)."""
        self.rate = rate

    def watch(self, run: Run) -> None:
        """The sync whose counts to show (:meth:`Run.describe`)."""
        self.run = run

    def phase(self, name: str, total: int | None) -> None:
        """A new phase (following, statuses, ...) with its number of steps when known."""

    def advance(self, n: int = 1) -> None:
        """``n`` steps of the current phase done."""

    def status(self, text: str) -> None:
        """A passing remark: a rate-limit wait, a retry."""


class _Rollback(Exception):
    pass


@dataclass
class Run:
    """One sync in progress: the store, the client, the clock and what was counted so far."""

    store: Store
    client: Client
    options: MastodonOptions
    host: str
    source: str
    now: int
    summary: SyncSummary
    progress: SyncProgress
    accounts_seen: set[str] = field(default_factory=set)
    accounts_new: set[str] = field(default_factory=set)
    posts_seen: set[str] = field(default_factory=set)
    posts_new: set[str] = field(default_factory=set)

    def describe(self) -> str:
        """The counts so far, for a progress line: ``10 accounts · 20 posts · 12 follows``."""
        rows = self.summary.rows
        parts = [f"{len(self.accounts_seen):,} accounts", f"{len(self.posts_seen):,} posts"]
        parts += [f"{rows[k][0]:,} {k}" for k in ("follows", "likes") if k in rows]
        return " · ".join(parts)

    @property
    def cutoff(self) -> int:
        """The oldest post time a sync keeps (``since_days`` before its clock)."""
        return self.now - self.options.since_days * DAY

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """One transaction; rolled back under ``--dry-run`` after the counting is done."""
        try:
            with self.store.transaction():
                yield
                if self.options.dry_run:
                    raise _Rollback
        except _Rollback:
            pass

    def state(self, name: str, default: Any) -> Any:
        raw = self.store.get_sync(self.source, name)
        return default if raw is None else json.loads(raw)

    def save(self, name: str, value: Any) -> None:
        self.store.set_sync(self.source, name, json.dumps(value, sort_keys=True))

    def accounts(self, records: Sequence[AccountRecord]) -> dict[str, int]:
        held = self.store.ids_for_keys("accounts", [r.key for r in records])
        ids = self.store.upsert_accounts(records)
        self.accounts_seen |= set(ids)
        self.accounts_new |= set(ids) - set(held)
        return ids

    def posts(self, drafts: Sequence[StatusDraft], author_ids: dict[str, int]) -> dict[str, int]:
        held = self.store.ids_for_keys("posts", [d.key for d in drafts])
        ids = self.store.upsert_posts(
            PostRecord(
                d.key,
                author_ids[d.author.key],
                d.taken_at,
                d.caption,
                d.media_type,
                d.image,
                d.like_count,
                d.comment_count,
            )
            for d in drafts
        )
        self.posts_seen |= set(ids)
        self.posts_new |= set(ids) - set(held)
        return ids

    def drafts(
        self, entities: Iterable[Any], what: str, author: AccountRecord | None = None
    ) -> list[StatusDraft]:
        """Image statuses among ``entities``; the others counted under ``what``."""
        out = []
        for entity in entities:
            try:
                draft = to_status(entity, self.host, self.now)
            except Skip as skip:
                self.summary.skip(what, skip.reason)
                continue
            out.append(draft if author is None else draft.by(author))
        return out
