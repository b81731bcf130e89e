"""The protocol both backends share: driver primitives, counted statements, transactions, meta.

The write protocol: every write happens inside :meth:`StoreCore.transaction`, which serialises
writers (SQLite ``BEGIN IMMEDIATE``; PostgreSQL a row lock on the change counter), stamps the
rows it writes with the next value of the change counter, and advances the counter only if a
statement changed something, so an idempotent re-import changes nothing at all. Snapshots catch
up by reading what carries a newer stamp (:meth:`discovery.store.Store.changes_since`).

Backends supply the primitives (run a statement, stream a query, open a write or a
consistent-read transaction, a savepoint, bulk-insert, notify); rows are written and read once,
in :mod:`.writes` and :mod:`.reads`, in SQL both dialects accept (``?`` placeholders are
translated by the PostgreSQL driver).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

from .errors import StoreError
from .url import StoreURL

__all__ = ["StoreCore", "commit_check"]

#: Called, in order, before every outermost transaction of this process commits; one that
#: raises rolls the transaction back. The command line registers its check for a Ctrl-C that a
#: library swallowed (:func:`discovery.cli._interrupt.raise_if_interrupted`), so such an
#: interrupt still leaves the database as it was.
_COMMIT_CHECKS: list[Callable[[], None]] = []


def commit_check(check: Callable[[], None]) -> Callable[[], None]:
    """Run ``check`` before every outermost transaction commits (once per callable); returns a
    function that removes it again."""
    if check not in _COMMIT_CHECKS:
        _COMMIT_CHECKS.append(check)

    def remove() -> None:
        if check in _COMMIT_CHECKS:
            _COMMIT_CHECKS.remove(check)

    return remove


class _TxState(threading.local):
    """Per-thread transaction state: a PostgreSQL store serves several threads at once."""

    seq: int | None = None
    changes: int = 0
    check_from: int | None = None


class StoreCore(ABC):
    """Driver primitives and the transaction protocol (see the module docstring)."""

    dialect: ClassVar[str]

    def __init__(self, url: StoreURL) -> None:
        self.url = url
        self.path = url.local_path
        self._tx = _TxState()
        self._hashtag_ids: dict[str, int] | None = None

    # ------------------------------------------------------ driver primitives
    @abstractmethod
    def close(self) -> None: ...

    def wipe(self) -> None:
        """Drop every table of this store and create an empty current schema (``generate
        --force`` on a server database; a SQLite file is replaced instead)."""
        with self.transaction():
            for table in sorted(self._tables()):
                self._exec(f"DROP TABLE {table}")
        self._hashtag_ids = None
        self._create()

    @abstractmethod
    def _tables(self) -> set[str]:
        """Names of the tables in the database (empty: a new database)."""

    @abstractmethod
    def _create(self) -> None:
        """Create the current schema and its meta rows, atomically."""

    @abstractmethod
    def _run(self, sql: str, params: Sequence[Any] = ()) -> tuple[int, list[tuple[Any, ...]]]:
        """Run one statement (``?`` placeholders); (rows changed, rows returned)."""

    @abstractmethod
    def _run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        """Run one statement for each row; how many rows it changed in all."""

    @abstractmethod
    def _stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        """Iterate a query's rows without holding them all (inside a read or write tx)."""

    @abstractmethod
    def _write_tx(self) -> contextlib.AbstractContextManager[None]:
        """Begin a serialised write transaction; commit on exit, roll back on an exception."""

    @abstractmethod
    def _read_tx(self) -> contextlib.AbstractContextManager[None]:
        """A read transaction in which every query sees one committed state."""

    @abstractmethod
    def _in_tx(self) -> bool:
        """Whether this thread has a transaction open."""

    @abstractmethod
    def _savepoint(self) -> contextlib.AbstractContextManager[None]:
        """A nested savepoint: an error inside rolls back only what it did."""

    @abstractmethod
    def _notify(self, counter: int) -> None:
        """Tell other processes that ``counter`` was committed (no-op where they poll)."""

    @abstractmethod
    def wait_for_change(self, counter: int, timeout: float) -> int:
        """Block until the change counter passes ``counter`` or ``timeout`` seconds pass;
        returns the counter then. PostgreSQL wakes on ``NOTIFY``; SQLite polls the file."""

    #: Exceptions the driver raises for a constraint violation.
    _integrity_errors: ClassVar[tuple[type[BaseException], ...]] = ()

    def _bulk_insert(
        self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
    ) -> int:
        """Insert rows, skipping those that clash with a stored key; how many were new.

        The default is batched ``INSERT … ON CONFLICT DO NOTHING``; PostgreSQL overrides it with
        ``COPY`` into a staging table."""
        marks = ", ".join("?" * len(columns))
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) ON CONFLICT DO NOTHING"
        total = 0
        batch: list[Sequence[Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= 50_000:
                total += self._many(sql, batch)
                batch = []
        if batch:
            total += self._many(sql, batch)
        return total

    # --------------------------------------------------- statements, counted
    def _exec(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; inside a write transaction its changes advance the counter."""
        changed, _ = self._run(sql, params)
        self._tx.changes += max(changed, 0)
        return changed

    def _many(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        if not rows:
            return 0
        changed = self._run_many(sql, rows)
        self._tx.changes += max(changed, 0)
        return changed

    def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of a query (or of a statement's ``RETURNING``, whose changes are counted)."""
        changed, rows = self._run(sql, params)
        self._tx.changes += max(changed, 0)
        return rows

    def _fetch_in(self, sql: str, values: Iterable[Any]) -> list[tuple[Any, ...]]:
        """Run ``sql`` (with one ``IN ({})``) over ``values`` in chunks of 500."""
        out: list[tuple[Any, ...]] = []
        items = list(dict.fromkeys(values))
        for start in range(0, len(items), 500):
            chunk = items[start : start + 500]
            out += self._fetch(sql.format(", ".join("?" * len(chunk))), chunk)
        return out

    # ---------------------------------------------------------- transactions
    @contextlib.contextmanager
    def transaction(self) -> Iterator[int]:
        """All-or-nothing write block; yields the change-counter value its rows are stamped with.

        The counter only advances when the block changed something, so an idempotent re-import
        leaves the database as it was. Nested blocks join the outer one.
        """
        tx = self._tx
        if tx.seq is not None:
            yield tx.seq
            return
        with self._write_tx():
            tx.changes, tx.check_from = 0, None
            tx.seq = self._meta_int("change_counter") + 1
            try:
                yield tx.seq
                for check in tuple(_COMMIT_CHECKS):
                    check()
                if tx.check_from is not None:
                    self._check_interaction_refs(tx.check_from)
                if tx.changes:
                    self.set_meta("change_counter", tx.seq)
                    self._notify(tx.seq)
            except BaseException:
                self._hashtag_ids = None  # ids handed out in the rolled-back block are void
                raise
            finally:
                tx.seq = None

    def _need_tx(self) -> int:
        if self._tx.seq is None:
            raise StoreError("writes must happen inside `with store.transaction():`")
        return self._tx.seq

    @contextlib.contextmanager
    def read_consistently(self) -> Iterator[StoreCore]:
        """A read transaction: every query inside sees the same committed state.

        For catching a snapshot up while events keep arriving: the reader does not block the
        writer, and a commit that lands between two of the catch-up's queries cannot be half
        seen. Joins a transaction that is already open.
        """
        if self._in_tx():
            yield self
            return
        with self._read_tx():
            yield self

    @property
    def change_counter(self) -> int:
        """Monotonic counter of committed write transactions (keys the snapshot cache)."""
        return self._meta_int("change_counter")

    # ------------------------------------------------------------------ meta
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        rows = self._fetch("SELECT value FROM meta WHERE key = ?", (key,))
        return default if not rows else str(rows[0][0])

    def set_meta(self, key: str, value: Any) -> None:
        self._need_tx()
        text = value if isinstance(value, str) else json.dumps(value)
        self._exec(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE"
            " SET value = excluded.value WHERE meta.value <> excluded.value",
            (key, text),
        )

    def _meta_int(self, key: str) -> int:
        return int(self.get_meta(key) or 0)

    def clock(self) -> str:
        """Which clock feeds run on: ``"fixed"`` (meta ``now``: a generated world, an import
        replayed at its own time) or ``"wall"`` (a live store: recency, windows and "popular
        this week" advance with real time). Explicit in meta ``clock``; a store that never set
        it is fixed when it has a ``now`` and live otherwise."""
        mode = self.get_meta("clock")
        if mode in ("fixed", "wall"):
            return mode
        return "fixed" if self.get_meta("now") else "wall"

    def set_clock(self, mode: str, *, at: int | None = None) -> None:
        """Switch the clock (``discovery clock``); ``at`` moves a fixed clock's ``now``."""
        if mode not in ("fixed", "wall"):
            raise StoreError(f"clock: expected fixed or wall, got {mode!r}")
        with self.transaction():
            self.set_meta("clock", mode)
            if at is not None:
                self.set_meta("now", str(int(at)))
            elif mode == "fixed" and not self.get_meta("now"):
                self.set_meta("now", str(int(time.time())))

    def meta(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in self._fetch("SELECT key, value FROM meta ORDER BY key")}

    @property
    def local_dir(self) -> Path:
        """The folder holding this store's side files (snapshot cache, media)."""
        return self.path.parent
