"""``discovery sync NETWORK …`` (backfill from a network you use) and ``discovery stream
NETWORK`` (follow it live). One command per network; the SDKs load only when one runs."""

from __future__ import annotations

from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ._common import app, console, state

__all__ = ["stream_app", "sync_app"]

sync_app = typer.Typer(
    help="Backfill your network from Bluesky (or Mastodon/Pixelfed) into the database.",
    no_args_is_help=True,
)
stream_app = typer.Typer(
    help="Follow a network live and apply its events to the database.", no_args_is_help=True
)
app.add_typer(sync_app, name="sync")
app.add_typer(stream_app, name="stream")

_PUBLIC_APPVIEW = "https://public.api.bsky.app"  # bluesky_client.PUBLIC_APPVIEW (checked by a test)
_JETSTREAM = "wss://jetstream2.us-east.bsky.network/subscribe"  # jetstream.DEFAULT_JETSTREAM


class _Bar:
    """The sync's progress as a rich bar: phase, accounts done, counts, waits."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task = progress.add_task("starting", total=None, counts="")

    def start(self, phase: str, total: int | None) -> None:
        self.progress.reset(self.task, total=total, description=phase, completed=0)

    def advance(self, summary: Any) -> None:
        c = summary.counts
        counts = " · ".join(
            f"{k} {c[k]['read']:,}" for k in ("accounts", "follows", "posts", "likes")
        )
        self.progress.update(self.task, advance=1, counts=counts)

    def wait(self, seconds: float, why: str) -> None:
        self.progress.update(self.task, counts=f"waiting {seconds:.1f} s: {why}")


def _table(
    title: str, header: tuple[str, ...], rows: list[tuple[Any, ...]], caption: str = ""
) -> Table:
    table = Table(title=title, caption=caption or None)
    for n, name in enumerate(header):
        table.add_column(name, justify="right" if n else "left")
    for row in rows:
        table.add_row(*(f"{x:,}" if isinstance(x, int) else str(x) for x in row))
    return table


@sync_app.command("bluesky")
def sync_bluesky_command(
    actor: str = typer.Argument(
        ..., help="Handle or DID whose network to sync (alice.bsky.social)."
    ),
    service: str = typer.Option(
        _PUBLIC_APPVIEW, "--service", help="AppView to read from (public data, no login)."
    ),
    pds: str = typer.Option(
        "https://bsky.social",
        "--pds",
        help="Your PDS: where --app-password logs in, and where your follow records are read.",
    ),
    app_password: str = typer.Option(
        None,
        "--app-password",
        envvar="DISCOVERY_BSKY_APP_PASSWORD",
        help="An app password of ACTOR, to read its likes (getActorLikes needs a login); used in"
        " memory only, never stored.",
        show_default=False,
    ),
    depth: int = typer.Option(2, "--depth", min=1, max=2, help="1: your follows; 2: also theirs."),
    max_follows: int = typer.Option(100, "--max-follows", min=1, help="Follows read per account."),
    max_posts: int = typer.Option(20, "--max-posts", min=1, help="Recent image posts per account."),
    since: float = typer.Option(30.0, "--since", min=0.0, help="Only posts of the last N days."),
    retries: int = typer.Option(
        4, "--retries", min=0, help="Retries of a 5xx, a timeout or a refused connection."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Read everything, write nothing; show what would change."
    ),
) -> None:
    """Sync a Bluesky account's follows (and theirs), their image posts and your likes."""
    from ..connectors.bluesky import SyncOptions, sync_bluesky

    opts = SyncOptions(
        service=service,
        pds=pds,
        app_password=app_password,
        depth=depth,
        max_follows=max_follows,
        max_posts=max_posts,
        since_days=since,
        retries=retries,
        dry_run=dry_run,
    )
    columns = (
        TextColumn("{task.description:>8}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[counts]}"),
    )
    with (
        state.open_store(create=True) as store,
        Progress(*columns, console=console, transient=True) as bar,
    ):
        summary = sync_bluesky(store, actor, opts, _Bar(bar))
    caption = f"{summary.calls:,} requests in {summary.seconds:.1f} s" + (
        f", {summary.waited:.1f} s waiting on rate limits and retries" if summary.waited else ""
    )
    title = f"bluesky {summary.actor} ({summary.did}) → {state.db}"
    console.print(
        _table(title, ("what", "read", "new", "removed", "skipped"), summary.rows(), caption)
    )
    for reason, n in summary.reasons.most_common():
        console.print(f"• skipped {n:,}× {reason}")
    for note in summary.notes:
        console.print(f"• {note}")


@stream_app.command("bluesky")
def stream_bluesky_command(
    jetstream: str = typer.Option(
        _JETSTREAM, "--jetstream", help="Jetstream subscribe URL (ws:// or wss://)."
    ),
    max_events: int = typer.Option(
        None, "--max-events", min=1, help="Stop after N messages.", show_default=False
    ),
    seconds: float = typer.Option(
        None, "--seconds", min=0.0, help="Stop after S seconds.", show_default=False
    ),
) -> None:
    """Apply Jetstream's live posts, likes, follows and deletes of the synced accounts."""
    from ..connectors.jetstream import Consumer

    with state.open_store(create=False) as store:
        consumer = Consumer(store, jetstream)
        if not consumer.ids:
            typer.echo(
                "no Bluesky accounts in the database: run `discovery sync bluesky ACTOR` first",
                err=True,
            )
            raise typer.Exit(1)
        with console.status(
            f"streaming {len(consumer.ids):,} accounts from {jetstream}…"
        ) as status:

            def on_batch(s: Any) -> None:
                status.update(
                    f"{s.received:,} received · {sum(s.applied.values()):,} applied · {sum(s.dropped.values()):,} dropped"
                )

            summary = consumer.run(max_events=max_events, seconds=seconds, on_batch=on_batch)
    rows = [(f"applied: {k}", n) for k, n in sorted(summary.applied.items())]
    rows += [(f"dropped: {k}", n) for k, n in sorted(summary.dropped.items())]
    caption = f"{summary.received:,} messages in {summary.seconds:.1f} s over {summary.connections} connection(s); cursor {summary.cursor}"
    console.print(_table(f"jetstream → {state.db}", ("what", "count"), rows, caption))
