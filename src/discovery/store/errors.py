"""The store's exceptions (messages are user-facing: one line, no traceback)."""

from __future__ import annotations

import sqlite3

from ..errors import DiscoveryError

__all__ = ["NotFound", "ReadOnly", "StoreError", "is_read_only"]


class StoreError(DiscoveryError):
    """A problem with the database or the data written to it (message is user-facing)."""


class NotFound(StoreError):
    """An account, post or handle that the store does not hold."""


class ReadOnly(StoreError):
    """A write to a database this process may only read (a read-only file or folder, a
    PostgreSQL standby or read-only transaction); reads still work."""


def is_read_only(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be written: :class:`ReadOnly`, SQLite's
    ``SQLITE_READONLY`` ("attempt to write a readonly database") or PostgreSQL's SQLSTATE
    25006 (read_only_sql_transaction).

    >>> is_read_only(sqlite3.OperationalError("attempt to write a readonly database"))
    True
    >>> is_read_only(sqlite3.OperationalError("database is locked"))
    False
    """
    if isinstance(exc, ReadOnly) or getattr(exc, "sqlstate", None) == "25006":
        return True
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF == sqlite3.SQLITE_READONLY if code is not None else "readonly" in str(exc)
