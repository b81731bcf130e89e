"""Shared CLI state: the typer app, the global ``--db`` option, and console helpers."""

from __future__ import annotations

import inspect
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
import typer.core
from rich.console import Console

from .._version import __version__
from ..store import Store, parse_store_url

__all__ = ["State", "app", "console", "err_console", "reflow_help", "state"]


def _flag_type(self: typer.core.TyperOption, ctx: Any) -> str | None:
    """No type for a flag: ``--force``, not ``--force <bool>`` (typer shows one since 0.2x)."""
    return None if self.is_flag else _option_type(self, ctx)


_option_type = typer.core.TyperOption.display_type_rich
typer.core.TyperOption.display_type_rich = _flag_type  # type: ignore[method-assign]

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
    #: A SQLite path, ``sqlite:///path`` or ``postgresql://…`` (see :mod:`discovery.store.url`).
    db: str = "discovery.db"

    def open_store(self, *, create: bool = False) -> Store:
        return Store.open(self.db, create=create)

    @property
    def is_sqlite(self) -> bool:
        return parse_store_url(self.db).backend == "sqlite"

    @property
    def sqlite_path(self) -> Path:
        """The file of a SQLite ``--db`` (the path part of a ``sqlite:///`` URL)."""
        return parse_store_url(self.db).local_path


state = State()


def _version(value: bool) -> None:
    if value:
        typer.echo(f"discovery-engine {__version__}")
        raise typer.Exit()


@app.callback()
def _global(
    db: str = typer.Option(
        None,
        "--db",
        help="Database: a SQLite file or sqlite:///path, or postgresql://user@host:port/dbname"
        " (default: $DISCOVERY_DB, else ./discovery.db).",
        show_default=False,
    ),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True),
) -> None:
    state.db = db or os.environ.get("DISCOVERY_DB", "discovery.db")
    parse_store_url(state.db)  # a bad URL fails here, in one line


def reflow_help(group: typer.Typer) -> None:
    """Join the lines of each paragraph of every command's docstring, so that ``--help`` wraps
    them at the terminal's width (typer's rich help keeps the source's line breaks)."""
    for info in group.registered_commands:
        if info.help is None and info.callback is not None and info.callback.__doc__:
            info.help = _reflow(info.callback.__doc__)
    for sub in group.registered_groups:
        if sub.typer_instance is not None:
            reflow_help(sub.typer_instance)


def _reflow(doc: str) -> str:
    r"""
    >>> _reflow("Report rows that break\n    the rules.\n\n    More.")
    'Report rows that break the rules.\n\nMore.'
    """
    paragraphs = inspect.cleandoc(doc).split("\n\n")
    return "\n\n".join(p if p.startswith("\b") else " ".join(p.split("\n")) for p in paragraphs)
