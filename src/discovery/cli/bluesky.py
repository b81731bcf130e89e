"""``discovery bluesky publish-feed``: announce the feed generator to Bluesky apps."""

from __future__ import annotations

import json
import re

import typer

from ..errors import InputError
from ._common import app, err_console
from ._text import lit

__all__ = ["bluesky_app"]

bluesky_app = typer.Typer(help="Bluesky: publish your Explore as a feed.", no_args_is_help=True)
app.add_typer(bluesky_app, name="bluesky")

_APP_PASSWORD = re.compile(r"[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}")


@bluesky_app.command("publish-feed")
def publish_feed(
    feedgen_did: str = typer.Option(
        ...,
        "--feedgen-did",
        envvar="DISCOVERY_FEEDGEN_DID",
        help="DID of the service that serves the feed (the one `serve --feedgen-did` uses).",
    ),
    handle: str = typer.Option(
        None, "--handle", envvar="BLUESKY_HANDLE", help="The publishing account's handle."
    ),
    app_password: str = typer.Option(
        None,
        "--app-password",
        envvar="BLUESKY_APP_PASSWORD",
        help="An app password of that account (Settings → App passwords), never the main one.",
    ),
    service: str = typer.Option(
        "https://bsky.social", "--service", help="The account's PDS (its XRPC base URL)."
    ),
    rkey: str = typer.Option(
        "explore", "--rkey", help="Record key, which chooses the feed: explore or blend."
    ),
    display_name: str = typer.Option(
        None, "--display-name", help="Name shown in apps (at most 24 characters)."
    ),
    description: str = typer.Option(None, "--description", help="Description shown in apps."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Print the record that would be written; no network call."
    ),
) -> None:
    """Write the feed's app.bsky.feed.generator record in your repository (with an app
    password), so Bluesky apps list the feed and ask the service for it."""
    from ..connectors.bluesky_publish import FEEDS, GENERATOR, feed_record, publish

    if rkey not in FEEDS:
        raise InputError(f"--rkey: the service serves {' and '.join(FEEDS)}, not {rkey!r}")
    record = feed_record(feedgen_did, rkey, display_name, description)
    if dry_run:
        call = {
            "repo": handle or "<your DID>",
            "collection": GENERATOR,
            "rkey": rkey,
            "record": record.to_json(),
        }
        typer.echo(json.dumps(call, ensure_ascii=False, indent=1))
        err_console.print("dry run: nothing written")
        return
    if not handle or not app_password:
        raise InputError(
            "publish-feed needs --handle and --app-password (or $BLUESKY_HANDLE and"
            " $BLUESKY_APP_PASSWORD); --dry-run needs neither"
        )
    if not _APP_PASSWORD.fullmatch(app_password):
        err_console.print(
            "warning: that does not look like an app password (xxxx-xxxx-xxxx-xxxx); create one"
            " in Bluesky's Settings → Privacy and security → App passwords",
            highlight=False,
        )
    uri = publish(record, rkey, handle, app_password, service)
    typer.echo(uri)
    publisher = uri.removeprefix("at://").split("/")[0]
    err_console.print(
        f"published {lit(record.display_name)}: serve it with `discovery serve --feedgen-did"
        f" {lit(feedgen_did)} --feedgen-publisher {lit(publisher)}`",
        highlight=False,
    )
