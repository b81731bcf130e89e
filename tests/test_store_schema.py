"""Opening files: schema versions, `discovery migrate`, and files that are not ours.

The real upgrade (schema 1, as the first release wrote it, to the current one) runs on a file
built from the frozen schema-1 DDL in ``tests/data/schema_v1.sql``. Later versions are simulated
by patching SCHEMA_VERSION and MIGRATIONS; the files and the SQL stay real SQLite.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

import discovery.store.base as base_module
import discovery.store.sqlite as sqlite_module
from discovery.cli import app as cli
from discovery.store import SCHEMA_VERSION, Store, StoreError
from discovery.store.schema import _has_table

V1_SCHEMA = (Path(__file__).parent / "data" / "schema_v1.sql").read_text()

ADD_BIO = "ALTER TABLE accounts ADD COLUMN bio TEXT NOT NULL DEFAULT '';"
ADD_LIKES_VIEW = """
CREATE TABLE post_scores (post INTEGER PRIMARY KEY, score REAL NOT NULL);
-- a trigger body holds ';' inside one statement
CREATE TRIGGER posts_score AFTER INSERT ON posts BEGIN
    INSERT INTO post_scores VALUES (new.id, 0.0);
    UPDATE post_scores SET score = 1.0 WHERE post = new.id;
