"""Experiments through the HTTP API and the pages, on both store backends, over the hand-made
world (tests/worlds.py): every served item is logged, each user gets their arm's ranker or
settings, interleaving merges two rankers with team credit, the report's metrics equal the
hand-computed ones, and only admin tokens may create or read experiments."""

from __future__ import annotations

import itertools
import json
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from discovery.engine import Engine
from discovery.experiments.assign import arm_index
from discovery.service import create_app
from discovery.signals.features import FEATURES
from discovery.store import Store
from discovery.store.tokens import create_token

with warnings.catch_warnings():  # starlette nudges towards httpx2; httpx works
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

from worlds import ACCOUNTS, NOW

ID = {handle: account for account, handle in ACCOUNTS.items()}


@pytest.fixture
def db(store_url: str) -> str:
    from worlds import build_known_world

    build_known_world(store_url).close()
    return store_url


@pytest.fixture
def client(db: str) -> Iterator[TestClient]:
    with TestClient(create_app(db), raise_server_exceptions=True) as c:
        yield c


def ids(body: dict[str, Any]) -> list[int]:
    return [item["post_id"] for item in body["items"]]


def name_where(arms: dict[str, int], split: tuple[int, ...] = (50, 50)) -> str:
    """The first experiment name ``t0, t1, …`` that puts each user in the given arm."""
    return next(
        n
        for n in (f"t{i}" for i in itertools.count())
        if all(arm_index(n, ID[h], split) == arm for h, arm in arms.items())
    )


def counter_of(db: str) -> int:
    with Store.open(db) as store:
        return store.change_counter


def impressions(client: TestClient, db: str, **where: Any) -> list[Any]:
    """The logged rows, read from the database by another connection once the server's
    impression writer has written every page served so far (it writes off the request path)."""
    assert client.app.state.service.impressions.flush()  # type: ignore[attr-defined]
    with Store.open(db) as store:
        return store.impressions(**where)


def test_every_served_item_is_logged_once_per_page(client: TestClient, db: str) -> None:
    counter = counter_of(db)
    first = client.get("/v1/users/me/feed?kind=explore&limit=3").json()
    second = client.get(f"/v1/users/me/feed?kind=explore&limit=3&cursor={first['next_cursor']}")
    rows = impressions(client, db, account=ID["me"])
    items = first["items"] + second.json()["items"]
    assert [r.post for r in rows] == [i["post_id"] for i in items]
    assert [r.position for r in rows] == [0, 1, 2, 3, 4]  # across pages (explore has 5 posts)
    assert {(r.surface, r.experiment, r.arm, r.ranker, r.served_at) for r in rows} == {
        ("explore", "", "", "default", NOW)  # the fixed world's clock
    }
    assert len({r.request for r in rows[:3]}) == 1 and rows[0].request != rows[3].request
    for row, item in zip(rows, items, strict=True):
        assert row.score == item["score"]
        expected = dict(item["factors"]) | {f"src_{s}": 1.0 for s in item["sources"]}
        logged = json.loads(row.features)
        assert {k: logged[k] for k in expected} == expected
        # and every feature of the learned ranker, whichever ranker served it (issue 12 §5)
        assert set(FEATURES) <= set(logged)
    # bookkeeping, not a change: serving never makes the snapshot catch up
    assert counter_of(db) == counter


def test_ab_users_get_their_arms_ranker_until_it_stops(client: TestClient, db: str) -> None:
    name = name_where({"me": 1, "cy": 0})
    made = client.post("/v1/experiments", json={"name": name, "arms": ["default", "tutorial"]})
    assert made.status_code == 201, made.text
    assert made.json()["split"] == [50, 50] and made.json()["running"]
    engine = Engine.open(db)
    for handle, account in ID.items():
        arm = ("default", "tutorial")[arm_index(name, account, (50, 50))]
        body = client.get(f"/v1/users/{handle}/feed?kind=explore&limit=4").json()
        assert body["ranker"] == arm
        assert ids(body) == [i.post_id for i in engine.feed(handle, 4, "explore", ranker=arm)]
    logged = impressions(client, db, experiment=name)
    assert {(r.account, r.arm) for r in logged} == {
        (a, ("default", "tutorial")[arm_index(name, a, (50, 50))])
        for a in {r.account for r in logged}
    }
    assert {r.account for r in logged if r.arm == "tutorial"} >= {ID["me"]}
    # a ranker the client names is served as asked, outside the experiment
    asked = client.get("/v1/users/me/feed?kind=explore&limit=2&ranker=tutorial").json()
    assert impressions(client, db, account=ID["me"])[-1].experiment == ""
    assert asked["ranker"] == "tutorial"
    assert client.post(f"/v1/experiments/{name}/stop").json()["running"] is False
    assert client.get("/v1/users/me/feed?kind=explore").json()["ranker"] == "default"
    assert impressions(client, db, account=ID["me"])[-1].experiment == ""


