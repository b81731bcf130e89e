"""What a world is about: its topics, groups, generic tags, brands, demo user and pictures.

Two themes share every other part of the generator (accounts, follow graph, posts, truth):

* ``drawn`` — 24 hobby topics (hiking, cats, coffee, …) with Pillow drawings as images
  (:mod:`discovery.world.topics`, :mod:`discovery.world.images`); the ``tiny`` and ``large``
  sizes.
* ``food`` — 17 dishes shown by the shipped public-domain photographs
  (:mod:`discovery.world.food`, ``discovery/world/photos/``); every post shows one of its
  topic's photos, credited in its caption. The ``demo`` size (``make demo``).

>>> THEMES["food"].topic_index("sushi"), THEMES["drawn"].topic_index("hiking")
(0, 0)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from ..errors import InputError
from .config import GENERATOR_VERSION
from .food import (
    FOOD_BRANDS,
    FOOD_GENERIC_TAGS,
    FOOD_GROUPS,
    FOOD_ME_BRANDS,
    FOOD_ME_INTERESTS,
    FOOD_TOPICS,
)
from .topics import GENERIC_TAGS, GROUPS, TOPICS, Topic

__all__ = [
    "BRANDS",
    "ME_INTERESTS",
    "THEMES",
    "Theme",
    "photos_folder",
    "theme_named",
    "theme_of_world",
]

#: Brand / celebrity accounts of the drawn world: handle, display name, topics.
BRANDS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("wildplanet", "Wild Planet", ("wildlife", "travel", "sunsets")),
    ("redbolt", "Red Bolt", ("mtb", "skiing", "surfing", "climbing")),
    ("trailmag", "Trail Magazine", ("hiking", "climbing")),
    ("tastehub", "Taste Hub", ("food", "baking", "coffee")),
    ("runwaydaily", "Runway Daily", ("fashion",)),
    ("pawsdaily", "Paws Daily", ("dogs", "cats")),
    ("motorcult", "Motor Cult", ("cars",)),
    ("urbanlens", "Urban Lens", ("streetphoto", "architecture")),
    ("fitnation", "Fit Nation", ("fitness", "yoga")),
    ("artdaily", "Art Daily", ("art", "music", "books")),
    ("greenthumb", "Green Thumb", ("gardening",)),
    ("saltlife", "Salt Life", ("beaches", "surfing", "sunsets")),
)

#: The drawn world's demo user's interests (like the tutorial's author).
ME_INTERESTS = {"hiking": 0.3, "climbing": 0.2, "mtb": 0.2, "skiing": 0.15, "sunsets": 0.15}


@dataclass(frozen=True)
class Theme:
    """A world's vocabulary and cast.

    ``group_weights`` are the shares of communities centred on each group (in ``groups``
    order); ``me_brands`` the two brands the demo user follows; ``photos`` whether posts show
    the shipped photographs (else drawings); ``version`` names the generator's output for this
    theme (stored in meta ``generator``; bumped whenever the same seed gives another world).
    """

    name: str
    version: str
    topics: tuple[Topic, ...]
    groups: tuple[str, ...]
    group_weights: tuple[float, ...]
    generic_tags: tuple[str, ...]
    brands: tuple[tuple[str, str, tuple[str, ...]], ...]
    me_interests: tuple[tuple[str, float], ...]
    me_brands: tuple[str, str]
    photos: bool

    def topic_index(self, name: str) -> int:
        """Position of the topic called ``name`` in :attr:`topics`."""
        for i, topic in enumerate(self.topics):
            if topic.name == name:
                return i
        raise KeyError(name)


_GROUP_WEIGHTS = (0.45, 0.3, 0.17, 0.08)

THEMES: dict[str, Theme] = {
    "drawn": Theme(
        "drawn",
        GENERATOR_VERSION,
        TOPICS,
        GROUPS,
        _GROUP_WEIGHTS,
        GENERIC_TAGS,
        BRANDS,
        tuple(ME_INTERESTS.items()),
        ("redbolt", "trailmag"),
        photos=False,
    ),
    "food": Theme(
        "food",
        "food-1",
        FOOD_TOPICS,
        FOOD_GROUPS,
        _GROUP_WEIGHTS,
        FOOD_GENERIC_TAGS,
        FOOD_BRANDS,
        tuple(FOOD_ME_INTERESTS.items()),
        FOOD_ME_BRANDS,
        photos=True,
    ),
}


def theme_named(name: str) -> Theme:
    """The theme called ``name`` (a clear error for an unknown one)."""
    if name not in THEMES:
        raise InputError(f"--theme: unknown theme {name!r}; expected one of {', '.join(THEMES)}")
    return THEMES[name]


def theme_of_world(meta: Mapping[str, Any]) -> Theme:
    """The theme of a generated world from its meta ``world`` (parsed JSON); worlds from
    before themes existed are drawn. A reader that re-draws a world checks its meta
    ``generator`` against this theme's :attr:`Theme.version`.

    >>> theme_of_world({"theme": "food"}).version, theme_of_world({"params": {}}).name
    ('food-1', 'drawn')
    """
    return theme_named(str(meta.get("theme") or meta.get("params", {}).get("theme") or "drawn"))


def photos_folder() -> Path:
    """The shipped photographs (``photos.json``, ``images/``, ``ATTRIBUTION.md``)."""
    return Path(str(files("discovery.world") / "photos"))
