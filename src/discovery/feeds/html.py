"""Static HTML for a feed: an image grid with reasons (Jupyter, and the `demo` page).

All user-generated text (captions, handles, reasons) is escaped, with control and bidi
characters shown as visible escapes (:func:`~discovery.store.validate.display_safe`); image
sources are limited to ``data:image/`` URIs, relative media paths and http(s) URLs.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import Any

from ..store.validate import display_safe

__all__ = ["feed_grid", "page", "safe_src"]

_STYLE = """
<style>
.de-grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(160px,1fr));gap:10px;
 font-family:system-ui,sans-serif;font-size:12px}
.de-card{border:1px solid #ddd;border-radius:6px;overflow:hidden;background:#fff}
.de-card img{width:100%;aspect-ratio:1/1;object-fit:cover;display:block;background:#eee}
.de-card .de-body{padding:6px}.de-reason{color:#555;font-style:italic}
.de-author{font-weight:600}.de-score{color:#888}
</style>
"""


def safe_src(src: str | None) -> str:
    """Only data images, http(s) URLs and relative paths may be an <img> source."""
    if not src:
        return ""
    low = src.strip().lower()
    if low.startswith(("data:image/", "http://", "https://")):
        return src
    if ":" in low.split("/")[0]:  # javascript:, file:, anything with a scheme
        return ""
    return src


def _text(text: str) -> str:
    return html.escape(display_safe(text))


def feed_grid(feed: Any, image_src: Callable[[Any], str | None] | None = None) -> str:
    """A grid of square thumbnails, each with author, reason and score."""
    cards = []
    for item in feed.items:
        src = safe_src(image_src(item) if image_src else item.image)
        caption = _text(item.caption[:140])
        cards.append(
            '<div class="de-card">'
            + (f'<img src="{html.escape(src)}" alt="{caption}">' if src else "")
            + '<div class="de-body">'
            + f'<div class="de-author">@{_text(item.author or "")}</div>'
            + f'<div class="de-reason">{_text(item.reason)}</div>'
            + f'<div class="de-score">#{item.rank} · score {item.score:.4g} · '
            + f"♥ {item.like_count} · 💬 {item.comment_count}</div>"
            + f"<div>{caption}</div></div></div>"
        )
    title = f"{html.escape(feed.kind)} for @{_text(feed.user)} · {html.escape(feed.ranker)}"
    return f"{_STYLE}<h3>{title}</h3><div class='de-grid'>{''.join(cards)}</div>"


def page(title: str, sections: Sequence[str]) -> str:
    """A standalone HTML document around already-escaped sections."""
    body = "\n".join(sections)
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
        "img-src 'self' data: http: https:; style-src 'unsafe-inline'\">"
        f"<title>{_text(title)}</title></head><body>{body}</body></html>"
    )
