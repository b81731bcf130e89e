"""The HTTP API on the hand-made world (tests/worlds.py): feeds as the CLI prints them, pages
without duplicates, tokens, settings, media and every kind of bad input as a 4xx."""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from discovery.cli import app as cli
from discovery.engine import Engine
from discovery.service import create_app
from discovery.service.cursor import decode_cursor, encode_cursor
from discovery.service.root import docs_assets_dir
from discovery.store import Store
from discovery.store.tokens import create_token, hash_token

with warnings.catch_warnings():  # starlette nudges towards httpx2; httpx works
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient


def open_client(db: Path) -> TestClient:
    return TestClient(create_app(db), raise_server_exceptions=True)


@pytest.fixture
def client(known_db: Path) -> Iterator[TestClient]:
    with open_client(known_db) as c:
        yield c


def token_for(db: Path, handle: str, admin: bool = False) -> dict[str, str]:
    store = Store.open(db)
    try:
        token = create_token(store, store.account_id(handle), admin=admin)
    finally:
        store.close()
    return {"Authorization": f"Bearer {token}"}


def ids(body: dict[str, Any]) -> list[int]:
    return [item["post_id"] for item in body["items"]]


# ---------------------------------------------------------------- feeds
@pytest.mark.parametrize("kind", ["blend", "timeline", "explore", "interests"])
def test_feed_items_are_exactly_the_cli_json(client: TestClient, known_db: Path, kind: str) -> None:
    out = CliRunner().invoke(cli, ["--db", str(known_db), "feed", "me", "--kind", kind, "--json"])
    assert out.exit_code == 0, out.output
    expected = json.loads(out.output)
    body = client.get(f"/v1/users/me/feed?kind={kind}").json()
    assert body.pop("next_cursor", "missing") != "missing"
    assert body == expected


def test_known_timeline_and_explore(client: TestClient) -> None:
    # me follows ana, bo, dan: their fresh posts; explore never shows a followed author
    assert ids(client.get("/v1/users/me/feed?kind=timeline").json()) == [102, 101, 103, 104]
    explore = client.get("/v1/users/@me/feed?kind=explore").json()
    assert set(ids(explore)) == {201, 202, 203, 301, 302}
    assert {item["author"] for item in explore["items"]}.isdisjoint({"ana", "bo", "dan", "me"})


def test_pages_never_repeat_and_end_with_null_cursor(client: TestClient) -> None:
    everything = ids(client.get("/v1/users/me/feed?kind=blend&limit=100").json())
    seen: list[int] = []
    url = "/v1/users/me/feed?kind=blend&limit=2"
    for _ in range(20):
        body = client.get(url).json()
        seen += ids(body)
        if body["next_cursor"] is None:
            break
        url = f"/v1/users/me/feed?kind=blend&limit=2&cursor={body['next_cursor']}"
    assert len(seen) == len(set(seen))
    assert sorted(seen) == sorted(everything)
    assert body["next_cursor"] is None


def test_cursor_is_bound_to_user_and_kind(client: TestClient) -> None:
    cursor = client.get("/v1/users/me/feed?kind=explore&limit=1").json()["next_cursor"]
    r = client.get(f"/v1/users/me/feed?kind=timeline&cursor={cursor}")
    assert r.status_code == 422 and "cursor" in r.json()["detail"]
    r = client.get(f"/v1/users/ana/feed?kind=explore&cursor={cursor}")
    assert r.status_code == 422
    for junk in ["x", "%00%01", "AAAA", encode_cursor("me", "explore", set())[:-3] + "zzz"]:
        r = client.get(f"/v1/users/me/feed?kind=explore&cursor={junk}")
        assert r.status_code == 422, junk


def test_cursor_round_trip_of_large_ids() -> None:
    shown = {0, 5, 2**62, 2**63 - 1}
    assert decode_cursor(encode_cursor("u", "blend", shown), "u", "blend") == shown


