"""``discovery copy SRC DST``: move a whole store between backends (SQLite ↔ PostgreSQL)."""

from __future__ import annotations

import typer

from ..store import Store
from ..store.copy import copy_store
from ._common import app, console

__all__ = ["copy"]


@app.command()
def copy(
    src: str = typer.Argument(..., help="Source: a SQLite file, sqlite:///path or postgresql://…"),
    dst: str = typer.Argument(..., help="Destination (created if missing; must be empty)."),
) -> None:
    """Copy every row (and the media folder) from SRC into the empty store DST."""
    with Store.open(src, create=False) as source, Store.open(dst, create=True) as target:
        summary = copy_store(source, target)
    total = sum(summary.rows.values())
    rows = ", ".join(f"{table} {n:,}" for table, n in summary.rows.items() if n)
    console.print(
        f"copied {total:,} rows ({rows}) and {summary.media_files:,} media files",
        markup=False,
        soft_wrap=True,
    )
