"""The README's "Quick start" and "In the browser", walked end to end on a fresh database.

The commands and URLs are read from README.md itself (:mod:`readme_walk`): each ``discovery``
command (``make`` lines through their Makefile recipe) runs as a subprocess on a new temporary
database, the server the README starts is started on a free port, and every page the section
names is opened in Chromium and checked against what the README says it shows, with the page's
JSON twin as the known answer (same posts, same order, the same reasons and counts).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from e2e.conftest import CHROMIUM_ARGS, Watched, chromium_path, free_port
from readme_walk import LOCAL, Step, code_blocks, page_rows, section, steps, urls

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
MAKEFILE = (ROOT / "Makefile").read_text(encoding="utf-8")
CLI = [sys.executable, "-m", "discovery"]


# ------------------------------------------------------------------ the reader, on known text
SAMPLE = """\
## Quick start
```bash
make demo   # builds it
make test   # lint and tests
```
Then http://127.0.0.1:8000/u/me/explore.
### Sub
```bash
discovery --db other.db graph me
```
## In the browser
```bash
.venv/bin/discovery --db demo.db serve --workers 2 # then open http://127.0.0.1:8000/
```
| page | what | JSON twin (same code) |
|---|---|---|
| `/u/{handle}/explore` | a grid | `/v1/users/{handle}/feed?kind=explore` |
| `/signin`, `/signout` | sign in | |
"""
SAMPLE_MAKEFILE = (
    "demo: install\n\t$(BIN)/discovery --db $(DB) demo\n\ntest: lint\n\t$(BIN)/pytest -q\n"
)


def test_the_reader_on_a_known_readme() -> None:
    quick = section(SAMPLE, "Quick start")
    assert "graph me" not in quick  # a subsection is not the section's own text
    assert steps(quick, SAMPLE_MAKEFILE, "t.db") == [
        Step(("--db", "t.db", "demo"), "make demo   # builds it")  # make test runs no discovery
    ]
    assert urls(quick) == ["http://127.0.0.1:8000/u/me/explore"]
    browser = section(SAMPLE, "In the browser")
    (serve,) = steps(browser, SAMPLE_MAKEFILE, "t.db")
    assert serve.args == ("--db", "t.db", "serve", "--workers", "2") and serve.serves
    assert urls(browser) == ["http://127.0.0.1:8000/"]
    rows = page_rows(browser)
    assert [r.pages for r in rows] == [("/u/{handle}/explore",), ("/signin", "/signout")]
    assert rows[0].twins == ("/v1/users/{handle}/feed?kind=explore",) and rows[1].twins == ()


def test_the_readme_has_what_the_walk_needs() -> None:
    """Guards the walk below from passing on an empty reading."""
    db = "walk.db"
    quick = steps(section(README, "Quick start"), MAKEFILE, db)
    browser = steps(section(README, "In the browser"), MAKEFILE, db)
    assert any(s.args[2:] == ("demo",) for s in quick), quick
    assert [s for s in browser if s.serves], browser
    pages = [p for r in page_rows(section(README, "In the browser")) for p in r.pages]
    assert "/u/{handle}/explore" in pages and "/" in pages, pages
    assert any(u.startswith(f"{LOCAL}/u/") for u in urls(section(README, "In the browser")))


# ------------------------------------------------------------------------------ the walk
@dataclass
class Walk:
    """The walk's server, browser page and database."""

    base: str
    page: Watched
    db: Path

    def api(self, path: str) -> Any:
        with urllib.request.urlopen(self.base + path, timeout=30) as r:
            assert r.status == 200, path
            return json.loads(r.read())

    def visit(self, path: str) -> Any:
        response = self.page.page.goto(self.base + path)
        assert response is not None and response.status == 200, (path, response)
        return self.page.page

    def text(self) -> str:
        return " ".join(str(self.page.page.evaluate("document.body.textContent")).split())

    def posts(self) -> list[int]:
        """The posts the page links to, in order, each once."""
        hrefs = self.page.page.eval_on_selector_all("a[href]", "as => as.map(a => a.href)")
        ids = [int(m[1]) for h in hrefs if (m := re.search(r"/p/(\d+)", h))]
        return list(dict.fromkeys(ids))

    def buttons(self) -> str:
        return " ".join(
            self.page.page.eval_on_selector_all("button", "bs => bs.map(b => b.textContent)")
        )


