"""Issue 15, section 5 (pages): the viewer's own state in every feed item of the JSON API and
on the pages built from it, counts read as words, the network view's account table in pages
(plain links, no JavaScript needed).

Served by a real uvicorn server on a loopback port over the hand-made known world
(:mod:`worlds`: ``me`` follows ana, bo and dan; 101 and 102 are ana's, 201 cy's, 202 natgeo's).
The browser checks (emoji, the mobile nav, label overlap) are in ``e2e/test_polish_browser.py``.
"""

from __future__ import annotations

import json
import re
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from discovery.cli import app as cli
from discovery.service import create_app
from fakes.serving import LocalServer
from worlds import NOW, D, build_known_world

with warnings.catch_warnings():  # starlette nudges towards httpx2; httpx works
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

STATE = ("liked", "saved", "hidden", "following")


@pytest.fixture
def http(known_db: Path) -> Iterator[httpx.Client]:
    server = LocalServer(create_app(known_db), "discovery")
    try:
        with httpx.Client(base_url=server.start(), timeout=20) as client:
            yield client
    finally:
        server.stop()


def send(http: httpx.Client, kind: str, **what: Any) -> None:
    event = {"id": uuid.uuid4().hex, "user": "me", "kind": kind, **what}
    r = http.post("/v1/events", json=event)
    assert r.status_code == 200, r.text


def states(http: httpx.Client, kind: str) -> dict[int, tuple[bool, ...]]:
    r = http.get("/v1/users/me/feed", params={"kind": kind, "limit": 50})
    assert r.status_code == 200, r.text
    return {i["post_id"]: tuple(i[k] for k in STATE) for i in r.json()["items"]}


def test_feed_items_carry_the_viewers_state_after_each_event(http: httpx.Client) -> None:
    # me follows ana (101, 102), bo (103) and dan (104) and has done nothing to these posts
    nothing = (False, False, False, True)
    assert states(http, "timeline") == dict.fromkeys([102, 101, 103, 104], nothing)
    assert states(http, "explore")[202] == (False, False, False, False)  # natgeo: not followed
    # a liked or saved post is "already seen": it leaves every feed (the seen filter), so a
    # ranked feed never holds liked=true; unlike and unsave bring it back, not liked, not saved
    send(http, "like", post=101)
    send(http, "save", post=102)
    assert states(http, "timeline") == dict.fromkeys([103, 104], nothing)
    send(http, "unlike", post=101)
    send(http, "unsave", post=102)
    assert states(http, "timeline") == dict.fromkeys([102, 101, 103, 104], nothing)
    # following is the author's state now: follow cy and her post 201 says so, unfollow undoes
    assert states(http, "blend")[201][3] is False
    send(http, "follow", target="cy")
    blend = states(http, "blend")
    assert blend[201] == (False, False, False, True)
    assert blend[202][3] is False
    send(http, "unfollow", target="cy")
    assert states(http, "blend")[201] == (False, False, False, False)


def test_the_page_shows_the_state_its_json_twin_carries(http: httpx.Client) -> None:
    send(http, "follow", target="cy")
    page = http.get("/u/me/timeline").text
    twin = http.get("/v1/users/me/feed", params={"kind": "timeline", "limit": 12}).json()
    cards = dict(re.findall(r'<article class="card" data-post="(\d+)">(.*?)</article>', page, re.S))
    assert list(map(int, cards)) == [i["post_id"] for i in twin["items"]]
    for item in twin["items"]:
        pressed = "true" if item["liked"] else "false"
        label = "♥ Liked" if item["liked"] else "♥ Like"
        assert f'aria-pressed="{pressed}">{label}</button>' in cards[str(item["post_id"])]
    data = re.search(r'<script type="application/json" id="page-data">(.*?)</script>', page)
    assert data is not None
    assert json.loads(data[1])["states"] == {
        str(i["post_id"]): {k: i[k] for k in ("liked", "saved", "hidden")} for i in twin["items"]
    }
    # "1 like" / "2 likes" as people write them: 101 has 5 likes and 1 comment, 103 none
    assert "♥ 5 likes · 💬 1 comment</p>" in cards["101"]
    assert "♥ 0 likes · 💬 0 comments</p>" in cards["103"]


def test_interests_posts_carry_the_state_too(http: httpx.Client) -> None:
    send(http, "follow", target="zed")
    body = http.get("/v1/users/me/interests", params={"per_tag": 5}).json()
    posts = {p["post_id"]: p for i in body["interests"] for p in i["posts"]}
    assert {102, 301} <= posts.keys()
    assert all(
        p["following"] == (p["author"] in {"ana", "bo", "dan", "zed"}) for p in posts.values()
    )
    assert not any(p["liked"] or p["saved"] or p["hidden"] for p in posts.values())
    # the page's tiles say it too: "@zed · Following" on 301, no "Following" on cy's 201
    page = http.get("/u/me/interests", params={"tag": "hiking"}).text
    tiles = dict(
        re.findall(
            r'<article class="tile" tabindex="0" data-post="(\d+)">(.*?)</article>', page, re.S
        )
    )
    assert ">@zed</a> · Following</p>" in tiles["301"]
    assert all(
        ("Following" in t) == (posts[int(p)]["following"])
        for p, t in tiles.items()
        if int(p) in posts
    )


