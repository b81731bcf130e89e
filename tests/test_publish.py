"""``POST /v1/posts`` and ``POST /v1/accounts`` (issue 15, section 1): a live installation grows
without re-imports; values are checked like the importer's, and the next feed shows the post."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from discovery.service import create_app
from discovery.store import Store
from discovery.store.tokens import create_token
from worlds import NOW


@pytest.fixture
def db(known_db: Path) -> Path:
    return known_db


@pytest.fixture
def client(known_client: TestClient) -> TestClient:
    return known_client


def timeline(c: TestClient, user: str = "me", **headers: str) -> list[int]:
    r = c.get(f"/v1/users/{user}/feed", params={"kind": "timeline", "limit": 50}, headers=headers)
    return [i["post_id"] for i in r.json()["items"]]


def test_a_new_post_reaches_the_followers_next_feed(client: TestClient, db: Path) -> None:
    r = client.post("/v1/posts", json={"author": "ana", "caption": "New peak #hiking", "key": "k1"})
    assert r.status_code == 201, r.text
    post = r.json()["post_id"]
    assert r.json()["created"] is True
    assert post in timeline(client)  # me follows ana; dated by the world's own clock
    with Store.open(db) as s:
        assert s.post_info([post])[post].caption == "New peak #hiking"
        assert s._fetch("SELECT taken_at FROM posts WHERE id = ?", (post,)) == [(NOW,)]
    again = client.post("/v1/posts", json={"author": "ana", "caption": "dup", "key": "k1"})
    assert again.status_code == 200 and again.json()["post_id"] == post  # a retry is the same


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"author": "nobody", "caption": "x"}, 404, "no account"),
        ({"author": "ana", "caption": "nul\u0000byte"}, 422, "NUL"),
        ({"author": "ana", "image": "../../etc/passwd"}, 422, "leaves the media folder"),
        ({"author": "ana", "image": "javascript:alert(1)"}, 422, "neither"),
        ({"author": "ana", "taken_at": "9999-12-31T00:00:00Z"}, 422, "taken_at"),
        ({"author": "ana", "caption": "x" * 20_001}, 422, "caption"),
        ({"author": "ana", "like_count": 5}, 422, "like_count"),
    ],
)
def test_bad_posts_are_4xx_and_write_nothing(
    client: TestClient, db: Path, body: dict, status: int, message: str
) -> None:
    with Store.open(db) as s:
        before = s.count("posts")
    r = client.post("/v1/posts", json=body)
    assert r.status_code == status, r.text
    assert message in r.text
    with Store.open(db) as s:
        assert s.count("posts") == before


def test_accounts_are_created_by_admins_and_handles_stay_unique(client: TestClient) -> None:
    r = client.post("/v1/accounts", json={"handle": "newbie", "display_name": "New"})
    assert r.status_code == 201, r.text
    assert r.json()["handle"] == "newbie"
    assert client.post("/v1/accounts", json={"handle": "newbie"}).status_code == 409
    assert client.post("/v1/accounts", json={"handle": "a b"}).status_code == 422
    assert client.post("/v1/accounts", json={"handle": "\u202eevil"}).status_code == 422
    r = client.post("/v1/posts", json={"author": "newbie", "caption": "hello #cats"})
    assert r.status_code == 201


def test_tokens_decide_who_may_publish(db: Path) -> None:
    with Store.open(db) as s:
        ana, admin = create_token(s, s.account_id("ana")), create_token(s, None, admin=True)
    with TestClient(create_app(db)) as c:
        auth = {"Authorization": f"Bearer {ana}"}
        assert c.post("/v1/posts", json={"author": "ana"}, headers=auth).status_code == 201
        assert c.post("/v1/posts", json={"author": "bo"}, headers=auth).status_code == 403
        assert c.post("/v1/accounts", json={"handle": "x1"}, headers=auth).status_code == 403
        assert c.post("/v1/posts", json={"author": "bo"}).status_code == 401
        boss = {"Authorization": f"Bearer {admin}"}
        assert c.post("/v1/accounts", json={"handle": "x1"}, headers=boss).status_code == 201
        assert c.post("/v1/posts", json={"author": "bo"}, headers=boss).status_code == 201
