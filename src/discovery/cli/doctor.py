"""``discovery doctor [--fix]``: find rows the engine cannot load, and quarantine them."""

from __future__ import annotations

import typer

from ..store.doctor import diagnose, repair
from ._common import app, console, state
from ._text import lit

__all__ = ["doctor"]


@app.command()
def doctor(
    fix: bool = typer.Option(
        False,
        "--fix",
        help="Move the rows found into the quarantine table (one transaction; nothing deleted).",
    ),
) -> None:
    """Report rows that break the value rules (ids, counts, times, text, handles, dangling
    references) and that can stop info, feed and serve; --fix quarantines them."""
    with state.open_store() as store:
        problems = repair(store) if fix else diagnose(store)
    if not problems:
        console.print(f"{lit(state.db)}: no problem found")
        return
    for p in problems:
        console.print(f"• {lit(p)}", soft_wrap=True)
    n = len(problems)
    rows = f"{n} row{'s' if n != 1 else ''}"
    if fix:
        console.print(
            f"{rows} moved to the quarantine table of {lit(state.db)}; restart a running"
            " `discovery serve`"
        )
    else:
        console.print(f"{rows} to quarantine: run `discovery doctor --fix`")
        raise typer.Exit(1)
