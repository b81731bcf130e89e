"""``discovery doctor --fix`` on both backends: rows an older version (or a hand edit) left behind
are quarantined in one transaction, and the engine loads and serves feeds again."""

from __future__ import annotations

from typer.testing import CliRunner

from discovery import Engine
from discovery.cli import app as cli
from discovery.store import Store
from worlds import build_known_world


def test_doctor_fixes_a_poisoned_store_on_either_backend(store_url: str) -> None:
    build_known_world(store_url).close()
    with Store.open(store_url) as s, s.transaction():  # as an older version could have written
        s._exec("UPDATE posts SET taken_at = 99999999999999 WHERE id = 101")
        s._exec("INSERT INTO follows (src, dst, created_at, seq) VALUES (1, 777, 0, 1)")
    run = CliRunner().invoke
    found = run(cli, ["--db", store_url, "doctor"])
    assert "taken_at outside" in found.output and "dst refers to a missing row" in found.output
    fixed = run(cli, ["--db", store_url, "doctor", "--fix"])
    assert fixed.exit_code == 0, fixed.output
    assert "rows moved to the quarantine table" in " ".join(fixed.output.split())
    assert "no problem found" in " ".join(run(cli, ["--db", store_url, "doctor"]).output.split())
    with Store.open(store_url) as s:
        assert s.existing_posts([101, 102]) == {102}
        assert [r[0] for r in s._fetch("SELECT src FROM follows WHERE dst = 777")] == []
    engine = Engine.open(store_url, cache=False)
    try:
        assert 101 not in [i.post_id for i in engine.feed("me", 20, "timeline")]
    finally:
        engine.store.close()


def test_an_unloadable_row_is_one_line_that_names_the_doctor(tmp_path) -> None:
    import subprocess
    import sys

    db = tmp_path / "poisoned.db"
    build_known_world(db).close()
    with Store.open(db) as s, s.transaction():  # SQLite keeps any text in an INTEGER column
        s._exec("UPDATE posts SET like_count = 'lots' WHERE id = 101")
    for argv in (["info"], ["feed", "me"]):
        done = subprocess.run(
            [sys.executable, "-m", "discovery", "--db", str(db), *argv],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 1
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
        assert "a row of posts cannot be loaded" in done.stderr
        assert "discovery doctor --fix" in done.stderr