def _explore(w: Walk, path: str) -> None:
    """A photo grid; every tile's reason and score breakdown; Like and Show less."""
    w.visit(path)
    shown = w.posts()
    twin = w.api(f"/v1/users/me/feed?kind=explore&limit={len(shown)}")["items"]
    assert shown and shown == [i["post_id"] for i in twin]
    text = w.text()
    assert all(i["reason"] in text for i in twin), "a reason is missing"
    images = w.page.page.eval_on_selector_all("img", "is => is.map(i => i.getAttribute('src'))")
    assert sum(src.startswith("/media/") for src in images) >= sum(bool(i["image"]) for i in twin)
    assert "Like" in w.buttons() and "Show less" in w.buttons()


def _timeline(w: Walk, path: str) -> None:
    w.visit(path)
    shown = w.posts()
    twin = w.api(f"/v1/users/me/feed?kind=timeline&limit={len(shown)}")["items"]
    assert shown and shown == [i["post_id"] for i in twin]
    assert all(f"@{i['author']}" in w.text() for i in twin)


def _interests(w: Walk, path: str) -> None:
    """Learned hashtags as chips; ``?tag=`` shows that interest's posts."""
    w.visit(path)
    twin = w.api("/v1/users/me/interests?k=12&per_tag=12")["interests"]
    assert twin and all(f"#{i['tag']}" in w.text() for i in twin)
    tag = twin[0]
    w.visit(f"{urlsplit(path).path}?tag={quote(tag['tag'])}")
    assert w.posts() == [p["post_id"] for p in tag["posts"]] != []


def _post(w: Walk, path: str) -> None:
    """Caption, counts, hashtags, why it is shown (every factor), more like this."""
    w.visit(path)
    post = int(re.search(r"/p/(\d+)", path)[1])  # type: ignore[index]
    body, text = w.api(f"/v1/posts/{post}"), w.text()
    assert " ".join(body["caption"].split()) in text
    assert all(f"#{t}" in text for t in body["hashtags"])
    why = w.api(f"/v1/users/me/explain/{post}")
    assert why["reason"] in text
    assert all(name in text for name in why["rankers"]["default"]["factors"])
    shown = [p for p in w.posts() if p != post]
    similar = w.api(f"/v1/posts/{post}/similar?limit={len(shown)}")["items"]
    assert shown and shown == [i["post_id"] for i in similar]


def _network(w: Walk, path: str) -> None:
    w.visit(path)
    nodes = w.api("/v1/users/me/graph")["nodes"]
    text = w.text()
    assert "@me" in text
    assert any(f"@{n['handle']}" in text for n in nodes if n["hop"] == 1)
    assert any(f"@{n['handle']}" in text for n in nodes if n["hop"] == 2)


def _tune(w: Walk, path: str) -> None:
    w.visit(path)
    sliders = w.page.page.eval_on_selector_all("input[type=range]", "rs => rs.map(r => r.id)")
    text = w.text().lower()
    assert len(sliders) >= 4 and all(
        word in text for word in ("recency", "affinity", "interest", "popularity")
    )
    assert "Save" in w.buttons()
    shown = w.posts()
    assert shown == [
        i["post_id"] for i in w.api(f"/v1/users/me/feed?kind=explore&limit={len(shown)}")["items"]
    ]


