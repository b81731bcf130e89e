"""``--db`` and ``DISCOVERY_DB`` name a SQLite file or a PostgreSQL database; bad ones are one line."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from discovery.errors import InputError
from discovery.store import Store, StoreError, parse_store_url


@pytest.mark.parametrize(
    ("text", "backend", "target"),
    [
        ("demo.db", "sqlite", "demo.db"),
        ("sqlite:///demo.db", "sqlite", "demo.db"),
        ("sqlite:////srv/x/demo.db", "sqlite", "/srv/x/demo.db"),
        (":memory:", "sqlite", ":memory:"),
        ("postgresql://ana@db:5433/photos", "postgresql", "postgresql://ana@db:5433/photos"),
        ("postgres://ana@db/photos", "postgresql", "postgres://ana@db/photos"),
    ],
)
def test_url_forms(text: str, backend: str, target: str) -> None:
    url = parse_store_url(text)
    assert (url.backend, url.target) == (backend, target)


def test_a_password_never_shows_in_messages(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DISCOVERY_DATA_DIR", str(tmp_path))
    url = parse_store_url("postgresql://ana:s3cret@db.example:6543/photos?sslmode=require")
    assert str(url) == "postgresql://ana@db.example:6543/photos"
    assert url.local_path == tmp_path / "pg-db.example-6543-photos"


@pytest.mark.parametrize("text", ["mysql://x/y", "sqlite://relative.db", "sqlite:///"])
def test_bad_urls_are_input_errors(text: str) -> None:
    with pytest.raises(InputError):
        parse_store_url(text)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the block ends


def test_an_unreachable_server_is_one_line_at_once(tmp_path: Path) -> None:
    pytest.importorskip("psycopg")
    url = f"postgresql://nobody@127.0.0.1:{_closed_port()}/x"
    with pytest.raises(StoreError, match="cannot connect to PostgreSQL"):
        Store.open(url)
    env = {**os.environ, "DISCOVERY_DB": url}
    done = subprocess.run(
        [sys.executable, "-m", "discovery", "info"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: postgresql://nobody@")


def test_discovery_db_accepts_a_postgresql_url(pg_url: str) -> None:
    from worlds import build_known_world

    build_known_world(pg_url).close()
    env = {**os.environ, "DISCOVERY_DB": pg_url}
    done = subprocess.run(
        [sys.executable, "-m", "discovery", "feed", "me", "--kind", "timeline", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert '"user": "me"' in done.stdout
