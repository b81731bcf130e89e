"""Fixtures of the browser tests: a generated tiny world with hostile posts, a real
``discovery serve`` process on a free loopback port, and Debian's Chromium driven by Playwright.

Playwright's own browser download is not used: the tests drive ``/usr/bin/chromium`` (or
``$DISCOVERY_CHROMIUM``). Without it the tests are skipped with the reason, except under CI
(``$CI`` set), where a missing browser is an error. Screenshots go to ``artifacts/screenshots``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .hostile import add_hostile

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    path = os.environ.get("DISCOVERY_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    return path if Path(path).is_file() else None


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run in CI: {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def discovery(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "discovery", *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``discovery generate --size tiny`` plus :mod:`.hostile` posts."""
    db = tmp_path_factory.mktemp("world") / "tiny.db"
    discovery("--db", str(db), "generate", "--size", "tiny")
    add_hostile(db)
    return db


@pytest.fixture(scope="session")
def server(world: Path) -> Iterator[str]:
    """A real ``discovery serve`` subprocess; yields its base URL."""
    port = free_port()
    log = open(world.with_suffix(".server.log"), "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "discovery", "--db", str(world), "serve", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
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
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                raise RuntimeError(
                    "discovery serve did not start:\n"
                    + world.with_suffix(".server.log").read_text()
                )
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="package")  # closed before the walk of test_readme_walk.py starts its
def browser() -> Iterator[Any]:  # own: two sync Playwrights cannot share a thread
    path = chromium_path()
    if path is None:
        _unavailable("no Chromium at /usr/bin/chromium (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[dev]')")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


class Watched:
    """A page plus everything that must never happen on it: dialogs (a script ran), page
    errors, and console messages (CSP violations are reported there)."""

    def __init__(self, page: Any) -> None:
        self.page = page
        page.set_default_timeout(30_000)  # a loaded 2-core CI machine: 10 s was flaky
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.console: list[str] = []
        page.on("dialog", self._dialog)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def shot(self, name: str) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=False)
        return path

    def assert_clean(self) -> None:
        assert self.dialogs == [], f"a script ran: {self.dialogs}"
        assert self.errors == [], f"page errors: {self.errors}"
        bad = [m for m in self.console if m.startswith("error") or "Content Security" in m]
        assert bad == [], f"console errors: {bad}"


@pytest.fixture
def watched(browser: Any) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    w = Watched(context.new_page())
    try:
        yield w
        w.assert_clean()
    finally:
        context.close()


@pytest.fixture
def no_js(browser: Any) -> Iterator[Watched]:
    context = browser.new_context(
        viewport={"width": 1200, "height": 900}, java_script_enabled=False
    )
    w = Watched(context.new_page())
    try:
        yield w
        w.assert_clean()
    finally:
        context.close()
