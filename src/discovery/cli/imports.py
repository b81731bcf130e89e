"""``discovery import csv|lastfm|instagram`` (real data in) and ``discovery migrate``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from ..sources import FIELDS, REQUIRED, ImportSummary, import_lastfm, lastfm_files, prepare_csv
from ..store import Store, StoreError
from ._common import app, console, err_console, state

__all__ = ["import_app", "summary_table"]

import_app = typer.Typer(
    help="Import real data (delimited files, the Last.fm-2k dataset, an Instagram export)"
    " into the database.",
    no_args_is_help=True,
)
app.add_typer(import_app, name="import")


def _columns(kind: str) -> str:
    """``src,dst[,created_at]``: the default columns of one file, optional ones bracketed."""
    required = [f for f in FIELDS[kind] if f in REQUIRED[kind]]
    optional = [f for f in FIELDS[kind] if f not in REQUIRED[kind]]
    return ",".join(required) + (f"[,{','.join(optional)}]" if optional else "")


def summary_table(summary: ImportSummary, db: str | Path) -> Table:
    """A rich table of what an import read and what was new."""
    table = Table(title=f"{summary.dataset} → {db}", caption=f"time span: {summary.span()}")
    table.add_column("what")
    table.add_column("read", justify="right")
    table.add_column("new", justify="right")
    if summary.skipped:
        table.add_column("skipped", justify="right")
    for what, read, new in summary.rows:
        cells = [what, "-" if read is None else f"{read:,}", f"{new:,}"]
        if summary.skipped:
            cells.append(f"{summary.skipped.get(what, 0):,}")
        table.add_row(*cells)
    return table


def _report(summary: ImportSummary) -> None:
    console.print(summary_table(summary, state.db))
    for note in summary.notes:
        console.print(f"• {note}")


@import_app.command("csv")
def import_csv_command(
    follows: Path = typer.Option(
        None,
        "--follows",
        help=f"Follows: {_columns('follows')}.",
        show_default=False,
        metavar="FILE",
    ),
    posts: Path = typer.Option(
        None,
        "--posts",
        help=f"Posts: {_columns('posts')}.",
        show_default=False,
        metavar="FILE",
    ),
    interactions: Path = typer.Option(
        None,
        "--interactions",
        help=f"Interactions: {_columns('interactions')}.",
        show_default=False,
        metavar="FILE",
    ),
    accounts: Path = typer.Option(
        None,
        "--accounts",
        help=f"Accounts: {_columns('accounts')}.",
        show_default=False,
        metavar="FILE",
    ),
    mapping: Path = typer.Option(
        None,
        "--mapping",
        help="JSON file renaming columns or setting constants.",
        show_default=False,
        metavar="FILE",
    ),
    delimiter: str = typer.Option(",", "--delimiter", help="One character; 'tab' for tabs."),
    encoding: str = typer.Option("utf-8-sig", "--encoding", help="Text encoding of the files."),
    allow_historic: bool = typer.Option(
        False,
        "--allow-historic",
        help="Accept times before 1970 (back to year 1); times more than a day ahead of the"
        " clock are refused either way.",
    ),
) -> None:
    """Import delimited files with a header row, all in one transaction (idempotent)."""
    job = prepare_csv(
        accounts=accounts,
        follows=follows,
        posts=posts,
        interactions=interactions,
        mapping=mapping,
        delimiter=delimiter,
        encoding=encoding,
        allow_historic=allow_historic,
    )
    with state.open_store(create=True) as store, err_console.status("importing…"):
        summary = job.run(store)
    _report(summary)


@import_app.command("lastfm")
def import_lastfm_command(
    directory: Path = typer.Argument(
        ..., help="Folder with the HetRec 2011 Last.fm-2k .dat files.", show_default=False
    ),
) -> None:
    """Import the HetRec 2011 Last.fm-2k dataset (users, friends, artists, tags, plays)."""
    lastfm_files(directory)  # a wrong folder is reported before a database file is created
    with state.open_store(create=True) as store, err_console.status("importing Last.fm-2k…"):
        summary = import_lastfm(store, directory)
    _report(summary)


@import_app.command("instagram")
def import_instagram_command(
    export: Path = typer.Argument(
        ...,
        help="Instagram's 'Download your information' export (JSON format): the .zip or its"
        " unpacked folder.",
        show_default=False,
    ),
    username: str = typer.Option(
        None,
        "--username",
        help="Whose export it is, when it has no personal_information.json and its name is"
        " not instagram-<username>-<date>-….",
        show_default=False,
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Read the export and report what would change; write nothing."
    ),
) -> None:
    """Import your Instagram data export: follows, followers, likes, saves, comments, your
    posts and media, followed hashtags, blocked accounts (idempotent)."""
    from ..sources.instagram import import_instagram

    if dry_run and state.is_sqlite and not state.sqlite_path.exists():
        store = Store.open(":memory:")  # a dry run creates no database file
    else:
        store = state.open_store(create=True)
    with store, err_console.status("importing the Instagram export…"):
        summary = import_instagram(store, export, username=username, dry_run=dry_run)
    _report(summary)


@app.command()
def migrate() -> None:
    """Upgrade the database file to this version's schema, in place, in one transaction."""
    try:
        with Store.open(state.db, create=False) as store:
            version = store.get_meta("schema_version")
        typer.echo(f"{state.db}: schema {version}, nothing to migrate")
        return
    except StoreError:
        pass  # older (or not ours): the migrating open below migrates or says why not
    with Store.open(state.db, create=False, migrate=True) as store:
        version = store.get_meta("schema_version")
    typer.echo(f"{state.db}: migrated to schema {version}")
