"""Accounts in a real browser against a real server (issue 15 §1 and §3): the front door lists
and searches accounts; follow from a profile and see "Following"; like then unlike a post; block
an author and see their posts leave Explore; then, with tokens, sign in, see your Explore, sign
out, and a revoked token's session refused."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from discovery.store import Store
from discovery.store.tokens import create_token

from .conftest import discovery, free_port

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]


@pytest.fixture(scope="module")
def own_server(world: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A server over a copy of the world (these tests add tokens, which would close the shared
    server's open mode)."""
    db = tmp_path_factory.mktemp("accounts") / "tiny.db"
    shutil.copy(world, db)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "discovery", "--db", str(db), "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
        yield base, db
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_front_door_lists_and_searches(own_server: Any, watched: Any) -> None:
    base, _ = own_server
    page = watched.page
    page.goto(base + "/")
    handles = page.eval_on_selector_all("li.account", "ls => ls.map(l => l.dataset.handle)")
    assert handles[0] == "me" and len(handles) > 3
    page.fill("#q", handles[2][:4])
    page.click("form.search-form button")
    found = page.eval_on_selector_all("li.account", "ls => ls.map(l => l.dataset.handle)")
    assert handles[2] in found and all(handles[2][:4].lower() in h.lower() for h in found)
    page.click(f'li.account[data-handle="{found[0]}"] a.account-main')
    page.wait_for_url("**/explore")
    watched.shot("front-door")


def test_follow_like_unlike_block(own_server: Any, watched: Any) -> None:
    base, _ = own_server
    page = watched.page
    page.goto(base + "/u/me/explore")
    author = page.locator("#grid .tile .tile-author a").first.inner_text().lstrip("@")
    # follow from the profile
    page.goto(f"{base}/u/{author}/profile?u=me")
    follow = page.locator(".profile-head button.follow")
    assert follow.inner_text() == "Follow"
    follow.click()
    page.wait_for_selector(".profile-head button.follow[aria-pressed=true]")
    assert page.locator(".profile-head button.follow").inner_text() == "Following"
    # like, then unlike, on the post page
    pid = page.locator("#grid .tile").first.get_attribute("data-post")
    page.goto(f"{base}/p/{pid}?u=me")
    like = page.locator(".post-side button.like")
    like.click()
    page.wait_for_selector('.post-side button.like[aria-pressed="true"]')
    assert "Liked" in like.inner_text()
    page.reload()
    assert "Liked" in page.locator(".post-side button.like").inner_text()  # from the server
    page.locator(".post-side button.like").click()
    page.wait_for_selector('.post-side button.like[aria-pressed="false"]')
    page.reload()
    assert page.locator(".post-side button.like").inner_text() == "♥ Like"
    # block an author of Explore: their posts leave it
    page.goto(base + "/u/me/explore")
    victim = page.locator("#grid .tile .tile-author a").first.inner_text().lstrip("@")
    page.goto(f"{base}/u/{victim}/profile?u=me")
    page.locator(".profile-head button.block").click()
    page.wait_for_selector(".profile-head button.block[aria-pressed=true]")
    page.goto(base + "/u/me/explore")
    authors = page.eval_on_selector_all(
        "#grid .tile .tile-author a", "as => as.map(a => a.textContent)"
    )
    assert authors and f"@{victim}" not in authors
    watched.shot("profile")


def test_sign_in_sign_out_and_revoked(own_server: Any, watched: Any) -> None:
    base, db = own_server
    with Store.open(db, create=False) as store:
        token = create_token(store, store.account_id("me"))
        # a second token: revoking the last one would make the database open again
        create_token(store, None, admin=True)
    page = watched.page
    r = page.goto(base + "/u/me/explore")
    assert r.status == 401 and page.locator("form.signin-form").count() == 1
    # the browser logs each expected 401 page load; nothing else may be logged
    watched.console[:] = [m for m in watched.console if "401 (Unauthorized)" not in m]
    page.fill("#token", token)
    page.click("form.signin-form button")
    page.wait_for_url(base + "/u/me/explore")
    assert page.locator("#grid .tile").count() > 0
    cookie = next(c for c in page.context.cookies() if c["name"] == "discovery_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    page.goto(base + "/")
    page.wait_for_url(base + "/u/me/explore")  # signed in: the front door is your Explore
    page.click("button.signout")
    page.wait_for_url("**/signin")
    assert page.goto(base + "/u/me/explore").status == 401
    # sign in again, then revoke the token: the session is refused
    page.fill("#token", token)
    page.click("form.signin-form button")
    page.wait_for_url(base + "/u/me/explore")
    discovery("--db", str(db), "token", "revoke", "me")
    r = page.goto(base + "/u/me/explore")
    assert r.status == 401 and page.locator("form.signin-form").count() == 1
    # the browser logs each expected 401 page load; nothing else may be logged
    watched.console[:] = [m for m in watched.console if "401 (Unauthorized)" not in m]
