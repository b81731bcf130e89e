"""Serving a feed under an experiment: the user's arm picks the ranker and settings, or two arms
are interleaved; every served item becomes an impression row.

:func:`serve_feed` is the one hook the HTTP API and the pages share (through
:func:`discovery.service.views.feed_view`): it takes the engine (already locked and caught up
by the caller), the running experiment, and the request, and returns the feed with one
:class:`~discovery.store.experiments.ImpressionRow` per item, ready to be logged in one insert.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from ..seed import child_rng
from ..signals.features import served_features
from ..store.experiments import ImpressionRow
from .assign import arm_index
from .interleaving import team_draft
from .logging import impression_rows
from .model import Arm, Experiment

if TYPE_CHECKING:
    from ..engine import Engine
    from ..feeds import Feed

__all__ = ["ServedFeed", "running_experiment", "serve_feed"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServedFeed:
    """A served page: the feed, the experiment and arm it was served under ("" outside any;
    the arm is "" per item when interleaved, see ``impressions``), and its impression rows."""

    feed: Feed
    experiment: str
    arm: str
    impressions: list[ImpressionRow]


def running_experiment(engine: Engine) -> Experiment | None:
    """The experiment feeds are served under now: the oldest one not stopped (the CLI and the
    API refuse a second while one runs), read from the store on every request, so a create
    or stop takes effect at once in every worker. One whose arms no longer parse (its ranker
    is not registered in this process) is not applied: feeds are served as if none ran."""
    for record in engine.store.experiments(running=True):
        try:
            return Experiment.from_body(record.name, record.body, record.created_at)
        except InputError as exc:  # an arm's ranker is gone (a plug-in not loaded here)
            _log.warning("experiment %s not applied: %s", record.name, exc)
            return None
    return None


def _settings(engine: Engine, user: int, arm: Arm | None, weights: dict[str, Any] | None) -> Any:
    changes = {**(arm.overrides() if arm is not None else {}), **(weights or {})}
    return engine.user_settings(user).replace(**changes) if changes else None


def _extra(
    engine: Engine, user: int, items: Sequence[Any], settings: Any, ctx: Any, learned: bool
) -> list[dict[str, float]] | None:
    """The learned features of the served items (None: not logged); the feed's own context
    is reused when it was ranked with the engine's settings for the user (``settings`` None)."""
    if not learned:
        return None
    return served_features(engine, user, items, ctx if settings is None else None)


def serve_feed(
    engine: Engine,
    user: int,
    experiment: Experiment | None,
    *,
    kind: str,
    k: int,
    ranker: str = "default",
    weights: dict[str, Any] | None = None,
    exclude: set[int] | None = None,
    open_block: Sequence[int] | None = None,
    learned_features: bool = True,
) -> ServedFeed:
    """One page of ``kind`` for snapshot user ``user`` (caller holds the engine lock).

    Under an A/B experiment the user's arm (:func:`.assign.arm_index` of the store account
    id) sets the ranker and settings overrides; under an interleaved one both arms rank and
    :func:`.interleaving.team_draft` merges their pages, each item logged with its team's arm
    and ranker. A request that names a ranker other than ``default`` is served as asked,
    outside the experiment (a comparison the client chose). ``weights`` (a preview) apply on
    top of the arm's settings. Impressions are stamped with the engine's clock (the world's
    ``now`` on a fixed clock), the clock events are compared with.

    ``learned_features``: whether each row's ``features`` also carry every learned-ranker
    feature of the item (:func:`~discovery.signals.features.served_features`, hydrated for the
    page: 3.4 ms of CPU on a large-world page whose ranking took 1.2–2.2 ms; the default), or
    only the serving ranker's own factors and the proposing sources, which come with the page
    for nothing. Training reads neither: it hydrates each logged ``(account, post,
    served_at)`` on the snapshot as of that day (:mod:`discovery.signals.training`), so the
    full record serves an operator's own analysis of what was served.
    """
    account = int(engine.snapshot.account_id[user])
    request = uuid.uuid4().hex
    offset = len(exclude or ())
    common: dict[str, Any] = {"k": k, "kind": kind, "exclude": exclude, "open_block": open_block}
    if experiment is None or ranker != "default":
        settings = _settings(engine, user, None, weights)
        feed, ctx = engine.feed_in_context(user, ranker=ranker, settings=settings, **common)
        rows = impression_rows(
            feed.items, account=account, served_at=int(engine.snapshot.now), surface=kind,
            offset=offset, request=request, rankers=feed.ranker,
            extra=_extra(engine, user, feed.items, settings, ctx, learned_features),
        )  # fmt: skip
        return ServedFeed(feed, "", "", rows)
    if not experiment.interleave:
        arm = experiment.arms[arm_index(experiment.name, account, experiment.split)]
        settings = _settings(engine, user, arm, weights)
        feed, ctx = engine.feed_in_context(user, ranker=arm.ranker, settings=settings, **common)
        rows = impression_rows(
            feed.items, account=account, served_at=int(engine.snapshot.now), surface=kind,
            offset=offset, request=request, experiment=experiment.name,
            arms=[arm.name] * len(feed), rankers=feed.ranker,
            extra=_extra(engine, user, feed.items, settings, ctx, learned_features),
        )  # fmt: skip
        return ServedFeed(feed, experiment.name, arm.name, rows)
    a, b = experiment.arms
    feeds = [
        engine.feed(
            user, ranker=arm.ranker, settings=_settings(engine, user, arm, weights), **common
        )
        for arm in (a, b)
    ]
    by_post = [{item.post_id: item for item in f.items} for f in feeds]
    # One merge per (experiment, user, page): a reload shows the same page.
    rng = child_rng(engine.settings.seed, "interleave", experiment.name, account, offset)
    posts, teams = team_draft([i.post_id for i in feeds[0]], [i.post_id for i in feeds[1]], k, rng)
    items = [
        dataclasses.replace(by_post[team][post], rank=i + 1)
        for i, (post, team) in enumerate(zip(posts, teams, strict=True))
    ]
    feed = dataclasses.replace(feeds[0], items=items, ranker=f"{feeds[0].ranker}+{feeds[1].ranker}")
    rows = impression_rows(
        items, account=account, served_at=int(engine.snapshot.now), surface=kind, offset=offset,
        request=request, experiment=experiment.name, arms=[(a, b)[t].name for t in teams],
        rankers=[feeds[t].ranker for t in teams],
        extra=_extra(engine, user, items, None, None, learned_features),
    )  # fmt: skip
    return ServedFeed(feed, experiment.name, "", rows)
