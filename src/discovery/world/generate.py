"""Orchestration: draw a world and stream it into a database, atomically.

A world given as a path is built in ``<db>.tmp`` (and its images in ``<db>.media.tmp/``) and
moved into place with :func:`os.replace` only when complete, so a killed ``generate`` leaves
the previous file (or none), never half a world. Rows go to the store in chunks, so the
million-account world needs a few GB, not tens.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..errors import InputError
from ..store import Store, parse_store_url
from ..store.model import INTERACTION_KINDS
from .accounts import account_names, make_accounts
from .config import WorldConfig, plan
from .graph import make_follows
from .images import Photo, load_photos
from .interactions import simulate, tag_batch
from .media import write_images
from .photo_posts import captions_for
from .posts import make_posts
from .themes import Theme, photos_folder, theme_named
from .truth import Truth

__all__ = ["Progress", "check_target", "generate_world", "media_dir"]

#: ``progress(stage, done, total)``: called as work advances (the CLI draws rich bars).
Progress = Callable[[str, int, int], None]

_ROWS = 200_000  # rows per write batch


def media_dir(db: str | os.PathLike[str]) -> Path:
    """The folder that holds a database's images: ``<db path>.media``."""
    return Path(str(db) + ".media")


def generate_world(
    path_or_store: str | os.PathLike[str] | Store,
    size: str = "demo",
    users: int | None = None,
    seed: int | None = None,
    photos_dir: str | os.PathLike[str] | None = None,
    images: bool | str = True,
    progress: Progress | None = None,
    *,
    force: bool = False,
    now: int | None = None,
    theme: str | None = None,
) -> dict[str, Any]:
    """Generate a synthetic world and write it to a database file (or an open, empty store).

    Parameters
    ----------
    path_or_store : path or Store
        A database path (built atomically; an existing non-empty database is refused unless
        ``force``) or an open :class:`~discovery.store.Store` without accounts (one
        transaction).
    size : {"tiny", "demo", "large"}
        Anchor size; ``users`` rescales it (see :func:`discovery.world.config.plan`).
    seed : int, optional
        Same seed, parameters and ``now`` give identical database content.
    now : int, optional
        The world's last moment (Unix seconds); default: the last midnight UTC, so the posts
        end near the day the world was generated.
    photos_dir : path, optional
        A folder of real tagged photos (``photos.json`` + ``images/``) used for posts of the
        topics their records name or their tags match; default: the shipped photographs for
        the ``food`` theme, none for ``drawn``.
    images : bool or {"files", "lazy", "off"}
        ``True``: files for worlds up to 20,000 users, else lazy (paths stored, rendered on
        demand by :func:`~discovery.world.images.render_post_image`); ``False``: no images.
    theme : {"drawn", "food"}, optional
        What the world is about (:mod:`discovery.world.themes`); default ``food`` for the demo
        size (posts show the shipped public-domain photographs), ``drawn`` otherwise.

    Returns
    -------
    dict
        Counts, the configuration, the file paths and the elapsed seconds.
    """
    cfg = plan(size, users, seed, images, now, theme)
    look = theme_named(cfg.theme)
    folder = photos_folder() if photos_dir is None and look.photos else photos_dir
    photos = load_photos(folder, look.topics) if folder is not None else []
    tick = progress or (lambda stage, done, total: None)
    started = time.perf_counter()
    if isinstance(path_or_store, Store):
        store, final = path_or_store, None
        if store.count("accounts"):
            raise InputError(f"{store.path}: already holds accounts; generate needs an empty store")
        media = None if store.url.memory else media_dir(store.path)
        with store.transaction():
            counts = _write(store, cfg, media, photos, tick)
    elif parse_store_url(path_or_store).backend != "sqlite":
        # A server database: one transaction is the atomic unit (no file to swap in).
        check_target(path_or_store, force)
        with Store.open(path_or_store) as store:
            if force:
                store.wipe()
            final = None
            media = media_dir(store.path)
            _remove(media, Path(str(store.path) + ".snapshot"))
            media.parent.mkdir(parents=True, exist_ok=True)
            with store.transaction():
                counts = _write(store, cfg, media, photos, tick)
    else:
        final = parse_store_url(path_or_store).local_path
        check_target(final, force)
        tmp, media_tmp = Path(str(final) + ".tmp"), Path(str(media_dir(final)) + ".tmp")
        _remove(tmp, media_tmp)
        try:
            store = Store.open(tmp)
            try:
                counts = _write(store, cfg, media_tmp, photos, tick)
            finally:
                store.close()
            _remove(final, media_dir(final), Path(str(final) + ".snapshot"))
            if media_tmp.exists():
                os.replace(media_tmp, media_dir(final))
            os.replace(tmp, final)
        except BaseException:
            _remove(tmp, media_tmp)
            raise
    return {
        **counts,
        "path": None if final is None else str(final),
        "media": None if cfg.images == "off" else str(media_dir(final or store.path)),
        "size": cfg.size,
        "users": cfg.users,
        "seed": cfg.seed,
        "images": cfg.images,
        "theme": cfg.theme,
        "seconds": round(time.perf_counter() - started, 2),
    }