def test_interests_graph_post_similar_explain(client: TestClient) -> None:
    interests = client.get("/v1/users/me/interests").json()
    assert [i["tag"] for i in interests["interests"]][:2] == ["hiking", "climbing"]
    graph = client.get("/v1/users/me/graph?depth=1").json()
    handles = {n["handle"]: n for n in graph["nodes"]}
    assert set(handles) == {"me", "ana", "bo", "dan"}
    assert handles["ana"]["followed"] and handles["ana"]["hop"] == 1
    assert {(e["source"], e["target"]) for e in graph["edges"]} == {(1, 2), (1, 3), (1, 7)}
    post = client.get("/v1/posts/302").json()
    assert post["caption"] == "Cat <script>alert(1)</script> #cats"  # data, not markup
    assert post["hashtags"] == ["cats"] and post["author"] == "yan"
    similar = client.get("/v1/posts/101/similar?limit=3").json()
    assert similar["kind"] == "similar" and 101 not in ids(similar)
    explain = client.get("/v1/users/me/explain/202").json()
    assert explain["post_id"] == 202 and "affinity" in explain["origins"]


def test_json_is_never_sniffed_as_html(client: TestClient) -> None:
    r = client.get("/v1/posts/302")
    assert r.headers["content-type"] == "application/json"
    assert r.headers["x-content-type-options"] == "nosniff"


# ------------------------------------------------------------- settings
def test_saved_weights_change_the_feed_and_overrides_preview(client: TestClient) -> None:
    default = client.get("/v1/users/me/feed?kind=explore").json()
    only_pop = {"w_recency": 0, "w_popularity": 1, "w_affinity": 0, "w_interest": 0}
    preview = client.get("/v1/users/me/feed", params={"kind": "explore", **only_pop}).json()
    # popularity alone: scores are the popularity factors, and the order follows them
    assert all(i["score"] == pytest.approx(i["factors"]["popularity"]) for i in preview["items"])
    assert preview["settings"] != default["settings"]
    # a preview saves nothing
    assert client.get("/v1/users/me/settings").json()["saved"] == {}
    r = client.put("/v1/users/me/settings", json={"w_popularity": 1.0, "w_recency": 0.0})
    assert r.status_code == 200
    assert r.json()["saved"] == {"w_popularity": 1.0, "w_recency": 0.0}
    assert r.json()["weights"] == {
        "w_recency": 0.0,
        "w_popularity": 1.0,
        "w_affinity": 0.3,
        "w_interest": 0.35,
    }
    after = client.get("/v1/users/me/feed?kind=explore").json()
    assert after["settings"] != default["settings"]
    top = after["items"][0]
    f = top["factors"]
    assert top["score"] == pytest.approx(
        (f["popularity"] + 0.3 * f["affinity"] + 0.35 * f["interest"]) * f["demote"]
    )
    # {} resets to the defaults
    assert client.put("/v1/users/me/settings", json={}).json()["saved"] == {}
    assert client.get("/v1/users/me/feed?kind=explore").json() == default


@pytest.mark.parametrize(
    "body",
    [
        {"w_recency": 2},
        {"w_recency": -0.1},
        {"w_bogus": 0.5},
        {"w_recency": "high"},
        [1],
        {"hide_cost": -1},
        {"hide_cost": 101},
        '{"hide_cost": NaN}',  # Python's json reads it; a client library would not send it
        '{"hide_cost": 1e999}',
        {"hide_cost": 2**63},
        {"learned_explore_scale": 2.01},
        {"learned_explore_scale": "\u202e1"},
    ],
)
def test_bad_settings_are_422_naming_the_field(client: TestClient, body: Any) -> None:
    if isinstance(body, str):
        headers = {"content-type": "application/json"}
        r = client.put("/v1/users/me/settings", content=body, headers=headers)
    else:
        r = client.put("/v1/users/me/settings", json=body)
    assert r.status_code == 422
    assert r.json()["detail"].startswith("body")


