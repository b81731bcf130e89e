"""Opening files: schema versions, `discovery migrate`, and files that are not ours.

A "version 2" is simulated by patching the module's SCHEMA_VERSION and MIGRATIONS; the files
and the SQL stay real SQLite.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import discovery.store.sqlite as store_module
from discovery.store import SCHEMA_VERSION, Store, StoreError

ADD_BIO = "ALTER TABLE accounts ADD COLUMN bio TEXT NOT NULL DEFAULT '';"
ADD_LIKES_VIEW = """
CREATE TABLE post_scores (post INTEGER PRIMARY KEY, score REAL NOT NULL);
-- a trigger body holds ';' inside one statement
CREATE TRIGGER posts_score AFTER INSERT ON posts BEGIN
    INSERT INTO post_scores VALUES (new.id, 0.0);
    UPDATE post_scores SET score = 1.0 WHERE post = new.id;
END;
"""


def make_v1(path: Path) -> list[str]:
    with Store.open(path) as s, s.transaction():
        s.add_accounts([(1, "ana", "Ana", 0, 5)])
        s.add_posts([(1, 1, 7, "#x", 0, None, 0, 0)])
    return dump(path)


def dump(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def columns(path: Path, table: str) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
    finally:
        conn.close()


def pretend_version(monkeypatch: pytest.MonkeyPatch, version: int, migrations: dict) -> None:
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", version)
    monkeypatch.setattr(store_module, "MIGRATIONS", migrations)


def test_a_newer_file_names_both_versions(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    make_v1(path)
    with Store.open(path) as s, s.transaction():
        s.set_meta("schema_version", SCHEMA_VERSION + 1)
    before = dump(path)
    with pytest.raises(StoreError) as err:
        Store.open(path)
    message = str(err.value)
    assert f"schema {SCHEMA_VERSION + 1}" in message
    assert f"understands {SCHEMA_VERSION}" in message
    assert "upgrade" in message
    with pytest.raises(StoreError, match="newer"):
        Store.open(path, migrate=True)  # no downgrades
    assert dump(path) == before


def test_an_older_file_says_run_discovery_migrate(tmp_path, monkeypatch) -> None:
    path = tmp_path / "old.db"
    before = make_v1(path)
    pretend_version(monkeypatch, 2, {1: ADD_BIO})
    with pytest.raises(StoreError) as err:
        Store.open(path)
    assert "schema 1 is older than 2" in str(err.value)
    assert "run `discovery migrate`" in str(err.value)
    assert dump(path) == before  # refusing to open does not touch the file


def test_migrate_upgrades_in_place_and_keeps_the_data(tmp_path, monkeypatch) -> None:
    path = tmp_path / "old.db"
    make_v1(path)
    pretend_version(monkeypatch, 3, {1: ADD_BIO, 2: ADD_LIKES_VIEW})
    with Store.open(path, create=False, migrate=True) as s:
        assert s.get_meta("schema_version") == "3"
        assert s.change_counter == 2  # the migration counts as a change (snapshots reload)
        assert s.query("SELECT id, handle, bio FROM accounts") == [(1, "ana", "")]
        with s.transaction():
            s.add_posts([(2, 1, 8, "", 0, None, 0, 0)])  # the new trigger is live
        assert s.query("SELECT * FROM post_scores") == [(2, 1.0)]
    assert "bio" in columns(path, "accounts")
    with Store.open(path, create=False) as s:  # now opens without migrate
        assert s.query("SELECT handle FROM accounts") == [("ana",)]


def test_a_failing_migration_leaves_the_file_as_it_was(tmp_path, monkeypatch) -> None:
    path = tmp_path / "old.db"
    before = make_v1(path)
    pretend_version(monkeypatch, 3, {1: ADD_BIO, 2: "CREATE TABLE t (a INTEGER); NOT SQL AT ALL;"})
    with pytest.raises(StoreError, match=r"migration from schema 2 failed .* unchanged"):
        Store.open(path, migrate=True)
    assert dump(path) == before
    assert "bio" not in columns(path, "accounts")


def test_a_missing_migration_step_is_reported(tmp_path, monkeypatch) -> None:
    path = tmp_path / "old.db"
    before = make_v1(path)
    pretend_version(monkeypatch, 3, {1: ADD_BIO})
    with pytest.raises(StoreError, match="no migration from schema 2"):
        Store.open(path, migrate=True)
    assert dump(path) == before


def test_a_new_file_is_created_at_the_current_version(tmp_path, monkeypatch) -> None:
    pretend_version(monkeypatch, 4, {})
    with Store.open(tmp_path / "n.db") as s:
        assert s.get_meta("schema_version") == "4"
        assert s.change_counter == 0


def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"this is a text file, not SQLite\n" * 200)
    with pytest.raises(StoreError, match=r"notes.txt: not a discovery-engine database"):
        Store.open(path)
    assert path.read_bytes() == b"this is a text file, not SQLite\n" * 200


def test_another_applications_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE songs (id INTEGER)")
    conn.execute("CREATE TABLE meta (key TEXT, value TEXT)")  # even with a 'meta' table
    conn.commit()
    conn.close()
    before = dump(path)
    with pytest.raises(StoreError, match="not a discovery-engine database"):
        Store.open(path)
    assert dump(path) == before


def test_missing_and_empty_files_with_create_false(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no such database"):
        Store.open(tmp_path / "absent.db", create=False)
    assert not (tmp_path / "absent.db").exists()
    (tmp_path / "empty.db").touch()
    with pytest.raises(StoreError, match="empty file"):
        Store.open(tmp_path / "empty.db", create=False)
    with Store.open(tmp_path / "empty.db") as s:  # create=True initialises an empty file
        assert s.get_meta("schema_version") == str(SCHEMA_VERSION)


def test_a_directory_is_not_a_database(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="not a discovery-engine database"):
        Store.open(tmp_path)
