"""Ctrl-C in the command line: one line (``interrupted``), exit status 130, no traceback.

Imported first by :mod:`discovery.cli` (and ``import discovery`` loads nothing heavy before it),
so that an interrupt while numpy, the engine and the commands are still loading is quiet too:
the :class:`KeyboardInterrupt` unwinds the imports and reaches :func:`_quiet_interrupt`, which
says ``interrupted`` and exits 130 like an interrupted command. Once the command runs,
:func:`discovery.cli.main` raises :class:`Interrupted` from its own SIGINT handler and the
command's transactions and temporary files are undone on the way out.

A third-party import can swallow the :class:`KeyboardInterrupt` raised inside it (seen: a signal
landing in ``numpy.random``'s Cython initialisation while scipy's ``from numpy import *`` asks
for it vanished, and the whole import then ran and committed). So the handler installed here
also remembers the signal, and :func:`raise_if_interrupted` (called by the CLI before it runs a
command, and by every store transaction before it commits) stops a command whose Ctrl-C was
lost that way before it writes anything.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from types import FrameType, TracebackType

__all__ = ["EXIT_INTERRUPTED", "Interrupted", "on_sigint", "raise_if_interrupted"]

#: The shell's status for a command stopped by SIGINT (128 + 2).
EXIT_INTERRUPTED = 130


class Interrupted(BaseException):
    """Ctrl-C, raised by the CLI's SIGINT handler. Not a :class:`KeyboardInterrupt`, which typer
    turns into a silent exit 130 before the CLI could say anything; a ``BaseException`` so that
    ``except Exception`` never swallows it while ``finally`` and rollbacks still run."""


#: Set by the SIGINT handler below, so that a Ctrl-C is not lost when a library swallows it.
_received = threading.Event()


def _quiet_interrupt(
    kind: type[BaseException], value: BaseException, tb: TracebackType | None
) -> None:
    # After a Ctrl-C any error is its doing: Python 3.11 wraps a KeyboardInterrupt raised in a
    # class body's ``__set_name__`` into a RuntimeError, for one.
    if not (issubclass(kind, KeyboardInterrupt | Interrupted) or _received.is_set()):
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


def _remember_interrupt(signum: int, frame: FrameType | None) -> None:
    """Python's own SIGINT behaviour (raise :class:`KeyboardInterrupt`), and a note of it."""
    _received.set()
    raise KeyboardInterrupt


def on_sigint(signum: int, frame: FrameType | None) -> None:
    """The running command's SIGINT handler: a note of the signal, then :class:`Interrupted`.
    A library can swallow the raise too (seen: during ``import lastfm``, "Exception ignored in:
    'Path'", and the import went on); the note stays, and the store's commit check
    (:func:`discovery.store.core.commit_check`, registered by :func:`discovery.cli.main`) rolls
    the transaction back instead of committing it."""
    _received.set()
    raise Interrupted


def raise_if_interrupted() -> None:
    """Raise :class:`Interrupted` if a Ctrl-C arrived while the commands loaded, even one whose
    :class:`KeyboardInterrupt` a library's import swallowed."""
    if _received.is_set():
        raise Interrupted


if sys.excepthook is sys.__excepthook__:
    sys.excepthook = _quiet_interrupt
# Only in the main thread (elsewhere signal.signal raises) and over Python's default handler
# (a host program's own handling is left alone).
if (
    threading.current_thread() is threading.main_thread()
    and signal.getsignal(signal.SIGINT) is signal.default_int_handler
):
    signal.signal(signal.SIGINT, _remember_interrupt)