# ----------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("url", "status", "where"),
    [
        ("/v1/users/nobody/feed", 404, "nobody"),
        ("/v1/users/nobody/interests", 404, "nobody"),
        ("/v1/users/nobody/graph", 404, "nobody"),
        ("/v1/users/nobody/settings", 404, "nobody"),
        ("/v1/posts/999999", 404, "999999"),
        ("/v1/posts/999999/similar", 404, "999999"),
        ("/v1/users/me/explain/999999", 404, "999999"),
        ("/v1/posts/-1", 422, "path.post_id"),
        ("/v1/posts/99999999999999999999999", 422, "path.post_id"),
        ("/v1/posts/abc", 422, "path.post_id"),
        ("/v1/users/me/feed?limit=0", 422, "query.limit"),
        ("/v1/users/me/feed?limit=101", 422, "query.limit"),
        ("/v1/users/me/feed?kind=hot", 422, "query.kind"),
        ("/v1/users/me/feed?ranker=magic", 422, "query.ranker"),
        ("/v1/users/me/feed?w_recency=1.5", 422, "query.w_recency"),
        ("/v1/users/me/feed?w_recency=nan", 422, "query.w_recency"),
        ("/v1/users/me/feed?typo=1", 422, "query.typo"),
        ("/v1/users/me/feed?hide_cost=-1", 422, "query.hide_cost"),
        ("/v1/users/me/feed?hide_cost=nan", 422, "query.hide_cost"),
        ("/v1/users/me/feed?hide_cost=1e999", 422, "query.hide_cost"),
        ("/v1/users/me/feed?learned_explore_scale=-0.1", 422, "query.learned_explore_scale"),
        ("/v1/users/me/feed?learned_explore_scale=1e309", 422, "query.learned_explore_scale"),
        ("/v1/users/me/graph?depth=9", 422, "query.depth"),
        ("/v1/users/me/graph?max_nodes=1", 422, "query.max_nodes"),
        ("/v1/users/me/interests?k=0", 422, "query.k"),
        ("/v1/posts/101/similar?limit=1000", 422, "query.limit"),
        ("/v1/users/" + "x" * 101 + "/feed", 422, "path.handle"),
        ("/v1/nothing", 404, "Not Found"),
    ],
)
def test_bad_requests_are_json_4xx(client: TestClient, url: str, status: int, where: str) -> None:
    r = client.get(url)
    assert r.status_code == status, r.text
    assert where in r.json()["detail"]


def test_wrong_method_and_huge_body(known_db: Path) -> None:
    app = create_app(known_db, max_body=1000)
    with TestClient(app) as c:
        assert c.delete("/v1/users/me/feed").status_code == 405
        big = [{"id": f"e{i}", "user": "me", "kind": "view", "post": 101} for i in range(50)]
        r = c.post("/v1/events", json=big)
        assert r.status_code == 413 and "larger" in r.json()["detail"]

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted while streaming
            yield b"[" + b" " * 2000 + b"]"

        r = c.post("/v1/events", content=chunks(), headers={"content-type": "application/json"})
        assert r.status_code == 413


# ---------------------------------------------------------------- tokens
ROUTES = [
    ("get", "/v1/users/{h}/feed", None),
    ("get", "/v1/users/{h}/interests", None),
    ("get", "/v1/users/{h}/graph", None),
    ("get", "/v1/users/{h}/settings", None),
    ("put", "/v1/users/{h}/settings", {"w_recency": 0.5}),
    ("get", "/v1/users/{h}/explain/101", None),
    ("post", "/v1/events", {"id": "t1", "user": "{h}", "kind": "view", "post": 202}),
]


def _call(c: TestClient, method: str, url: str, body: Any, handle: str, headers: Any) -> int:
    url = url.format(h=handle)
    if body is not None:
        body = json.loads(json.dumps(body).replace("{h}", handle))
    return c.request(method, url, json=body, headers=headers).status_code


@pytest.mark.parametrize(("method", "url", "body"), ROUTES)
def test_token_matrix(known_db: Path, method: str, url: str, body: Any) -> None:
    with open_client(known_db) as c:
        # no token exists: open local mode, anyone acts for anyone
        assert _call(c, method, url, body, "ana", None) == 200
        me = token_for(known_db, "me")
        admin = token_for(known_db, "bo", admin=True)
        assert _call(c, method, url, body, "me", me) == 200  # own
        assert _call(c, method, url, body, "ana", me) == 403  # other
        assert _call(c, method, url, body, "ana", admin) == 200  # admin for anyone
        assert _call(c, method, url, body, "me", None) == 401  # none, now that tokens exist
        bad = {"Authorization": "Bearer dsc_not-a-token"}
        assert _call(c, method, url, body, "me", bad) == 401


def test_public_reads_need_any_valid_token(known_db: Path) -> None:
    with open_client(known_db) as c:
        me = token_for(known_db, "me")
        for url in ["/v1/posts/302", "/v1/posts/302/similar"]:
            assert c.get(url, headers=me).status_code == 200
            r = c.get(url)
            assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert c.get("/healthz").status_code == 200
        assert c.get("/openapi.json").status_code == 200


