"""Issue 15, section 5 in a real browser: emoji drawn from a colour emoji font, a mobile nav
that keeps every link on screen, and network labels that do not overlap.

Chromium tells what it drew: ``CSS.getPlatformFontsForNode`` (DevTools protocol) names the
fonts that rendered a node's text, and label boxes are read from cytoscape
(``renderedBoundingBox``) and from the SVG's ``getBoundingClientRect``.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import urllib.request
from typing import Any

import pytest

from .conftest import Watched
from .conftest import _unavailable as unavailable

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

EMOJI = "😀🍣"
PAGES = ["explore", "timeline", "interests", "network", "tune", "profile?u=me"]


def post_json(base: str, path: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as r:
        return json.loads(r.read())


def fonts_of(page: Any, selector: str) -> dict[str, int]:
    """``{font family: glyphs}`` Chromium used for the text of the first ``selector``."""
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
        return {f["familyName"]: int(f["glyphCount"]) for f in fonts}
    finally:
        cdp.detach()


def coloured_pixels(png: bytes) -> int:
    """Pixels whose channels differ by more than 80: text is grey, a colour emoji is not."""
    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(png)) as im:
        rgb = np.asarray(im.convert("RGB"), dtype=np.int16)
    return int(np.count_nonzero(rgb.max(axis=2) - rgb.min(axis=2) > 80))


def emoji_font_installed() -> bool:
    fc = shutil.which("fc-list")
    if fc is None:
        return False
    out = subprocess.run([fc, ":", "family"], capture_output=True, text=True, check=False)
    return "Noto Color Emoji" in out.stdout


def test_an_emoji_caption_is_drawn_from_a_colour_emoji_font(server: str, watched: Any) -> None:
    if not emoji_font_installed():
        unavailable("no colour emoji font (apt-get install fonts-noto-color-emoji)")
    # a new account nobody follows, so the post reaches no other test's feeds
    post_json(server, "/v1/accounts", {"handle": "emoji.picnic", "display_name": "Picnic"})
    made = post_json(server, "/v1/posts", {"author": "emoji.picnic", "caption": f"Picnic {EMOJI}"})
    page = watched.page
    page.goto(f"{server}/p/{made['post_id']}?u=me")
    caption = page.locator("p.caption")
    assert caption.inner_text() == f"Picnic {EMOJI}"
    fonts = fonts_of(page, "p.caption")
    assert fonts.get("Noto Color Emoji", 0) == 2, fonts  # both emoji, from the emoji font
    # the two glyphs take room and are in colour (a missing glyph is a grey box or nothing)
    width = page.evaluate(
        """() => { const p = document.querySelector("p.caption"), r = document.createRange();
                   const t = p.firstChild; r.setStart(t, t.length - 4); r.setEnd(t, t.length);
                   return r.getBoundingClientRect().width; }"""
    )
    assert width > 20
    assert coloured_pixels(caption.screenshot()) > 50
    watched.shot("polish-emoji")


@pytest.fixture
def phone(browser: Any) -> Any:
    context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2)
    w = Watched(context.new_page())
    try:
        yield w
        w.assert_clean()
    finally:
        context.close()


@pytest.mark.parametrize("name", PAGES)
def test_the_mobile_nav_keeps_every_link_on_screen(server: str, phone: Any, name: str) -> None:
    page = phone.page
    # the network page loads hundreds of thumbnails: the layout is what matters, not the images
    assert page.goto(f"{server}/u/me/{name}", wait_until="domcontentloaded").status == 200
    links = page.locator("header.topbar nav a")
    assert links.count() == 5
    for i in range(links.count()):
        box = links.nth(i).bounding_box()
        assert box is not None and box["width"] > 0, links.nth(i).inner_text()
        x, y, right, bottom = box["x"], box["y"], box["x"] + box["width"], box["y"] + box["height"]
        assert x >= 0 and y >= 0 and right <= 360 and bottom <= 740, (
            links.nth(i).inner_text(),
            box,
        )
        # nothing is drawn over the link: it is what a tap at its centre reaches
        hit = page.evaluate(
            "([x, y]) => document.elementFromPoint(x, y).closest('a')?.textContent",
            [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
        )
        assert hit == links.nth(i).inner_text()
    overflow = page.evaluate("document.documentElement.scrollWidth")
    assert overflow <= 360, f"the page scrolls sideways: {overflow}px"
    phone.shot(f"polish-mobile-{name.split('?')[0]}")


def overlapping(boxes: list[tuple[str, float, float, float, float]]) -> list[tuple[str, str]]:
    """Pairs of ``(text, x1, y1, x2, y2)`` boxes that share any area."""
    return [
        (a[0], b[0])
        for i, a in enumerate(boxes)
        for b in boxes[i + 1 :]
        if a[1] < b[3] and b[1] < a[3] and a[2] < b[4] and b[2] < a[4]
    ]


def test_network_labels_do_not_overlap_in_cytoscape(server: str, watched: Any) -> None:
    page = watched.page
    page.goto(server + "/u/me/network", wait_until="domcontentloaded")
    page.wait_for_function("window.discoveryNetwork !== undefined")
    shown = page.evaluate(
        """() => window.discoveryNetwork.nodes('[labelled = 1]').map(n => {
             const b = n.renderedBoundingBox({includeNodes: false, includeEdges: false,
                                              includeLabels: true});
             return [n.data('label'), b.x1, b.y1, b.x2, b.y2]; })"""
    )
    assert len(shown) >= 8, shown  # the centre and the top accounts are named
    assert overlapping(shown) == []
    # no named label covers another node's disc either
    discs = page.evaluate(
        """() => window.discoveryNetwork.nodes().map(n => {
             const b = n.renderedBoundingBox({includeLabels: false});
             return [n.data('label'), b.x1, b.y1, b.x2, b.y2]; })"""
    )
    inset = [(t, x1 + 2, y1 + 2, x2 - 2, y2 - 2) for t, x1, y1, x2, y2 in discs]  # borders
    assert [(a[0], b[0]) for a in shown for b in inset if overlapping([a, b])] == []
    # zoomed in 3x, the labels cytoscape draws (font x zoom at least its min-zoomed-font-size,
    # zoom rounded up to a power of two) are still only those, still apart
    drawn = page.evaluate(
        """() => { const cy = window.discoveryNetwork;
             cy.zoom({level: 3, renderedPosition: {x: cy.width() / 2, y: cy.height() / 2}});
             const z = Math.pow(2, Math.ceil(Math.log2(cy.zoom())));
             return cy.nodes().filter(n => n.pstyle('font-size').pfValue * z >=
                                           n.pstyle('min-zoomed-font-size').pfValue)
                      .map(n => { const b = n.renderedBoundingBox({includeNodes: false,
                                    includeEdges: false, includeLabels: true});
                                  return [n.data('label'), b.x1, b.y1, b.x2, b.y2]; }); }"""
    )
    assert sorted(d[0] for d in drawn) == sorted(s[0] for s in shown)
    assert overlapping(drawn) == []
    watched.shot("polish-network-labels")


def test_network_labels_do_not_overlap_in_the_svg(server: str, no_js: Any) -> None:
    page = no_js.page
    page.goto(server + "/u/me/network", wait_until="domcontentloaded")
    shown = page.eval_on_selector_all(
        "svg.network-svg g.labels text",
        """ts => ts.map(t => { const b = t.getBoundingClientRect();
                                return [t.textContent, b.left, b.top, b.right, b.bottom]; })""",
    )
    assert len(shown) >= 8 and all(b[3] > b[1] for b in shown), shown
    assert overlapping(shown) == []
    no_js.shot("polish-network-svg")
