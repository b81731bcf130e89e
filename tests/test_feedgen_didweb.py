"""A feed requester whose DID is ``did:web:host``: its document is read from a local directory
of ``/<host>/.well-known/did.json`` files on 127.0.0.1 (``FeedgenConfig.did_web_url``), the
token's signature checked against it; good tokens get the requester's own feed, bad, expired,
wrong-audience and unresolvable ones are 401."""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("atproto", reason="the bluesky extra (atproto) is not installed")

from discovery.service import create_app
from discovery.service.feedgen import FeedgenConfig
from discovery.store import Store
from discovery.store.records import AccountRecord
from feedgen_fakes import (
    DIDS,
    NOW,
    PUBLISHER,
    SERVICE_DID,
    FakePlc,
    Key,
    LocalServer,
    build_world,
    did_document,
    service_jwt,
    uri,
)
from test_feedgen import EXPLORE, FEED, POPULAR, bearer, engine_order, pages, refused

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

WEN = "did:web:wen.example"  # follows bob, as ana does
DOC_PATH = "/wen.example/.well-known/did.json"


class FakeWebDids(LocalServer):
    """did:web documents by host: ``GET /<host>/.well-known/did.json``; 404 for others."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        super().__init__(self._route)

    def _route(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Any:
        host, _, rest = path.lstrip("/").partition("/")
        if rest != ".well-known/did.json" or host not in self.docs:
            return 404, {"message": "not found"}
        return 200, self.docs[host]

    def hits(self, path: str) -> int:
        return sum(p == path for _, p, _, _ in self.requests)


@pytest.fixture
def world(tmp_path: Path) -> Path:
    db = build_world(tmp_path / "bsky.db")
    with Store.open(db) as s, s.transaction():
        ids = s.upsert_accounts([AccountRecord(f"bsky:{WEN}", "wen.example", "Wen")])
        bob = s.ids_for_keys("accounts", [f"bsky:{DIDS['bob']}"])[f"bsky:{DIDS['bob']}"]
        s.add_follows([(ids[f"bsky:{WEN}"], bob, NOW - 86_400)])
    return db


@pytest.fixture
def key() -> Key:
    return Key()


@pytest.fixture
def web(key: Key) -> Iterator[FakeWebDids]:
    server = FakeWebDids()
    server.docs["wen.example"] = did_document(WEN, key, "wen.example")
    server.docs["liar.example"] = did_document("did:web:other.example", key, "liar.example")
    yield server
    server.close()


@pytest.fixture
def client(world: Path, web: FakeWebDids) -> Iterator[TestClient]:
    plc = FakePlc()  # no did:plc requester here: nothing may be asked of it
    config = FeedgenConfig(
        SERVICE_DID, publisher_did=PUBLISHER, plc_url=plc.url, did_web_url=web.url
    )
    try:
        with TestClient(create_app(world, feedgen=config)) as c:
            yield c
        assert plc.requests == []
    finally:
        plc.close()


def test_a_did_web_requester_gets_its_own_feed(
    client: TestClient, world: Path, web: FakeWebDids, key: Key
) -> None:
    token = service_jwt(key, WEN)
    flat = [u for page in pages(client, token, f"{FEED}/explore", limit=3) for u in page]
    assert flat == engine_order(world, WEN, "explore")
    # bob's network, as for ana (who also follows only bob), and ana's post, which her own
    # explore leaves out as hers
    assert set(flat) == EXPLORE | {uri("ana1")}
    assert flat != POPULAR  # not the fallback of an unknown requester
    assert web.hits(DOC_PATH) == 1  # resolved once, then cached


def test_bad_did_web_tokens_are_401(client: TestClient, web: FakeWebDids, key: Key) -> None:
    forged = service_jwt(Key(), WEN)  # a key not in wen's document
    assert refused(client, bearer(forged))["error"] == "BadJwtSignature"
    assert web.hits(DOC_PATH) == 2  # the cached key failed: fetched again once (rotation)
    expired = service_jwt(key, WEN, exp=int(time.time()) - 5)
    assert refused(client, bearer(expired))["error"] == "JwtExpired"
    other = service_jwt(key, WEN, aud="did:web:someone-else.example")
    assert refused(client, bearer(other))["error"] == "BadJwtAudience"
    unknown = service_jwt(key, "did:web:nobody.example")  # 404 at the host
    assert refused(client, bearer(unknown))["error"] == "BadJwtIss"
    liar = service_jwt(key, "did:web:liar.example")  # the document names another DID
    assert refused(client, bearer(liar))["error"] == "BadJwtIss"
    path = service_jwt(key, "did:web:wen.example:users:1")  # did:web paths: not in atproto
    assert refused(client, bearer(path))["error"] == "BadJwtIss"


def test_serve_takes_the_did_web_mirror_from_the_command_line(monkeypatch, known_db) -> None:
    """`serve --feedgen-did-web-url URL` reaches the feed generator's configuration."""
    import discovery.service as service
    from discovery.cli import main

    seen = {}

    def capture(db, feedgen=None, settings=None, learned_features=True):  # type: ignore[no-untyped-def]
        seen["feedgen"] = feedgen
        seen["learned_features"] = learned_features
        raise SystemExit(0)

    monkeypatch.setattr(service, "create_app", capture)
    with pytest.raises(SystemExit):
        main(
            ["--db", str(known_db), "serve", "--feedgen-did", "did:web:feeds.test",
             "--feedgen-did-web-url", "http://127.0.0.1:9/mirror", "--get", "/healthz"]
        )  # fmt: skip
    assert seen["feedgen"].did_web_url == "http://127.0.0.1:9/mirror"
    assert seen["feedgen"].service_did == "did:web:feeds.test"
    assert seen["learned_features"] is True  # --impression-features all, the default
