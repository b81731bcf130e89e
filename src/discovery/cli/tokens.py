"""``discovery token list`` and ``discovery token revoke`` (``token create`` is in :mod:`.serve`).

A token is named by its id, the first 12 hex digits of its SHA-256 (all the store keeps); the
secret itself was printed once by ``token create`` and is never shown again.
"""

from __future__ import annotations

import datetime as dt
import json

import typer
from rich.table import Table

from ..store.tokens import list_tokens, revoke_tokens, token_id
from ._common import console, err_console, state
from ._text import lit
from .serve import token_app

__all__: list[str] = []


def _when(seconds: int | None) -> str | None:
    if seconds is None:
        return None
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@token_app.command("list")
def token_list(
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
) -> None:
    """Every token: id, account, admin, created, last used (never the secret)."""
    with state.open_store() as store:
        tokens = list_tokens(store)
    rows = [
        {
            "id": token_id(t.token_hash),
            "handle": t.handle,
            "admin": t.admin,
            "created": _when(t.created_at),
            "last_used": _when(t.last_used),
        }
        for t in tokens
    ]
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row, ensure_ascii=False))
        return
    if not rows:
        err_console.print("no tokens: the API and pages are open (local single-user mode)")
        return
    table = Table(title=f"{len(rows)} token{'s' if len(rows) != 1 else ''}", title_justify="left")
    for column in ("id", "account", "admin", "created", "last used"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            str(row["id"]),
            "-" if row["handle"] is None else f"@{lit(row['handle'])}",
            "yes" if row["admin"] else "no",
            str(row["created"]),
            str(row["last_used"] or "never"),
        )
    console.print(table)


@token_app.command("revoke")
def token_revoke(
    who: str = typer.Argument(..., help="An account handle (all its tokens) or a token id."),
) -> None:
    """Delete tokens: every token of HANDLE, or the one whose id starts with PREFIX (from
    `discovery token list`). Their API use and browser sessions end at once."""
    with state.open_store() as store:
        gone = revoke_tokens(store, who)
    for t in gone:
        owner = "no account" if t.handle is None else f"@{lit(t.handle)}"
        err_console.print(f"revoked token {token_id(t.token_hash)} of {owner}", highlight=False)
