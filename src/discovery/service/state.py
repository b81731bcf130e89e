"""What one server process shares between requests: the engine, a writer, locks and metrics.

Concurrency model
-----------------
Requests run in a thread pool. Three stores (SQLite connections to the same WAL file, or
PostgreSQL connection pools):

- the engine's (its snapshot and display reads), used only under the engine's ``RLock``;
- the writer (events, saved settings), used only under :attr:`Service.write_lock`;
- the auth connection (token look-ups), under its own lock, so that a feed request never waits
  for an ingest transaction just to check its token.

Served pages' impressions are not written by the request: they go into
:attr:`Service.impressions` (:class:`~.impressions.ImpressionQueue`), whose thread writes
everything queued through the writer, under the write lock, in one transaction.

Reads catch the snapshot up before answering (:meth:`Service.engine_for_read`): when the store's
change counter moved, the snapshot is refreshed inside one read transaction on the engine's
connection (:func:`~discovery.store.events.read_consistently`), so a commit that lands halfway
through the refresh's queries is either wholly seen or left for the next refresh, and ingestion
never waits for a refresh (WAL readers and the writer do not block each other). So every event
acknowledged with a 2xx is reflected by the next read. On PostgreSQL a follower thread also
``LISTEN``s for commits and catches up as soon as another worker or host writes.

Structures that may lag the store (the follow graph and what is built on it, the statistics of
the interaction log) are rebuilt beside the serving ones once their lag runs out, on the
engine's rebuild thread (:mod:`discovery.snapshot.rebuild`), so no request waits for seconds of
rebuilding behind the engine's lock.

Route handlers run the engine work on worker threads through two capacity limiters: one for
reads (they queue on the engine lock anyway) and one for writes, so a burst of feed requests
cannot starve event ingestion of threads.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from ..engine import Engine
from ..settings import Settings
from ..snapshot.rebuild import RebuildStats
from ..snapshot.turns import MachineTurns
from ..store import Store
from ..store.events import read_consistently
from ..store.experiments import ImpressionRow
from ..store.tokens import TokenInfo, any_tokens, lookup_token
from .impressions import ImpressionQueue
from .metrics import Metrics

__all__ = ["LANE_THREADS", "Service"]

T = TypeVar("T")
#: How far below the requests' scheduling priority a server's rebuild thread runs (Linux).
REBUILD_NICE = 10
#: Worker threads per lane: one ranks while one waits on the engine lock; writes are short.
LANE_THREADS = {"read": 2, "write": 2}


class Service:
    """The shared state of one API process (see the module docstring for the locking)."""

    def __init__(
        self, db: str | Path, settings: Settings | None = None, *, learned_features: bool = True
    ) -> None:
        self.db = str(db)  # a path or a database URL (see discovery.store.url)
        self.settings = settings
        # whether logged impressions carry every learned feature (serve_feed's learned_features)
        self.learned_features = learned_features
        self.write_lock = threading.Lock()
        self.auth_lock = threading.Lock()
        self.metrics = Metrics()
        self._limiters: dict[str, anyio.CapacityLimiter] = {}
        self.closed = True
        self.open()

    def open(self) -> None:
        """Open the three connections and load the snapshot (again, after :meth:`close`)."""
        if not self.closed:
            return
        self.engine = Engine.open(self.db, settings=self.settings)
        # the workers of one machine rebuild one at a time (discovery.snapshot.turns), each
        # below its requests' priority
        self.engine.rebuild_beside(MachineTurns(), nice=REBUILD_NICE)
        self.writer = Store.open(self.db, create=False)
        self.auth_store = Store.open(self.db, create=False)
        self.refreshed_at = time.time()
        self.impressions = ImpressionQueue(self._write_impressions)
        self.closed = False
        self._follower: threading.Thread | None = None
        if self.writer.dialect == "postgresql":
            self._stop_following = threading.Event()
            self._follower = threading.Thread(
                target=self._follow, name="discovery-follow", daemon=True
            )
            self._follower.start()

    def _follow(self) -> None:
        """Catch the snapshot up as soon as another process commits (PostgreSQL ``NOTIFY``):
        a write through another worker or host is folded in before the next request asks.
        Requests still check the counter themselves, so this only moves the work earlier."""
        store = Store.open(self.db, create=False)
        try:
            seen = self.engine.snapshot.counter
            while not self._stop_following.is_set():
                now = store.wait_for_change(seen, timeout=1.0)
                if now > seen and not self._stop_following.is_set():
                    self.catch_up()
                    seen = now
        except Exception:  # the store is closing under us; requests keep catching up
            if not self._stop_following.is_set():
                raise
        finally:
            store.close()

    def close(self) -> None:
        """Close the connections (at server shutdown); :meth:`open` brings them back."""
        if self.closed:
            return
        if self._follower is not None:
            self._stop_following.set()
            self._follower.join(5)
        self.impressions.close()  # what was served is written before the writer closes
        if self.engine.rebuilder is not None:
            self.engine.rebuilder.wait(30)  # it reads the arrays, never the stores
        with self.write_lock, self.auth_lock, self.engine._lock:
            for store in (self.engine.store, self.writer, self.auth_store):
                store.close()
            self.closed = True

    # ------------------------------------------------------------ snapshot
    def lag(self) -> int:
        """Write transactions the snapshot has not caught up with yet."""
        with self.engine._lock:
            return self.engine.store.change_counter - self.engine.snapshot.counter

    def rebuild_stats(self) -> RebuildStats:
        """The rebuild thread's counts for ``/metrics`` (see :mod:`discovery.snapshot.rebuild`)."""
        rebuilder = self.engine.rebuilder
        assert rebuilder is not None  # open() turns rebuilding beside on
        with self.engine._lock:
            return rebuilder.stats(self.engine.snapshot)

    def catch_up(self) -> None:
        """Refresh the snapshot if the store moved (writes are held off meanwhile)."""
        if self.lag() == 0:
            self.refreshed_at = time.time()
            return
        start = time.perf_counter()
        with self.engine._lock, read_consistently(self.engine.store):
            self.engine.refresh()
            self.refreshed_at = time.time()
        self.metrics.refresh_seconds.observe(time.perf_counter() - start)

    # ------------------------------------------------------------- threads
    async def run_read(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` on a worker thread of the read lane."""
        return await self._run("read", fn, args)

    async def run_write(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` on a worker thread of the write lane."""
        return await self._run("write", fn, args)

    async def _run(self, lane: str, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        limiter = self._limiters.get(lane)
        if limiter is None:  # created on first use, inside the running event loop
            limiter = self._limiters[lane] = anyio.CapacityLimiter(LANE_THREADS[lane])
        return await anyio.to_thread.run_sync(functools.partial(fn, *args), limiter=limiter)

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

    def _write_impressions(self, rows: list[ImpressionRow]) -> None:
        """One batch of queued impressions, in one transaction on the writer (outside the change
        counter: the snapshot does not read the log, so no catch-up follows)."""
        with self.write_lock, self.writer.transaction():
            self.writer.log_impressions(rows)

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
