"""The Bluesky feed generator over a small world whose feeds are known (tests/feedgen_fakes.py):
tokens signed with locally generated keys, DIDs resolved through a fake PLC directory on
127.0.0.1, pages of at-uris without repeats, 401 for every bad token, the popular fallback, and
the describeFeedGenerator and did.json shapes of the lexicons."""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from discovery.engine import Engine
from discovery.service import create_app
from discovery.service.feedgen import FeedgenConfig
from discovery.service.feedgen_skeleton import post_uri
from discovery.store import Store
from discovery.store.records import AccountRecord, PostInfo
from feedgen_fakes import (
    DIDS,
    FEED,
    PUBLISHER,
    SERVICE_DID,
    SKELETON,
    STRANGER,
    FakePlc,
    Key,
    bearer,
    build_world,
    pages,
    service_jwt,
    uri,
)

with warnings.catch_warnings():  # starlette nudges towards httpx2; httpx works
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

#: ana's explore: posts of cy and dan (followed by bob, whom ana follows) and eve's popular ones;
#: never bob's (followed), ana's own, a video, a text post, an old or an Instagram post.
EXPLORE = {uri(r) for r in ("cy1", "cy2", "dan1", "eve1", "eve2")}
#: The fallback: every image post of the window, most liked first.
POPULAR = [uri(r) for r in ("eve1", "eve2", "cy1", "bob1", "dan1", "cy2", "ana1")]


@pytest.fixture
def world(tmp_path: Path) -> Path:
    return build_world(tmp_path / "bsky.db")


@pytest.fixture
def plc() -> Iterator[FakePlc]:
    server = FakePlc()
    yield server
    server.close()


@pytest.fixture
def keys(plc: FakePlc) -> dict[str, Key]:
    out = {name: Key() for name in DIDS}
    out["ana"] = Key("ES256")  # a P-256 account key too
    for name, did in DIDS.items():
        plc.publish(did, out[name], f"{name}.test")
    out["stranger"] = Key()
    plc.publish(STRANGER, out["stranger"], "frank.test")
    return out


@pytest.fixture
def client(world: Path, plc: FakePlc) -> Iterator[TestClient]:
    config = FeedgenConfig(SERVICE_DID, publisher_did=PUBLISHER, plc_url=plc.url)
    with TestClient(create_app(world, feedgen=config)) as c:
        yield c


def engine_order(world: Path, did: str, kind: str) -> list[str]:
    """The engine's own feed of that account, Bluesky image posts only (the oracle for order)."""
    engine = Engine.open(world)
    try:
        account = engine.store.ids_for_keys("accounts", [f"bsky:{did}"])[f"bsky:{did}"]
        user = int(engine.snapshot.accounts.lookup(account)[0])
        feed = engine.feed(user, k=100, kind=kind)
        info = engine.store.post_info([item.post_id for item in feed])
        return [u for item in feed if (u := post_uri(info.get(item.post_id)))]
    finally:
        engine.store.close()


# ------------------------------------------------------------------ feeds
def test_explore_pages_are_the_users_explore_as_image_post_uris(
    client: TestClient, world: Path, keys: dict[str, Key]
) -> None:
    token = service_jwt(keys["ana"], DIDS["ana"])
    got = pages(client, token, f"{FEED}/explore", limit=2)
    assert [len(p) for p in got] == [2, 2, 1]
    flat = [u for page in got for u in page]
    assert len(flat) == len(set(flat))  # no repeats across pages
    assert set(flat) == EXPLORE
    assert flat == engine_order(world, DIDS["ana"], "explore")
    # the network's posts (cy and dan, followed by bob) above eve's far more liked ones
    assert set(flat[:3]) == {uri("cy1"), uri("cy2"), uri("dan1")}


def test_blend_adds_the_followed_accounts_posts(
    client: TestClient, world: Path, keys: dict[str, Key]
) -> None:
    token = service_jwt(keys["ana"], DIDS["ana"])
    flat = [u for page in pages(client, token, f"{FEED}/blend", limit=3) for u in page]
    assert len(flat) == len(set(flat))
    assert uri("bob1") in flat and uri("bob2") not in flat  # followed; the text post never
    assert set(flat) <= EXPLORE | {uri("bob1")}
    assert flat == engine_order(world, DIDS["ana"], "blend")


def test_unknown_requester_gets_popular_image_posts(
    client: TestClient, keys: dict[str, Key]
) -> None:
    token = service_jwt(keys["stranger"], STRANGER)
    got = pages(client, token, f"{FEED}/explore", limit=3)
    assert got == [POPULAR[:3], POPULAR[3:6], POPULAR[6:]]


def test_a_page_larger_than_the_feed_has_no_cursor(
    client: TestClient, keys: dict[str, Key]
) -> None:
    token = service_jwt(keys["stranger"], STRANGER)
    assert pages(client, token, f"{FEED}/blend", limit=100) == [POPULAR]