def test_a_settings_arm_changes_the_users_settings(client: TestClient, db: str) -> None:
    name = name_where({"me": 1})
    body = {"name": name, "arms": ["default", "window_days=30"], "split": "50/50"}
    assert client.post("/v1/experiments", json=body).status_code == 201
    # ana's 401 is 10 days old: outside the default 7-day window, inside the arm's 30
    timeline = ids(client.get("/v1/users/me/feed?kind=timeline&limit=20").json())
    assert 401 in timeline
    assert {r.arm for r in impressions(client, db, experiment=name)} == {"window_days=30"}
    client.post(f"/v1/experiments/{name}/stop")
    assert 401 not in ids(client.get("/v1/users/me/feed?kind=timeline&limit=20").json())


def test_pages_are_served_and_logged_under_the_experiment(client: TestClient, db: str) -> None:
    name = name_where({"me": 1})
    client.post("/v1/experiments", json={"name": name, "arms": ["default", "tutorial"]})
    page = client.get("/u/me/explore")
    assert page.status_code == 200
    rows = impressions(client, db, experiment=name)
    assert rows and {(r.account, r.arm, r.surface) for r in rows} == {(1, "tutorial", "explore")}


def test_interleaving_merges_both_rankers_and_credits_likes(client: TestClient, db: str) -> None:
    made = client.post(
        "/v1/experiments",
        json={"name": "il", "arms": ["default", "tutorial"], "interleave": True},
    )
    assert made.status_code == 201 and made.json()["mode"] == "interleave"
    body = client.get("/v1/users/me/feed?kind=explore&limit=4").json()
    assert body["ranker"] == "default+tutorial"
    engine = Engine.open(db)
    own = {r: [i.post_id for i in engine.feed("me", 4, "explore", ranker=r)] for r in RANKERS}
    rows = impressions(client, db, experiment="il")
    assert [r.post for r in rows] == ids(body) and len(rows) == 4
    teams = [r.arm for r in rows]
    for i, row in enumerate(rows):
        assert row.ranker == row.arm and row.post in own[row.arm]
        # the team's best post not already placed
        assert row.post == next(p for p in own[row.arm] if p not in ids(body)[:i])
        assert abs(teams[: i + 1].count("default") - teams[: i + 1].count("tutorial")) <= 1
    # a reload merges the same way (the coins are seeded by experiment, user and page)
    assert ids(client.get("/v1/users/me/feed?kind=explore&limit=4").json()) == ids(body)
    liked = [r.post for r in rows if r.arm == "default"]
    events = [{"id": f"l{p}", "user": "me", "kind": "like", "post": p} for p in liked]
    assert client.post("/v1/events", json=events).status_code == 200
    report = client.get("/v1/experiments/il").json()
    assert report["preference"] == {
        "wins": 1, "losses": 0, "ties": 0, "delta": 1.0, "p_value": 1.0,
    }  # fmt: skip
    by_arm = {m["arm"]: m for m in report["metrics"]}
    assert by_arm["default"]["engagements"] == len(liked)
    assert by_arm["tutorial"]["engagements"] == 0


RANKERS = ("default", "tutorial")


