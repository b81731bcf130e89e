"""The embedded backend: one SQLite file in WAL mode, one connection per :class:`Store`.

Writers are serialised by ``BEGIN IMMEDIATE``; readers never block them (WAL). Other processes
learn of a commit by polling the change counter (a cheap read of one row).
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
import uuid
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

from .base import Store
from .errors import ReadOnly, StoreError, is_read_only
from .schema import SCHEMA_VERSION, schema_sql
from .url import StoreURL

__all__ = ["SqliteStore"]


def _connect(target: str, *, wal: bool) -> sqlite3.Connection:
    conn = sqlite3.connect(
        target,
        isolation_level=None,
        timeout=30.0,
        check_same_thread=False,
        uri=target.startswith("file:"),
    )
    try:
        conn.execute("PRAGMA busy_timeout = 30000")
        if wal:
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("SELECT name FROM sqlite_master LIMIT 1").fetchall()
    except BaseException:
        conn.close()
        raise
    return conn


class SqliteStore(Store):
    """A store in one SQLite file (see :class:`~discovery.store.Store` for the interface)."""

    dialect: ClassVar[str] = "sqlite"
    _integrity_errors = (sqlite3.IntegrityError,)

    def __init__(self, url: StoreURL, conn: sqlite3.Connection) -> None:
        super().__init__(url)
        self.conn = conn
        self._savepoints = 0

    @classmethod
    def connect(cls, url: StoreURL, *, create: bool) -> SqliteStore:
        p = url.local_path
        if not url.memory and not p.parent.is_dir():
            raise StoreError(f"{p}: no such folder {str(p.parent)!r}")
        if not url.memory and not p.exists() and not create:
            raise StoreError(f"{p}: no such database (run `discovery generate` or an import first)")
        try:
            conn = _connect(url.target, wal=not url.memory)
        except sqlite3.DatabaseError as exc:
            if "unable to open" not in str(exc) or not p.is_file():
                raise StoreError(f"{p}: not a discovery-engine database ({exc})") from None
            # A WAL database in a folder we cannot write (no -shm can be made): read it as
            # it is; every write then fails as SQLITE_READONLY ("database is read-only").
            try:
                conn = _connect(f"{p.resolve().as_uri()}?mode=ro", wal=False)
            except sqlite3.DatabaseError:
                try:
                    conn = _connect(f"{p.resolve().as_uri()}?mode=ro&immutable=1", wal=False)
                except sqlite3.DatabaseError as again:
                    raise StoreError(f"{p}: not a discovery-engine database ({again})") from None
        return cls(url, conn)

    def close(self) -> None:
        self.conn.close()

    def _tables(self) -> set[str]:
        try:
            return {
                r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.url}: not a discovery-engine database ({exc})") from None

    def _create(self) -> None:
        # One script, one transaction: a file killed while being created has no tables at all.
        self.conn.executescript(
            "BEGIN IMMEDIATE;"
            + ";\n".join(schema_sql("sqlite"))
            + f";\nINSERT INTO meta VALUES ('schema_version', '{SCHEMA_VERSION}'),"
            f" ('change_counter', '0'), ('created_at', '{int(time.time())}'),"
            f" ('store_id', '{uuid.uuid4().hex}') ON CONFLICT DO NOTHING;"
            "COMMIT;"
        )

    # total_changes counts what statements changed, RETURNING included (rowcount does not
    # for every statement kind), and DDL not at all.
    def _run(self, sql: str, params: Sequence[Any] = ()) -> tuple[int, list[tuple[Any, ...]]]:
        before = self.conn.total_changes
        rows = self.conn.execute(sql, params).fetchall()
        return self.conn.total_changes - before, rows

    def _run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        before = self.conn.total_changes
        self.conn.executemany(sql, rows)
        return self.conn.total_changes - before

    def _stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        return iter(self.conn.execute(sql, params))

    @contextlib.contextmanager
    def _write_tx(self) -> Iterator[None]:
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield
                self.conn.execute("COMMIT")
            except BaseException:
                try:
                    if self.conn.in_transaction:  # SQLite may have rolled back (disk full...)
                        self.conn.execute("ROLLBACK")
                except sqlite3.ProgrammingError:
                    # closed already (a Ctrl-C'd command's exit closed it before this abandoned
                    # block was collected): closing rolled the transaction back
                    pass
                raise
        except sqlite3.OperationalError as exc:
            if is_read_only(exc):
                raise ReadOnly(f"{self.url}: database is read-only ({exc})") from None
            raise

    @contextlib.contextmanager
    def _read_tx(self) -> Iterator[None]:
        self.conn.execute("BEGIN DEFERRED")
        try:
            yield
        finally:
            if self.conn.in_transaction:
                self.conn.execute("COMMIT")  # read-only: nothing to keep or undo

    def _in_tx(self) -> bool:
        return self.conn.in_transaction

    @contextlib.contextmanager
    def _savepoint(self) -> Iterator[None]:
        self._savepoints += 1
        name = f"sp{self._savepoints}"
        self.conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            self.conn.execute(f"ROLLBACK TO {name}")
            self.conn.execute(f"RELEASE {name}")
            raise
        else:
            self.conn.execute(f"RELEASE {name}")
        finally:
            self._savepoints -= 1

    def _notify(self, counter: int) -> None:
        """Nothing to do: other processes poll the counter."""

    def wait_for_change(self, counter: int, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while True:
            now = self.change_counter
            if now > counter or time.monotonic() >= deadline:
                return now
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