def _front(w: Walk, path: str) -> None:
    """Accounts to view as, ``me`` first, searchable by handle."""
    page = w.visit(path)
    links = page.eval_on_selector_all("a[href$='/explore']", "as => as.map(a => a.pathname)")
    assert links[0] == "/u/me/explore", links[:3]
    author = w.api("/v1/users/me/feed?kind=explore&limit=1")["items"][0]["author"]
    page.get_by_role("searchbox").fill(author)
    page.get_by_role("searchbox").press("Enter")
    page.wait_for_url(re.compile(r"[?&]q="))
    found = page.eval_on_selector_all("a[href$='/explore']", "as => as.map(a => a.pathname)")
    handles = [p.split("/")[2] for p in found if p.startswith("/u/")]
    assert f"/u/{quote(author)}/explore" in found and all(author in h for h in handles)


def _profile(w: Walk, path: str) -> None:
    """Posts newest first, the counts, Follow and Block for the viewer."""
    w.visit(path)
    parts = urlsplit(path)
    twin = w.api(f"{'/v1/users/' + parts.path.split('/')[2]}/profile?{parts.query}")
    shown = w.posts()
    assert shown == [p["post_id"] for p in twin["posts"]][: len(shown)] and shown
    text = w.text()
    assert all(str(n) in text for n in twin["counts"].values())
    if not twin["viewer"]["self"]:
        assert re.search(r"Follow(ing)?", w.buttons()) and re.search(r"Block(ed)?", w.buttons())


CHECKS: dict[str, Callable[[Walk, str], None]] = {
    "/u/{handle}/explore": _explore,
    "/u/{handle}/timeline": _timeline,
    "/u/{handle}/interests": _interests,
    "/p/{post_id}?u={handle}": _post,
    "/u/{handle}/network": _network,
    "/u/{handle}/tune": _tune,
    "/": _front,
    "/u/{handle}/profile?u={viewer}": _profile,
}


def _pattern(page: str) -> re.Pattern[str]:
    path = re.escape(page.split("?")[0]).replace(r"\{post_id\}", r"\d+")
    return re.compile(re.sub(r"\\\{\w+\\\}", r"[^/?]+", path) + r"(\?.*)?$")


def _check_for(path: str) -> Callable[[Walk, str], None] | None:
    return next((f for p, f in CHECKS.items() if _pattern(p).match(path)), None)


def _concrete(page: str, w: Walk) -> str:
    first = w.api("/v1/users/me/feed?kind=explore&limit=1")["items"][0]
    values = {"handle": "me", "viewer": "me", "post_id": str(first["post_id"])}
    if "{viewer}" in page:  # someone else's profile, seen by me: the buttons show
        values["handle"] = quote(first["author"])
    return re.sub(r"\{(\w+)\}", lambda m: values[m[1]], page)


@pytest.fixture
def chromium() -> Iterator[Any]:
    path = chromium_path()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("no Chromium at /usr/bin/chromium (apt-get install chromium)")
        pytest.skip("no Chromium at /usr/bin/chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _serve(step: Step, cwd: Path) -> tuple[subprocess.Popen[bytes], str]:
    args = list(step.args)
    if "--port" in args:
        del args[args.index("--port") : args.index("--port") + 2]
    port, log = free_port(), cwd / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*CLI, *args, "--port", str(port)], cwd=cwd, stdout=out, stderr=subprocess.STDOUT
        )
    base, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2):
                return proc, base
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"{step.line}: the server did not start:\n{log.read_text()}")
        time.sleep(0.2)


