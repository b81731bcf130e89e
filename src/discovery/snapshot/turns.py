"""Rebuilds beside on one machine take turns: :class:`MachineTurns`.

Every worker of ``serve --workers N`` reads the same event stream, so the lag of a derived
structure runs out in all of them within a catch-up of each other, and each rebuilds it beside
its serving snapshot at the same moment. On the large world the follow-graph group (7 s of
wall time under load) was then rebuilt by both workers of a 2-core machine at once, and the
requests of those seconds had no core left: p99 0.17–0.75 s a second for 8 seconds, in a run
whose other minutes had a p99 of 31–40 ms (``bench/README.md``, "Rebuilds take turns").

A rebuild therefore waits for its turn: an exclusive ``flock`` on one lock file per machine
(in the temporary directory, one per user), held from the frozen copy to the swap. The other worker keeps
serving its stale structures meanwhile — the registry's own rule for a structure whose lag ran
out — and rebuilds after, so a structure lags by its tolerance plus at most the rebuilds queued
before it. ``flock`` is released by the kernel when its holder dies, so a killed worker never
leaves the lock held; a holder that hangs (a stopped process) is waited for at most
:data:`MAX_WAIT` seconds, after which the rebuild runs anyway. Where there is no ``fcntl``
(Windows), or the lock file cannot be opened, rebuilds do not wait (as before).
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType

__all__ = ["LOCK_NAME", "MAX_WAIT", "MachineTurns"]

log = logging.getLogger(__name__)

#: The lock file's name in the temporary directory: one per user (another user's process
#: cannot hold a server's rebuilds back).
LOCK_NAME = f"discovery-rebuild-{os.getuid() if hasattr(os, 'getuid') else 0}.lock"
#: Seconds a rebuild waits for its turn at most; then it runs beside the holder.
MAX_WAIT = 120.0
#: How often a waiting rebuild tries the lock again.
_POLL = 0.05


class MachineTurns:
    """A context manager: entering waits until no other holder of the same lock file (another
    process, or another object in this one) is inside.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "turns.lock"
    >>> a, b = MachineTurns(path), MachineTurns(path)
    >>> with a:
    ...     b.try_enter()
    False
    >>> b.try_enter(); b.__exit__(None, None, None)
    True
    """

    def __init__(self, path: str | Path | None = None, max_wait: float = MAX_WAIT) -> None:
        self.path = Path(path) if path is not None else Path(tempfile.gettempdir()) / LOCK_NAME
        self.max_wait = max_wait
        self._fd: int | None = None
        self._held = False
        self._opened = False
        self._guard = threading.Lock()  # one holder per object (flock is per open file)

    def _file(self) -> int | None:
        if not self._opened:
            self._opened = True
            try:
                import fcntl  # noqa: F401  (POSIX only)

                flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
                self._fd = os.open(self.path, flags, 0o600)
            except (ImportError, OSError) as exc:
                log.warning("rebuilds will not take turns (%s): %s", self.path, exc)
        return self._fd

    def __enter__(self) -> MachineTurns:
        """Wait for the turn (at most ``max_wait`` seconds: then enter anyway, logged)."""
        self._guard.acquire()
        deadline = time.monotonic() + self.max_wait
        while not self._lock_file():
            if time.monotonic() >= deadline:
                log.warning("no turn in %.0f s (%s): rebuilding anyway", self.max_wait, self.path)
                break
            time.sleep(_POLL)
        return self

    def try_enter(self) -> bool:
        """Enter without waiting; False (not entered) when another holder is inside."""
        if not self._guard.acquire(blocking=False):
            return False
        if self._lock_file():
            return True
        self._guard.release()
        return False

    def _lock_file(self) -> bool:
        """Take the file lock without blocking; True when held (or there is no lock file)."""
        fd = self._file()
        if fd is None:
            return True
        import fcntl

        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        self._held = True
        return True

    def __del__(self) -> None:  # the lock file's descriptor goes with its object
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._held and self._fd is not None:
            import fcntl

            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._held = False
        self._guard.release()