def test_the_cli_json_carries_the_same_state(known_db: Path, http: httpx.Client) -> None:
    send(http, "follow", target="cy")
    out = CliRunner().invoke(
        cli, ["--db", str(known_db), "feed", "me", "--kind", "timeline", "--json"]
    )
    assert out.exit_code == 0, out.output
    items = {i["post_id"]: tuple(i[k] for k in STATE) for i in json.loads(out.output)["items"]}
    assert items == states(http, "timeline")
    assert items[102] == (False, False, False, True)


# ------------------------------------------------------- the network view's table, paged
@pytest.fixture
def crowd_db(tmp_path: Path) -> Path:
    """The known world plus 40 accounts ``me`` follows: 48+ accounts in me's network."""
    db = tmp_path / "crowd.db"
    store = build_known_world(db)
    with store.transaction():
        store.add_accounts((100 + i, f"fan{i:02d}", "Fan", "person", NOW - D) for i in range(40))
        store.add_follows((1, 100 + i, NOW - D) for i in range(40))
    store.close()
    return db


@pytest.fixture
def crowd(crowd_db: Path) -> Iterator[TestClient]:
    with TestClient(create_app(crowd_db)) as client:
        yield client


def rows(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'<tr id="node-(\d+)">', html)]


def test_the_account_table_is_paged_without_javascript(crowd: TestClient) -> None:
    graph = crowd.get("/v1/users/me/graph").json()
    nodes = graph["nodes"]
    assert len(nodes) > 2 * 25 - 10  # two pages at least
    # the centre, then by hop and PPR: the order a reader wants, checked against the JSON twin
    want = [n["id"] for n in sorted(nodes, key=lambda n: (n["hop"], -n["ppr"], n["id"]))]
    pages = -(-len(nodes) // 25)
    seen: list[int] = []
    for page in range(1, pages + 1):
        r = crowd.get("/u/me/network", params={"page": page})
        assert r.status_code == 200
        got = rows(r.text)
        assert got == want[(page - 1) * 25 : page * 25]
        seen += got
        prev = re.search(r'<a class="btn" rel="prev" href="([^"]+)"', r.text)
        nxt = re.search(r'<a class="btn" rel="next" href="([^"]+)"', r.text)
        base = "?depth=2&amp;max_nodes=150&amp;page="
        assert (prev[1] if prev else None) == (f"{base}{page - 1}" if page > 1 else None)
        assert (nxt[1] if nxt else None) == (f"{base}{page + 1}" if page < pages else None)
        assert f"page {page} of {pages}" in r.text
        # every node of the drawing links to the page whose table holds its row
        for node, href in re.findall(r'<g class="node" data-id="(\d+)"><a href="([^"]+)"', r.text):
            holder = want.index(int(node)) // 25 + 1
            assert href == f"{base}{holder}#node-{node}"
    assert seen == want  # every account once, none twice
    past = crowd.get("/u/me/network", params={"page": pages + 1})
    assert past.status_code == 404 and f"the table has {pages} pages of 25" in past.text
    assert crowd.get("/u/me/network", params={"page": 0}).status_code == 422


def test_png_labels_sit_where_they_were_placed_and_stay_apart(crowd_db: Path) -> None:
    pytest.importorskip("matplotlib")
    from discovery.engine import Engine
    from discovery.web.network import SCALE, network_view
    from discovery.web.standalone import network_figure

    view = network_view(Engine.open(crowd_db).ego_network("me"))
    named = {"@" + n["handle"]: n for n in view["nodes"] if n["labelled"]}
    fig = network_figure(view, dpi=100)
    fig.canvas.draw()
    texts = [t for t in fig.axes[0].texts if t.get_gid() == "label"]
    assert len(texts) == len(named) >= 8
    for t in texts:  # at the node plus the placed offset (the PNG's y axis points up)
        n = named[t.get_text()]
        want = (n["x"] + n["label_dx"] / SCALE, -n["y"] - n["label_dy"] / SCALE)
        assert t.get_position() == pytest.approx(want)
    boxes = [t.get_window_extent() for t in texts]
    overlaps = [
        (texts[i].get_text(), texts[j].get_text())
        for i in range(len(boxes))
        for j in range(i + 1, len(boxes))
        if boxes[i].overlaps(boxes[j])
    ]
    assert overlaps == []
