"""Ctrl-C in the command line: one line (``interrupted``), exit status 130, no traceback.

Imported first by :mod:`discovery.cli` (and ``import discovery`` loads nothing heavy before it),
so that an interrupt while numpy, the engine and the commands are still loading is quiet too:
the :class:`KeyboardInterrupt` unwinds the imports and reaches :func:`_quiet_interrupt`, which
says ``interrupted`` and exits 130 like an interrupted command. Once the command runs,
:func:`discovery.cli.main` raises :class:`Interrupted` from its own SIGINT handler and the
command's transactions and temporary files are undone on the way out.
"""

from __future__ import annotations

import os
import sys
from types import TracebackType

__all__ = ["EXIT_INTERRUPTED", "Interrupted"]

#: The shell's status for a command stopped by SIGINT (128 + 2).
EXIT_INTERRUPTED = 130


class Interrupted(BaseException):
    """Ctrl-C, raised by the CLI's SIGINT handler. Not a :class:`KeyboardInterrupt`, which typer
    turns into a silent exit 130 before the CLI could say anything; a ``BaseException`` so that
    ``except Exception`` never swallows it while ``finally`` and rollbacks still run."""


def _quiet_interrupt(
    kind: type[BaseException], value: BaseException, tb: TracebackType | None
) -> None:
    if not issubclass(kind, KeyboardInterrupt | Interrupted):
        sys.__excepthook__(kind, value, tb)
        return
    try:
        sys.stdout.flush()
        sys.stderr.write("interrupted\n")
        sys.stderr.flush()
    except OSError:  # a closed pipe: nothing more to say
        pass
    # The stack is unwound already (every ``finally`` ran); without this exit the interpreter
    # would re-raise SIGINT on itself for an unhandled KeyboardInterrupt (status -2, not 130).
    os._exit(EXIT_INTERRUPTED)


if sys.excepthook is sys.__excepthook__:
    sys.excepthook = _quiet_interrupt