def check_target(path: str | os.PathLike[str], force: bool) -> None:
    """Refuse to overwrite a database that holds accounts (or is not a database) unless ``force``."""
    if parse_store_url(path).backend != "sqlite":
        if not force:
            with Store.open(path) as existing:
                held = existing.count("accounts")
            if held:
                raise InputError(
                    f"{parse_store_url(path)}: already holds a world ({held:,} accounts);"
                    " use --force to replace it"
                )
        return
    path = parse_store_url(path).local_path
    if not path.parent.is_dir():
        raise InputError(f"{path}: folder {path.parent} does not exist")
    if force or not path.exists() or path.stat().st_size == 0:
        return
    try:
        with Store.open(path, create=False) as existing:
            held = existing.count("accounts")
    except Exception:
        raise InputError(
            f"{path}: exists and is not an empty discovery database; use --force to replace it"
        ) from None
    if held:
        raise InputError(
            f"{path}: already holds a world ({held:,} accounts); use --force to replace it"
        )


def _remove(*paths: Path) -> None:
    for p in paths:
        if p.is_dir():
            shutil.rmtree(p)
        for extra in (p, Path(f"{p}-wal"), Path(f"{p}-shm"), Path(f"{p}-journal")):
            if extra.is_file():
                extra.unlink()


