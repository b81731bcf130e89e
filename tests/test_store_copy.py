"""A generated world on PostgreSQL, and ``discovery copy`` between backends: the same counts and
the same feeds on each side (SQLite → PostgreSQL → SQLite)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from discovery import Engine
from discovery.cli import app as cli
from discovery.store import Store, StoreError
from discovery.store.copy import TABLES, copy_store
from discovery.world import generate_world
from stores import dump

pytestmark = pytest.mark.slow

USERS = ("me", 2, 5, 9)
KINDS = ("timeline", "explore", "blend")


def feeds(db: str) -> dict[tuple, list[tuple[int, float, str]]]:
    """Every (user, kind) feed as (post, score, reason) rows."""
    engine = Engine.open(db, cache=False)
    try:
        return {
            (u, kind): [(i.post_id, round(i.score, 9), i.reason) for i in engine.feed(u, 12, kind)]
            for u in USERS
            for kind in KINDS
        }
    finally:
        engine.store.close()


def counts(db: str) -> dict[str, int]:
    with Store.open(db, create=False) as s:
        return {t: s.count(t) for t in ("accounts", "follows", "posts", "hashtags", "interactions")}


def test_copy_there_and_back_keeps_counts_and_feeds(tmp_path: Path, pg_url: str) -> None:
    src = str(tmp_path / "w.db")
    generate_world(src, size="tiny", images=False)
    want_counts, want_feeds = counts(src), feeds(src)
    assert want_counts["interactions"] > 1000 and any(want_feeds.values())

    with Store.open(src, create=False) as a, Store.open(pg_url) as b:
        summary = copy_store(a, b)
    assert summary.rows["accounts"] == want_counts["accounts"]
    assert counts(pg_url) == want_counts
    assert feeds(pg_url) == want_feeds

    back = f"sqlite:///{tmp_path / 'back.db'}"
    r = CliRunner().invoke(cli, ["copy", pg_url, back])
    assert r.exit_code == 0, r.output
    assert f"accounts {want_counts['accounts']:,}" in r.output
    assert counts(back) == want_counts
    assert feeds(back) == want_feeds
    with Store.open(back) as s:
        assert s.get_meta("world") is not None  # the ground truth's description travels too
        assert s.ids_for_keys("accounts", ["world:1"]) == {"world:1": 1}


def test_copy_refuses_a_store_that_is_not_empty(tmp_path: Path, pg_url: str) -> None:
    src = str(tmp_path / "w.db")
    generate_world(src, size="tiny", images=False)
    with Store.open(pg_url) as target, target.transaction():
        target.add_accounts([(1, "someone", "", "person", 0)])
    with Store.open(pg_url) as target:
        before = dump(target)
        with Store.open(src) as source, pytest.raises(StoreError, match="not empty"):
            copy_store(source, target)
        assert dump(target) == before


def test_generate_into_postgresql_then_serve_the_same_world(tmp_path: Path, pg_url: str) -> None:
    run = CliRunner().invoke
    r = run(cli, ["--db", pg_url, "generate", "--size", "tiny", "--no-images"])
    assert r.exit_code == 0, r.output
    sqlite = str(tmp_path / "same.db")
    generate_world(sqlite, size="tiny", images=False)  # same seed: the same world
    assert counts(pg_url) == counts(sqlite)
    assert feeds(pg_url) == feeds(sqlite)
    r = run(cli, ["--db", pg_url, "generate", "--size", "tiny", "--no-images"])
    assert r.exit_code == 1 and "already holds a world" in str(r.exception)
    r = run(
        cli, ["--db", pg_url, "generate", "--size", "tiny", "--no-images", "--seed", "7", "--force"]
    )
    assert r.exit_code == 0, r.output
    assert counts(pg_url) != counts(sqlite)  # replaced by another seed's world


def test_every_table_is_copied() -> None:
    from discovery.store.schema import schema_sql

    created = {s.split()[5] for s in schema_sql("sqlite") if s.startswith("CREATE TABLE")}
    assert created - set(TABLES) == {
        "meta",
        "removed_follows",
        "removed_posts",
        "removed_interactions",
        "removed_post_hashtags",
    }
