"""What an impression row records about the item served: :func:`impression_features`.

Every served feed item is logged (:class:`discovery.store.experiments.ImpressionRow`) with the
ranker's view of it, so a learned ranker can later train on what was shown and what came of it.
The features are built in one small function so that what goes into them can grow in one place.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from ..store.experiments import ImpressionRow

try:  # the serve extra's encoder: a fifth of the standard library's time per served item
    import orjson as _orjson
except ImportError:  # a base install (the CLI's experiments): the same JSON, a little slower
    _orjson: Any = None  # type: ignore[no-redef]

if TYPE_CHECKING:
    from ..feeds import FeedItem

__all__ = ["Served", "impression_features", "impression_rows"]


class Served(Protocol):
    """What a logged item needs: a score, its factors and the sources that proposed it
    (a :class:`discovery.ranking.picks.Pick`, or the :class:`discovery.feeds.FeedItem` built
    from it)."""

    @property
    def score(self) -> float: ...
    @property
    def factors(self) -> Mapping[str, float]: ...
    @property
    def sources(self) -> Sequence[str]: ...


def impression_features(pick: Served, extra: Mapping[str, float] | None = None) -> str:
    """The ``features`` JSON of one impression: every score factor by name, a ``src_<name>``
    indicator (1.0) for every candidate source that proposed the item, and ``extra``: the rest
    of the learned ranker's features of the item (:func:`discovery.signals.features.
    served_features`), so a ranker can be trained on what was served whichever ranker served
    it; compact, keys sorted, a value that is not a finite number written as null. Encoded by
    orjson when the serve extra is installed (a fifth of the standard library's time: this runs
    for every served item), else by :mod:`json` in the same compact form.

    >>> from discovery.ranking.picks import Pick
    >>> impression_features(Pick(7, 0.5, {"recency": 0.25, "interest": 1.0}, {}))
    '{"interest":1.0,"recency":0.25}'
    >>> impression_features(Pick(7, 0.5, {"recency": 0.25}, {}), {"recency": 9.0, "likes": 1.5})
    '{"likes":1.5,"recency":0.25}'
    """
    out: dict[str, float | None] = {
        name: (float(v) if math.isfinite(v) else None) for name, v in pick.factors.items()
    }
    for source in pick.sources:
        out[f"src_{source}"] = 1.0
    for name, v in (extra or {}).items():
        out.setdefault(name, float(v) if math.isfinite(v) else None)
    if _orjson is None:
        return json.dumps(out, sort_keys=True, separators=(",", ":"))
    return _orjson.dumps(out, option=_orjson.OPT_SORT_KEYS).decode()  # type: ignore[no-any-return]


def impression_rows(
    items: Sequence[FeedItem],
    *,
    account: int,
    served_at: int,
    surface: str,
    offset: int = 0,
    request: str = "",
    experiment: str = "",
    arms: Sequence[str] | None = None,
    rankers: Sequence[str] | str = "",
    extra: Sequence[Mapping[str, float]] | None = None,
) -> list[ImpressionRow]:
    """One row per served feed item (store post ids), in order: ``position`` counts from ``offset`` (the items on
    earlier pages); ``arms`` and ``rankers`` give each item's arm (its team when interleaved)
    and ranker, or one ranker for all."""
    n = len(items)
    arm_of = [""] * n if arms is None else list(arms)
    ranker_of = [rankers] * n if isinstance(rankers, str) else list(rankers)
    if len(arm_of) != n or len(ranker_of) != n:
        raise ValueError(f"{n} items but {len(arm_of)} arms and {len(ranker_of)} rankers")
    return [
        ImpressionRow(
            account=int(account),
            post=int(item.post_id),
            served_at=int(served_at),
            surface=surface,
            position=offset + i,
            request=request,
            experiment=experiment,
            arm=arm_of[i],
            ranker=ranker_of[i],
            score=float(item.score),
            features=impression_features(item, None if extra is None else extra[i]),
        )
        for i, item in enumerate(items)
    ]
