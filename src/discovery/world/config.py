"""World sizes and parameters: one frozen dataclass, derived from a size name or a user count.

The three named sizes are anchors; ``--users N`` interpolates the per-user rates between the
two nearest anchors on a log scale, so quantities grow in proportion to the number of users.
The ``demo`` size is a food network with real photographs (theme ``food``); ``tiny`` and
``large`` draw their images (theme ``drawn``; :mod:`discovery.world.themes`).
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import InputError

__all__ = ["GENERATOR_VERSION", "NOW", "SIZES", "UtilityParams", "WorldConfig", "plan", "today"]

#: Bumped whenever the same seed would produce a different drawn world (the food world's
#: version is its theme's, :data:`discovery.world.themes.THEMES`).
GENERATOR_VERSION = "world-1"

#: A pinned "now" (2024-06-01T00:00:00Z) for reproducing a world on any day
#: (``generate --now 2024-06-01``). By default a world ends at the midnight (UTC) before it is
#: generated, so its newest posts are a day old when it first opens and it stays alive when the
#: store switches to the wall clock (``discovery clock wall``); stored in meta ``now``.
NOW = 1_717_200_000


def today() -> int:
    """Unix seconds of the last midnight UTC (a generated world's default "now").

    >>> today() % 86_400
    0
    """
    return int(time.time()) // 86_400 * 86_400


#: Anchor sizes: users, follows per user, posts per user, impressions per user.
SIZES: dict[str, tuple[int, float, float, float]] = {
    "tiny": (300, 14.0, 6.0, 50.0),
    "demo": (2_000, 28.0, 15.0, 140.0),
    "large": (1_000_000, 20.0, 5.0, 55.0),
}

#: Above this many users images default to "lazy" (paths stored, files rendered on demand).
IMAGE_LIMIT = 20_000


@dataclass(frozen=True)
class UtilityParams:
    """Weights of the ground-truth engagement model (see :func:`discovery.world.utility`)."""

    bias: float = -5.2
    interest: float = 4.0
    follow: float = 0.6
    affinity: float = 1.2
    mutual: float = 0.8
    quality: float = 2.0
    popularity: float = 0.8
    age_per_day: float = 0.08
    click_bias: float = 1.3
    clickbait_click: float = 3.5
    clickbait_like: float = 0.25
    comment_bias: float = -2.2
    comment_mutual: float = 1.5
    save_base: float = 0.05
    save_quality: float = 0.35
    share: float = 0.03
    hide_base: float = 0.08


@dataclass(frozen=True)
class WorldConfig:
    """Everything that decides a world's content (same config and seed → same database)."""

    size: str
    users: int
    seed: int
    follows_per_user: float
    posts_per_user: float
    impressions_per_user: float
    images: str = "files"  # "files", "lazy" or "off"
    theme: str = "drawn"  # "drawn" (Pillow drawings) or "food" (the shipped photographs)
    window_days: int = 56
    now: int = NOW
    community_size: int = 40
    interest_concentration: float = 0.6
    in_network_share: float = 0.7
    tag_rate: float = 0.06
    chunk_users: int = 50_000
    utility: UtilityParams = field(default_factory=UtilityParams)

    @property
    def n_brands(self) -> int:
        return 12

    @property
    def n_accounts(self) -> int:
        """People (including ``me``) plus brand accounts."""
        return self.users + self.n_brands

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def plan(
    size: str | None = "demo",
    users: int | None = None,
    seed: int | None = None,
    images: bool | str | None = None,
    now: int | None = None,
    theme: str | None = None,
) -> WorldConfig:
    """The configuration for a named size, optionally rescaled to ``users`` people.

    ``theme`` defaults to ``food`` for the demo size and ``drawn`` for the others.

    >>> plan("tiny").users, plan("demo", users=2000).posts_per_user
    (300, 15.0)
    >>> plan("demo").theme, plan("tiny").theme, plan("tiny", theme="food").theme
    ('food', 'drawn', 'food')
    """
    from ..seed import DEFAULT_SEED
    from .themes import theme_named

    name = size or "demo"
    if name not in SIZES:
        raise InputError(f"--size: unknown size {name!r}; expected one of {', '.join(SIZES)}")
    if users is not None and not 20 <= int(users) <= 5_000_000:
        raise InputError(f"--users: {users} is out of range (20 to 5,000,000)")
    n = int(users) if users is not None else SIZES[name][0]
    rates = _interpolate(n)
    if images is None or images is True:
        mode = "files" if n <= IMAGE_LIMIT else "lazy"
    elif images is False:
        mode = "off"
    elif images in ("files", "lazy", "off"):
        mode = str(images)
    else:
        raise InputError(f"images: expected files, lazy or off, got {images!r}")
    return WorldConfig(
        size=name,
        users=n,
        seed=DEFAULT_SEED if seed is None else int(seed),
        follows_per_user=rates[0],
        posts_per_user=rates[1],
        impressions_per_user=rates[2],
        images=mode,
        now=today() if now is None else int(now),
        theme=theme_named(theme or ("food" if name == "demo" else "drawn")).name,
    )


def _interpolate(n: int) -> tuple[float, float, float]:
    anchors = sorted(SIZES.values())
    if n <= anchors[0][0]:
        return anchors[0][1:]
    if n >= anchors[-1][0]:
        return anchors[-1][1:]
    for lo, hi in itertools.pairwise(anchors):
        if lo[0] <= n <= hi[0]:
            f = math.log(n / lo[0]) / math.log(hi[0] / lo[0])
            a, b, c = (round(x + f * (y - x), 3) for x, y in zip(lo[1:], hi[1:], strict=True))
            return a, b, c
    raise AssertionError("unreachable")