END;
"""


def make_current(path: Path) -> list[str]:
    with Store.open(path) as s, s.transaction():
        s.add_accounts([(1, "ana", "Ana", 0, 5)])
        s.add_posts([(1, 1, 7, "#x", 0, None, 0, 0)])
    return dump(path)


def make_v1(path: Path, dataset: str = "csv") -> list[str]:
    """A database exactly as version 1 wrote it: two accounts, a post, a like, a follow."""
    conn = sqlite3.connect(path)
    conn.executescript(
        V1_SCHEMA + "INSERT INTO meta VALUES ('schema_version', '1'), ('change_counter', '1'),"
        f" ('store_id', 'abc'), ('dataset', '{dataset}'), ('now', '100');"
        "INSERT INTO accounts VALUES (1, 'ana', 'Ana', 0, 5, 1), (2, 'bo', '', 0, 6, 1);"
        "INSERT INTO follows VALUES (2, 1, 9, 1);"
        "INSERT INTO posts VALUES (7, 1, 50, 'hi #x', 0, NULL, 1, 0, 1);"
        "INSERT INTO hashtags VALUES (1, 'x');"
        "INSERT INTO post_hashtags VALUES (7, 1, 'x', 1);"
        "INSERT INTO interactions (user, post, kind, created_at, value) VALUES (2, 7, 0, 60, NULL);"
    )
    conn.commit()
    conn.close()
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
    """Pretend this package is at ``version`` with these extra SQLite migration steps."""
    monkeypatch.setattr(base_module, "SCHEMA_VERSION", version)
    monkeypatch.setattr(sqlite_module, "SCHEMA_VERSION", version)
    steps = {**base_module.MIGRATIONS["sqlite"], **migrations}
    monkeypatch.setattr(base_module, "MIGRATIONS", {"sqlite": steps, "postgresql": {}})


CUR = SCHEMA_VERSION


def test_a_schema_1_file_upgrades_in_place_and_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    make_v1(path)
    with pytest.raises(StoreError, match=f"schema 1 is older than {CUR}"):
        Store.open(path)
    r = CliRunner().invoke(cli, ["--db", str(path), "migrate"])
    assert r.exit_code == 0, r.output
    assert f"migrated to schema {CUR}" in r.output
    with Store.open(path, create=False) as s:
        assert s._fetch("SELECT id, handle, ext_key FROM accounts ORDER BY id") == [
            (1, "ana", "csv:1"),  # the key a CSV re-import now writes: it updates these rows
            (2, "bo", "csv:2"),
        ]
        assert s._fetch("SELECT id, ext_key FROM posts") == [(7, "csv:7")]
        assert s._fetch("SELECT account, post, kind FROM interactions") == [(2, 7, 0)]
        assert s.get_sync("x", "cursor") is None  # the new sync_state table exists
        snap_changes = s.changes_since(-1)
        assert snap_changes.account_handles == ["ana", "bo"]
        assert snap_changes.interactions[["u", "p"]].tolist() == [(2, 7)]
        assert s.change_counter == 2  # the migration counts as a change (snapshots reload)
    assert "user" not in columns(path, "interactions")
    r = CliRunner().invoke(cli, ["--db", str(path), "migrate"])
    assert f"schema {CUR}, nothing to migrate" in r.output


def test_a_generated_world_of_schema_1_keeps_world_keys(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    make_v1(path, dataset="world")
    with Store.open(path, migrate=True) as s:
        assert s.ids_for_keys("accounts", ["world:1", "world:2"]) == {"world:1": 1, "world:2": 2}


def test_a_newer_file_names_both_versions(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    make_current(path)
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
    before = make_current(path)
    pretend_version(monkeypatch, CUR + 1, {CUR: ADD_BIO})
    with pytest.raises(StoreError) as err:
        Store.open(path)
    assert f"schema {CUR} is older than {CUR + 1}" in str(err.value)
    assert "run `discovery migrate`" in str(err.value)
    assert dump(path) == before  # refusing to open does not touch the file


def test_migrate_upgrades_in_place_and_keeps_the_data(tmp_path, monkeypatch) -> None:
    path = tmp_path / "old.db"
    make_current(path)
    pretend_version(monkeypatch, CUR + 2, {CUR: ADD_BIO, CUR + 1: ADD_LIKES_VIEW})
    with Store.open(path, create=False, migrate=True) as s:
        assert s.get_meta("schema_version") == str(CUR + 2)
        assert s.change_counter == 2  # the migration counts as a change (snapshots reload)
        assert s._fetch("SELECT id, handle, bio FROM accounts") == [(1, "ana", "")]
        with s.transaction():
            s.add_posts([(2, 1, 8, "", 0, None, 0, 0)])  # the new trigger is live
        assert s._fetch("SELECT * FROM post_scores") == [(2, 1.0)]
    assert "bio" in columns(path, "accounts")
    with Store.open(path, create=False) as s:  # now opens without migrate
        assert s._fetch("SELECT handle FROM accounts") == [("ana",)]


def test_a_failing_migration_leaves_the_file_as_it_was(tmp_path, monkeypatch) -> None:
    path = tmp_path / "old.db"
    before = make_current(path)
    bad = "CREATE TABLE t (a INTEGER); NOT SQL AT ALL;"
    pretend_version(monkeypatch, CUR + 2, {CUR: ADD_BIO, CUR + 1: bad})
    with pytest.raises(StoreError, match=rf"migration from schema {CUR + 1} failed .* unchanged"):
        Store.open(path, migrate=True)
    assert dump(path) == before
    assert "bio" not in columns(path, "accounts")


def test_a_missing_migration_step_is_reported(tmp_path, monkeypatch) -> None:
    path = tmp_path / "old.db"
    before = make_current(path)
    pretend_version(monkeypatch, CUR + 2, {CUR: ADD_BIO})
    with pytest.raises(StoreError, match=f"no migration from schema {CUR + 1}"):
        Store.open(path, migrate=True)
    assert dump(path) == before


def test_a_new_file_is_created_at_the_current_version(tmp_path, monkeypatch) -> None:
    pretend_version(monkeypatch, CUR + 3, {})
    with Store.open(tmp_path / "n.db") as s:
        assert s.get_meta("schema_version") == str(CUR + 3)
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
    with pytest.raises(StoreError, match="empty"):
        Store.open(tmp_path / "empty.db", create=False)
    with Store.open(tmp_path / "empty.db") as s:  # create=True initialises an empty file
        assert s.get_meta("schema_version") == str(SCHEMA_VERSION)


def test_a_directory_is_not_a_database(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="not a discovery-engine database"):
        Store.open(tmp_path)


V3_TABLES = (
    *("sync_records", "impression_log", "experiments", "vectors", "artifacts"),
    "removed_post_hashtags",  # schema 4
    "candidate_lists",  # schema 5 (schema 3's per-candidate ``precomputed`` table is gone)
)


def test_a_schema_2_store_gains_the_new_tables_on_both_backends(store_url: str) -> None:
    """Schema 2 → 3 → 4 → 5 adds tables only: rows stay, and the new tables answer afterwards."""
    with Store.open(store_url) as s, s.transaction():
        s.add_accounts([(1, "ana", "Ana", 0, 5)])
        for table in V3_TABLES:
            s._exec(f"DROP TABLE {table}")
        s.set_meta("schema_version", 2)
    with pytest.raises(StoreError, match="run `discovery migrate`"):
        Store.open(store_url)
    with Store.open(store_url, migrate=True) as s:
        assert s.schema_version == SCHEMA_VERSION == 5
        assert s.account_id("ana") == 1
        assert all(s.count(table) == 0 for table in V3_TABLES if table != "removed_post_hashtags")
        assert s.post_info([]) == {}  # and reads work


def test_a_schema_3_store_without_the_edit_tombstones_migrates(tmp_path: Path) -> None:
    """A store made by the first schema-3 code (no removed_post_hashtags) loads after
    `discovery migrate`, and its snapshot catches up on edits."""
    from discovery.snapshot import load_snapshot

    path = tmp_path / "v3.db"
    with Store.open(path) as s, s.transaction():
        s.add_accounts([(1, "ana", "Ana", 0, 5)])
        s._exec("DROP TABLE removed_post_hashtags")
        s.set_meta("schema_version", 3)
    with pytest.raises(StoreError, match="run `discovery migrate`"):
        Store.open(path)
    result = CliRunner().invoke(cli, ["--db", str(path), "migrate"])
    assert result.exit_code == 0 and "migrated to schema 5" in result.output
    with Store.open(path) as s:
        assert load_snapshot(s, cache=False).n_accounts == 1


_V4_PRECOMPUTED = """CREATE TABLE precomputed (
    account {ID} NOT NULL, kind TEXT NOT NULL, rank INTEGER NOT NULL, post {ID} NOT NULL,
    score {FLOAT} NOT NULL, sources TEXT NOT NULL, evidence TEXT NOT NULL,
    counter {ID} NOT NULL, computed_at {ID} NOT NULL, PRIMARY KEY (account, kind, rank))"""


def test_schema_4_candidate_rows_become_lists_on_both_backends(store_url: str) -> None:
    """Schema 4 → 5: the per-candidate rows of ``precomputed`` are carried over into one
    ``candidate_lists`` row per user and kind, in rank order, and the old table goes."""
    with Store.open(store_url) as s, s.transaction():
        s.add_accounts([(1, "ana", "Ana", 0, 5), (2, "bo", "Bo", 0, 5)])
        s._exec("DROP TABLE candidate_lists")
        big, real = (
            ("BIGINT", "DOUBLE PRECISION") if s.dialect == "postgresql" else ("INTEGER", "REAL")
        )
        s._exec(_V4_PRECOMPUTED.replace("{ID}", big).replace("{FLOAT}", real))
        old = [  # stored out of rank order on purpose
            (1, "explore", 1, 20, 0.5, '["popular"]', '{"popular": null}', 7, 100),
            (
                1,
                "explore",
                0,
                30,
                0.9,
                '["ppr_authors", "popular"]',
                '{"ppr_authors": {"hops": 2, "ppr": 0.1}, "popular": null}',
                7,
                100,
            ),
            (2, "explore", 0, 40, 0.3, '["hashtags"]', '{"hashtags": "#x"}', 7, 100),
        ]
        s._many("INSERT INTO precomputed VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", old)
        s.set_meta("schema_version", 4)
    with Store.open(store_url, migrate=True) as s:
        assert s.schema_version == 5
        lists = s.precomputed_lists("explore")
        assert [(x.account, x.posts.tolist(), x.scores.tolist()) for x in lists] == [
            (1, [30, 20], [0.9, 0.5]),
            (2, [40], [0.3]),
        ]
        assert lists[0].sources == [("ppr_authors", "popular"), ("popular",)]
        assert lists[0].evidence[0] == {"ppr_authors": {"hops": 2, "ppr": 0.1}, "popular": None}
        assert {
            (r.account, r.rank, r.counter, r.computed_at) for r in s.precomputed("explore")
        } == {(1, 0, 7, 100), (1, 1, 7, 100), (2, 0, 7, 100)}
        assert not _has_table(s, "precomputed") and _has_table(s, "candidate_lists")


def test_a_catch_up_reads_changed_accounts_through_the_seq_index(tmp_path: Path) -> None:
    """``changes_since`` asks for the accounts changed since a counter; on SQLite that must
    search ``accounts_seq``, not scan the table (with ``ORDER BY id`` the planner scanned all
    1M accounts of the large world: 123 ms a catch-up). Same rows, in id order."""
    from discovery.store.reads import ACCOUNTS_SINCE

    path = tmp_path / "plan.db"
    with Store.open(path) as s:
        with s.transaction():
            s.add_accounts([(i, f"a{i}", "", 0, 5) for i in (7, 3, 9)])
        counter = s.change_counter
        with s.transaction():
            s.add_accounts([(5, "late", "", 0, 6), (1, "later", "", 0, 6)])
        plan = " ".join(str(r[-1]) for r in s._fetch(f"EXPLAIN QUERY PLAN {ACCOUNTS_SINCE}", (0,)))
        assert "USING INDEX accounts_seq" in plan, plan
        changed = s.changes_since(counter)
    assert changed.accounts["id"].tolist() == [1, 5]
    assert changed.account_handles == ["later", "late"]
