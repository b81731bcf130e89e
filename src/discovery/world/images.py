"""Post images: a deterministic Pillow drawing per post, styled by topic, or real photos.

:func:`render_post_image` draws a 128×128 picture from the post's topic style (palette, shape
family, texture) with random jitter, so image features carry topic signal with noise: colours
move by up to ±25 per channel, one image in ten borrows another topic's palette, and
every image gets Gaussian pixel noise scaled by the topic's texture. It is a pure function of ``(post_id, topic, seed)``,
so a server can render lazily when a world was generated without image files.

:func:`load_photos` reads a folder of real tagged photos (``photos.json`` with ``id``/``title``/
``tags``, and ``images/<id>``) and gives each photo the topic its record names or, failing
that, the topic its tags match most.
"""

from __future__ import annotations

import functools
import html
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError
from ..seed import child_rng
from ..store.model import normalize_hashtag
from .topics import TOPICS, Topic

if TYPE_CHECKING:
    from PIL import Image as PILImage

    from ..store import Store

__all__ = ["SIZE", "Photo", "image_path", "load_photos", "render_missing", "render_post_image"]

SIZE = 128


def image_path(post_id: int) -> str:
    """Media-folder-relative path of a post's image.

    >>> image_path(123)
    'p/000/000123.jpg'
    """
    return f"p/{post_id // 1000 % 1000:03d}/{post_id:06d}.jpg"


_LAZY_PATH = re.compile(r"p/\d{3}/(\d{6,})\.jpg")


def render_missing(store: Store, media_root: str | os.PathLike[str], rel_path: str) -> Path | None:
    """Render a lazily generated image on first request and save it under ``media_root``.

    For worlds generated with lazy images (the large size): ``rel_path`` is a post's ``image``
    (``p/<bucket>/<id>.jpg``); the topic comes from ``truth_posts`` and the seed from meta
    ``world``. Returns the file's path, or None when the path or post is not a lazy world image.
    """
    match = _LAZY_PATH.fullmatch(rel_path)
    raw = store.get_meta("world")
    if match is None or raw is None:
        return None
    post_id = int(match.group(1))
    topic = store.post_topic(post_id)
    if topic is None or image_path(post_id) != rel_path:
        return None
    target = Path(media_root) / rel_path
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    render_post_image(post_id, topic, int(json.loads(raw)["seed"])).save(tmp, "JPEG", quality=75)
    os.replace(tmp, target)  # concurrent requests never see a half-written file
    return target


def render_post_image(post_id: int, topic: int, seed: int) -> PILImage.Image:
    """Draw the image of post ``post_id`` whose topic index is ``topic`` (deterministic).

    >>> im = render_post_image(7, 0, 42)
    >>> im.size, im.tobytes() == render_post_image(7, 0, 42).tobytes()
    ((128, 128), True)
    """
    from PIL import Image, ImageChops, ImageDraw

    rng = child_rng(seed, "image", int(post_id))
    style = TOPICS[int(topic) % len(TOPICS)]
    # All random numbers in one draw (per-call overhead dominates such small images).
    r = rng.random(8 + _MAX_DRAWS * 4)
    source = TOPICS[int(r[1] * len(TOPICS))] if r[0] < 0.1 else style
    jitter = np.round((r[2:5] - 0.5) * 50)
    pal = [tuple(int(c) for c in np.clip(np.array(col) + jitter, 0, 255)) for col in source.palette]
    im = Image.new("RGB", (SIZE, SIZE), pal[0])
    _SHAPES[style.shape](ImageDraw.Draw(im), r[8:].reshape(-1, 4), pal)
    x, y = int(r[5] * SIZE), int(r[6] * SIZE)
    noise = _noise_image(style.texture).crop((x, y, x + SIZE, y + SIZE))
    return ImageChops.add(im, noise, scale=1.0, offset=-128)


_MAX_DRAWS = 72  # random 4-vectors available to a shape function


@functools.cache
def _noise_image(texture: int) -> PILImage.Image:
    # A fixed grey noise field centred on 128, one per texture level; images crop it at a
    # random offset and add it (C speed, deterministic).
    from PIL import Image

    z = child_rng(0, "image-noise").standard_normal((2 * SIZE, 2 * SIZE))
    grey = np.clip(128 + z * (0.6 * texture + 3), 0, 255).astype(np.uint8)
    return Image.fromarray(np.repeat(grey[:, :, None], 3, axis=2))


# Shape functions draw on `d` from rows of uniform numbers `u` (shape (_MAX_DRAWS, 4)).
def _mountains(d, u, pal):  # type: ignore[no-untyped-def]
    for k in range(2 + int(u[0, 0] * 3)):
        x, h, w = (
            int(-20 + u[k + 1, 0] * 148),
            int(40 + u[k + 1, 1] * 70),
            int(40 + u[k + 1, 2] * 50),
        )
        peak = (x, SIZE - h)
        d.polygon([(x - w, SIZE), peak, (x + w, SIZE)], fill=pal[1])
        d.polygon(
            [peak, (int(x - w * 0.2), peak[1] + 15), (int(x + w * 0.2), peak[1] + 15)], fill=pal[2]
        )


def _circles(d, u, pal):  # type: ignore[no-untyped-def]
    horizon = int(70 + u[0, 0] * 30)
    d.rectangle([0, horizon, SIZE, SIZE], fill=pal[2])
    r, cx = int(15 + u[0, 1] * 20), int(20 + u[0, 2] * 88)
    d.ellipse([cx - r, horizon - r, cx + r, horizon + r], fill=pal[1])


