"""The actions people expect (issue 15, section 1): likes, saves and hides are per-user states
with their undos, blocks filter an author from every feed, and the same events come from the
API and the CLI. ``like_count`` stays the number of accounts that like a post, under
concurrent writers, on both backends."""

from __future__ import annotations

import json
import random
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from discovery.cli import app as cli
from discovery.store import INTERACTION_KINDS, Store
from discovery.store.events import EventRow, record_events
from stores import rows
from worlds import NOW, build_known_world

if True:  # the test client only exists with the serve extra
    from fastapi.testclient import TestClient


@pytest.fixture
def db(known_db: Path) -> Path:
    return known_db


@pytest.fixture
def client(known_client: TestClient) -> TestClient:
    return known_client


def send(c: TestClient, *events: dict[str, Any]) -> dict[str, Any]:
    r = c.post("/v1/events", json=list(events))
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def likes(c: TestClient, post: int) -> int:
    return int(c.get(f"/v1/posts/{post}").json()["like_count"])


def ids(c: TestClient, kind: str) -> list[int]:
    r = c.get("/v1/users/me/feed", params={"kind": kind, "limit": 50})
    return [i["post_id"] for i in r.json()["items"]]


def test_a_like_is_a_state_and_unlike_withdraws_it(client: TestClient) -> None:
    before = likes(client, 202)
    send(client, {"id": "l1", "user": "me", "kind": "like", "post": 202})
    send(
        client,
        {"id": "l2", "user": "me", "kind": "like", "post": 202, "at": "2023-11-14T22:00:00Z"},
    )
    assert likes(client, 202) == before + 1  # the second like (another id, another time) is no-op
    send(client, {"id": "u1", "user": "me", "kind": "unlike", "post": 202})
    assert likes(client, 202) == before
    send(client, {"id": "u2", "user": "me", "kind": "unlike", "post": 202})
    assert likes(client, 202) == before  # nothing left to withdraw
    send(client, {"id": "l3", "user": "me", "kind": "like", "post": 202})
    assert likes(client, 202) == before + 1  # liking again after an unlike counts again


def test_hide_and_unhide_move_a_post_out_of_and_back_into_explore(client: TestClient) -> None:
    assert 202 in ids(client, "explore")
    send(client, {"id": "h1", "user": "me", "kind": "hide", "post": 202})
    assert 202 not in ids(client, "explore")
    send(client, {"id": "h2", "user": "me", "kind": "unhide", "post": 202})
    assert 202 in ids(client, "explore")


def test_block_filters_an_author_from_every_feed_until_unblocked(client: TestClient) -> None:
    natgeo = {202, 203}
    assert natgeo & set(ids(client, "explore"))
    send(client, {"id": "b1", "user": "me", "kind": "block", "target": "natgeo"})
    for kind in ("explore", "blend", "interests", "timeline"):
        assert not natgeo & set(ids(client, kind)), kind
    send(client, {"id": "b2", "user": "me", "kind": "block", "target": "natgeo"})  # twice: same
    r = client.get("/v1/users/me/settings").json()
    assert r["blocked"] == ["natgeo"]
    send(client, {"id": "b3", "user": "me", "kind": "unblock", "target": "natgeo"})
    assert natgeo & set(ids(client, "explore"))


def test_save_and_unsave(client: TestClient, db: Path) -> None:
    send(client, {"id": "s1", "user": "me", "kind": "save", "post": 301})
    send(client, {"id": "s2", "user": "me", "kind": "save", "post": 301})
    with Store.open(db) as s:
        assert rows(s, "SELECT COUNT(*) FROM interactions WHERE post = 301 AND kind = 2") == [(1,)]
    send(client, {"id": "s3", "user": "me", "kind": "unsave", "post": 301})
    with Store.open(db) as s:
        assert rows(s, "SELECT COUNT(*) FROM interactions WHERE post = 301 AND kind = 2") == [(0,)]


@pytest.mark.parametrize(
    ("event", "status"),
    [
        ({"id": "x", "user": "me", "kind": "unlike"}, 422),  # no post
        ({"id": "x", "user": "me", "kind": "block", "post": 202}, 422),  # a post, no target
        ({"id": "x", "user": "me", "kind": "block", "target": "me"}, 422),
        ({"id": "x", "user": "me", "kind": "unblock", "target": "nobody"}, 404),
    ],
)
def test_bad_action_events(client: TestClient, event: dict, status: int) -> None:
    assert client.post("/v1/events", json=event).status_code == status


