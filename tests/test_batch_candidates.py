"""``discovery batch candidates --engine local``: every user's list, on both backends, equal to
the feed the engine serves, written to the store (replacing the previous lists) and Parquet."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from discovery import Engine
from discovery.batch import run_candidates
from discovery.cli import app as cli
from discovery.cli import main
from discovery.errors import InputError
from discovery.ranking.batch import FeedRequest
from discovery.store import Store
from discovery.world import generate_world


@pytest.fixture
def tiny(store_url: str) -> str:
    with Store.open(store_url) as store:
        generate_world(store, size="tiny", images=False, seed=11)
    return store_url


def test_lists_equal_the_served_feed_on_both_backends(tiny: str, tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    with Store.open(tiny) as store:
        at = store.change_counter
        summary = run_candidates(
            store, request=FeedRequest("explore", 25), block_size=64, out=tmp_path / "c.parquet"
        )
        rows = store.precomputed("explore")
    engine = Engine.open(tiny)
    n = engine.snapshot.n_accounts
    assert summary.users == n and summary.blocks == -(-n // 64) and summary.rows == len(rows)
    by_account: dict[int, list[tuple[int, float]]] = {}
    for r in rows:
        assert r.counter == summary.counter == at and r.kind == "explore"
        by_account.setdefault(r.account, []).append((r.post, r.score))
    checked = 0
    for user in range(0, n, 9):
        feed = engine.feed(user, k=25, kind="explore")
        account = int(engine.snapshot.account_id[user])
        want = [(i.post_id, round(i.score, 12)) for i in feed.items]
        assert by_account.get(account, []) == want
        checked += len(want)
    assert checked > 100  # the lists are not trivially empty
    table = pq.read_table(tmp_path / "c.parquet").to_pylist()
    assert [(t["account"], t["rank"], t["post"]) for t in table] == [
        (r.account, r.rank, r.post) for r in rows
    ]
    first = next(t for t in table if t["sources"])
    assert set(json.loads(first["evidence"])) <= set(first["sources"])


def test_a_second_run_replaces_the_lists_of_its_users(tiny: str, tmp_path: Path) -> None:
    with Store.open(tiny) as store:
        run_candidates(store, request=FeedRequest("explore", 10))
        before = {(r.account, r.rank): r.post for r in store.precomputed("explore")}
        handles = tmp_path / "users.txt"
        engine = Engine.open(tiny)
        some = [str(h) for h in engine.snapshot.handle[:5]]
        handles.write_text("# five users\n" + "\n".join("@" + h for h in some) + "\n")
        result = CliRunner().invoke(
            cli,
            ["--db", tiny, "batch", "candidates", "-k", "3", "--users", str(handles)],
        )
        assert result.exit_code == 0, result.output
        assert "for 5 users" in result.output
        after = store.precomputed("explore")
    five = {int(a) for a in engine.snapshot.account_id[:5]}
    assert all(r.rank < 3 for r in after if r.account in five)
    rest = {(r.account, r.rank): r.post for r in after if r.account not in five}
    assert rest == {key: p for key, p in before.items() if key[0] not in five}


def test_unknown_users_and_engines_are_one_line_errors(
    tiny: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with Store.open(tiny) as store, pytest.raises(InputError, match="no account with handle"):
        run_candidates(store, users=["nobody-here"])
    with pytest.raises(SystemExit) as exit_:
        main(["--db", tiny, "batch", "candidates", "--engine", "spark"])
    err = capsys.readouterr().err
    assert exit_.value.code == 1
    assert err == "error: --engine spark: expected local or ray\n"


def test_hostile_users_files_and_huge_k_are_clear_and_harmless(
    tiny: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A handle with bidi and markup is named escaped; k = 2^63 is only a long list; a 10 MB
    line is one unknown handle; the stored lists are as they were after every failure."""
    with Store.open(tiny) as store:
        run_candidates(store, request=FeedRequest("explore", 5))
        before = [(r.account, r.rank, r.post) for r in store.precomputed("explore")]
    hostile = tmp_path / "hostile.txt"
    hostile.write_text("@\u202eevil[red]x[/red]\n", encoding="utf-8")
    huge = tmp_path / "huge.txt"
    huge.write_text("a" * 10_000_000 + "\n")
    for users in (hostile, huge):
        with pytest.raises(SystemExit) as exit_:
            main(["--db", tiny, "batch", "candidates", "--users", str(users)])
        err = capsys.readouterr().err
        assert exit_.value.code == 1 and err.startswith("error: no account with handle")
        assert "\u202e" not in err and "Traceback" not in err and err.count("\n") == 1
    with Store.open(tiny) as store:
        assert [(r.account, r.rank, r.post) for r in store.precomputed("explore")] == before
        one = tmp_path / "one.txt"
        one.write_text(str(Engine.open(tiny).snapshot.handle[0]) + "\n")
        with pytest.raises(SystemExit) as exit_:
            main(["--db", tiny, "batch", "candidates", "-k", str(2**63), "--users", str(one)])
        assert exit_.value.code == 0, capsys.readouterr().err
        assert "for 1 user in 1 block" in capsys.readouterr().out
        first = int(Engine.open(tiny).snapshot.account_id[0])
        mine = [r for r in store.precomputed("explore") if r.account == first]
        assert len(mine) > 5 and [r.rank for r in mine] == list(range(len(mine)))


def test_lists_rank_with_the_models_the_engine_opens(tmp_path: Path) -> None:
    """With an ALS model stored (``discovery train als``), the batch ranks with it as the
    engine does: the lists hold the ALS source's posts, equal to the served feeds."""
    from discovery.settings import Settings
    from discovery.signals.als import save_als
    from discovery.snapshot import load_snapshot

    path = tmp_path / "als.db"
    generate_world(path, size="tiny", images=False, seed=5)
    with Store.open(path) as store:
        save_als(store, load_snapshot(store, cache=False))
        run_candidates(store, request=FeedRequest("explore", 25))
        lists = {x.account: x for x in store.precomputed_lists("explore")}
    engine = Engine.open(path, settings=Settings(precomputed_max_age=0))
    assert "als" in engine.artifacts
    proposed_by_als = 0
    for user in range(0, engine.snapshot.n_accounts, 7):
        feed = engine.feed(user, k=25, kind="explore")
        stored = lists[int(engine.snapshot.account_id[user])]
        assert stored.posts.tolist() == [i.post_id for i in feed.items]
        proposed_by_als += sum("als" in s for s in stored.sources)
    assert proposed_by_als > 0
