"""Shared CLI state: the typer app, the global ``--db`` option, and console helpers."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import typer
from rich.console import Console

from .._version import __version__
from ..store import Store

__all__ = ["State", "app", "console", "err_console", "state"]

app = typer.Typer(
    help="discovery-engine: your own Instagram-style Explore, from a social graph and posts.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)


@dataclass
class State:
    db: Path = Path("discovery.db")

    def open_store(self, *, create: bool = False) -> Store:
        return Store.open(self.db, create=create)


state = State()


def _version(value: bool) -> None:
    if value:
        typer.echo(f"discovery-engine {__version__}")
        raise typer.Exit()


@app.callback()
def _global(
    db: Path = typer.Option(
        None,
        "--db",
        help="Database file (default: $DISCOVERY_DB, else ./discovery.db).",
        show_default=False,
    ),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True),
) -> None:
    state.db = db or Path(os.environ.get("DISCOVERY_DB", "discovery.db"))
