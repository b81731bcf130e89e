"""Reading a post's image for an encoder: from the store's media folder or an http(s) URL.

Every failure is an outcome, not an exception — a batch over a million posts must not stop at
one dead link. :func:`load_image` answers an :class:`ImageResult` whose ``failure`` names
what went wrong (:data:`FAILURES`). Downloads use the standard library's ``urllib`` (one GET
with a timeout and a size cap is all that is needed; no client dependency in the core).
"""

from __future__ import annotations

import io
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["FAILURES", "MAX_BYTES", "ImageResult", "load_image"]

#: Why an image could not be read: no image on the post, file missing (or outside the media
#: folder), HTTP error status, timeout or connection failure, bytes that are not an image.
FAILURES = ("no-image", "missing", "http", "timeout", "not-image")

#: Larger downloads are refused (a photo is a few MB; this is a guard against a hostile URL).
MAX_BYTES = 30 * 1024 * 1024


@dataclass(frozen=True)
class ImageResult:
    """A decoded RGB image, or the reason there is none (one of :data:`FAILURES`)."""

    image: Any = None  # PIL.Image.Image
    failure: str | None = None
    detail: str = ""


def _decode(data: bytes, where: str) -> ImageResult:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            im.draft("RGB", (448, 448))  # JPEG: decode at reduced scale, enough for 224 px
            return ImageResult(im.convert("RGB"))
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        return ImageResult(failure="not-image", detail=f"{where}: {exc}")


def _fetch(url: str, timeout: float) -> ImageResult:
    req = urllib.request.Request(url, headers={"User-Agent": "discovery-engine embed"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            data = resp.read(MAX_BYTES + 1)
    except urllib.error.HTTPError as exc:
        return ImageResult(failure="http", detail=f"{url}: HTTP {exc.code}")
    except TimeoutError as exc:
        return ImageResult(failure="timeout", detail=f"{url}: {exc}")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        kind = "timeout" if isinstance(reason, TimeoutError | socket.timeout) else "http"
        return ImageResult(failure=kind, detail=f"{url}: {reason}")
    if len(data) > MAX_BYTES:
        return ImageResult(failure="not-image", detail=f"{url}: larger than {MAX_BYTES} bytes")
    return _decode(data, url)


def load_image(image: str | None, media_dir: Path, *, timeout: float = 10.0) -> ImageResult:
    """The image a post points at: an ``http(s)://`` URL (fetched with ``timeout`` seconds for
    connecting and for each read) or a path relative to ``media_dir`` (a path that leaves
    the folder counts as missing)."""
    if not image:
        return ImageResult(failure="no-image")
    if image.startswith(("http://", "https://")):
        return _fetch(image, timeout)
    root = media_dir.resolve()
    path = (root / image).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return ImageResult(failure="missing", detail=str(image))
    try:
        data = path.read_bytes()
    except OSError as exc:
        return ImageResult(failure="missing", detail=f"{image}: {exc}")
    return _decode(data, str(image))
