"""Writing a world's images: rendered in worker processes while the rows are written.

Generated images go to ``<media>/p/<bucket>/<id>.jpg`` (:func:`~discovery.world.images.image_path`).
Posts whose topic has photos (the food world's shipped photographs, or ``--photos DIR``) show
one of them instead: each framing in use is written once into ``<media>/photos/``
(:mod:`discovery.world.photo_posts`).
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
from multiprocessing.pool import AsyncResult, Pool
from pathlib import Path
from typing import Any

import numpy as np

from .config import WorldConfig
from .images import Photo, image_path, render_post_image
from .photo_posts import assign_photos, frame, variant_name
from .posts import Posts

__all__ = ["ImagePlan", "render_range", "write_images"]

_TASK = 2_000  # images per worker task
_INLINE = 500  # below this many images, render in-process (no pool start-up)


class ImagePlan:
    """Which image each post has (``pick``: photo index or -1; ``variant``: its framing), and
    the rendering still in flight."""

    def __init__(
        self,
        cfg: WorldConfig,
        posts: Posts,
        photos: list[Photo],
        pick: np.ndarray,
        variant: np.ndarray,
    ) -> None:
        self.cfg, self.posts, self.photos = cfg, posts, photos
        self.pick, self.variant = pick, variant
        self.futures: list[AsyncResult[int]] = []
        self.pool: Pool | None = None

    def paths(self, lo: int, hi: int) -> list[str | None]:
        if self.cfg.images == "off":
            return [None] * (hi - lo)
        out: list[str | None] = []
        for i in range(lo, hi):
            if self.pick[i] >= 0:
                photo = self.photos[self.pick[i]]
                out.append("photos/" + variant_name(photo, int(self.variant[i])))
            else:
                out.append(image_path(i + 1))
        return out

    def finish(self, tick: Any) -> None:
        total = len(self.futures)
        for k, fut in enumerate(self.futures):
            fut.get()
            tick("images", k + 1, total)
        if self.pool is not None:
            self.pool.close()
            self.pool.join()
            self.pool = None

    def abort(self) -> None:
        """Stop the workers now (Ctrl-C, an error): nothing may still write into the media
        folder while the caller removes it."""
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
            self.pool = None


def _ignore_sigint() -> None:
    # Ctrl-C reaches the whole process group; only the parent decides to stop (and then
    # terminates the workers), so a worker never half-handles it and picks up the next task.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def render_range(folder: str, ids: list[int], topics: list[int], seed: int) -> int:
    """Render and save the images of posts ``ids`` (a worker-process task)."""
    root = Path(folder)
    for pid, topic in zip(ids, topics, strict=True):
        target = root / image_path(pid)
        target.parent.mkdir(parents=True, exist_ok=True)
        render_post_image(pid, topic, seed).save(target, quality=75)
    return len(ids)


def write_images(
    cfg: WorldConfig, posts: Posts, media: Path | None, photos: list[Photo], tick: Any
) -> ImagePlan:
    """Write the photos in use, then start rendering generated images (returns before
    rendering ends)."""
    pick, variant = assign_photos(posts.topic, photos, cfg.seed)
    if photos and media is not None and cfg.images != "off":
        shown = pick >= 0
        used = sorted(set(zip(pick[shown].tolist(), variant[shown].tolist(), strict=True)))
        _write_photos(photos, used, media / "photos", tick)
    plan = ImagePlan(cfg, posts, photos, pick, variant)
    if cfg.images != "files" or media is None:
        return plan
    todo = np.flatnonzero(pick < 0)
    ids, topics = (todo + 1).tolist(), posts.topic[todo].tolist()
    if len(ids) <= _INLINE:
        render_range(str(media), ids, topics, cfg.seed)
        return plan
    # Ctrl-C while the pool forks would raise KeyboardInterrupt inside fork's after-handlers
    # (logging's lock release), leaving a half-started pool: hold SIGINT until it is up; a
    # pending one is delivered right after, at a safe point.
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        plan.pool = multiprocessing.get_context().Pool(
            min(4, os.cpu_count() or 1), initializer=_ignore_sigint
        )
    except BaseException:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        raise
    try:  # an interrupt from here on must not leave the pool to the interpreter's exit
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        for lo in range(0, len(ids), _TASK):
            args = (str(media), ids[lo : lo + _TASK], topics[lo : lo + _TASK], cfg.seed)
            plan.futures.append(plan.pool.apply_async(render_range, args))
    except BaseException:
        plan.pool.terminate()
        plan.pool.join()
        raise
    return plan


def _write_photos(
    photos: list[Photo], used: list[tuple[int, int]], folder: Path, tick: Any
) -> None:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for k, (idx, variant) in enumerate(used):
        photo = photos[idx]
        target = folder / variant_name(photo, variant)
        with Image.open(photo.file) as src:
            if variant == 0 and src.format == "JPEG" and max(src.size) <= 512:
                shutil.copyfile(photo.file, target)  # as shipped: no second JPEG generation
                tick("photos", k + 1, len(used))
                continue
            im = src.convert("RGB")
        im.thumbnail((512, 512))  # the shipped photos already are; a --photos folder may not be
        frame(im, variant).save(target, "JPEG", quality=85)
        tick("photos", k + 1, len(used))
