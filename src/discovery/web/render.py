"""Rendering helpers shared by the pages and the standalone network file: the Jinja2
environment (autoescape on for everything), the image-source rule and the security headers.

Image rule (:func:`media_url`): an ``<img>`` source is either an http(s) URL or a path under the
server's own ``/media/`` route built from a relative media path with no scheme, no ``..`` and
no backslash; anything else (``javascript:``, ``data:``, ``file:``, ``//host``) gives no image.

>>> media_url("p/001/000101.jpg"), media_url("javascript:alert(1)"), media_url("../x.jpg")
('/media/p/001/000101.jpg', None, None)
"""

from __future__ import annotations

import functools
import json
import math
from typing import Any
from urllib.parse import quote

from .._version import __version__
from .assets import TEMPLATES_DIR

__all__ = ["CSP", "SECURITY_HEADERS", "environment", "media_url", "script_json"]

#: Content-Security-Policy of every page: scripts and styles only from this server's files
#: (no inline code), images from here or http(s), fetches only back to this server.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' http: https:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def media_url(image: str | None) -> str | None:
    """The ``src`` for a post's ``image`` (see the module docstring), or ``None``."""
    if not image or not isinstance(image, str):
        return None
    if any(ord(c) < 33 or c in "\"'<>`\\" for c in image):
        return None
    low = image.lower()
    if low.startswith(("http://", "https://")):
        return image
    if ":" in image.split("/")[0] or image.startswith("/"):
        return None
    if ".." in image.split("/") or "?" in image or "#" in image:
        return None
    return "/media/" + quote(image, safe="/")


def script_json(data: Any) -> str:
    """JSON safe inside ``<script type="application/json">``: ``<``, ``>``, ``&`` and the line
    separators escaped, so no text can close the element."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(ch, esc)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _num(value: Any, digits: int = 3) -> str:
    x = float(value)
    return "–" if not math.isfinite(x) else f"{x:.{digits}g}"


@functools.lru_cache(maxsize=1)
def environment() -> Any:
    """The Jinja2 environment of ``web/templates`` (autoescape on for every template)."""
    import jinja2
    from markupsafe import Markup

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["media"] = media_url
    env.filters["q"] = lambda s: quote(str(s), safe="")
    env.filters["num"] = _num
    env.filters["script_json"] = lambda d: Markup(script_json(d))
    env.globals["version"] = __version__
    return env
