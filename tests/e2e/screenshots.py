"""Take the README screenshots (Explore and the network view) of a running or a fresh server.

    python tests/e2e/screenshots.py demo.db            # starts `discovery serve` on a free port
    python tests/e2e/screenshots.py demo.db --out docs/screenshots

Uses the same Chromium as the browser tests (``/usr/bin/chromium``). Not a test: run it after a
visible change to the pages, on the demo world (``discovery --db demo.db generate --size demo``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from e2e.conftest import CHROMIUM_ARGS, chromium_path, free_port  # noqa: E402


def _shrink(path: Path) -> None:
    """256-colour PNG (a third of the size, no visible change on these pages)."""
    from PIL import Image

    with Image.open(path) as im:
        small = im.convert("RGB").quantize(256, Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    small.save(path, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", type=Path)
    parser.add_argument("--out", type=Path, default=HERE.parents[1] / "docs" / "screenshots")
    parser.add_argument("--user", default="me")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "discovery", "--db", str(args.db), "serve", "--port", str(port)]
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2).close()
                break
            except OSError:
                time.sleep(0.2)
        path = chromium_path()
        if path is None:
            raise SystemExit("no Chromium at /usr/bin/chromium (apt-get install chromium)")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1100, "height": 860}, device_scale_factor=1)
            page.goto(f"{base}/u/{args.user}/explore")
            page.wait_for_load_state("networkidle")
            tile = page.locator("#grid .tile").nth(4)
            tile.hover()
            page.wait_for_timeout(300)
            page.screenshot(path=str(args.out / "explore.png"))
            page.goto(f"{base}/u/{args.user}/network")
            page.wait_for_function("() => window.discoveryNetwork")
            page.evaluate(
                "() => { const cy = window.discoveryNetwork;"
                " cy.nodes('[labelled = 1]').filter(n => n.data('centre') === 0)[0].emit('tap'); }"
            )
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(args.out / "network.png"))
            browser.close()
        for name in ("explore.png", "network.png"):
            _shrink(args.out / name)
        print(f"wrote {args.out / 'explore.png'} and {args.out / 'network.png'}")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