def test_cli_actions_are_the_same_events(db: Path) -> None:
    run = CliRunner().invoke
    r = run(cli, ["--db", str(db), "like", "me", "202"])
    assert r.exit_code == 0 and "@me likes post 202" in r.output
    assert run(cli, ["--db", str(db), "like", "me", "202"]).exit_code == 0
    with Store.open(db) as s:
        assert rows(s, "SELECT COUNT(*) FROM interactions WHERE account = 1 AND post = 202") == [
            (1,)
        ]
    r = run(cli, ["--db", str(db), "block", "me", "natgeo"])
    assert r.exit_code == 0 and "@me blocked @natgeo" in r.output
    r = run(cli, ["--db", str(db), "feed", "me", "--kind", "explore", "--json"])
    assert '"post_id": 202' not in r.output and '"post_id": 203' not in r.output
    r = run(cli, ["--db", str(db), "follow", "me", "me"])
    assert r.exit_code == 1 and "cannot follow itself" in str(r.exception)


def test_like_count_counts_accounts_under_concurrent_writers(store_url: str) -> None:
    build_known_world(store_url).close()
    with Store.open(store_url) as s, s.transaction():  # counts that equal the like rows
        s._exec(
            "UPDATE posts SET like_count = (SELECT COUNT(DISTINCT i.account) FROM interactions i"
            " WHERE i.post = posts.id AND i.kind = 0)"
        )
    posts, users = [101, 202, 301], list(range(1, 9))

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        with Store.open(store_url) as s:
            for n in range(40):
                kind = rng.choice(["like", "like", "unlike"])
                row = EventRow(
                    f"w{seed}-{n}", rng.choice(users), kind, NOW + n, post=rng.choice(posts)
                )
                record_events(s, [row], received_at=int(time.time()))

    threads = [threading.Thread(target=writer, args=(seed,)) for seed in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    with Store.open(store_url) as s:
        for post in posts:
            likers = rows(
                s,
                "SELECT COUNT(*), COUNT(DISTINCT account) FROM interactions"
                " WHERE post = ? AND kind = 0",
                (post,),
            )[0]
            assert likers[0] == likers[1]  # one like per account
            assert s.post_counts([post])[post][0] == likers[1]


def test_counts_read_as_words_and_one_liker_reads_whom_you_follow(client: TestClient) -> None:
    page = client.get("/p/101?u=me").text
    assert "♥ 5 likes · 💬 1 comment ·" in page  # not "1 comments"
    reasons = {
        i["post_id"]: i["reason"]
        for i in client.get("/v1/users/me/feed", params={"kind": "explore", "limit": 50}).json()[
            "items"
        ]
    }
    assert reasons[301] == "liked by @ana, whom you follow"


def test_every_cli_action_and_its_undo(db: Path) -> None:
    """Each of ``discovery like|unlike|save|unsave|hide|unhide|follow|unfollow|block|unblock``
    is a state the next feed shows, and its undo takes it back (known world: cy's post 201 is
    in me's Explore, so is natgeo's 202, and me does not follow cy)."""
    run = CliRunner().invoke

    def act(*argv: str) -> str:
        r = run(cli, ["--db", str(db), *argv])
        assert r.exit_code == 0, r.output
        return " ".join(r.output.split())

    def feed(kind: str) -> dict[int, dict[str, Any]]:
        r = run(cli, ["--db", str(db), "feed", "me", "--kind", kind, "-k", "50", "--json"])
        assert r.exit_code == 0, r.output
        return {i["post_id"]: i for i in json.loads(r.output)["items"]}

    def states() -> list[str]:
        with Store.open(db) as s:
            found = rows(s, "SELECT kind FROM interactions WHERE account = 1 AND post = 201")
        return sorted(INTERACTION_KINDS[k] for (k,) in found)

    assert act("like", "me", "201") == "@me likes post 201 (9 likes)"  # 8 + me
    assert act("like", "me", "201") == "@me likes post 201 (9 likes)"  # a state: still 9
    assert states() == ["like"] and 201 not in feed("explore")  # seen
    assert act("unlike", "me", "201") == "@me no longer likes post 201 (8 likes)"
    assert states() == [] and 201 in feed("explore")

    assert act("save", "me", "201") == "@me saved post 201 (8 likes)"
    assert act("save", "me", "201") and states() == ["save"]
    assert act("unsave", "me", "201") == "@me no longer saves post 201 (8 likes)"
    assert states() == [] and 201 in feed("explore")

    assert act("hide", "me", "201") == "@me sees less like post 201 (8 likes)"
    assert 201 not in feed("explore") and 201 not in feed("blend")
    assert act("unhide", "me", "201") == "@me no longer hides post 201 (8 likes)"
    assert states() == [] and 201 in feed("explore")

    assert act("follow", "me", "cy") == "@me follows @cy"
    assert feed("timeline")[201]["following"] is True and 201 not in feed("explore")
    assert act("unfollow", "me", "cy") == "@me no longer follows @cy"
    assert 201 not in feed("timeline") and feed("explore")[201]["following"] is False

    assert act("block", "me", "natgeo") == "@me blocked @natgeo"
    assert not {202, 203} & {*feed("explore"), *feed("blend")}
    assert act("unblock", "me", "natgeo") == "@me unblocked @natgeo"
    assert 202 in feed("explore")
