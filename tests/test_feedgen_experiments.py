"""The Bluesky feed generator under experiments, on SQLite and PostgreSQL: a known requester's
pages are served by their arm, and every post served is logged as an impression, its position
counting only the posts served (the world of tests/feedgen_fakes.py skips a video and an
Instagram post in ana's explore); the fallback logs nothing; a cursor whose served count is
damaged is a 400."""

from __future__ import annotations

import base64
import json
import warnings
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from discovery.engine import Engine
from discovery.experiments.assign import arm_index
from discovery.experiments.logging import impression_features
from discovery.experiments.report import create_experiment, stop
from discovery.service import create_app
from discovery.service.feedgen import FeedgenConfig
from discovery.service.feedgen_skeleton import post_uri
from discovery.signals.features import FEATURES, served_features
from discovery.store import Store
from discovery.store.experiments import ImpressionRow
from feedgen_fakes import (
    DIDS,
    FEED,
    NOW,
    PUBLISHER,
    SERVICE_DID,
    SKELETON,
    STRANGER,
    FakePlc,
    Key,
    build_world,
    pages,
)
from feedgen_fakes import service_jwt as jwt

with warnings.catch_warnings():  # starlette nudges towards httpx2; httpx works
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient


@pytest.fixture
def world(store_url: str) -> str | Path:
    """The fakes' world on each backend: SQLite and a throwaway PostgreSQL database."""
    return build_world(store_url)


@pytest.fixture
def keys() -> Iterator[dict[str, Key]]:
    plc = FakePlc()
    out = {name: Key() for name in DIDS}
    for name, did in DIDS.items():
        plc.publish(did, out[name], f"{name}.test")
    out["stranger"] = Key()
    plc.publish(STRANGER, out["stranger"], "frank.test")
    out["plc"] = plc  # type: ignore[assignment]
    yield out
    plc.close()


@pytest.fixture
def client(world: str | Path, keys: dict[str, Any]) -> Iterator[TestClient]:
    config = FeedgenConfig(SERVICE_DID, publisher_did=PUBLISHER, plc_url=keys["plc"].url)
    with TestClient(create_app(world, feedgen=config)) as c:
        yield c


def logged(client: TestClient, world: str | Path) -> list[tuple[ImpressionRow, str | None]]:
    """Every impression written so far, with its post's at-uri."""
    assert client.app.state.service.impressions.flush()  # type: ignore[attr-defined]
    store = Store.open(world)
    try:
        rows = store.impressions()
        info = store.post_info([r.post for r in rows])
        return [(r, post_uri(info.get(r.post))) for r in rows]
    finally:
        store.close()


def account(world: str | Path, name: str) -> int:
    store = Store.open(world)
    try:
        return store.ids_for_keys("accounts", [f"bsky:{DIDS[name]}"])[f"bsky:{DIDS[name]}"]
    finally:
        store.close()


def engine_order(world: str | Path, name: str, kind: str, ranker: str = "default") -> list[str]:
    """The engine's own feed of that account under ``ranker``, Bluesky image posts only."""
    engine = Engine.open(world)
    try:
        user = int(engine.snapshot.accounts.lookup(account(world, name))[0])
        feed = engine.feed(user, k=100, kind=kind, ranker=ranker)
        info = engine.store.post_info([item.post_id for item in feed])
        return [u for item in feed if (u := post_uri(info.get(item.post_id)))]
    finally:
        engine.store.close()


def test_served_posts_are_logged_in_order_with_positions_across_pages(
    client: TestClient, world: str | Path, keys: dict[str, Key]
) -> None:
    got = pages(client, jwt(keys["ana"], DIDS["ana"]), f"{FEED}/explore", limit=2)
    flat = [u for page in got for u in page]
    # ana's explore looks at a video and an Instagram post too: served, they would take places
    engine = Engine.open(world)
    try:
        user = int(engine.snapshot.accounts.lookup(account(world, "ana"))[0])
        assert len(engine.feed(user, k=100, kind="explore")) > len(flat)
    finally:
        engine.store.close()
    pages(client, jwt(keys["stranger"], STRANGER), f"{FEED}/explore", limit=3)  # not logged
    rows = logged(client, world)
    assert [u for _, u in rows] == flat
    assert [r.position for r, _ in rows] == list(range(len(flat)))
    assert {(r.account, r.surface, r.experiment, r.arm, r.ranker) for r, _ in rows} == {
        (account(world, "ana"), "explore", "", "", "default")
    }
    assert {r.served_at for r, _ in rows} == {NOW}
    # one request id per page, a new one for each page
    ends = np.cumsum([len(p) for p in got]).tolist()
    requests = [[r.request for r, _ in rows[a:b]] for a, b in zip([0, *ends], ends, strict=False)]
    assert all(len(set(r)) == 1 for r in requests) and len({r[0] for r in requests}) == len(got)
    # each row carries the score, the factors the ranker served it with and every learned
    # feature, as the API's impressions do: the features of that very post for ana
    engine = Engine.open(world)
    try:
        user = int(engine.snapshot.accounts.lookup(account(world, "ana"))[0])
        feed = {it.post_id: it for it in engine.feed(user, k=100, kind="explore")}
        for row, _ in rows:
            features = json.loads(row.features)
            assert row.score is not None and "recency" in features
            (want,) = served_features(engine, user, [feed[row.post]])
            assert set(FEATURES) <= set(features)
            assert features == json.loads(impression_features(feed[row.post], want))
    finally:
        engine.store.close()


