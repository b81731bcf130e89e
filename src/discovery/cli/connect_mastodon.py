"""``discovery sync mastodon USER@INSTANCE`` (Mastodon or Pixelfed), registered on ``sync``."""

from __future__ import annotations

import os
import time

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..connectors.mastodon_sync import MastodonOptions, SyncProgress, SyncSummary
from ._common import console, state
from .connect import sync_app

__all__ = ["sync_mastodon_command"]

_DEFAULT = MastodonOptions("user@instance")
TOKEN_ENV = "DISCOVERY_MASTODON_TOKEN"


class _Bar(SyncProgress):
    """The sync's progress as a rich bar: phase, accounts done, rate-limit budget and waits."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task = progress.add_task("starting", total=None, note="")

    def _note(self, extra: str = "") -> str:
        counts = self.run.describe() if self.run else ""
        budget = self.rate.describe() if self.rate else ""
        return " · ".join(x for x in (counts, budget, extra) if x)

    def phase(self, name: str, total: int | None) -> None:
        self.progress.reset(self.task, total=total, description=name, completed=0)
        self.progress.update(self.task, note=self._note())

    def advance(self, n: int = 1) -> None:
        self.progress.update(self.task, advance=n, note=self._note())

    def status(self, text: str) -> None:
        self.progress.update(self.task, note=self._note(text))


def summary_table(summary: SyncSummary, db: str, seconds: float) -> Table:
    """What one sync read, added, removed and skipped (dry run: would have)."""
    verb = "would be" if summary.dry_run else ""
    title = f"mastodon {summary.source.removeprefix('mastodon:')} → {db}" + (
        " (dry run: nothing written)" if summary.dry_run else ""
    )
    caption = f"{summary.requests:,} requests in {seconds:.1f} s"
    if summary.retries:
        caption += f", {summary.retries:,} retried"
    if summary.waits:
        caption += f", {summary.waits:,} rate-limit waits ({summary.waited:.1f} s)"
    table = Table(title=title, caption=f"{caption}; server {summary.server}")
    table.add_column("what")
    table.add_column("read", justify="right")
    table.add_column(f"new{' ' + verb if verb else ''}", justify="right")
    table.add_column("removed", justify="right")
    for row in summary.table_rows():
        table.add_row(*row)
    return table


@sync_app.command("mastodon")
def sync_mastodon_command(
    user: str = typer.Argument(
        ..., help="USER@INSTANCE whose network to sync (ana@pixelfed.social).", show_default=False
    ),
    api_base: str = typer.Option(
        None,
        "--api-base",
        help="API base URL (default: https://INSTANCE); a local fake in tests.",
        show_default=False,
    ),
    token: str = typer.Option(
        None,
        "--token",
        help=f"Access token of USER (scopes read:accounts read:statuses read:favourites"
        f" read:follows); default ${TOKEN_ENV}. Used in memory only, never stored. Needed for"
        " favourites and followed tags, and for anything on Pixelfed.",
        show_default=False,
    ),
    depth: int = typer.Option(
        _DEFAULT.depth, "--depth", min=1, max=2, help="1: your follows; 2: also theirs."
    ),
    max_follows: int = typer.Option(
        _DEFAULT.max_follows,
        "--max-follows",
        min=1,
        help="Follows read per account; at depth 2 also how many second-degree accounts'"
        " posts are read (those most followed by your follows).",
    ),
    max_posts: int = typer.Option(
        _DEFAULT.max_posts, "--max-posts", min=1, help="Recent image posts per account."
    ),
    since: int = typer.Option(
        _DEFAULT.since_days, "--since", min=1, help="Only posts of the last N days."
    ),
    max_likes: int = typer.Option(
        _DEFAULT.max_likes, "--max-likes", min=1, help="Favourites read (newest first)."
    ),
    retries: int = typer.Option(
        _DEFAULT.retries, "--retries", min=0, help="Retries of a 5xx or a timeout (backoff)."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Read everything, write nothing; show what would change."
    ),
) -> None:
    """Sync a Mastodon or Pixelfed account's follows (and theirs), their image posts, your
    favourites and followed hashtags."""
    from ..connectors.mastodon import sync_mastodon
    from ..store import Store

    options = MastodonOptions(
        user,
        api_base=api_base,
        token=token or os.environ.get(TOKEN_ENV) or None,
        depth=depth,
        max_follows=max_follows,
        max_posts=max_posts,
        since_days=since,
        max_likes=max_likes,
        retries=retries,
        dry_run=dry_run,
    )
    columns = (
        TextColumn("{task.description:>20}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[note]}"),
    )
    start = time.monotonic()
    # A dry run never creates a database: with none there yet, it counts against an empty one.
    missing = dry_run and state.is_sqlite and not state.sqlite_path.exists()
    with (
        Store.open(":memory:") if missing else state.open_store(create=True) as store,
        Progress(*columns, console=console, transient=True) as bar,
    ):
        summary = sync_mastodon(store, options, _Bar(bar))
    console.print(summary_table(summary, state.db, time.monotonic() - start))
    for note in summary.notes:
        console.print(f"• {note}")