def _waves(d, u, pal):  # type: ignore[no-untyped-def]
    phase, amp = u[0, 0] * 6.28, 3 + u[0, 1] * 7
    for band in range(4 + int(u[0, 2] * 4)):
        y0 = 40 + band * 14
        pts = [(x, int(y0 + amp * math.sin(x / 12 + phase + band))) for x in range(0, SIZE + 8, 8)]
        d.polygon([*pts, (SIZE, SIZE), (0, SIZE)], fill=pal[1 + band % 2])


def _stripes(d, u, pal):  # type: ignore[no-untyped-def]
    w, slant = 6 + int(u[0, 0] * 10), int(-40 + u[0, 1] * 80)
    for i, x in enumerate(range(-64, SIZE + 64, w)):
        d.polygon(
            [(x, 0), (x + w // 2, 0), (x + w // 2 + slant, SIZE), (x + slant, SIZE)],
            fill=pal[1 + i % 2],
        )


def _grid(d, u, pal):  # type: ignore[no-untyped-def]
    cell = 14 + int(u[0, 0] * 16)
    flat = u[1:].ravel()
    k = 0
    for x in range(0, SIZE, cell):
        for y in range(0, SIZE, cell):
            k += 1
            if flat[k] < 0.6:
                d.rectangle(
                    [x + 2, y + 2, x + cell - 3, y + cell - 3], fill=pal[1 + (x + y) // cell % 2]
                )


def _blobs(d, u, pal):  # type: ignore[no-untyped-def]
    for k in range(1, 4 + int(u[0, 0] * 4)):
        x, y, rx, ry = (
            int(u[k, 0] * SIZE),
            int(u[k, 1] * SIZE),
            int(8 + u[k, 2] * 22),
            int(8 + u[k, 3] * 22),
        )
        d.ellipse([x - rx, y - ry, x + rx, y + ry], fill=pal[1 + int(u[k + 10, 0] * 2)])


def _dots(d, u, pal):  # type: ignore[no-untyped-def]
    for k in range(1, 30 + int(u[0, 0] * 40)):
        x, y, r = int(u[k, 0] * SIZE), int(u[k, 1] * SIZE), 2 + int(u[k, 2] * 5)
        d.ellipse([x - r, y - r, x + r, y + r], fill=pal[1 + int(u[k, 3] * 2)])


def _rings(d, u, pal):  # type: ignore[no-untyped-def]
    cx, cy = 44 + int(u[0, 0] * 40), 44 + int(u[0, 1] * 40)
    for i, r in enumerate(range(40 + int(u[0, 2] * 20), 4, -(6 + int(u[0, 3] * 6)))):
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=pal[1 + i % 2])


_SHAPES = {
    "mountains": _mountains,
    "circles": _circles,
    "waves": _waves,
    "stripes": _stripes,
    "grid": _grid,
    "blobs": _blobs,
    "dots": _dots,
    "rings": _rings,
}


@dataclass(frozen=True)
class Photo:
    """A real photo: file, title, hashtags (spaces removed, as people write them), topic index,
    and its credit line (``📷 …``: who made it, the licence, the source URL; may be empty)."""

    file: Path
    title: str
    tags: tuple[str, ...]
    topic: int
    credit: str = ""


def load_photos(folder: str | os.PathLike[str], topics: tuple[Topic, ...] = TOPICS) -> list[Photo]:
    """Read ``photos.json`` + ``images/``; give each photo a topic among ``topics``.

    A record's ``topic`` (a topic name) decides; otherwise the topic whose hashtag vocabulary
    its tags match most. A photo that matches no topic is skipped. The credit is the record's
    ``credit``, else built from ``attribution_html`` and ``license``/``licence``.
    """
    root = Path(folder)
    meta = root / "photos.json"
    if not meta.is_file():
        raise InputError(f"--photos: {meta} not found (expected photos.json and images/)")
    try:
        records = json.loads(meta.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"--photos: {meta} line {exc.lineno}: {exc.msg}") from None
    vocab = [{normalize_hashtag(t) for t in topic.tags} | {topic.name} for topic in topics]
    named = {topic.name: i for i, topic in enumerate(topics)}
    out = []
    for k, rec in enumerate(records):
        if not isinstance(rec, dict) or "id" not in rec:
            raise InputError(f"--photos: {meta} record {k}: missing 'id'")
        file = root / "images" / str(rec["id"])
        tags = tuple(
            dict.fromkeys(str(t).replace(" ", "").replace("-", "") for t in rec.get("tags", []))
        )
        norm = {normalize_hashtag(t) for t in tags}
        hits = [len(norm & v) for v in vocab]
        topic = named.get(str(rec.get("topic")), int(np.argmax(hits)) if max(hits) else None)
        if file.is_file() and topic is not None:
            title = str(rec.get("title", "")).strip()
            out.append(Photo(file, title, tags, topic, _credit(rec)))
    if not out:
        raise InputError(f"--photos: no usable photos in {root} (tags matched no topic)")
    return out


def _credit(rec: dict[str, object]) -> str:
    if rec.get("credit"):
        return str(rec["credit"])
    # "<a href=…>Title</a> provided by <a href=…>PEXELS</a>." as text, with the licence.
    text = html.unescape(re.sub(r"<[^>]+>", "", str(rec.get("attribution_html", "")))).strip()
    licence = str(rec.get("licence") or rec.get("license") or "").strip()
    text = text.rstrip(".")
    parts = [p for p in (text, "" if licence in text else licence) if p]
    return "📷 " + ", ".join(parts) if parts else ""
