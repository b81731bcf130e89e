"""The versioned JSON API (``/v1``): routes only; bodies come from :mod:`.views`.

Handlers are ``async`` and hand the engine work to worker threads through two small limiters
(:meth:`Service.run_read`, :meth:`Service.run_write`): reads are serialised by the engine's lock
anyway, and a separate lane for writes keeps event ingestion from queueing behind feeds.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query

from . import people, publish, views
from .auth import Principal, authorize, get_service, principal
from .events import ingest
from .models import (
    ErrorOut,
    EventsIn,
    EventsOut,
    FeedOut,
    FeedPageOut,
    FeedQuery,
    GraphOut,
    InterestsOut,
    PostOut,
    SettingsOut,
    WeightsIn,
)
from .params import HandlePath, PostPath
from .responses import FastJSON
from .state import Service

__all__ = ["router"]

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": text}
    for code, text in (
        (400, "Body that is not valid JSON (or not text)."),
        (401, "Missing or unknown bearer token (when tokens exist)."),
        (403, "The token may not act for this user."),
        (404, "Unknown handle or post."),
        (413, "Body larger than the server accepts."),
        (415, "Body sent with a Content-Type that is not JSON."),
        (422, "Invalid parameter or body; `detail` says which and why."),
        (503, "A write to a read-only database (reads still work)."),
    )
}

router = APIRouter(prefix="/v1", responses=_ERRORS)

Svc = Annotated[Service, Depends(get_service)]
Who = Annotated[Principal, Depends(principal)]


@router.get("/users/{handle:path}/feed", response_model=FeedPageOut, tags=["feeds"])
async def get_feed(
    handle: HandlePath, q: Annotated[FeedQuery, Query()], service: Svc, who: Who
) -> FastJSON:
    """A ranked feed with a reason for every item, one page at a time.

    Items are exactly those of `discovery feed HANDLE --json`. Follow `next_cursor` for more
    (no post appears twice across pages). `w_recency`, `w_popularity`, `w_affinity`,
    `w_interest` override the user's saved weights for this request only."""
    authorize(who, handle)
    body = await service.run_read(
        views.feed_view, service, handle, q.kind, q.limit, q.cursor, q.ranker, q.weights()
    )
    return FastJSON(body)


@router.get("/users/{handle:path}/interests", response_model=InterestsOut, tags=["feeds"])
async def get_interests(
    handle: HandlePath,
    service: Svc,
    who: Who,
    k: Annotated[int, Query(ge=1, le=50, description="How many hashtags.")] = 10,
    per_tag: Annotated[int, Query(ge=1, le=20, description="Best posts per hashtag.")] = 3,
) -> FastJSON:
    """Top hashtags learned from liked, commented and saved posts, with the best posts of each."""
    authorize(who, handle)
    return FastJSON(await service.run_read(views.interests_view, service, handle, k, per_tag))


@router.get("/users/{handle:path}/graph", response_model=GraphOut, tags=["graph"])
async def get_graph(
    handle: HandlePath,
    service: Svc,
    who: Who,
    depth: Annotated[int, Query(ge=1, le=3, description="Follow hops from the user.")] = 2,
    max_nodes: Annotated[int, Query(ge=2, le=2000, description="Keep the top-PPR nodes.")] = 150,
) -> FastJSON:
    """The user's ego network: accounts within `depth` follow hops, with personalized PageRank,
    hop, followed flag and topic; and the follow edges among them."""
    authorize(who, handle)
    return FastJSON(await service.run_read(views.graph_view, service, handle, depth, max_nodes))


@router.get("/users/{handle:path}/explain/{post_id}", response_model=dict[str, Any], tags=["feeds"])
async def get_explain(handle: HandlePath, post_id: PostPath, service: Svc, who: Who) -> FastJSON:
    """Every factor of one post for one user and where it came from (`discovery explain`)."""
    authorize(who, handle)
    return FastJSON(await service.run_read(views.explain_view, service, handle, post_id))


@router.get("/users/{handle:path}/settings", response_model=SettingsOut, tags=["settings"])
async def get_settings(handle: HandlePath, service: Svc, who: Who) -> FastJSON:
    """The feed weights in use for this user, and those saved for them."""
    authorize(who, handle)
    return FastJSON(await service.run_read(views.settings_view, service, handle))


@router.put("/users/{handle:path}/settings", response_model=SettingsOut, tags=["settings"])
async def put_settings(
    handle: HandlePath, weights: Annotated[WeightsIn, Body()], service: Svc, who: Who
) -> FastJSON:
    """Replace the user's saved weights (omitted weights fall back to the defaults); every
    later feed of this user uses them."""
    authorize(who, handle, "change the settings of")
    saved = {k: v for k, v in weights.model_dump().items() if v is not None}
    return FastJSON(await service.run_write(views.save_settings, service, handle, saved))


@router.get("/posts/{post_id}", response_model=PostOut, tags=["posts"])
async def get_post(post_id: PostPath, service: Svc, who: Who) -> FastJSON:
    """One post: author, counts, caption, image path or URL, hashtags."""
    return FastJSON(await service.run_read(views.post_view, service, post_id))


@router.get("/posts/{post_id}/similar", response_model=FeedOut, tags=["posts"])
async def get_similar(
    post_id: PostPath,
    service: Svc,
    who: Who,
    limit: Annotated[int, Query(ge=1, le=100, description="How many posts.")] = 10,
) -> FastJSON:
    """Posts like this one: shared (IDF-weighted) hashtags and authors followed by the same
    people."""
    return FastJSON(await service.run_read(views.similar_view, service, post_id, limit))


@router.post("/events", response_model=EventsOut, tags=["events"])
async def post_events(events: Annotated[EventsIn, Body()], service: Svc, who: Who) -> FastJSON:
    """Ingest one event (a JSON object) or a batch (a JSON array, at most 1,000), all or
    nothing. Replaying an id already seen for the same user changes nothing (`duplicate`).
    The next read reflects every accepted event: hidden posts never return, their authors are
    demoted, follows move an account from explore to timeline, likes feed interests and
    affinity."""
    batch = events if isinstance(events, list) else [events]
    return FastJSON(await service.run_write(ingest, service, batch, who))


# Accounts and profiles (the front door's and the profile page's twins) live in .people.
router.include_router(people.router)
# New posts and accounts (a live installation grows without re-imports) live in .publish.
router.include_router(publish.router)
