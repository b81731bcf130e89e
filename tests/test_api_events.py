"""``POST /v1/events`` on the hand-made world: every event changes the *next* feed as the issue
says (hide, follow, unfollow, like), replays change nothing, bad batches write nothing."""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from discovery.service import create_app
from discovery.store import Store
from worlds import NOW, D, H, build_known_world

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

#: zed's second fresh post, to watch zed's affinity when me likes zed's first one; a post with
#: a tag nobody else uses, to watch a like create an interest.
EXTRA = [
    (303, 6, NOW - 2 * H, "Another trail #hiking", 1, 0),
    (304, 8, NOW - 2 * H, "Folded #origami", 0, 0),
]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "events.db"
    build_known_world(path, extra_posts=EXTRA).close()
    return path


@pytest.fixture
def client(db: Path) -> Iterator[TestClient]:
    with TestClient(create_app(db)) as c:
        yield c


def feed(c: TestClient, kind: str, user: str = "me") -> dict[int, dict[str, Any]]:
    body = c.get(f"/v1/users/{user}/feed", params={"kind": kind, "limit": 100}).json()
    return {item["post_id"]: item for item in body["items"]}


def send(c: TestClient, body: Any, status: int = 200) -> dict[str, Any]:
    r = c.post("/v1/events", json=body)
    assert r.status_code == status, r.text
    return r.json()  # type: ignore[no-any-return]


def ev(i: str, kind: str, post: int | None = None, target: str | None = None, **kw: Any) -> dict:
    out = {"id": i, "user": "me", "kind": kind, **kw}
    if post is not None:
        out["post"] = post
    if target is not None:
        out["target"] = target
    return out


def test_hidden_post_never_returns_and_its_author_is_demoted(client: TestClient) -> None:
    before = feed(client, "explore")
    assert {202, 203} <= set(before)  # both natgeo posts
    send(client, ev("h1", "hide", 202))
    for kind in ("explore", "blend", "interests", "timeline"):
        assert 202 not in feed(client, kind)
    after = feed(client, "explore")
    # one hide: natgeo's other post is multiplied by the penalty (0.25), nothing else moves
    assert after[203]["factors"]["demote"] == 0.25
    assert after[203]["score"] == pytest.approx(before[203]["score"] * 0.25)
    assert after[201]["score"] == pytest.approx(before[201]["score"])
    explain = client.get("/v1/users/me/explain/202").json()
    assert "hidden" in explain["filtered_by"]


def test_follow_moves_an_account_from_explore_to_timeline(client: TestClient) -> None:
    assert 301 in feed(client, "explore") and 301 not in feed(client, "timeline")
    send(client, ev("f1", "follow", target="zed"))
    assert 301 in feed(client, "timeline") and 303 in feed(client, "timeline")
    assert 301 not in feed(client, "explore") and 303 not in feed(client, "explore")
    graph = client.get("/v1/users/me/graph?depth=1").json()
    assert {n["handle"] for n in graph["nodes"] if n["followed"]} == {"ana", "bo", "dan", "zed"}
    send(client, ev("f2", "unfollow", target="zed"))
    assert 301 in feed(client, "explore") and 301 not in feed(client, "timeline")


def test_unfollow_moves_an_account_out_of_the_timeline(client: TestClient) -> None:
    assert 104 in feed(client, "timeline")
    send(client, ev("u1", "unfollow", target="@dan"))
    assert 104 not in feed(client, "timeline")


def test_like_feeds_affinity_interests_and_counts(client: TestClient) -> None:
    before = feed(client, "explore")
    assert before[303]["factors"]["weight"] == 0.0
    send(client, ev("l1", "like", 301))
    after = feed(client, "explore")
    assert 301 not in after  # engaged with: seen
    # affinity: one like of zed's posts in the last year → weight 1, affinity up by noisy-or
    assert after[303]["factors"]["weight"] == 1.0
    b, a = before[303]["factors"], after[303]["factors"]
    assert a["ppr"] == pytest.approx(b["ppr"])  # no follow edge to zed: the walk is unchanged
    assert a["affinity"] == pytest.approx(1 - (1 - b["affinity"]) * math.exp(-1 / 3))
    assert a["affinity"] > b["affinity"]
    assert client.get("/v1/posts/301").json()["like_count"] == 3  # was 2
    # interests: liking a post with a rare tag makes that tag an interest
    interests = client.get("/v1/users/me/interests").json()["interests"]
    assert "origami" not in [i["tag"] for i in interests]
    send(client, ev("l2", "like", 304))
    interests = client.get("/v1/users/me/interests").json()["interests"]
    assert "origami" in [i["tag"] for i in interests]


def test_one_impression_and_a_view_make_a_post_seen(client: TestClient) -> None:
    """A post shown once and passed over leaves the feed (``seen_after_impressions`` = 1, the
    default; the setting's own tests cover 0 and 2), like a post opened."""
    explore = feed(client, "explore")
    assert 201 in explore and 202 in explore
    send(client, [ev("i1", "impression", 201), ev("v1", "view", 202, value=3.5)])
    explore = feed(client, "explore")
    assert 201 not in explore and 202 not in explore


