"""Every JSON body the API returns, built from the engine: the one code path behind the JSON
endpoints and the HTML pages (each page renders the dict its JSON twin returns).

Each function takes the :class:`~discovery.service.state.Service`, does its own locking (reads
see every acknowledged write), and returns plain JSON-ready data. Authorization is the
caller's business (see :mod:`.auth`).
"""

from __future__ import annotations

from typing import Any

from ..experiments.serving import running_experiment, serve_feed
from ..feeds import mark_viewer
from ..ranking.diversity import BLOCK
from ..settings import Settings
from .cursor import MAX_SHOWN, Cursor, encode_cursor, read_cursor
from .experiments import log_impressions
from .state import Service

__all__ = [
    "explain_view",
    "feed_view",
    "graph_view",
    "health_view",
    "interests_view",
    "post_view",
    "save_settings",
    "settings_view",
    "similar_view",
]


def feed_view(
    service: Service,
    handle: str,
    kind: str = "blend",
    limit: int = 10,
    cursor: str | None = None,
    ranker: str = "default",
    weights: dict[str, float] | None = None,
) -> dict[str, Any]:
    """One page of a feed: ``Feed.to_json()`` (as ``discovery feed --json``) plus
    ``next_cursor``; each item carries the user's own state (``liked``, ``saved``,
    ``hidden``, ``following`` its author). ``weights`` (``w_recency``..., or any other setting)
    override the user's saved settings for this request only (the live preview of "Tune my
    feed", ``set=``)."""
    with service.engine_for_read() as engine:
        u = engine.user_index(handle)
        user = str(engine.snapshot.handle[u])
        state = read_cursor(cursor, user, kind) if cursor else Cursor(set(), [])
        shown = state.shown
        # the running experiment's arm (or both arms, interleaved) ranks; impressions logged
        page = serve_feed(
            engine,
            u,
            running_experiment(engine),
            kind=kind,
            k=limit,
            ranker=ranker,
            weights=weights,
            exclude=shown,
            open_block=state.open_block,
            learned_features=service.learned_features,
        )
        feed = page.feed
        mark_viewer(engine.snapshot, u, feed.items)
    log_impressions(service, page.impressions)
    out = feed.to_json()
    served = [item.post_id for item in feed]
    shown |= set(served)
    more = len(feed) == limit and len(shown) < MAX_SHOWN
    still_open = len(shown) % BLOCK
    known = ([] if state.open_block is None else state.open_block) + served
    open_block: list[int] | None = known[-still_open:] if still_open else []
    if still_open and state.open_block is None and len(served) < still_open:
        open_block = None  # an older cursor without the order: the next page estimates
    out["next_cursor"] = encode_cursor(user, kind, shown, open_block or ()) if more else None
    return out


def interests_view(service: Service, handle: str, k: int = 10, per_tag: int = 3) -> dict[str, Any]:
    """Top hashtags of a user with the best posts for each (``discovery interests --json``),
    each post with the user's state as in :func:`feed_view`."""
    with service.engine_for_read() as engine:
        interests = engine.interests(handle, k=k, per_tag=per_tag)
        u = engine.user_index(handle)
        mark_viewer(engine.snapshot, u, [p for i in interests for p in i.posts])
        return interests.to_json()


def post_view(service: Service, post_id: int) -> dict[str, Any]:
    """One post: author, counts, caption, image, hashtags."""
    with service.engine_for_read() as engine:
        return engine.post(post_id)


def similar_view(service: Service, post_id: int, limit: int = 10) -> dict[str, Any]:
    """Posts like ``post_id``, as a feed."""
    with service.engine_for_read() as engine:
        return engine.similar(post_id, k=limit).to_json()


def explain_view(service: Service, handle: str, post_id: int) -> dict[str, Any]:
    """Every factor of one post for one user (``discovery explain --json``)."""
    with service.engine_for_read() as engine:
        return engine.explain(handle, post_id)


def graph_view(
    service: Service, handle: str, depth: int = 2, max_nodes: int = 150
) -> dict[str, Any]:
    """The user's ego network: nodes with PPR, hop, followed, topic; follow edges."""
    with service.engine_for_read() as engine:
        return engine.ego_network(handle, depth=depth, max_nodes=max_nodes)


def _weights(settings: Settings) -> dict[str, float]:
    return {f"w_{name}": value for name, value in settings.weights().items()}


def settings_view(service: Service, handle: str) -> dict[str, Any]:
    """The weights feeds use for a user and the ones saved for them."""
    with service.engine_for_read() as engine:
        u = engine.user_index(handle)
        body = engine.store.user_settings(int(engine.snapshot.account_id[u]))
        saved = body.get("weights", {})
        return {
            "user": str(engine.snapshot.handle[u]),
            "weights": _weights(engine.user_settings(u)),
            "saved": {k: float(v) for k, v in saved.items() if k.startswith("w_")},
            "blocked": [str(h) for h in body.get("blocked", [])],
        }


def save_settings(service: Service, handle: str, weights: dict[str, float]) -> dict[str, Any]:
    """Replace a user's saved weights (validated by :class:`Settings`; omitted ones fall back
    to the defaults) and return :func:`settings_view`."""
    service.engine.settings.replace(**weights)  # raises InputError naming the bad weight
    with service.engine_for_read() as engine:
        account = int(engine.snapshot.account_id[engine.user_index(handle)])
    with service.store_for_write() as store:
        body = store.user_settings(account)
        body["weights"] = {k: float(v) for k, v in sorted(weights.items())}
        with store.transaction():
            store.save_user_settings(account, body)
    return settings_view(service, handle)


def health_view(service: Service) -> dict[str, Any]:
    """Liveness plus what the snapshot holds."""
    with service.engine_for_read() as engine:
        snap = engine.snapshot
        return {
            "status": "ok",
            "snapshot_counter": int(snap.counter),
            "store_counter": int(engine.store.change_counter),
            "accounts": int(snap.n_accounts),
            "posts": int(snap.n_posts),
        }
