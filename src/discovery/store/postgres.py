"""The PostgreSQL backend: psycopg 3 with a connection pool, ``COPY`` for bulk rows, and
``LISTEN/NOTIFY`` so other processes (``serve --workers N``, other hosts) learn of a commit.

Transactions: a thread that opens one pins a pooled connection for its duration; reads outside a
transaction borrow one per statement (autocommit). Writers serialise on a row lock of the change
counter (``SELECT … FOR UPDATE``), which keeps the protocol of the SQLite backend: one writer at a
time, and ``interactions.id`` values that commit in ascending order, so a snapshot that catches
up by id never skips a row committed late.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, ClassVar

from .base import Store
from .errors import StoreError
from .schema import SCHEMA_VERSION, schema_sql
from .url import StoreURL

__all__ = ["CHANNEL", "PostgresStore"]

#: The ``NOTIFY`` channel a commit announces its change counter on.
CHANNEL = "discovery_changes"


def _pg(sql: str) -> str:
    """``?`` placeholders (the portable form used in this package) → psycopg's ``%s``."""
    return sql.replace("%", "%%").replace("?", "%s")


class _Pinned(threading.local):
    conn: Any = None
    savepoints: int = 0
    bulk: dict[str, int] = {}  # noqa: RUF012  (per thread: set at each write transaction)


#: Rows bulk-inserted into a table in one transaction after which it is ``ANALYZE``d.
_ANALYZE_AFTER = 10_000