def _demo_prints(out: str) -> None:
    """What the README's "What `make demo` prints" shows: the explore table's title and
    columns, then the other feeds, and where the page and the live pages are."""
    shown = code_blocks(section(README, "What `make demo` prints"))[0].splitlines()
    title = next(line.strip() for line in shown if line.strip())
    header = next(line for line in shown if "┃" in line)
    assert title in out, title
    for column in (c.strip() for c in header.split("┃") if c.strip()):
        assert column in out, column
    for said in ("timeline for @me", "tutorial's formula", "interests of @me", ".demo.html"):
        assert said in out, said
    assert f"{LOCAL}/u/me/explore" in " ".join(out.split()).replace("/ u", "/u")


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_quick_start_and_the_browser_pages_on_a_fresh_database(
    tmp_path: Path, chromium: Any
) -> None:
    db = str(tmp_path / "walk.db")
    todo = [
        *steps(section(README, "Quick start"), MAKEFILE, db),
        *steps(section(README, "In the browser"), MAKEFILE, db),
    ]
    env = {**os.environ, "COLUMNS": "120"}
    ran: set[tuple[str, ...]] = set()
    server: subprocess.Popen[bytes] | None = None
    try:
        for step in todo:
            if step.args in ran:
                continue  # make demo twice: the second prints the same feeds again
            ran.add(step.args)
            if step.serves:
                server, base = _serve(step, tmp_path)
                continue
            done = subprocess.run(
                [*CLI, *step.args], cwd=tmp_path, capture_output=True, text=True, env=env
            )
            assert done.returncode == 0, f"{step.line}\n{done.stderr}"
            if step.args[2:] == ("demo",):
                _demo_prints(done.stdout)
                assert Path(f"{db}.demo.html").is_file()
        assert server is not None, "the README starts no server"
        _browse(tmp_path, base, chromium)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)


def _watched(context: Any) -> Watched:
    w = Watched(context.new_page())
    w.page.set_default_timeout(60_000)  # the demo world's pages on a loaded 2-core machine
    return w


def _browse(tmp_path: Path, base: str, chromium: Any) -> None:
    context = chromium.new_context(viewport={"width": 1200, "height": 900})
    walk = Walk(base, _watched(context), tmp_path / "walk.db")
    try:
        browser_text = section(README, "In the browser")
        named = [u.removeprefix(LOCAL) or "/" for u in urls(section(README, "Quick start"))]
        named += [u.removeprefix(LOCAL) or "/" for u in urls(browser_text)]
        rows = page_rows(browser_text)
        named += [_concrete(p, walk) for r in rows for p in r.pages if p != "/signout"]
        checked = set()
        for path in dict.fromkeys(named):
            check = _check_for(path)
            if check is None:
                walk.visit(path)  # a page the walk has no check for yet: it answers
            else:
                check(walk, path)
                checked.add(check)
        assert checked == set(CHECKS.values()), "a page of the table was not walked"
        for twin in (t for r in rows for t in r.twins if t.startswith("/v1/")):
            walk.api(_concrete(twin.replace("{id}", "{post_id}"), walk))
        walk.page.assert_clean()
    finally:
        context.close()
    _sign_in(tmp_path, base, chromium, browser_text)


def _sign_in(tmp_path: Path, base: str, chromium: Any, text: str) -> None:
    """ "With tokens configured, a page asked for without a session shows a sign-in form: paste
    a token from `discovery token create HANDLE`" ... "Sign out in the top bar ends it"."""
    assert "discovery token create HANDLE" in text
    made = subprocess.run(
        [*CLI, "--db", str(tmp_path / "walk.db"), "token", "create", "me"],
        capture_output=True,
        text=True,
        check=True,
    )
    token = made.stdout.strip()
    context = chromium.new_context(viewport={"width": 1200, "height": 900})
    w = _watched(context)
    try:
        page = w.page
        page.goto(base + "/u/me/explore")
        page.locator("input[type=password]").fill(token)
        page.locator("input[type=password]").press("Enter")
        page.wait_for_url(re.compile(r"/u/me/explore"))
        assert page.locator("a[href*='/p/']").count() > 0
        page.get_by_role("button", name=re.compile("Sign out")).click()
        page.wait_for_selector("input[type=password]")  # the sign-in form again
        page.goto(base + "/u/me/explore")
        assert page.locator("input[type=password]").count() == 1
        # the sign-in form answers a page asked for without a session with 401, which Chromium
        # logs as a failed resource; nothing else may go wrong
        w.console = [m for m in w.console if "status of 401" not in m]
        w.assert_clean()
    finally:
        context.close()
