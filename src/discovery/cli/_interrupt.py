"""Ctrl-C in the command line: one line (``interrupted``), exit status 130, no traceback.

Imported before anything heavy, so that an interrupt while the commands are still loading is
quiet too; :func:`discovery.cli.main` then raises :class:`Interrupted` from its SIGINT handler.
"""

from __future__ import annotations

import sys
from types import TracebackType

__all__ = ["Interrupted"]


class Interrupted(BaseException):
    """Ctrl-C, raised by the CLI's SIGINT handler. Not a :class:`KeyboardInterrupt`, which typer
    turns into a silent exit 130 before the CLI could say anything; a ``BaseException`` so that
    ``except Exception`` never swallows it while ``finally`` and rollbacks still run."""


def _quiet_interrupt(
    kind: type[BaseException], value: BaseException, tb: TracebackType | None
) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.stderr.write("interrupted\n")
    else:
        sys.__excepthook__(kind, value, tb)


if sys.excepthook is sys.__excepthook__:
    sys.excepthook = _quiet_interrupt
