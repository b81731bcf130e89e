"""Typed feed results: items with reasons, as JSON, as a DataFrame, and as HTML in Jupyter."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..store.validate import display_safe

__all__ = ["Feed", "FeedItem", "Interest", "Interests"]


@dataclass
class FeedItem:
    """One ranked post and why it is there.

    ``factors`` holds every score ingredient (for the tutorial ranker ``ppr``, ``weight`` and
    ``time_score``; for the default ranker ``recency``, ``popularity``, ``affinity``,
    ``interest`` and their inputs). ``liked``, ``saved``, ``hidden`` (the post) and
    ``following`` (its author) are the viewing user's state, set by
    :func:`.state.mark_viewer`; ``None`` until then.
    """

    post_id: int
    author: str | None
    taken_at: str
    like_count: int
    comment_count: int
    score: float
    factors: dict[str, float]
    sources: list[str]
    reason: str
    caption: str = ""
    image: str | None = None
    media_type: str = "photo"
    rank: int = 0
    liked: bool | None = None
    saved: bool | None = None
    hidden: bool | None = None
    following: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        # by hand, not dataclasses.asdict: its recursive deep copy was 15 % of a served feed
        return {
            "post_id": self.post_id,
            "author": self.author,
            "taken_at": self.taken_at,
            "like_count": self.like_count,
            "comment_count": self.comment_count,
            "score": self.score,
            "factors": dict(self.factors),
            "sources": list(self.sources),
            # a display string (it quotes handles): control and bidi characters escaped, unlike
            # the data fields (author, caption), which JSON returns as stored
            "reason": display_safe(self.reason),
            "caption": self.caption,
            "image": self.image,
            "media_type": self.media_type,
            "rank": self.rank,
            "liked": self.liked,
            "saved": self.saved,
            "hidden": self.hidden,
            "following": self.following,
        }


@dataclass
class Feed:
    """A ranked feed for one user."""

    user: str
    kind: str
    now: str
    ranker: str
    items: list[FeedItem] = field(default_factory=list)
    settings: str = ""
    image_src: Any = field(default=None, repr=False, compare=False)

    def __iter__(self) -> Iterator[FeedItem]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> FeedItem:
        return self.items[i]

    def to_json(self) -> dict[str, Any]:
        """``{"user", "kind", "now", "ranker", "settings", "items": [...]}`` — the CLI's
        ``--json`` and the HTTP API both emit exactly this."""
        return {
            "user": self.user,
            "kind": self.kind,
            "now": self.now,
            "ranker": self.ranker,
            "settings": self.settings,
            "items": [item.to_dict() for item in self.items],
        }

    def to_frame(self) -> Any:
        """A pandas DataFrame, one row per item, factors as ``f_<name>`` columns."""
        import pandas as pd

        rows = []
        for item in self.items:
            row = item.to_dict()
            factors = row.pop("factors")
            row["sources"] = ",".join(row["sources"])
            row.update({f"f_{k}": v for k, v in factors.items()})
            rows.append(row)
        return pd.DataFrame(rows)

    def _repr_html_(self) -> str:
        from .html import feed_grid

        return feed_grid(self, self.image_src)


@dataclass
class Interest:
    """One interest: a hashtag cluster named by its head ``tag``, its other member tags
    (``members``, most used first: the variants and synonyms it groups), its share of the
    user's interest weight and its best posts."""

    tag: str
    weight: float
    posts: list[FeedItem]
    members: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "members": list(self.members),
            "weight": self.weight,
            "posts": [p.to_dict() for p in self.posts],
        }


@dataclass
class Interests:
    user: str
    now: str
    items: list[Interest]

    def __iter__(self) -> Iterator[Interest]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def to_json(self) -> dict[str, Any]:
        return {"user": self.user, "now": self.now, "interests": [i.to_dict() for i in self.items]}

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame(
            [
                {"tag": i.tag, "weight": i.weight, "posts": [p.post_id for p in i.posts]}
                for i in self
            ]
        )
