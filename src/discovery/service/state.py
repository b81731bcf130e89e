"""What one server process shares between requests: the engine, a writer, locks and metrics.

Concurrency model
-----------------
Requests run in a thread pool. Three SQLite connections to the same WAL file:

- the engine's (its snapshot and display reads), used only under the engine's ``RLock``;
- the writer (events, saved settings), used only under :attr:`Service.write_lock`;
- the auth connection (token look-ups), under its own lock, so that a feed request never waits
  for an ingest transaction just to check its token.

Reads catch the snapshot up before answering (:meth:`Service.engine_for_read`): when the store's
change counter moved, the snapshot is refreshed while holding the write lock, so no server-side
commit can land halfway through the refresh's queries. Lock order is always write lock, then
engine lock. So every event acknowledged with a 2xx is reflected by the next read.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..engine import Engine
from ..settings import Settings
from ..store import Store
from ..store.tokens import TokenInfo, any_tokens, lookup_token
from .metrics import Metrics

__all__ = ["Service"]


class Service:
    """The shared state of one API process (see the module docstring for the locking)."""

    def __init__(self, db: str | Path, settings: Settings | None = None) -> None:
        self.db = Path(db)
        self.settings = settings
        self.write_lock = threading.Lock()
        self.auth_lock = threading.Lock()
        self.metrics = Metrics()
        self.closed = True
        self.open()

    def open(self) -> None:
        """Open the three connections and load the snapshot (again, after :meth:`close`)."""
        if not self.closed:
            return
        self.engine = Engine.open(self.db, settings=self.settings)
        self.writer = Store.open(self.db, create=False)
        self.auth_store = Store.open(self.db, create=False)
        self.refreshed_at = time.time()
        self.closed = False

    def close(self) -> None:
        """Close the connections (at server shutdown); :meth:`open` brings them back."""
        if self.closed:
            return
        with self.write_lock, self.auth_lock, self.engine._lock:
            for store in (self.engine.store, self.writer, self.auth_store):
                store.close()
            self.closed = True

    # ------------------------------------------------------------ snapshot
    def lag(self) -> int:
        """Write transactions the snapshot has not caught up with yet."""
        with self.engine._lock:
            return self.engine.store.change_counter - self.engine.snapshot.counter

    def catch_up(self) -> None:
        """Refresh the snapshot if the store moved (writes are held off meanwhile)."""
        if self.lag() == 0:
            self.refreshed_at = time.time()
            return
        start = time.perf_counter()
        with self.write_lock, self.engine._lock:
            self.engine.refresh()
            self.refreshed_at = time.time()
        self.metrics.refresh_seconds.observe(time.perf_counter() - start)

    @contextmanager
    def engine_for_read(self) -> Iterator[Engine]:
        """The engine, caught up with every acknowledged write, locked for one request."""
        self.catch_up()
        with self.engine._lock:
            yield self.engine

    @contextmanager
    def store_for_write(self) -> Iterator[Store]:
        """The writer store, for one request's transaction."""
        with self.write_lock:
            yield self.writer

    # ---------------------------------------------------------------- auth
    def token(self, token: str) -> TokenInfo | None:
        with self.auth_lock:
            return lookup_token(self.auth_store, token)

    def open_mode(self) -> bool:
        """True when no token exists: the API is open (local single-user mode)."""
        with self.auth_lock:
            return not any_tokens(self.auth_store)

    def handle_of(self, account: int) -> str | None:
        with self.auth_lock:
            info = self.auth_store.account_details([account]).get(account)
        return None if info is None else str(info["handle"])
