"""Impressions written off the request path: :class:`ImpressionQueue`.

Every served feed page logs one row per item (:mod:`discovery.experiments.logging`). Written in
the request, each page was its own SQLite write, queued behind the event batches on the
process's write lock and, across worker processes, on the database's single writer: a request
thread could wait there tens of milliseconds after its ranking was done, and with two request
threads per process the engine sat idle while both waited. On the large world (``serve
--workers 2``, 2,000 events/s) that left the workers lock-bound at 1.28 of 2 cores.

Now a page's rows go into a queue and one thread per process writes everything queued in one
transaction: a busy server writes a few large inserts a second instead of one per page, and no
request waits for the writer. What that changes:

* the log lags a page by the time the writer takes to reach it (a few milliseconds idle, about a
  batch under load); :meth:`ImpressionQueue.flush` waits until every page queued before the
  call is written, and the API's experiment report calls it first, so a report never misses a
  page this process served;
* logging still never fails a read: a store error loses that batch with a warning, as the
  in-request write did; a backlog beyond ``max_rows`` (a writer stuck behind a lost database
  server) drops the newest pages and counts them, rather than growing without bound;
* shutdown flushes: the server's lifespan closes the queue before the stores.

A plain thread and :class:`queue.Queue`, not a task library: one consumer, no results, and the
flush needs only ``Queue.join``.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence

from ..store.experiments import ImpressionRow

__all__ = ["MAX_BATCH_ROWS", "MAX_QUEUED_ROWS", "WARN_EVERY", "ImpressionQueue"]

_log = logging.getLogger(__name__)

#: Rows written in one transaction at most (a batch's insert stays short under the write lock).
MAX_BATCH_ROWS = 5_000
#: Rows waiting at most; pages beyond are dropped and counted (:attr:`ImpressionQueue.dropped`).
MAX_QUEUED_ROWS = 200_000
#: A full queue is reported in the log at most this often (seconds), not once per page.
WARN_EVERY = 60.0

_STOP = object()


class ImpressionQueue:
    """Pages of impression rows, written by one background thread through ``write``.

    ``write(rows)`` stores a batch (in one transaction, under whatever lock the caller's store
    needs); an exception it raises is logged and the batch is lost, as a failed in-request write
    was.

    >>> written = []
    >>> q = ImpressionQueue(written.extend)
    >>> q.put(["a", "b"]), q.put(["c"]), q.flush()
    (True, True, True)
    >>> written, q.written
    (['a', 'b', 'c'], 3)
    >>> q.close(); q.put(["d"]), q.dropped
    (False, 1)
    """

    def __init__(
        self,
        write: Callable[[list[ImpressionRow]], object],
        *,
        max_rows: int = MAX_QUEUED_ROWS,
        max_batch: int = MAX_BATCH_ROWS,
    ) -> None:
        self._write = write
        self.max_rows, self.max_batch = int(max_rows), int(max_batch)
        self._pages: queue.Queue[object] = queue.Queue()
        self._lock = threading.Lock()
        self._closed = False
        self._warned = -WARN_EVERY
        self.queued = 0  # rows put and not yet written (or lost)
        self.written = 0
        self.dropped = 0  # rows refused for a full queue
        self.failed = 0  # rows lost to a store error
        self._thread = threading.Thread(target=self._run, name="discovery-impressions", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------ producers
    def put(self, rows: Sequence[ImpressionRow]) -> bool:
        """Queue a page's rows (never blocks); False when they were dropped for a full queue
        or a closed one."""
        if not rows:
            return True
        with self._lock:  # the page goes in under the lock: none can follow the stop marker
            if self._closed or self.queued + len(rows) > self.max_rows:
                self.dropped += len(rows)
                self._warn_dropped()
                return False
            self.queued += len(rows)
            self._pages.put(list(rows))
        return True

    def counts(self) -> dict[str, int]:
        """Rows by state, for ``/metrics``: written, queued, dropped, failed."""
        with self._lock:
            return {
                "written": self.written,
                "queued": self.queued,
                "dropped": self.dropped,
                "failed": self.failed,
            }

    def _warn_dropped(self) -> None:
        now = time.monotonic()
        if now - self._warned >= WARN_EVERY:
            self._warned = now
            why = "closed" if self._closed else f"full ({self.queued:,} rows waiting)"
            _log.warning("impression queue %s: %d rows dropped so far", why, self.dropped)

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Wait until every page queued before the call is written (or lost to an error);
        False if ``timeout`` seconds passed first."""
        done = threading.Event()
        with self._lock:
            closed = self._closed
            if not closed:  # the writer sets it once everything ahead of it is written
                self._pages.put(done)
        if closed:  # the stop marker writes what is left: wait for the thread instead
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return done.wait(timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Write what is queued, then stop the thread (later pages are dropped)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._pages.put(_STOP)
        self._thread.join(timeout)

    # --------------------------------------------------------------- writer
    def _run(self) -> None:
        while True:
            item = self._pages.get()
            batch: list[ImpressionRow] = []
            signals: list[threading.Event] = []
            stop = False
            while True:  # everything queued now, up to a batch: one transaction; the stop
                # marker is the last item ever queued (put refuses pages once it is in)
                if item is _STOP:
                    stop = True
                elif isinstance(item, threading.Event):
                    signals.append(item)
                else:
                    batch += item  # type: ignore[arg-type]
                if stop or len(batch) >= self.max_batch:
                    break
                try:
                    item = self._pages.get_nowait()
                except queue.Empty:
                    break
            self._store(batch)
            for done in signals:
                done.set()
            if stop:
                return

    def _store(self, batch: list[ImpressionRow]) -> None:
        if not batch:
            return
        try:
            self._write(batch)
            lost = 0
        except Exception as exc:  # a read-only database, a lost server: the pages were served
            lost = len(batch)
            _log.warning("%d impressions not logged: %s", len(batch), exc)
        with self._lock:
            self.queued -= len(batch)
            self.written += len(batch) - lost
            self.failed += lost