def _write(
    store: Store,
    cfg: WorldConfig,
    media: Path | None,
    photos: list[Photo],
    tick: Progress,
) -> dict[str, Any]:
    # Nested transactions join an open outer one (a Store given by the caller: one for all).
    tx = store.transaction
    theme = theme_named(cfg.theme)
    tick("accounts", 0, 1)
    acc = make_accounts(cfg)
    tick("accounts", 1, 1)
    tick("follows", 0, 1)
    graph = make_follows(cfg, acc)
    tick("follows", 1, 1)
    posts = make_posts(cfg, acc)
    truth = Truth.build(
        acc.theta, acc.community, posts, graph.src, graph.dst, cfg.utility, cfg.seed, cfg.now
    )
    n, m = acc.n, len(posts)

    with tx():
        store.set_meta("now", str(cfg.now))
        store.set_meta("generator", f"discovery-engine {__version__} ({theme.version})")
        store.set_meta("world", _world_meta(cfg, theme))
    for lo in range(0, n, _ROWS):
        ids = np.arange(lo + 1, min(n, lo + _ROWS) + 1)
        names = account_names(ids, cfg.seed, cfg.n_brands, theme.brands)
        kinds, created = (
            acc.kind[lo : lo + len(ids)].tolist(),
            acc.created_at[lo : lo + len(ids)].tolist(),
        )
        interests = [json.dumps(r) for r in acc.theta[lo : lo + len(ids)].tolist()]
        with tx():
            store.add_accounts(
                (
                    (i, h, d, k, t)
                    for i, (h, d), k, t in zip(ids.tolist(), names, kinds, created, strict=True)
                ),
                key_prefix="world",
            )
            store.add_truth_users(
                zip(
                    ids.tolist(), interests, acc.community[lo : lo + len(ids)].tolist(), strict=True
                )
            )
        tick("accounts", lo + len(ids), n)
    for lo in range(0, len(graph), _ROWS):
        hi = min(len(graph), lo + _ROWS)
        with tx():
            store.add_follows(
                zip(
                    (graph.src[lo:hi] + 1).tolist(),
                    (graph.dst[lo:hi] + 1).tolist(),
                    graph.created_at[lo:hi].tolist(),
                    strict=True,
                )
            )
        tick("follows", hi, len(graph))

    likes = np.zeros(m, dtype=np.int64)
    comments = np.zeros(m, dtype=np.int64)
    by_kind = np.zeros(len(INTERACTION_KINDS), dtype=np.int64)
    batches = simulate(cfg, truth, graph, posts, acc.activity)
    done = 0
    for batch in _chain(batches, lambda: tag_batch(cfg, graph, posts, acc.kind)):
        likes += np.bincount(batch.post[batch.kind == 0], minlength=m)
        comments += np.bincount(batch.post[batch.kind == 1], minlength=m)
        by_kind += np.bincount(batch.kind, minlength=len(by_kind))
        for lo in range(0, len(batch), _ROWS):
            sl = slice(lo, lo + _ROWS)
            value = batch.value[sl]
            with tx():
                store.add_interaction_arrays(
                    batch.user[sl] + 1,
                    batch.post[sl] + 1,
                    batch.kind[sl],
                    batch.created_at[sl],
                    value,
                )
        done = min(n, done + cfg.chunk_users)
        tick("interactions", done, n)

    image_of = write_images(cfg, posts, media, photos, tick)
    try:
        for lo in range(0, m, _ROWS):
            hi = min(m, lo + _ROWS)
            caps = captions_for(
                theme, posts, acc.theta, lo, hi, cfg.seed, image_of.photos, image_of.pick
            )
            rows = zip(
                range(lo + 1, hi + 1),
                (posts.author[lo:hi] + 1).tolist(),
                posts.taken_at[lo:hi].tolist(),
                caps,
                posts.media_type[lo:hi].tolist(),
                image_of.paths(lo, hi),
                likes[lo:hi].tolist(),
                comments[lo:hi].tolist(),
                strict=True,
            )
            truth_rows = zip(
                range(lo + 1, hi + 1),
                posts.topic[lo:hi].tolist(),
                posts.quality[lo:hi].tolist(),
                posts.clickbait[lo:hi].astype(int).tolist(),
                strict=True,
            )
            with tx():
                store.add_posts(rows, key_prefix="world")
                store.add_truth_posts(truth_rows)
            tick("posts", hi, m)
        image_of.finish(tick)
    except BaseException:
        image_of.abort()  # no worker may write into the folder being removed
        raise
    return {
        "accounts": n,
        "follows": len(graph),
        "posts": m,
        "interactions": int(by_kind.sum()),
        "interactions_by_kind": {
            k: int(c) for k, c in zip(INTERACTION_KINDS, by_kind, strict=True)
        },
    }


def _chain(batches, last):  # type: ignore[no-untyped-def]
    yield from batches
    yield last()


def _world_meta(cfg: WorldConfig, theme: Theme) -> str:
    body = {
        "generator": theme.version,
        "theme": theme.name,
        "size": cfg.size,
        "users": cfg.users,
        "seed": cfg.seed,
        "now": cfg.now,
        "params": {k: v for k, v in cfg.to_json().items() if k != "utility"},
        "utility": cfg.to_json()["utility"],
        "topics": [{"name": t.name, "group": t.group, "tags": list(t.tags)} for t in theme.topics],
        "generic_tags": list(theme.generic_tags),
        "index": "arrays in the ground truth are indexed by id - 1",
    }
    return json.dumps(body, ensure_ascii=False, sort_keys=True)
