"""Command line: ``discovery [--db PATH] COMMAND`` (typer + rich).

Each command group lives in its own module and registers itself on :data:`app`; errors from
the engine print one line and exit non-zero.
"""

from __future__ import annotations

import sys

import typer

from ..errors import DiscoveryError
from ..store.validate import display_safe
from ._common import app

# Command modules register themselves on import.
from . import feeds  # noqa: F401  isort: skip
from . import imports  # noqa: F401  isort: skip
from . import doctor  # noqa: F401  isort: skip
from . import graph  # noqa: F401  isort: skip
from . import serve  # noqa: F401  isort: skip
from . import tokens  # noqa: F401  isort: skip
from . import bluesky  # noqa: F401  isort: skip
from . import data  # noqa: F401  isort: skip
from . import evaluate  # noqa: F401  isort: skip
from . import stores  # noqa: F401  isort: skip
from . import actions  # noqa: F401  isort: skip
from . import connect_mastodon  # noqa: F401  isort: skip


__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    try:
        app(args=argv, prog_name="discovery")
    except DiscoveryError as exc:
        typer.echo(f"error: {display_safe(str(exc))}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
