"""Accounts in the browser, through the real app: the session cookie (HttpOnly, SameSite=Strict,
Secure over https, signed, expiring, revocable, ended by sign-out), `discovery token list` and
`revoke` (never a secret), the front door and the profile page (each equal to its JSON twin,
showing the viewer's state), and hostile handles inert on every new page."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from discovery.cli import app as cli
from discovery.service import create_app, sessions
from discovery.store import Store
from discovery.store.tokens import create_token, hash_token
from discovery.web.render import CSP
from e2e.hostile import BAD_HANDLE, add_hostile
from worlds import build_known_world

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

BIDI = "ev\u202eil"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "w.db"
    build_known_world(path).close()
    add_hostile(path)
    with Store.open(path) as s, s.transaction():
        s.add_accounts([(990100, "bidi", "bidi", "person", 0)])
        # the store refuses such a handle now; an older database may hold one
        s._exec("UPDATE accounts SET handle = ? WHERE id = 990100", (BIDI,))
    return path


def tokens(db: Path) -> dict[str, str]:
    with Store.open(db) as s:
        return {
            "me": create_token(s, s.account_id("me")),
            "ana": create_token(s, s.account_id("ana")),
            "admin": create_token(s, None, admin=True),
        }


@pytest.fixture
def secured(db: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    made = tokens(db)
    with TestClient(create_app(db), base_url="http://testserver") as c:
        yield c, made


def use(c: TestClient, value: str) -> None:
    c.cookies.clear()
    c.cookies.set(sessions.COOKIE, value)


def sign_in(c: TestClient, token: str, next: str = "/") -> object:
    return c.post("/signin", data={"token": token, "next": next}, follow_redirects=False)


def test_open_mode_front_door_lists_accounts_me_first_and_searches(db: Path) -> None:
    with TestClient(create_app(db)) as c:
        page = c.get("/")
        assert page.status_code == 200 and page.headers["content-security-policy"] == CSP
        twin = c.get("/v1/accounts?q=&limit=30&offset=0").json()
        handles = re.findall(r'<li class="account" data-handle="([^"]*)"', page.text)
        assert handles[0] == "me" and twin["accounts"][0]["handle"] == "me"
        assert len(handles) == len(twin["accounts"]) == twin["total"]
        found = c.get("/v1/accounts?q=AN").json()
        assert {a["handle"] for a in found["accounts"]} >= {"ana"}
        assert all("an" in a["handle"].lower() for a in found["accounts"])
        two = c.get("/v1/accounts?limit=2").json()
        assert len(two["accounts"]) == 2 and two["next_offset"] == 2
        assert c.get("/v1/accounts?limit=2&offset=2").json()["accounts"][0] == twin["accounts"][2]
        assert "More accounts" in c.get("/?offset=0").text or twin["total"] <= 30


def test_sign_in_sets_a_strict_httponly_cookie_and_pages_work(secured) -> None:
    c, made = secured
    r = c.get("/u/me/explore")
    assert r.status_code == 401 and 'action="/signin"' in r.text  # the form, not JSON
    assert sign_in(c, "dsc_wrong").status_code == 401
    r = sign_in(c, made["me"])
    assert r.status_code == 303 and r.headers["location"] == "/u/me/explore"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert "Secure" not in cookie and made["me"] not in cookie
    assert c.get("/u/me/explore").status_code == 200
    assert c.get("/v1/users/me/feed").status_code == 200  # the page's JSON twin too
    assert c.get("/u/ana/explore").status_code == 403  # only as themselves
    assert c.get("/", follow_redirects=False).headers["location"] == "/u/me/explore"
    form = {"kind": "like", "post": "101"}
    assert c.post("/u/ana/events", data=form).status_code == 403
    assert c.post("/u/me/events", data=form, follow_redirects=False).status_code == 303
    evil = {"origin": "https://evil.example"}
    assert c.post("/u/me/events", data=form, headers=evil).status_code == 403
    body = {"id": "x1", "user": "me", "kind": "like", "post": 101}
    assert c.post("/v1/events", json=body, headers=evil).status_code == 403


def test_cookie_is_secure_over_https(db: Path) -> None:
    made = tokens(db)
    with TestClient(create_app(db), base_url="https://testserver") as c:
        cookie = sign_in(c, made["me"]).headers["set-cookie"]
        assert "Secure" in cookie


def test_admin_session_acts_for_anyone(secured) -> None:
    c, made = secured
    sign_in(c, made["admin"])
    assert c.get("/u/ana/explore").status_code == 200
    assert c.get("/").status_code == 200  # an admin gets the front door


def test_tampered_expired_signed_out_and_revoked_cookies_are_refused(
    secured, db: Path, monkeypatch
) -> None:
    c, made = secured
    sign_in(c, made["me"])
    value = c.cookies[sessions.COOKIE]
    token_hash, issued, mac = value.split(".")
    for bad in (
        f"{token_hash}.{int(issued) + 1}.{mac}",  # changed time, old MAC
        f"{hash_token(made['ana'])}.{issued}.{mac}",  # another token
        value[:-2] + ("AA" if not value.endswith("AA") else "BB"),
        "garbage",
    ):
        use(c, bad)
        assert c.get("/u/me/explore").status_code == 401
    use(c, value)
    assert c.get("/u/me/explore").status_code == 200
    monkeypatch.setenv(sessions.SESSION_DAYS_ENV, "0.001")  # 86 s
    key = sessions.session_secret(c.app.state.service, create=False)
    old = sessions.make_cookie(key, token_hash, sessions.now_ms() - 90_000)
    use(c, old)
    assert c.get("/u/me/explore").status_code == 401  # expired
    monkeypatch.delenv(sessions.SESSION_DAYS_ENV)
    use(c, value)
    assert c.post("/signout", follow_redirects=False).status_code == 303
    use(c, value)  # a copy kept from before sign-out
    assert c.get("/u/me/explore").status_code == 401
    c.cookies.clear()
    sign_in(c, made["me"])
    assert c.get("/u/me/explore").status_code == 200
    r = CliRunner().invoke(cli, ["--db", str(db), "token", "revoke", "me"])
    assert r.exit_code == 0, r.output
    assert c.get("/u/me/explore").status_code == 401
    assert (
        c.get("/v1/users/me/feed", headers={"Authorization": f"Bearer {made['me']}"}).status_code
        == 401
    )


def test_token_list_and_revoke_never_print_a_secret(db: Path) -> None:
    made = tokens(db)
    runner = CliRunner()
    out = runner.invoke(cli, ["--db", str(db), "token", "list", "--json"])
    assert out.exit_code == 0
    for token in made.values():
        assert token not in out.output and token[4:20] not in out.output
    rows = [__import__("json").loads(line) for line in out.stdout.splitlines()]
    assert sorted(str(r["handle"]) for r in rows) == ["None", "ana", "me"]
    assert all(r["last_used"] is None for r in rows)
    with TestClient(create_app(db)) as c:
        c.get("/v1/users/me/feed", headers={"Authorization": f"Bearer {made['me']}"})
    rows = [
        __import__("json").loads(line)
        for line in runner.invoke(
            cli, ["--db", str(db), "token", "list", "--json"]
        ).stdout.splitlines()
    ]
    used = {r["handle"]: r["last_used"] for r in rows}
    assert used["me"] is not None and used["ana"] is None
    table = runner.invoke(cli, ["--db", str(db), "token", "list"], env={"COLUMNS": "200"})
    assert "@ana" in table.output and all(t not in table.output for t in made.values())
    ana_id = hash_token(made["ana"])[:12]
    r = runner.invoke(cli, ["--db", str(db), "token", "revoke", ana_id[:8]])
    assert r.exit_code == 0 and ana_id in r.output and made["ana"] not in r.output
    assert runner.invoke(cli, ["--db", str(db), "token", "revoke", "nobody"]).exit_code == 1
    with Store.open(db) as s:
        assert {t.handle for t in s.list_tokens()} == {"me", None}


def test_profile_page_is_its_json_twin_and_shows_state(db: Path) -> None:
    with TestClient(create_app(db)) as c:
        twin = c.get("/v1/users/ana/profile?u=me&limit=12&offset=0").json()
        page = c.get("/u/ana/profile?u=me")
        assert page.status_code == 200
        ids = [
            int(x)
            for x in re.findall(r'<article class="tile" tabindex="0" data-post="(\d+)"', page.text)
        ]
        assert ids == [p["post_id"] for p in twin["posts"]]
        taken = [p["taken_at"] for p in twin["posts"]]
        assert taken == sorted(taken, reverse=True)  # newest first
        assert f"{twin['counts']['followers']} followers" in page.text
        assert twin["viewer"]["following"] and "Following" in page.text
        pid = twin["posts"][0]["post_id"]
        assert not twin["posts"][0]["liked"]
        form = {"kind": "like", "post": str(pid), "next": "/u/ana/profile?u=me"}
        r = c.post("/u/me/events", data=form)
        assert r.status_code == 200 and "♥ Liked" in r.text
        assert c.get("/v1/users/ana/profile?u=me").json()["posts"][0]["liked"]
        assert "♥ Liked" in c.get(f"/p/{pid}?u=me").text
        c.post("/u/me/events", data={"kind": "unlike", "post": str(pid)})
        assert not c.get("/v1/users/ana/profile?u=me").json()["posts"][0]["liked"]
        c.post("/u/me/events", data={"kind": "unfollow", "target": "ana"})
        again = c.get("/u/ana/profile?u=me").text
        assert ">Follow<" in again and "Following" not in again


def test_block_from_profile_removes_posts_from_explore(db: Path) -> None:
    with TestClient(create_app(db)) as c:
        explore = c.get("/v1/users/me/feed?kind=explore&limit=50").json()["items"]
        author = explore[0]["author"]
        c.post("/u/me/events", data={"kind": "block", "target": author})
        profile = c.get(f"/u/{author}/profile?u=me")
        assert "Blocked" in profile.text
        after = c.get("/v1/users/me/feed?kind=explore&limit=50").json()["items"]
        assert author not in {i["author"] for i in after}
        c.post("/u/me/events", data={"kind": "unblock", "target": author})
        assert ">Block<" in c.get(f"/u/{author}/profile?u=me").text


@pytest.mark.parametrize("handle", [BAD_HANDLE, BIDI])
def test_hostile_handles_are_inert_on_new_pages(db: Path, handle: str) -> None:
    from urllib.parse import quote

    with TestClient(create_app(db)) as c:
        for path in (
            f"/?q={quote(handle[:6], safe='')}",
            f"/u/{quote(handle, safe='')}/profile?u=me",
            f"/u/me/profile?u={quote(handle, safe='')}",
        ):
            r = c.get(path)
            assert r.status_code == 200, (path, r.text[:200])
            assert "<script>alert" not in r.text
            assert "\u202e" not in r.text


def test_sign_in_form_is_refused_from_other_sites(secured) -> None:
    c, made = secured
    r = c.post(
        "/signin",
        data={"token": made["me"]},
        headers={"origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert r.status_code == 403 and "set-cookie" not in r.headers


def test_revoking_the_last_token_locks_the_store_instead_of_opening_it(db: Path) -> None:
    with Store.open(db) as s:
        token = create_token(s, s.account_id("me"))
        assert s.any_tokens()
    r = CliRunner().invoke(cli, ["--db", str(db), "token", "revoke", "me"])
    assert r.exit_code == 0, r.output
    with Store.open(db) as s:
        assert s._fetch("SELECT COUNT(*) FROM tokens") == [(0,)]
        assert s.any_tokens()  # no token left, yet never open again
    with TestClient(create_app(db)) as c:
        assert c.get("/v1/users/me/feed").status_code == 401
        assert (
            c.get("/v1/users/me/feed", headers={"Authorization": f"Bearer {token}"}).status_code
            == 401
        )