def test_report_metrics_equal_the_hand_computed_ones(client: TestClient, db: str) -> None:
    name = name_where({"me": 0, "ana": 1})
    client.post("/v1/experiments", json={"name": name, "arms": ["default", "tutorial"]})
    me = ids(client.get("/v1/users/me/feed?kind=explore&limit=3").json())
    ana = ids(client.get("/v1/users/ana/feed?kind=explore&limit=3").json())
    events = [
        {"id": "1", "user": "me", "kind": "like", "post": me[0]},
        {"id": "2", "user": "me", "kind": "comment", "post": me[1]},
        {"id": "3", "user": "me", "kind": "like", "post": 103},  # not shown to me: no credit
        {"id": "4", "user": "ana", "kind": "hide", "post": ana[0]},
    ]
    assert client.post("/v1/events", json=events).status_code == 200
    report = client.get(f"/v1/experiments/{name}").json()
    default, tutorial = report["metrics"]
    assert (default["arm"], default["users"], default["impressions"]) == ("default", 1, 3)
    assert default["engagements_per_impression"]["value"] == pytest.approx(2 / 3)
    # explore never shows a followed author: every engagement is a discovery
    assert default["discovery_share"]["value"] == 1.0
    assert default["hides_per_impression"]["value"] == 0.0
    assert (tutorial["arm"], tutorial["users"], tutorial["impressions"]) == ("tutorial", 1, 3)
    assert tutorial["engagements_per_impression"]["value"] == 0.0
    assert tutorial["discovery_share"]["value"] is None  # no engagements to share
    assert tutorial["hides_per_impression"]["value"] == pytest.approx(1 / 3)
    assert report["preference"] is None


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({"name": "Bad Name", "arms": ["default", "tutorial"]}, 422, "experiment name 'Bad Name'"),
        ({"name": "x", "arms": ["default", "nope"]}, 422, "unknown ranker 'nope'"),
        ({"name": "x", "arms": ["default", "tutorial"], "split": "60/50"}, 422, "sum to 110"),
        ({"name": "x", "arms": ["default", "alpha=7"]}, 422, "alpha=7.0: must be between"),
        ({"name": "x", "arms": ["a=1", "b=2", "c=3"], "interleave": True}, 422, "unknown setting"),
        ({"name": "x", "arms": ["default", "tutorial", "alpha=0.9"], "interleave": True}, 422,
         "exactly two arms"),
        ({"name": "x", "arms": ["default"]}, 422, ""),
        ({"name": "x", "arms": ["default", "tutorial"], "colour": 1}, 422, ""),
    ],
)  # fmt: skip
def test_bad_experiments_are_422_with_a_message(
    client: TestClient, db: str, body: dict[str, Any], status: int, detail: str
) -> None:
    got = client.post("/v1/experiments", json=body)
    assert got.status_code == status
    assert detail in got.json()["detail"]
    assert client.get("/v1/experiments").json() == {"experiments": []}


def test_conflicts_and_unknown_names(client: TestClient) -> None:
    assert client.get("/v1/experiments/nope").status_code == 404
    assert client.post("/v1/experiments/nope/stop").status_code == 404
    ok = {"name": "one", "arms": ["default", "tutorial"]}
    assert client.post("/v1/experiments", json=ok).status_code == 201
    second = client.post("/v1/experiments", json=ok | {"name": "two"})
    assert second.status_code == 409 and "'one' is running" in second.json()["detail"]
    assert client.post("/v1/experiments/one/stop").status_code == 200
    assert client.post("/v1/experiments/one/stop").status_code == 409
    assert client.post("/v1/experiments", json=ok).status_code == 409  # the name stays taken
    assert [e["name"] for e in client.get("/v1/experiments").json()["experiments"]] == ["one"]


def test_only_admin_tokens_create_and_read_experiments(db: str) -> None:
    with Store.open(db) as store:
        user = {"Authorization": f"Bearer {create_token(store, ID['me'], admin=False)}"}
        admin = {"Authorization": f"Bearer {create_token(store, None, admin=True)}"}
    body = {"name": "e", "arms": ["default", "tutorial"]}
    with TestClient(create_app(db)) as client:
        assert client.get("/v1/experiments").status_code == 401
        assert client.post("/v1/experiments", json=body).status_code == 401
        for call in (
            lambda h: client.get("/v1/experiments", headers=h),
            lambda h: client.post("/v1/experiments", json=body, headers=h),
            lambda h: client.get("/v1/experiments/e", headers=h),
            lambda h: client.post("/v1/experiments/e/stop", headers=h),
        ):
            got = call(user)
            assert (
                got.status_code == 403 and got.json()["detail"] == "experiments need an admin token"
            )
        assert client.post("/v1/experiments", json=body, headers=admin).status_code == 201
        assert client.get("/v1/experiments/e", headers=admin).json()["name"] == "e"
        # the user's own feed is served (and logged) under the experiment all the same
        assert client.get("/v1/users/me/feed", headers=user).status_code == 200
    assert {r.experiment for r in impressions(client, db, account=ID["me"])} == {"e"}


def test_an_experiment_whose_arm_is_gone_is_not_applied(client: TestClient, db: str) -> None:
    """A ranker plug-in removed since the experiment started: feeds keep working, unassigned."""
    with Store.open(db) as store:
        store.create_experiment("old", '{"arms": ["default", "gone"], "split": [50, 50]}')
    body = client.get("/v1/users/me/feed?kind=explore&limit=2")
    assert body.status_code == 200 and body.json()["ranker"] == "default"
    assert {r.experiment for r in impressions(client, db, account=ID["me"])} == {""}