def test_without_learned_features_rows_carry_the_rankers_factors_only(
    world: str | Path, keys: dict[str, Any]
) -> None:
    config = FeedgenConfig(SERVICE_DID, publisher_did=PUBLISHER, plc_url=keys["plc"].url)
    with TestClient(create_app(world, feedgen=config, learned_features=False)) as client:
        flat = [
            u for p in pages(client, jwt(keys["ana"], DIDS["ana"]), f"{FEED}/explore", 2) for u in p
        ]
        rows = logged(client, world)
    assert [u for _, u in rows] == flat
    for row, _ in rows:
        features = json.loads(row.features)
        assert "recency" in features and "topic_match" not in features


def test_an_experiment_serves_each_requester_their_arms_ranker(
    client: TestClient, world: str | Path, keys: dict[str, Key]
) -> None:
    arms = ["default", "tutorial"]
    ana, cy = account(world, "ana"), account(world, "cy")
    # a name whose hash deals ana and cy different arms (the assignment is tested elsewhere)
    name = next(
        f"bsky-{i}"
        for i in range(100)
        if arm_index(f"bsky-{i}", ana, [50, 50]) != arm_index(f"bsky-{i}", cy, [50, 50])
    )
    store = Store.open(world)
    try:
        create_experiment(store, name, arms, "50/50", now=NOW)
    finally:
        store.close()
    served = {}
    for who in ("ana", "cy"):
        got = pages(client, jwt(keys[who], DIDS[who]), f"{FEED}/blend", limit=2)
        served[who] = [u for page in got for u in page]
    rows = logged(client, world)
    assert {r.experiment for r, _ in rows} == {name}
    for who, acct in (("ana", ana), ("cy", cy)):
        arm = arms[arm_index(name, acct, [50, 50])]
        mine = [(r, u) for r, u in rows if r.account == acct]
        assert [u for _, u in mine] == served[who] == engine_order(world, who, "blend", arm)
        assert {(r.arm, r.ranker) for r, _ in mine} == {(arm, arm)}
        assert [r.position for r, _ in mine] == list(range(len(mine)))
    # ana likes the first post her arm served (as a Bluesky like arriving through the events
    # path): the experiment's report counts it for her arm, and every impression
    first = next(r.post for r, _ in rows if r.account == ana)
    event = {"id": "l1", "user": "ana.test", "kind": "like", "post": first}
    assert client.post("/v1/events", json=event).status_code in (200, 202)
    body = client.get(f"/v1/experiments/{name}").json()  # no tokens yet: an open server
    got = {m["arm"]: (m["users"], m["impressions"], m["engagements"]) for m in body["metrics"]}
    assert got == {
        arms[arm_index(name, acct, [50, 50])]: (1, len(served[who]), int(who == "ana"))
        for who, acct in (("ana", ana), ("cy", cy))
    }
    store = Store.open(world)
    try:
        stop(store, name, NOW + 1)
    finally:
        store.close()
    pages(client, jwt(keys["ana"], DIDS["ana"]), f"{FEED}/blend", limit=2)
    after = [r for r, _ in logged(client, world)][len(rows) :]
    assert after and {(r.experiment, r.arm) for r in after} == {("", "")}  # stopped: no arm


def test_an_interleaved_experiment_logs_each_posts_team(
    client: TestClient, world: str | Path, keys: dict[str, Key]
) -> None:
    store = Store.open(world)
    try:
        create_experiment(store, "mix", ["default", "tutorial"], interleave=True, now=NOW)
    finally:
        store.close()
    flat = [
        u
        for page in pages(client, jwt(keys["ana"], DIDS["ana"]), f"{FEED}/blend", limit=3)
        for u in page
    ]
    rows = logged(client, world)
    assert [u for _, u in rows] == flat and len(flat) == len(set(flat))
    assert {r.experiment for r, _ in rows} == {"mix"}
    assert {r.arm for r, _ in rows} <= {"default", "tutorial"}
    assert all(r.ranker == r.arm for r, _ in rows)
    # every post served is one of the two arms' blends (image posts only)
    both = set(engine_order(world, "ana", "blend")) | set(
        engine_order(world, "ana", "blend", "tutorial")
    )
    assert set(flat) <= both


def _cursor(fields: dict[str, Any]) -> str:
    packed = zlib.compress(json.dumps(fields).encode())
    return base64.urlsafe_b64encode(packed).rstrip(b"=").decode()


@pytest.mark.parametrize("served", [-1, 3, "1", True, 1.5, 10**30, None, [1]])
def test_a_damaged_served_count_is_a_400_and_logs_nothing(
    client: TestClient, world: str | Path, keys: dict[str, Key], served: Any
) -> None:
    cursor = _cursor({"v": 1, "u": DIDS["ana"], "k": "explore", "d": [1, 1], "s": served})
    response = client.get(
        SKELETON,
        params={"feed": f"{FEED}/explore", "limit": 2, "cursor": cursor},
        headers={"Authorization": f"Bearer {jwt(keys['ana'], DIDS['ana'])}"},
    )
    if served is None:  # "s": null is a cursor from before the count: every shown post counts
        assert response.status_code == 200, response.text
        rows = logged(client, world)
        assert [r.position for r, _ in rows] == list(range(2, 2 + len(rows)))
        return
    assert response.status_code == 400, response.text
    assert response.json() == {"error": "InvalidRequest", "message": "cursor: damaged post list"}
    assert logged(client, world) == []