class PostgresStore(Store):
    """A store in a PostgreSQL database (see :class:`~discovery.store.Store`)."""

    dialect: ClassVar[str] = "postgresql"

    def __init__(self, url: StoreURL, pool: Any) -> None:
        super().__init__(url)
        self.pool = pool
        self._pinned = _Pinned()
        self._listener: Any = None

    @classmethod
    def connect(cls, url: StoreURL, *, create: bool) -> PostgresStore:
        try:
            import psycopg
            from psycopg_pool import ConnectionPool
        except ImportError:
            raise StoreError(
                "PostgreSQL needs the postgres extra: pip install 'discovery-engine[postgres]'"
            ) from None
        try:  # one plain connection first: a clear one-line error, at once, if none can be had
            psycopg.connect(url.target, connect_timeout=10).close()
        except psycopg.Error as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StoreError(f"{url}: cannot connect to PostgreSQL ({reason})") from None
        pool = ConnectionPool(
            url.target,
            min_size=1,
            max_size=4,
            # No server-side prepared statements: after five runs PostgreSQL switches a prepared
            # statement to a generic plan, and the commit-time reference check's generic plan
            # reads every post and account (20x slower per event batch; bench/README.md).
            kwargs={"autocommit": True, "prepare_threshold": None},
            open=False,
            name=f"discovery-{uuid.uuid4().hex[:6]}",
        )
        try:
            pool.open(wait=True, timeout=10)
        except Exception as exc:  # PoolTimeout wraps the libpq error text
            pool.close()
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StoreError(f"{url}: cannot connect to PostgreSQL ({reason})") from None
        cls._integrity_errors = (psycopg.IntegrityError,)
        return cls(url, pool)

    def close(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        self.pool.close()

    # ------------------------------------------------------------ connections
    @contextlib.contextmanager
    def _conn(self) -> Iterator[Any]:
        pinned = self._pinned.conn
        if pinned is not None:
            yield pinned
            return
        with self.pool.connection() as conn:
            yield conn

    def _tables(self) -> set[str]:
        rows = self._fetch("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        return {str(r[0]) for r in rows}

    def _create(self) -> None:
        with self._conn() as conn, conn.transaction():
            # Two processes creating one database at once: the second waits, then finds tables.
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('discovery-create'))")
            exists = conn.execute(
                "SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'meta'"
            ).fetchone()
            if exists:
                return
            for statement in schema_sql("postgresql"):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', %s),"
                " ('change_counter', '0'), ('created_at', %s), ('store_id', %s)",
                (str(SCHEMA_VERSION), str(int(time.time())), uuid.uuid4().hex),
            )

    # ----------------------------------------------------------------- driver
    def _run(self, sql: str, params: Sequence[Any] = ()) -> tuple[int, list[tuple[Any, ...]]]:
        with self._conn() as conn:
            cur = conn.execute(_pg(sql), params if params else None)
            rows = cur.fetchall() if cur.description is not None else []
            verb = sql.lstrip()[:6].upper()
            changed = cur.rowcount if verb in ("INSERT", "UPDATE", "DELETE") else 0
            return max(changed, 0), rows

    def _run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        with self._conn() as conn:
            cur = conn.cursor()
            cur.executemany(_pg(sql), rows)
            return max(cur.rowcount, 0)

    def _stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        # A server-side cursor streams rows in batches instead of holding them all in memory.
        with (
            self.read_consistently(),
            self._conn() as conn,
            conn.cursor(name=f"s{uuid.uuid4().hex[:12]}") as cur,
        ):
            cur.itersize = 20_000
            cur.execute(_pg(sql), params if params else None)
            yield from cur

    @contextlib.contextmanager
    def _pin(self, begin: str) -> Iterator[Any]:
        with self.pool.connection() as conn:
            self._pinned.conn = conn
            conn.execute(begin)
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")
            finally:
                self._pinned.conn = None
                self._pinned.savepoints = 0

    @contextlib.contextmanager
    def _write_tx(self) -> Iterator[None]:
        with self._pin("BEGIN") as conn:
            conn.execute("SELECT value FROM meta WHERE key = 'change_counter' FOR UPDATE")
            self._pinned.bulk = {}
            yield
            # Statistics for tables a bulk load grew: right after a big COPY the planner has
            # none, and it scanned 14 M interactions for a range it would find in the index.
            for table, rows in sorted(self._pinned.bulk.items()):
                if rows >= _ANALYZE_AFTER:
                    conn.execute(f"ANALYZE {table}")

    @contextlib.contextmanager
    def _read_tx(self) -> Iterator[None]:
        with self._pin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"):
            yield

    def _in_tx(self) -> bool:
        return self._pinned.conn is not None

    @contextlib.contextmanager
    def _savepoint(self) -> Iterator[None]:
        conn = self._pinned.conn
        if conn is None:
            raise StoreError("a savepoint needs an open transaction")
        self._pinned.savepoints += 1
        name = f"sp{self._pinned.savepoints}"
        conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
            conn.execute(f"RELEASE SAVEPOINT {name}")
            raise
        else:
            conn.execute(f"RELEASE SAVEPOINT {name}")
        finally:
            self._pinned.savepoints -= 1

    def _bulk_insert(
        self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
    ) -> int:
        """``COPY`` into a staging table, then one ``INSERT … SELECT … ON CONFLICT DO NOTHING``:
        the speed of ``COPY`` (no per-row round trip or parse) with the store's idempotence."""
        conn = self._pinned.conn
        if conn is None:
            raise StoreError("writes must happen inside `with store.transaction():`")
        cols = ", ".join(columns)
        stage = f"stage_{table}"
        conn.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DROP AS"
            f" SELECT {cols} FROM {table} WITH NO DATA"
        )
        conn.execute(f"TRUNCATE {stage}")
        n = 0
        with conn.cursor() as cur, cur.copy(f"COPY {stage} ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                n += 1
        if n == 0:
            return 0
        cur = conn.execute(
            f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {stage} ON CONFLICT DO NOTHING"
        )
        changed = max(cur.rowcount, 0)
        self._tx.changes += changed
        bulk = self._pinned.bulk
        bulk[table] = bulk.get(table, 0) + changed
        # ids given (a copy): move the identity past them, or the next plain insert clashes
        if table in ("interactions", "impression_log") and "id" in columns:
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" (SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"
            )
        return changed

    # ---------------------------------------------------------- notifications
    def _notify(self, counter: int) -> None:
        # Delivered at COMMIT, and only if the transaction commits.
        self._run("SELECT pg_notify(?, ?)", (CHANNEL, str(counter)))

    def wait_for_change(self, counter: int, timeout: float) -> int:
        """Block until a commit past ``counter`` is announced (``LISTEN``), or ``timeout``."""
        import psycopg

        if self._listener is None:
            self._listener = psycopg.connect(self.url.target, autocommit=True)
            self._listener.execute(f"LISTEN {CHANNEL}")
        deadline = time.monotonic() + timeout
        now = self.change_counter  # after LISTEN: a commit in between is not missed
        while now <= counter:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            for _ in self._listener.notifies(timeout=left, stop_after=1):
                pass
            now = self.change_counter
        return now
