"""`discovery import csv|lastfm` and `discovery migrate` through the real entry point."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cli_run import run_cli as run
from discovery.store import SCHEMA_VERSION, Store


@pytest.fixture
def follows(tmp_path: Path) -> Path:
    path = tmp_path / "follows.csv"
    path.write_text("src,dst,created_at\n1,2,2024-01-01\n2,1,2024-01-02\n")
    return path


def test_import_csv_prints_a_summary(capsys, tmp_path: Path, follows: Path) -> None:
    db = tmp_path / "x.db"
    code, out, err = run(capsys, "--db", str(db), "import", "csv", "--follows", str(follows))
    assert (code, err) == (0, "")
    assert "follows" in out and "accounts (referenced, not listed)" in out
    with Store.open(db, create=False) as s:
        assert s.count("follows") == 2 and s.count("accounts") == 2
    code, out, _ = run(capsys, "--db", str(db), "import", "csv", "--follows", str(follows))
    assert code == 0
    with Store.open(db, create=False) as s:
        assert s.change_counter == 1  # the second run changed nothing


def test_a_bad_row_is_one_line_and_changes_nothing(capsys, tmp_path: Path, follows: Path) -> None:
    db = tmp_path / "x.db"
    run(capsys, "--db", str(db), "import", "csv", "--follows", str(follows))
    bad = tmp_path / "bad.csv"
    bad.write_text("src,dst\n1,3\n1,a\u202eb\n")
    code, _, err = run(capsys, "--db", str(db), "import", "csv", "--follows", str(bad))
    assert code == 1
    assert err == (
        f"error: {bad}:3: dst: 'a\\u202eb' contains a control or format character (U+202E)\n"
    )
    with Store.open(db, create=False) as s:
        assert s.count("follows") == 2 and s.change_counter == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "error: nothing to import: give --accounts, --follows, --posts or --interactions"),
        (["--follows", "missing.csv"], "error: missing.csv: no such file"),
        (
            ["--follows", "{follows}", "--delimiter", "::"],
            "error: --delimiter must be one character",
        ),
        (
            ["--follows", "{follows}", "--mapping", "missing.json"],
            "error: missing.json: cannot read",
        ),
    ],
)
def test_bad_arguments_are_one_line_and_create_no_database(
    capsys, tmp_path: Path, follows: Path, args: list[str], message: str
) -> None:
    db = tmp_path / "never.db"
    argv = [a.format(follows=follows) for a in args]
    code, _, err = run(capsys, "--db", str(db), "import", "csv", *argv)
    assert code == 1
    assert err.startswith(message) and err.count("\n") == 1
    assert not db.exists()


def test_import_lastfm_with_a_wrong_folder(capsys, tmp_path: Path) -> None:
    db = tmp_path / "never.db"
    code, _, err = run(capsys, "--db", str(db), "import", "lastfm", str(tmp_path / "nope"))
    assert code == 1
    assert (
        err
        == f"error: {tmp_path / 'nope'}: no such directory (expected the HetRec 2011 Last.fm-2k files)\n"
    )
    assert not db.exists()


def test_unknown_options_exit_non_zero_without_a_traceback(capsys, tmp_path: Path) -> None:
    code, out, err = run(capsys, "import", "csv", "--frobnicate", "x")
    assert code == 2
    assert "Traceback" not in out + err and "--frobnicate" in err
    code, out, err = run(capsys, "import", "lastfm")  # the folder is required
    assert code == 2 and "Traceback" not in out + err


def test_migrate(capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "m.db"
    Store.open(db).close()
    cur = SCHEMA_VERSION
    code, out, _ = run(capsys, "--db", str(db), "migrate")
    assert code == 0 and f"schema {cur}, nothing to migrate" in out
    _pretend(monkeypatch, cur + 1)
    code, out, _ = run(capsys, "--db", str(db), "migrate")
    assert code == 0 and f"migrated to schema {cur + 1}" in out
    code, out, err = run(capsys, "--db", str(db), "migrate")
    assert code == 0 and f"schema {cur + 1}, nothing to migrate" in out
    with Store.open(db, create=False) as s:
        assert s._fetch("SELECT COUNT(*) FROM extra") == [(0,)]
    _pretend(monkeypatch, cur)  # now the file is "newer"
    code, _, err = run(capsys, "--db", str(db), "migrate")
    assert code == 1 and f"schema {cur + 1}, this one understands {cur}" in err
    assert err.count("\n") == 1


def _pretend(monkeypatch: pytest.MonkeyPatch, version: int) -> None:
    """This package at ``version``, one step past today's adding a table."""
    import discovery.store.base as base_module
    import discovery.store.sqlite as sqlite_module

    monkeypatch.setattr(base_module, "SCHEMA_VERSION", version)
    monkeypatch.setattr(sqlite_module, "SCHEMA_VERSION", version)
    steps = {**base_module.MIGRATIONS["sqlite"], SCHEMA_VERSION: "CREATE TABLE extra (a INTEGER);"}
    monkeypatch.setattr(base_module, "MIGRATIONS", {"sqlite": steps, "postgresql": {}})


def test_an_old_file_points_at_migrate(capsys, tmp_path: Path, monkeypatch) -> None:
    db = tmp_path / "m.db"
    Store.open(db).close()
    _pretend(monkeypatch, SCHEMA_VERSION + 1)
    follows = tmp_path / "f.csv"
    follows.write_text("src,dst\n1,2\n")
    code, _, err = run(capsys, "--db", str(db), "import", "csv", "--follows", str(follows))
    assert code == 1 and "run `discovery migrate`" in err
    code, out, _ = run(capsys, "--db", str(db), "migrate")
    assert code == 0 and f"migrated to schema {SCHEMA_VERSION + 1}" in out
    code, _, _ = run(capsys, "--db", str(db), "import", "csv", "--follows", str(follows))
    assert code == 0


def test_migrate_a_missing_file(capsys, tmp_path: Path) -> None:
    code, _, err = run(capsys, "--db", str(tmp_path / "none.db"), "migrate")
    assert code == 1 and "no such database" in err
    assert not (tmp_path / "none.db").exists()


def test_as_a_real_process(tmp_path: Path, follows: Path) -> None:
    env = {**os.environ, "DISCOVERY_DB": str(tmp_path / "p.db")}
    bad = subprocess.run(
        [sys.executable, "-m", "discovery", "import", "csv", "--posts", str(follows)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert bad.returncode == 1
    assert bad.stderr == (
        f"error: {follows}: no column 'id' for posts field 'id'"
        " (columns: src, dst, created_at); map it with --mapping\n"
    )
    assert not (tmp_path / "p.db").exists()
