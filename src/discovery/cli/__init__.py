"""Command line: ``discovery [--db PATH] COMMAND`` (typer + rich).

Each command group lives in its own module and registers itself on :data:`app`; errors from
the engine print one line and exit non-zero; Ctrl-C prints ``interrupted`` and exits 130
(each command leaves the database as it was: writes are transactions, files are swapped in).
"""

from __future__ import annotations

import signal
import sys

# First, so that Ctrl-C while the commands below load is one line, not a traceback.
from ._interrupt import Interrupted, on_sigint, raise_if_interrupted  # isort: skip

import typer

from ..errors import DiscoveryError
from ..store import is_read_only
from ..store.core import commit_check
from ..store.validate import display_safe
from ._common import app, reflow_help, state

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
from . import connect  # noqa: F401  isort: skip
from . import connect_mastodon  # noqa: F401  isort: skip
from . import simulate  # noqa: F401  isort: skip
from . import experiments  # noqa: F401  isort: skip
from . import embed  # noqa: F401  isort: skip
from . import train  # noqa: F401  isort: skip
from . import batch  # noqa: F401  isort: skip


__all__ = ["app", "main"]

reflow_help(app)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    previous = signal.signal(signal.SIGINT, on_sigint)
    # a Ctrl-C that a library swallowed stops the next commit instead of letting it through
    uncheck = commit_check(raise_if_interrupted)
    try:
        raise_if_interrupted()
        app(args=argv, prog_name="discovery")
    except DiscoveryError as exc:
        typer.echo(f"error: {display_safe(str(exc))}", err=True)
        sys.exit(1)
    except Exception as exc:
        if not is_read_only(exc):  # a write outside a store transaction (set_meta...)
            raise
        typer.echo(f"error: {display_safe(state.db)}: database is read-only ({exc})", err=True)
        sys.exit(1)
    except (Interrupted, KeyboardInterrupt):
        typer.echo("interrupted", err=True)
        sys.exit(130)
    finally:
        uncheck()
        signal.signal(signal.SIGINT, previous)