# ------------------------------------------------------------------ tokens
def refused(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    response = client.get(SKELETON, params={"feed": f"{FEED}/explore"}, headers=headers)
    assert response.status_code == 401, response.text
    body = response.json()
    assert set(body) == {"error", "message"}
    return body


def test_missing_or_malformed_tokens_are_401(client: TestClient, keys: dict[str, Key]) -> None:
    assert refused(client, {})["error"] == "AuthenticationRequired"
    assert refused(client, {"Authorization": "Basic YTpi"})["error"] == "AuthenticationRequired"
    assert refused(client, bearer("not-a-jwt"))["error"] == "BadJwt"
    assert refused(client, bearer("a.b.c"))["error"] == "BadJwt"
    unsigned = service_jwt(None, DIDS["ana"])  # alg "none", empty signature
    assert refused(client, bearer(unsigned))["error"] == "BadJwt"
    wrong_alg = service_jwt(keys["ana"], DIDS["ana"], alg="HS256")
    assert refused(client, bearer(wrong_alg))["error"] == "BadJwt"
    no_exp = service_jwt(keys["bob"], DIDS["bob"], exp="soon")
    assert refused(client, bearer(no_exp))["error"] == "BadJwt"


def test_expired_wrong_audience_and_wrong_method_are_401(
    client: TestClient, keys: dict[str, Key]
) -> None:
    ana, did = keys["ana"], DIDS["ana"]
    expired = service_jwt(ana, did, exp=int(time.time()) - 5)
    assert refused(client, bearer(expired))["error"] == "JwtExpired"
    other = service_jwt(ana, did, aud="did:web:someone-else.example")
    assert refused(client, bearer(other))["error"] == "BadJwtAudience"
    method = service_jwt(ana, did, lxm="app.bsky.feed.getTimeline")
    assert refused(client, bearer(method))["error"] == "BadJwtLexiconMethod"
    unscoped = service_jwt(ana, did, lxm=None)
    assert "missing" in refused(client, bearer(unscoped))["message"]


def test_signature_is_checked_against_the_did_document(
    client: TestClient, plc: FakePlc, keys: dict[str, Key]
) -> None:
    forged = service_jwt(Key(), DIDS["bob"])  # someone else's key claims to be bob
    assert refused(client, bearer(forged))["error"] == "BadJwtSignature"
    # a cached key failed: the document was fetched again (a rotation), then refused
    assert plc.hits[DIDS["bob"]] == 2
    impostor = service_jwt(keys["ana"], DIDS["bob"])
    assert refused(client, bearer(impostor))["error"] == "BadJwtSignature"
    nobody = service_jwt(Key(), "did:plc:nobodyxxxxxxxxxxxxxxxxxx")
    assert refused(client, bearer(nobody))["error"] == "BadJwtIss"  # 404 at the directory
    handle = service_jwt(keys["ana"], "ana.test")
    assert refused(client, bearer(handle))["error"] == "BadJwtIss"
    assert "ana.test" not in plc.hits  # not a DID: never resolved


def test_did_documents_are_cached_and_a_rotated_key_is_refetched(
    client: TestClient, plc: FakePlc, keys: dict[str, Key]
) -> None:
    did = DIDS["cy"]
    for _ in range(3):
        response = client.get(
            SKELETON,
            params={"feed": f"{FEED}/explore"},
            headers=bearer(service_jwt(keys["cy"], did)),
        )
        assert response.status_code == 200
    assert plc.hits[did] == 1
    rotated = Key("ES256")
    plc.publish(did, rotated, "cy.test")
    response = client.get(
        SKELETON, params={"feed": f"{FEED}/explore"}, headers=bearer(service_jwt(rotated, did))
    )
    assert response.status_code == 200
    assert plc.hits[did] == 2


# ------------------------------------------------------------------ requests
def test_unknown_feeds_bad_limits_and_cursors_are_400(
    client: TestClient, keys: dict[str, Key]
) -> None:
    headers = bearer(service_jwt(keys["ana"], DIDS["ana"]))

    def error(**params: Any) -> str:
        response = client.get(SKELETON, params=params, headers=headers)
        assert response.status_code == 400, response.text
        assert set(response.json()) == {"error", "message"}
        return str(response.json()["error"])

    assert error(feed=f"{FEED}/timeline") == "UnknownFeed"
    assert error(feed=f"at://{DIDS['eve']}/app.bsky.feed.generator/explore") == "UnknownFeed"
    assert error(feed=f"at://{PUBLISHER}/app.bsky.feed.post/explore") == "UnknownFeed"
    assert error() == "InvalidRequest"
    for limit in ("0", "101", "ten", "-1", "9" * 40):
        assert error(feed=f"{FEED}/explore", limit=limit) == "InvalidRequest"
    assert error(feed=f"{FEED}/explore", cursor="%%garbage") == "InvalidRequest"
    strangers = service_jwt(keys["stranger"], STRANGER)
    first = client.get(
        SKELETON, params={"feed": f"{FEED}/explore", "limit": 1}, headers=bearer(strangers)
    )
    theirs = first.json()["cursor"]
    assert error(feed=f"{FEED}/explore", cursor=theirs) == "InvalidRequest"  # another user's


def test_describe_feed_generator_and_did_document(client: TestClient) -> None:
    described = client.get("/xrpc/app.bsky.feed.describeFeedGenerator")
    assert described.status_code == 200
    assert described.json() == {
        "did": SERVICE_DID,
        "feeds": [{"uri": f"{FEED}/explore"}, {"uri": f"{FEED}/blend"}],
    }
    doc = client.get("/.well-known/did.json")
    assert doc.json() == {
        "@context": ["https://www.w3.org/ns/did/v1"],
        "id": SERVICE_DID,
        "service": [
            {
                "id": "#bsky_fg",
                "type": "BskyFeedGenerator",
                "serviceEndpoint": "https://feeds.example.com",
            }
        ],
    }


def test_describe_without_a_publisher_lists_no_feeds_and_plc_services_have_no_did_json(
    world: Path,
) -> None:
    config = FeedgenConfig("did:plc:svcxxxxxxxxxxxxxxxxxxxxx", hostname="feeds.example.org")
    with TestClient(create_app(world, feedgen=config)) as client:
        body = client.get("/xrpc/app.bsky.feed.describeFeedGenerator").json()
        assert body == {"did": "did:plc:svcxxxxxxxxxxxxxxxxxxxxx", "feeds": []}
        assert client.get("/.well-known/did.json").status_code == 404


def test_without_configuration_there_is_no_feed_generator(world: Path) -> None:
    with TestClient(create_app(world)) as client:
        assert client.get("/xrpc/app.bsky.feed.describeFeedGenerator").status_code == 404
        assert client.get("/.well-known/did.json").status_code == 404


def test_serve_options_turn_it_on(world: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from discovery.cli import main

    argv = ["--db", str(world), "serve", "--feedgen-did", "did:web:feeds.example.com%3A8443"]
    with pytest.raises(SystemExit) as done:
        main([*argv, "--get", "/.well-known/did.json"])
    assert done.value.code == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["service"][0]["serviceEndpoint"] == "https://feeds.example.com:8443"
    with pytest.raises(SystemExit) as done:
        main([*argv[:2], "serve", "--feedgen-did", "alice.test", "--get", "/"])
    assert done.value.code == 1
    assert (
        capsys.readouterr().err == "error: feed generator: service_did 'alice.test' is not a DID\n"
    )


# ------------------------------------------------------------------ the store moves on
def test_a_post_deleted_upstream_leaves_both_feeds(
    client: TestClient, world: Path, keys: dict[str, Key]
) -> None:
    store = Store.open(world)
    try:
        gone = store.ids_for_keys("posts", ["bsky:" + uri("eve1"), "bsky:" + uri("cy1")])
        with store.transaction():
            assert store.remove_posts(gone.values()) == 2
    finally:
        store.close()
    stranger = service_jwt(keys["stranger"], STRANGER)
    rest = [u for u in POPULAR if u not in (uri("eve1"), uri("cy1"))]
    assert pages(client, stranger, f"{FEED}/explore", limit=100) == [rest]
    ana = service_jwt(keys["ana"], DIDS["ana"])
    flat = [u for page in pages(client, ana, f"{FEED}/explore", limit=2) for u in page]
    assert set(flat) == EXPLORE - {uri("eve1"), uri("cy1")}


def test_a_fallback_cursor_keeps_paging_the_fallback_once_the_requester_is_known(
    client: TestClient, world: Path, keys: dict[str, Key]
) -> None:
    headers = bearer(service_jwt(keys["stranger"], STRANGER))
    params = {"feed": f"{FEED}/explore", "limit": 3}
    first = client.get(SKELETON, params=params, headers=headers).json()
    store = Store.open(world)
    try:  # the stranger's account arrives (a sync) between two pages
        with store.transaction():
            store.upsert_accounts([AccountRecord(f"bsky:{STRANGER}", "frank.test")])
    finally:
        store.close()
    second = client.get(SKELETON, params={**params, "cursor": first["cursor"]}, headers=headers)
    assert [p["post"] for p in first["feed"] + second.json()["feed"]] == POPULAR[:6]
    fresh = client.get(SKELETON, params=params, headers=headers).json()
    explore = engine_order(world, STRANGER, "explore")  # a new feed is their explore
    assert [p["post"] for p in fresh["feed"]] == explore[:3] != POPULAR[:3]


@pytest.mark.parametrize(
    "key",
    [
        "bsky:did:plc:anaxxxxxxxxxxxxxxxxxxxxx",  # an account key, not a post
        "bsky:at://ana.test/app.bsky.feed.post/3k",  # a handle, not a DID: apps need DIDs
        "bsky:at://did:plc:ana/app.bsky.feed.post/",  # no record key
        "bsky:at://did:plc:ana/app.bsky.feed.post/3k/extra",
        "bsky:at://did:plc:ana/app.bsky.feed.like/3k",  # a like, not a post
        "mastodon:https://pixelfed.social/p/ana/1",
        "bsky:https://bsky.app/profile/ana/post/3k",
    ],
)
def test_only_bluesky_post_uris_are_served(key: str) -> None:
    assert post_uri(PostInfo(1, key, "", "https://cdn.example/a.jpg", "photo")) is None
