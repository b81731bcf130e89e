"""The world a simulation runs on: its ground truth and latent traits, re-drawn from its seed.

A generated database stores the ground truth the utility needs (:func:`~discovery.world.load_truth`)
but not the browsing activity of each account or the posting traits of each author; both are
re-drawn here from the world's seed and parameters (meta ``world``), which gives the very arrays
the generator used, and checked against the stored interests. The simulation writes into a
scratch copy of the database (:func:`scratch_copy`), so the user's database is left as it was.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from .. import setops
from ..errors import InputError
from ..store import Store
from ..store.copy import copy_store

__all__ = ["SimWorld", "load_world", "scratch_copy"]


@dataclass
class SimWorld:
    """The ground truth (grown as posts arrive and follows form) and the latent traits."""

    truth: Any  # discovery.world.truth.Truth (the world package is imported lazily)
    activity: np.ndarray  # by account index
    post_rate: np.ndarray  # expected posts per window, by account index
    window_days: int
    kind: np.ndarray  # 0 person, 1 brand
    skill: np.ndarray
    baiter: np.ndarray
    habit: np.ndarray
    media_type: np.ndarray  # by post index
    max_theta: np.ndarray
    in_network_share: float
    impressions_per_user: float

    @property
    def people(self) -> np.ndarray:
        """Account indices of the people (brands do not browse)."""
        return np.flatnonzero(self.kind == 0)

    def add_posts(self, author, taken, topic, quality, bait, media) -> None:  # type: ignore[no-untyped-def]
        """Append new posts (index ``len(posts)`` onwards) to the truth."""
        t = self.truth
        cat = np.concatenate
        self.truth = replace(
            t,
            post_author=cat([t.post_author, author]).astype(t.post_author.dtype),
            post_time=cat([t.post_time, taken]).astype(np.int64),
            post_topic=cat([t.post_topic, topic]).astype(t.post_topic.dtype),
            post_quality=cat([t.post_quality, quality]).astype(np.float64),
            post_clickbait=cat([t.post_clickbait, bait]).astype(bool),
        )
        self.media_type = cat([self.media_type, media]).astype(np.int8)

    def add_follows(self, src: np.ndarray, dst: np.ndarray) -> None:
        """Record new follows (account indices) in the truth: ties change the utility."""
        t = self.truth
        n = t.n_accounts
        keys = setops.union(
            t.follow_keys, np.asarray(src, np.int64) * n + np.asarray(dst, np.int64)
        )
        self.truth = replace(t, follow_keys=keys)


def load_world(store: Store) -> SimWorld:
    """Read a generated world's truth and re-draw its activity and posting traits.

    Raises
    ------
    InputError
        The database holds no synthetic world (no ground truth), or one drawn by another
        generator version (its traits could not be re-drawn).
    """
    from ..world.accounts import make_accounts
    from ..world.config import UtilityParams, WorldConfig
    from ..world.posts import author_traits, make_posts
    from ..world.themes import theme_of_world
    from ..world.truth import load_truth

    raw = store.get_meta("world")
    if raw is None:
        raise InputError(
            f"{store.url}: no ground truth (not a generated world); simulate needs"
            " `discovery generate`"
        )
    meta = json.loads(raw)
    draws = theme_of_world(meta).version  # world-1 (drawn) or food-1 (the demo's photos)
    if meta.get("generator") != draws:
        raise InputError(
            f"{store.url}: world drawn by generator {meta.get('generator')!r}, this package"
            f" draws {draws!r}; regenerate it to simulate"
        )
    known = {f.name for f in fields(WorldConfig)}
    params = {k: v for k, v in meta["params"].items() if k in known}
    cfg = WorldConfig(**params, utility=UtilityParams(**meta["utility"]))
    truth = load_truth(store)
    acc = make_accounts(cfg)
    if acc.n != truth.n_accounts or not np.allclose(acc.theta, truth.theta, atol=1e-6):
        raise InputError(f"{store.url}: the stored interests differ from the world's seed")
    if store.count("posts") != len(truth.post_author):
        raise InputError(f"{store.url}: posts were added or removed since generation")
    posts = make_posts(cfg, acc)
    if not np.array_equal(posts.author, truth.post_author):
        raise InputError(f"{store.url}: the stored posts differ from the world's seed")
    traits = author_traits(cfg, acc)
    media = posts.media_type
    return SimWorld(
        truth, acc.activity, acc.post_rate, cfg.window_days, acc.kind, traits.skill,
        traits.baiter, traits.habit, media, truth.theta.max(axis=1), cfg.in_network_share,
        cfg.impressions_per_user,
    )  # fmt: skip


def scratch_copy(store: Store, directory: str | Path | None = None) -> Store:
    """A SQLite copy of ``store`` to simulate in (under ``directory``, else a new temp dir)."""
    folder = Path(directory) if directory is not None else Path(tempfile.mkdtemp(prefix="sim-"))
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "simulated.db"
    if target.exists():
        raise InputError(f"{target}: exists; simulate writes a fresh copy")
    dst = Store.open(target)
    try:
        copy_store(store, dst)
    except BaseException:
        dst.close()
        raise
    return dst
