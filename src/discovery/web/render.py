"""Rendering helpers shared by the pages and the standalone network file: the Jinja2
environment (autoescape on for everything, and every value shown through
:func:`~discovery.store.validate.display_safe`, so control and bidi characters in user text show
as visible escapes), the image-source rule and the security headers.

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
import re
from typing import Any
from urllib.parse import quote

from .._version import __version__
from ..store.validate import display_safe
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


_UNSAFE_JSON = re.compile(
    "[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u206f\ufeff]"
)


def script_json(data: Any) -> str:
    """JSON safe inside ``<script type="application/json">``: ``<``, ``>``, ``&``, the line
    separators and bidi controls escaped, so no text can close the element or reorder the
    source.

    >>> script_json({"h": "</script>\u202e"})
    '{"h":"\\\\u003c/script\\\\u003e\\\\u202e"}'
    """
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(ch, esc)
    # Control and bidi characters (only ever inside JSON strings) as \u escapes: the same data
    # once parsed, and no invisible reordering characters in the page source.
    return _UNSAFE_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def plural(count: Any, noun: str) -> str:
    """``"1 like"``, ``"2 likes"``, ``"1,234 likes"``.

    >>> plural(1, "like"), plural(0, "comment"), plural(1234, "like")
    ('1 like', '0 comments', '1,234 likes')
    """
    n = int(count)
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _num(value: Any, digits: int = 3) -> str:
    x = float(value)
    return "–" if not math.isfinite(x) else f"{x:.{digits}g}"


def _shown(value: Any) -> Any:
    """Jinja's ``finalize``: every ``{{ value }}`` that is user text goes out display-safe
    (markup built by this package, e.g. the escaped SVG or page JSON, is left as it is)."""
    from markupsafe import Markup

    if isinstance(value, str) and not isinstance(value, Markup):
        return display_safe(value)
    return value


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
        finalize=_shown,
    )
    env.filters["media"] = media_url
    env.filters["q"] = lambda s: quote(str(s), safe="")
    env.filters["num"] = _num
    env.filters["plural"] = plural
    env.filters["script_json"] = lambda d: Markup(script_json(d))
    env.globals["version"] = __version__
    return env