def test_replayed_ids_change_nothing(client: TestClient, db: Path) -> None:
    first = send(client, [ev("a", "like", 202), ev("b", "comment", 202), ev("a", "like", 202)])
    assert first["accepted"] == 2 and first["duplicates"] == 1
    assert [r["status"] for r in first["results"]] == ["accepted", "accepted", "duplicate"]
    again = send(client, [ev("a", "like", 202), ev("b", "comment", 202)])
    assert again["accepted"] == 0 and again["duplicates"] == 2
    one = send(client, ev("a", "like", 202))  # a single event, replayed
    assert one["results"] == [{"id": "a", "status": "duplicate"}]
    post = client.get("/v1/posts/202").json()
    assert (post["like_count"], post["comment_count"]) == (901, 41)
    # ids are per account: ana's "a" is a different event
    assert send(client, {**ev("a", "like", 202), "user": "ana"})["accepted"] == 1
    store = Store.open(db)
    n = store._fetch("SELECT COUNT(*) FROM interactions WHERE post = 202 AND kind IN (0, 1)")
    keys = store._fetch("SELECT event_id FROM events_seen ORDER BY event_id")
    store.close()
    assert n == [(3,)]
    assert keys == [("1/a",), ("1/b",), ("2/a",)]


def test_explicit_times_are_stored(client: TestClient, db: Path) -> None:
    send(client, ev("t1", "save", 201, at="2023-11-14T20:00:00+01:00"))
    send(client, ev("t2", "share", 201, at="2023-11-14T20:00:00"))  # naive means UTC
    store = Store.open(db)
    times = store._fetch("SELECT created_at FROM interactions WHERE post = 201 ORDER BY kind")
    store.close()
    assert times == [(1699988400,), (1699992000,)]
    assert NOW - D < 1699988400 < NOW


@pytest.mark.parametrize(
    ("body", "status", "where"),
    [
        (ev("x", "like"), 422, "post"),
        (ev("x", "follow", 202), 422, "target"),
        (ev("x", "like", 202, target="ana"), 422, "target"),
        (ev("x", "tag", 202), 422, "body.kind"),
        (ev("", "like", 202), 422, "body.id"),
        (ev("x y", "like", 202), 422, "body.id"),
        (ev("x" * 129, "like", 202), 422, "body.id"),
        (ev("x", "like", -1), 422, "body.post"),
        (ev("x", "view", 202, value=-1), 422, "body.value"),
        (ev("x", "like", 202, at="not a time"), 422, "body.at"),
        (ev("x", "like", 202, at="3000-01-01T00:00:00Z"), 422, "body.at"),
        ({**ev("x", "like", 202), "extra": 1}, 422, "body.extra"),
        ([], 422, "body"),
        ([ev(str(i), "view", 202) for i in range(1001)], 422, "body"),
        ("like", 422, "body"),
        (ev("x", "like", 999999), 404, "post"),
        ({**ev("x", "like", 202), "user": "nobody"}, 404, "nobody"),
        (ev("x", "follow", target="nobody"), 404, "nobody"),
        (ev("x", "follow", target="me"), 422, "itself"),
        ([ev("ok", "like", 202), ev("x", "like", 999999)], 404, "events[1].post"),
    ],
)
def test_bad_events_are_refused_whole(
    client: TestClient, db: Path, body: Any, status: int, where: str
) -> None:
    r = client.post("/v1/events", json=body)
    assert r.status_code == status, r.text
    assert where in r.json()["detail"]
    store = Store.open(db)
    assert store._fetch("SELECT COUNT(*) FROM events_seen") == [(0,)]
    store.close()


def test_malformed_json_is_400(client: TestClient) -> None:
    r = client.post(
        "/v1/events", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 400  # as the README says: undecodable, so nothing was validated
    assert "json" in r.json()["detail"].lower()


def test_one_batch_applies_its_events_in_order_and_counts_each_new_like_once(
    client: TestClient, db: Path
) -> None:
    at = "2023-11-14T22:13:20Z"
    body = [
        ev("f1", "follow", target="zed"),
        {**ev("l1", "like", 202), "user": "ana", "at": at},
        {**ev("l2", "like", 202), "user": "bo", "at": at},
        ev("u1", "unfollow", target="zed"),
        {**ev("l3", "like", 202), "user": "ana", "at": at},  # same row as l1: no new like
        ev("f2", "follow", target="zed"),
        ev("u2", "unfollow", target="zed"),
        ev("f3", "follow", target="zed"),  # last word: following
    ]
    assert send(client, body)["accepted"] == 8
    assert client.get("/v1/posts/202").json()["like_count"] == 902
    assert any(item["author"] == "zed" for item in feed(client, "timeline").values())
    store = Store.open(db)
    removed = store._fetch("SELECT COUNT(*) FROM removed_follows WHERE src = 1 AND dst = 6")
    likes = store._fetch("SELECT COUNT(*) FROM interactions WHERE post = 202 AND kind = 0")
    store.close()
    assert removed == [(2,)] and likes == [(2,)]