def test_only_the_token_hash_is_stored(known_db: Path) -> None:
    r = CliRunner().invoke(cli, ["--db", str(known_db), "token", "create", "me", "--admin"])
    assert r.exit_code == 0, r.output
    token = r.stdout.strip().splitlines()[0]
    assert token.startswith("dsc_") and len(token) > 40
    store = Store.open(known_db)
    rows = store._fetch("SELECT token_hash, account, admin FROM tokens")
    store.close()
    assert rows == [(hash_token(token), 1, 1)]
    assert token not in known_db.read_bytes().decode("latin-1")
    with open_client(known_db) as c:
        auth = {"Authorization": f"Bearer {token}"}
        assert c.get("/v1/users/ana/feed", headers=auth).status_code == 200
    bad = CliRunner().invoke(cli, ["--db", str(known_db), "token", "create", "nobody"])
    assert bad.exit_code != 0


# ----------------------------------------------------- media, docs, ops
def test_media_serves_images_and_refuses_traversal(known_db: Path, tmp_path: Path) -> None:
    media = Engine.open(known_db).media_dir
    (media / "p").mkdir(parents=True)
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 16
    (media / "p" / "a.png").write_bytes(png)
    (media / "notes.txt").write_text("not an image")
    (tmp_path / "secret.png").write_bytes(b"TOP-SECRET-BYTES")
    (media / "link.png").symlink_to(tmp_path / "secret.png")
    with open_client(known_db) as c:
        r = c.get("/media/p/a.png")
        assert r.status_code == 200 and r.content == png
        assert r.headers["content-type"] == "image/png"
        for bad in [
            "/media/../secret.png",
            "/media/%2e%2e/secret.png",
            "/media/p/%2e%2e/%2e%2e/secret.png",
            "/media//etc/passwd",
            "/media/link.png",
            "/media/notes.txt",
            "/media/p/missing.png",
            "/media/p/a.png%00.png",
        ]:
            r = c.get(bad)
            assert r.status_code == 404, bad
            assert b"TOP-SECRET" not in r.content


def test_health_metrics_and_docs(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    client.get("/v1/users/me/feed")
    client.post("/v1/events", json={"id": "m1", "user": "me", "kind": "like", "post": 202})
    text = client.get("/metrics").text
    assert (
        'discovery_http_requests_total{method="GET",route="/v1/users/{handle}/feed",status="200"} 1.0'
        in text
    )
    assert 'discovery_events_ingested_total{kind="like"} 1.0' in text
    assert "discovery_snapshot_age_seconds" in text
    # me's PPR looked up once: computed then, or already by the server's warm-up (the most
    # active account), which /metrics does not count
    lookups = dict(re.findall(r'discovery_ppr_cache_lookups\{outcome="(\w+)"\} ([\d.]+)', text))
    assert float(lookups["miss"]) + float(lookups["hit"]) == 1.0
    assert "discovery_http_request_duration_seconds_bucket" in text
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/openapi.json" in docs.text
    if docs_assets_dir() is not None:  # Swagger UI from local files, not a CDN
        assert "cdn." not in docs.text
        assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
        text = client.get("/metrics").text
        assert 'route="/docs-assets",status="200"' in text
    schema = client.get("/openapi.json").json()
    assert "/v1/users/{handle}/feed" in schema["paths"]


def test_lazy_world_images_are_rendered_on_first_request(tmp_path):
    from fastapi.testclient import TestClient

    from discovery.service.app import create_app
    from discovery.store import Store
    from discovery.world import generate_world

    db = tmp_path / "lazy.db"
    generate_world(db, size="tiny", images=False)
    store = Store.open(db)
    post = store._fetch("SELECT post FROM truth_posts ORDER BY post LIMIT 1")[0][0]
    from discovery.world.images import image_path

    rel = image_path(int(post))
    with TestClient(create_app(db)) as client:
        first = client.get(f"/media/{rel}")
        assert first.status_code == 200 and first.headers["content-type"] == "image/jpeg"
        assert (tmp_path / "lazy.db.media" / rel).is_file()
        assert client.get(f"/media/{rel}").content == first.content
        assert client.get("/media/p/000/999999999.jpg").status_code == 404
        assert client.get("/media/../lazy.db").status_code == 404
