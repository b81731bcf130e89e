"""Which database a ``--db`` value (or ``DISCOVERY_DB``) names: a SQLite file or a PostgreSQL URL.

Accepted forms:

- a plain path (``demo.db``) or ``sqlite:///demo.db`` (relative) / ``sqlite:////abs/demo.db``;
- ``:memory:`` — a throwaway SQLite database;
- ``postgresql://user:password@host:port/dbname?…`` (``postgres://`` too), passed to libpq as it
  is, so every libpq parameter (``sslmode``, ``host=/run/postgresql`` sockets…) works.

Side files (the snapshot cache, media) live next to a SQLite file; for a PostgreSQL database in a
folder under ``$DISCOVERY_DATA_DIR`` (default ``~/.local/share/discovery-engine``) named after the
server and database, so two hosts serving one database each keep their own cache.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit, urlunsplit

from ..errors import InputError

__all__ = ["StoreURL", "parse_store_url"]


@dataclass(frozen=True)
class StoreURL:
    """A parsed store location.

    ``target`` is the file path (SQLite) or the libpq connection string (PostgreSQL);
    ``local_path`` the base path of side files (see the module docstring).
    """

    backend: Literal["sqlite", "postgresql"]
    target: str
    local_path: Path

    @property
    def memory(self) -> bool:
        return self.backend == "sqlite" and self.target == ":memory:"

    def __str__(self) -> str:
        """For messages: the path, or the URL without its password.

        >>> str(parse_store_url("postgresql://ana:secret@db:5433/photos"))
        'postgresql://ana@db:5433/photos'
        """
        if self.backend == "sqlite":
            return self.target
        parts = urlsplit(self.target)
        netloc = parts.netloc.rsplit("@", 1)
        if len(netloc) == 2:
            user = netloc[0].split(":", 1)[0]
            return urlunsplit(parts._replace(netloc=f"{user}@{netloc[1]}", query=""))
        return urlunsplit(parts._replace(query=""))


def _data_dir() -> Path:
    env = os.environ.get("DISCOVERY_DATA_DIR")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / (
        "discovery-engine"
    )


def parse_store_url(target: str | os.PathLike[str]) -> StoreURL:
    """Parse a ``--db`` value.

    >>> parse_store_url("demo.db").backend, parse_store_url("sqlite:///demo.db").target
    ('sqlite', 'demo.db')
    >>> parse_store_url("sqlite:////tmp/x.db").target
    '/tmp/x.db'
    >>> u = parse_store_url("postgresql://ana@localhost:5433/photos")
    >>> u.backend, u.local_path.name
    ('postgresql', 'pg-localhost-5433-photos')
    """
    text = os.fspath(target)
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme in ("postgresql", "postgres"):
        parts = urlsplit(text)
        host = unquote(parts.hostname or "local")
        port = parts.port or 5432
        dbname = unquote(parts.path.lstrip("/")) or (parts.username or "postgres")
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"pg-{host}-{port}-{dbname}")
        return StoreURL("postgresql", text, _data_dir() / name)
    if scheme == "sqlite":
        path = text[len("sqlite://") :]
        if not path.startswith("/"):
            raise InputError(f"{text}: a SQLite URL is sqlite:///relative/path or sqlite:////abs")
        path = path[1:]
        if not path:
            raise InputError(f"{text}: no file path in the SQLite URL")
        return StoreURL("sqlite", path, Path(path))
    if scheme:
        raise InputError(
            f"{text}: unknown database URL scheme {scheme!r}; use a file path, sqlite:///path "
            "or postgresql://user@host:port/dbname"
        )
    return StoreURL("sqlite", text, Path(text))
