"""The HTML pages through the real app on the hand-made world plus hostile posts: each page is
the twin of its JSON endpoint, every page carries the strict CSP, user text is escaped, bad
image sources never reach an ``<img>``, and the no-JavaScript forms work and refuse other sites.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import pytest

from discovery.service import create_app
from discovery.web.render import CSP
from e2e.hostile import BAD_HANDLE, BAD_IMAGES, CAPTION, HOSTILE_POSTS, add_hostile
from worlds import build_known_world

with warnings.catch_warnings():  # starlette nudges towards httpx2; httpx works
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

PAGES = [
    "/u/me/explore",
    "/u/me/timeline",
    "/u/me/interests",
    "/u/me/interests?tag=hiking",
    "/u/me/network",
    "/u/me/tune",
    "/p/990001?u=me",
    "/p/101",
]


@pytest.fixture
def hostile_db(tmp_path: Path) -> Path:
    path = tmp_path / "hostile.db"
    build_known_world(path).close()
    add_hostile(path)
    return path


@pytest.fixture
def client(hostile_db: Path) -> Iterator[TestClient]:
    with TestClient(create_app(hostile_db), raise_server_exceptions=True) as c:
        yield c


class Tags(HTMLParser):
    """Every start tag with its attributes, as a browser's tokenizer sees them."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tile_ids(html: str) -> list[int]:
    return [
        int(x) for x in re.findall(r'<article class="tile" tabindex="0" data-post="(\d+)"', html)
    ]


