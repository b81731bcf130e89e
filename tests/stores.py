"""Real database servers for the store contract suite: a throwaway PostgreSQL cluster.

The suite starts one cluster per test session (``initdb`` + ``pg_ctl`` on a temporary folder
and a free loopback port) and gives each test a fresh database in it. Written by hand rather
than with pytest-postgresql because CI runs as root and PostgreSQL refuses to run as root: the
server is started as the ``postgres`` system user (``runuser``) when the suite is root.

Without PostgreSQL binaries the PostgreSQL half of the suite skips with a one-line reason; under
``CI=true`` that skip is a failure, so CI cannot silently test one backend.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

__all__ = ["BACKENDS", "PgCluster", "dump", "pg_binaries", "require_pg", "rows"]

BACKENDS = ("sqlite", "postgresql")


def rows(store: Any, sql: str, params: tuple = ()) -> list[tuple]:
    """Raw rows, to check what the store wrote (tests only: the engine uses typed reads)."""
    return [tuple(r) for r in store._fetch(sql, params)]


def dump(store: Any) -> dict[str, list[tuple]]:
    """Every row of every table, sorted: equal dumps mean equal databases, on either backend."""
    from discovery.store.copy import TABLES

    tables = [*TABLES, "meta", "removed_follows", "removed_posts", "removed_interactions"]
    return {t: sorted(rows(store, f"SELECT * FROM {t}"), key=repr) for t in tables}


def pg_binaries() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl`` (PATH first, then Debian's layout)."""
    for candidate in [
        shutil.which("pg_ctl"),
        *sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")),
    ]:
        if candidate and Path(candidate).with_name("initdb").exists():
            return Path(candidate).resolve().parent
    return None


def require_pg() -> Path:
    """The binaries folder, or skip (fail under CI) with a one-line reason."""
    found = pg_binaries()
    if found is None:
        reason = "PostgreSQL binaries (initdb, pg_ctl) not found: apt-get install postgresql"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must test both backends: {reason}", pytrace=False)
        pytest.skip(reason)
    try:
        import psycopg  # noqa: F401
    except ImportError:
        reason = "psycopg not installed: pip install -e '.[postgres]'"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must test both backends: {reason}", pytrace=False)
        pytest.skip(reason)
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgCluster:
    """One PostgreSQL server on a temporary folder; :meth:`database` makes fresh databases."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="discovery-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._names = itertools.count(1)
        self._as: list[str] = []
        if os.geteuid() == 0:  # the server refuses root: run it as the postgres system user
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str) -> None:
        subprocess.run(
            [*self._as, *args], check=True, capture_output=True, text=True, cwd=self.root
        )

    def start(self) -> PgCluster:
        self._run(
            str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "discovery",
            "--no-sync", "-E", "UTF8",
        )  # fmt: skip
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            " -c max_connections=200"
        )
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", options, "-w",
            "-l", str(self.root / "log"), "start",
        )  # fmt: skip
        return self

    def stop(self) -> None:
        try:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://discovery@127.0.0.1:{self.port}/{dbname}"

    def database(self) -> str:
        """Create an empty database and return its URL."""
        import psycopg

        name = f"t{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def drop(self, url: str) -> None:
        import psycopg

        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
