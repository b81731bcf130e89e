"""The clock feeds run on (issue 15, section 2): a generated world or a replay is fixed at its
own "now"; a live store runs on the wall clock. Explicit in the store, shown by `discovery
info`, switched by `discovery clock`, and tested both ways."""

from __future__ import annotations

import re
import time
from pathlib import Path

from typer.testing import CliRunner

from discovery import Engine
from discovery.cli import app as cli
from discovery.store import Store
from worlds import NOW, build_known_world


def run(*argv: str) -> str:
    r = CliRunner().invoke(cli, list(argv))
    assert r.exit_code == 0, (r.output, r.exception)
    return r.output


def clock_row(table: str) -> str:
    """The value of the ``clock`` row of ``discovery info``'s table."""
    match = re.search(r"│ clock\s*│\s*(.*?)\s*│", table)
    assert match, table
    return match[1]


def fresh_post(db: Path) -> int:
    """A post by ana (followed by me) made a minute ago on the wall clock."""
    with Store.open(db) as s, s.transaction():
        s.add_posts([(900, 2, int(time.time()) - 60, "just now #hiking", "photo", None, 0, 0)])
    return 900


def timeline(db: Path) -> list[int]:
    engine = Engine.open(db, cache=False)
    try:
        return [i.post_id for i in engine.feed("me", 20, "timeline")]
    finally:
        engine.store.close()


def test_a_world_is_fixed_at_its_own_now(tmp_path: Path) -> None:
    db = tmp_path / "k.db"
    build_known_world(db).close()
    assert "fixed clock (fixed at 2023-11-14T22:13:20Z)" in run("--db", str(db), "clock")
    engine = Engine.open(db, cache=False)
    assert engine.context("me").now == NOW  # the same feeds whenever they are asked for
    engine.store.close()
    post = fresh_post(db)
    assert post not in timeline(db)  # taken "after now" on the world's clock
    assert '"clock": "fixed"' in run("--db", str(db), "info", "--json")
    assert clock_row(run("--db", str(db), "info")) == "fixed at 2023-11-14T22:13:20Z"


def test_the_wall_clock_advances_and_shows_live_posts(tmp_path: Path) -> None:
    db = tmp_path / "k.db"
    build_known_world(db).close()
    post = fresh_post(db)
    assert "wall clock" in run("--db", str(db), "clock", "wall")
    assert '"clock": "wall"' in run("--db", str(db), "info", "--json")
    assert clock_row(run("--db", str(db), "info")) == "wall (live)"
    engine = Engine.open(db, cache=False)
    try:
        first = engine.context("me").now
        assert abs(first - time.time()) < 5
        assert post in [i.post_id for i in engine.feed("me", 20, "timeline")]
        # the world's own posts are years old on the wall clock: out of the window
        assert 101 not in [i.post_id for i in engine.feed("me", 20, "timeline")]
    finally:
        engine.store.close()


def test_back_to_a_fixed_clock_at_a_chosen_moment(tmp_path: Path) -> None:
    db = tmp_path / "k.db"
    build_known_world(db).close()
    run("--db", str(db), "clock", "wall")
    out = run("--db", str(db), "clock", "fixed", "--at", "2023-11-14T22:13:20Z")
    assert "fixed at 2023-11-14T22:13:20Z" in out
    assert 101 in timeline(db)


def test_a_store_without_a_now_is_live(tmp_path: Path) -> None:
    with Store.open(tmp_path / "live.db") as s:
        assert s.clock() == "wall"
        with s.transaction():
            s.add_accounts([(1, "ana", "", "person", 0)])
        assert s.clock() == "wall"


def test_a_bad_clock_is_one_line(tmp_path: Path) -> None:
    db = tmp_path / "k.db"
    build_known_world(db).close()
    r = CliRunner().invoke(cli, ["--db", str(db), "clock", "sundial"])
    assert r.exit_code == 1 and "expected fixed or wall" in str(r.exception)