def img_sources(html: str) -> list[str]:
    return [str(a.get("src")) for t, a in Tags(html).tags if t == "img"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_is_html_with_the_strict_csp(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["content-security-policy"] == CSP
    assert "'unsafe-inline'" not in CSP and "'unsafe-eval'" not in CSP
    assert r.headers["x-frame-options"] == "DENY"
    tags = Tags(r.text).tags
    # scripts: only files of this server, or JSON data blocks; no inline event handlers
    for tag, attrs in tags:
        if tag == "script":
            src = attrs.get("src") or ""
            assert attrs.get("type") == "application/json" or re.fullmatch(
                r"/(static|vendor)/[\w.]+(\?v=[\w.]+)?", src
            ), attrs
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        assert "style" not in attrs, (tag, attrs)


@pytest.mark.parametrize("path", PAGES)
def test_hostile_text_and_images_are_inert(client: TestClient, path: str) -> None:
    html = client.get(path).text
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    for src in img_sources(html):
        assert src.startswith("/media/") or src.startswith(("http://", "https://")), src
    for bad in BAD_IMAGES:
        assert f'src="{bad}' not in html
    assert "evil.example" not in html


def test_the_hostile_caption_shows_as_text(client: TestClient) -> None:
    html = client.get("/p/990001?u=me").text
    assert '<p class="caption">&lt;script&gt;alert(1)&lt;/script&gt; #hiking #sunset</p>' in html
    # the javascript: image gives no <img>, only the caption as text
    assert re.search(r'<div class="post-media">\s*<span class="noimg">&lt;script&gt;', html)
    feed = client.get("/v1/users/me/feed?kind=explore&limit=30").json()
    assert CAPTION in [i["caption"] for i in feed["items"]]  # the API returns it as data
    page = client.get("/u/me/explore").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.mark.parametrize("kind", ["explore", "timeline"])
def test_feed_pages_are_twins_of_the_json(client: TestClient, kind: str) -> None:
    html = client.get(f"/u/me/{kind}").text
    limit = 30 if kind == "explore" else 12
    body = client.get(f"/v1/users/me/feed?kind={kind}&limit={limit}").json()
    if kind == "explore":
        assert tile_ids(html) == [i["post_id"] for i in body["items"]]
    else:
        cards = re.findall(r'<article class="card" data-post="(\d+)"', html)
        assert [int(c) for c in cards] == [i["post_id"] for i in body["items"]]
    for item in body["items"]:
        assert item["reason"].replace("'", "&#39;").replace('"', "&#34;") in html
    data = re.search(r'<script type="application/json" id="page-data">(.*?)</script>', html)
    assert (
        data and json.loads(data.group(1))["feed"] == f"/v1/users/me/feed?kind={kind}&limit={limit}"
    )


def test_interest_chip_filters_to_its_posts(client: TestClient) -> None:
    everything = client.get("/v1/users/me/interests?k=12&per_tag=12").json()["interests"]
    tag = everything[0]["tag"]
    html = client.get(f"/u/me/interests?tag={tag}").text
    assert re.findall(r"<h2>#([^<]+)</h2>", html) == [tag]
    assert tile_ids(html) == [p["post_id"] for p in everything[0]["posts"]]
    assert 'aria-current="true">#' + tag in html
    unknown = client.get("/u/me/interests?tag=nosuchtag").text
    assert "is not among the interests" in unknown


def test_post_page_shows_reason_factors_and_more_like_this(client: TestClient) -> None:
    html = client.get("/p/201?u=me").text
    explain = client.get("/v1/users/me/explain/201").json()
    similar = client.get("/v1/posts/201/similar?limit=9").json()
    assert f"For @me: {explain['reason']}" in html.replace("&#39;", "'")
    assert tile_ids(html) == [i["post_id"] for i in similar["items"]]
    assert "#hiking" in html and "#climbing" in html
    assert "More like this" in html


def test_unknown_handle_and_post_are_html_404s(client: TestClient) -> None:
    for path in ("/u/nobody/explore", "/p/123456789", "/u/nobody/network"):
        r = client.get(path)
        assert r.status_code == 404
        assert r.headers["content-type"].startswith("text/html")
        assert "this page isn" in r.text


def test_network_page_has_svg_list_and_escaped_json(client: TestClient) -> None:
    html = client.get("/u/me/network").text
    graph = client.get("/v1/users/me/graph").json()
    assert html.count('<g class="node"') == len(graph["nodes"])
    for node in graph["nodes"]:
        assert f'id="node-{node["id"]}"' in html
    block = re.search(r'<script type="application/json" id="network-data">(.*?)</script>', html)
    assert block and "<" not in block.group(1)
    view = json.loads(block.group(1))
    assert {n["handle"] for n in view["nodes"]} == {n["handle"] for n in graph["nodes"]}
    assert BAD_HANDLE in {n["handle"] for n in view["nodes"]}
    assert "@&#34;&gt;&lt;script&gt;alert(&#34;handle&#34;)&lt;/script&gt;" in html
    assert '<script src="/vendor/cytoscape.min.js"></script>' in html


def test_tune_preview_ranks_by_the_given_weights(client: TestClient) -> None:
    query = "w_recency=1&w_affinity=0&w_interest=0&w_popularity=0"
    html = client.get(f"/u/me/tune?{query}").text
    body = client.get(f"/v1/users/me/feed?kind=explore&limit=12&{query}").json()
    assert tile_ids(html) == [i["post_id"] for i in body["items"]]
    # recency alone: every score is the recency factor (times the hidden-author demotion)
    for item in body["items"]:
        f = item["factors"]
        assert item["score"] == pytest.approx(f["recency"] * f["demote"])
    default = client.get("/u/me/tune").text
    assert tile_ids(default) != tile_ids(html)
    assert 'id="w_recency" name="w_recency" min="0.0" max="1.0" step="0.05" value="1.0"' in html
    assert "Previewing unsaved weights." in html
    bad = client.get("/u/me/tune?w_recency=2")
    assert bad.status_code == 422 and "w_recency=2" in bad.text


def test_tune_form_saves_the_weights(client: TestClient) -> None:
    form = {"w_recency": "0.5", "w_affinity": "0.1", "w_interest": "0.2", "w_popularity": "0.05"}
    r = client.post("/u/me/tune", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/u/me/tune?saved=1"
    saved = client.get("/v1/users/me/settings").json()
    assert saved["saved"] == {k: float(v) for k, v in form.items()}
    assert 'value="0.5"' in client.get("/u/me/tune").text


def test_form_events_like_and_hide(client: TestClient) -> None:
    before = [i["post_id"] for i in client.get("/v1/users/me/feed?kind=timeline").json()["items"]]
    post = before[0]
    r = client.post(
        "/u/me/events",
        data={"kind": "hide", "post": str(post), "next": "/u/me/timeline"},
        headers={"Origin": str(client.base_url)},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/u/me/timeline"
    after = [i["post_id"] for i in client.get("/v1/users/me/feed?kind=timeline").json()["items"]]
    assert post not in after
    # only paths on this server are followed back
    r = client.post(
        "/u/me/events",
        data={"kind": "like", "post": str(after[0]), "next": "//evil.example/"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/u/me/explore"


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}],
)
def test_form_posts_from_other_sites_are_refused(client: TestClient, headers: dict) -> None:
    r = client.post("/u/me/events", data={"kind": "like", "post": "101"}, headers=headers)
    assert r.status_code == 403
    r = client.post("/u/me/tune", data={"w_recency": "1"}, headers=headers)
    assert r.status_code == 403
    assert client.get("/v1/users/me/settings").json()["saved"] == {}


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({"kind": "comment", "post": "101"}, "kind"),  # no button sends a comment
        ({"kind": "like", "post": "x"}, "post"),
        ({"kind": "follow", "post": "101"}, "target"),
    ],
)
def test_bad_form_events_are_422(client: TestClient, data: dict, where: str) -> None:
    r = client.post("/u/me/events", data=data)
    assert r.status_code == 422 and where in r.json()["detail"]


def test_static_files_and_library(client: TestClient) -> None:
    css = client.get("/static/app.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert client.get("/static/feed.js").headers["content-type"].startswith("text/javascript")
    for bad in ("/static/..%2Fpages.py", "/static/pages.py", "/static/.hidden.js"):
        assert client.get(bad).status_code == 404
    from discovery.web.assets import graph_library_path

    lib = client.get("/vendor/cytoscape.min.js")
    assert lib.status_code == (200 if graph_library_path() else 404)


def test_our_javascript_never_writes_markup() -> None:
    static = Path(__file__).resolve().parents[1] / "src" / "discovery" / "web" / "static"
    for js in static.glob("*.js"):
        text = js.read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in text, f"{js.name} uses {sink}"


def test_hostile_fixture_posts_exist(hostile_db: Path) -> None:
    from discovery.store import Store

    store = Store.open(hostile_db, create=False)
    try:
        rows = store._fetch("SELECT id, caption, image FROM posts WHERE id >= 990000 ORDER BY id")
    finally:
        store.close()
    assert {r[0]: (r[1], r[2]) for r in rows} == HOSTILE_POSTS


def test_more_posts_link_pages_without_repeats(client: TestClient) -> None:
    first = client.get("/u/me/explore?limit=3").text
    link = re.search(r'href="\?limit=3&amp;cursor=([^"]+)">More posts', first)
    assert link is not None and len(tile_ids(first)) == 3
    second = client.get(f"/u/me/explore?limit=3&cursor={link.group(1)}").text
    assert len(tile_ids(second)) == 3 and not set(tile_ids(second)) & set(tile_ids(first))
    cursor = client.get("/v1/users/me/feed?kind=explore&limit=3").json()["next_cursor"]
    page2 = client.get(f"/v1/users/me/feed?kind=explore&limit=3&cursor={cursor}").json()
    assert tile_ids(second) == [i["post_id"] for i in page2["items"]]  # the JSON twin's page 2
    full = client.get("/u/me/explore").text
    assert "More posts" not in full  # the 9 explore posts of this world fit on one page


def test_pages_use_the_api_tokens(hostile_db: Path) -> None:
    from discovery.store import Store
    from discovery.store.tokens import create_token

    store = Store.open(hostile_db)
    try:
        mine = create_token(store, store.account_id("me"))
        other = create_token(store, store.account_id("ana"))
    finally:
        store.close()
    with TestClient(create_app(hostile_db)) as c:
        assert c.get("/u/me/explore").status_code == 401
        ok = c.get("/u/me/explore", headers={"Authorization": f"Bearer {mine}"})
        assert ok.status_code == 200 and tile_ids(ok.text)
        assert (
            c.get("/u/me/network", headers={"Authorization": f"Bearer {other}"}).status_code == 403
        )
        form = {"kind": "like", "post": "101"}
        r = c.post("/u/me/events", data=form, headers={"Authorization": f"Bearer {other}"})
        assert r.status_code == 403


def test_hostile_member_tags_are_inert(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cluster's member tags come from imported data (an importer may allow markup and bidi
    characters in a hashtag): in the chip's title and the heading's list they stay text."""
    from discovery.web import pages

    real = pages.views.interests_view

    def hostile(*args: object, **kw: object) -> dict:
        body = real(*args, **kw)  # type: ignore[arg-type]
        body["interests"][0]["members"] = ['"><script>alert(1)</script>', "a\u202eb"]
        return body

    monkeypatch.setattr(pages.views, "interests_view", hostile)
    html = client.get("/u/me/interests").text
    assert "<script>alert(1)" not in html and "\u202e" not in html
    chips = [a for tag, a in Tags(html).tags if tag == "a" and "also" in (a.get("title") or "")]
    assert len(chips) == 1 and '"><script>alert(1)</script>' in chips[0]["title"]
    tag = client.get("/v1/users/me/interests").json()["interests"][0]["tag"]
    member = client.get(f"/u/me/interests?tag={quote(chips[0]['title'].split()[1][1:])}").text
    assert f"<h2>#{tag}</h2>" in member
