"""Accounts as people see them: the list behind the front door (``/v1/accounts``), a profile
(``/v1/users/{handle}/profile``) and what one viewer has done to posts and accounts (liked,
saved, hidden; following, blocked). The pages ``/`` and ``/u/{handle}/profile`` render exactly
these dicts (:mod:`discovery.web.accounts`).

Everything is read from the engine's snapshot (and the viewer's saved settings for blocks):

- *liked*, *saved*, *hidden*: a live ``like``/``save``/``hide`` interaction of the viewer on the
  post (a withdrawn one has kind ``-1`` in the snapshot);
- *following*: the account is in ``snapshot.following(viewer)``;
- *blocked*: the account's handle is in the viewer's saved setting ``blocked``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, Query

from ..engine import Engine
from ..store.model import KIND_CODE
from .auth import Principal, authorize, get_service, principal
from .params import HandlePath
from .responses import FastJSON
from .state import Service

__all__ = [
    "DEMO_USER",
    "accounts_view",
    "post_states",
    "profile_view",
    "router",
    "states_view",
    "viewer_relation",
]

#: The demo world's own account, listed first by the front door.
DEMO_USER = "me"
_STATE_KINDS = {"liked": "like", "saved": "save", "hidden": "hide"}


def post_states(engine: Engine, viewer: int, post_ids: Iterable[int]) -> dict[int, dict[str, bool]]:
    """``{post_id: {"liked", "saved", "hidden"}}`` of ``viewer`` (an account index) for each
    post, from the viewer's live interactions in the snapshot (call under the engine lock)."""
    snap = engine.snapshot
    wanted = [int(p) for p in post_ids]
    out = {p: dict.fromkeys(_STATE_KINDS, False) for p in wanted}
    if not wanted:
        return out
    pos = snap.user_interactions(viewer)
    kinds, posts = snap.inter_kind[pos], snap.inter_post[pos]
    for state, kind in _STATE_KINDS.items():
        code = KIND_CODE.get(kind)
        if code is None:
            continue
        done = set(snap.post_id[posts[kinds == code]].tolist())
        for p in wanted:
            out[p][state] = p in done
    return out


def states_view(
    service: Service, handle: str, post_ids: Iterable[int]
) -> dict[int, dict[str, bool]]:
    """:func:`post_states` of the user ``handle``, read from a caught-up snapshot."""
    with service.engine_for_read() as engine:
        return post_states(engine, engine.user_index(handle), post_ids)


def viewer_relation(engine: Engine, viewer: int, account: int) -> dict[str, bool]:
    """Whether ``viewer`` follows and has blocked ``account`` (both account indexes)."""
    snap = engine.snapshot
    saved = engine.store.user_settings(int(snap.account_id[viewer]))
    blocked = {str(h) for h in saved.get("blocked", []) if isinstance(h, str)}
    return {
        "following": bool(np.isin(account, snap.following(viewer))),
        "blocked": str(snap.handle[account]) in blocked,
    }


def _live_posts(engine: Engine, account: int) -> np.ndarray:
    """The account's posts (indexes), newest first (ties: higher id first)."""
    snap = engine.snapshot
    posts = snap.author_posts(account)
    posts = posts[~snap.post_removed[posts]]
    order = np.lexsort((-snap.post_id[posts], -snap.post_taken[posts]))
    return np.asarray(posts[order])


def _account(engine: Engine, a: int) -> dict[str, Any]:
    snap = engine.snapshot
    info = engine.store.account_details([int(snap.account_id[a])]).get(int(snap.account_id[a]), {})
    return {
        "handle": str(snap.handle[a]),
        "display_name": str(info.get("display_name", "")),
        "kind": str(info.get("kind", "person")),
    }


def accounts_view(
    service: Service, q: str = "", limit: int = 30, offset: int = 0
) -> dict[str, Any]:
    """Accounts whose handle contains ``q`` (case-insensitive), the demo user first, then in
    the order they joined; one page of ``limit`` from ``offset``, with each one's post count."""
    needle = q.strip().lstrip("@").casefold()
    with service.engine_for_read() as engine:
        snap = engine.snapshot
        n = snap.n_accounts
        if needle:
            hits = np.flatnonzero(np.char.find(np.char.lower(snap.handle[:n]), needle) >= 0)
        else:
            hits = np.arange(n)
        demo = snap.account_index(DEMO_USER)
        if demo >= 0 and np.isin(demo, hits):
            hits = np.concatenate([[demo], hits[hits != demo]])
        page = hits[offset : offset + limit]
        accounts = []
        for a in page.tolist():
            entry = _account(engine, a)
            posts = snap.author_posts(a)
            entry["posts"] = int(np.count_nonzero(~snap.post_removed[posts]))
            accounts.append(entry)
    more = offset + limit < len(hits)
    return {
        "q": q,
        "total": len(hits),
        "offset": offset,
        "limit": limit,
        "accounts": accounts,
        "next_offset": offset + limit if more else None,
    }


def profile_view(
    service: Service,
    handle: str,
    viewer: str | None = None,
    limit: int = 12,
    offset: int = 0,
) -> dict[str, Any]:
    """One account: its posts newest first (a page of ``limit`` from ``offset``), follower,
    following and post counts, and, with a ``viewer``, whether the viewer follows and blocks it
    and has liked, saved or hidden each post shown."""
    with service.engine_for_read() as engine:
        snap = engine.snapshot
        a = engine.user_index(handle)
        v = engine.user_index(viewer) if viewer else None
        posts = _live_posts(engine, a)
        page = [int(snap.post_id[p]) for p in posts[offset : offset + limit]]
        items = [engine.post(p) for p in page]
        body: dict[str, Any] = _account(engine, a)
        body["counts"] = {
            "posts": len(posts),
            "followers": int(np.count_nonzero(snap.follow_dst == a)),
            "following": len(snap.following(a)),
        }
        body["viewer"] = None
        if v is not None:
            states = post_states(engine, v, page)
            for item in items:
                item.update(states[item["post_id"]])
            body["viewer"] = {
                "handle": str(snap.handle[v]),
                "self": v == a,
                **viewer_relation(engine, v, a),
            }
    body.update(
        offset=offset,
        limit=limit,
        posts=items,
        next_offset=offset + limit if offset + limit < len(posts) else None,
    )
    return body


router = APIRouter()  # joined to /v1 by .api
Svc = Annotated[Service, Depends(get_service)]
Who = Annotated[Principal, Depends(principal)]
Limit = Annotated[int, Query(ge=1, le=100, description="How many on this page.")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="How many to skip.")]


@router.get("/accounts", response_model=dict[str, Any], tags=["accounts"])
async def get_accounts(
    service: Svc,
    who: Who,
    q: Annotated[str, Query(max_length=100, description="Part of a handle.")] = "",
    limit: Limit = 30,
    offset: Offset = 0,
) -> FastJSON:
    """Accounts whose handle contains `q`, the demo user `me` first (the front door `/`)."""
    return FastJSON(await service.run_read(accounts_view, service, q, limit, offset))


@router.get("/users/{handle:path}/profile", response_model=dict[str, Any], tags=["accounts"])
async def get_profile(
    handle: HandlePath,
    service: Svc,
    who: Who,
    u: Annotated[str | None, Query(max_length=100, description="Viewer handle.")] = None,
    limit: Limit = 12,
    offset: Offset = 0,
) -> FastJSON:
    """An account's posts (newest first), its follower, following and post counts, and for
    the viewer `u` (default: the signed-in account): following, blocked, and liked, saved and
    hidden for each post."""
    viewer = u or who.handle
    if viewer:
        authorize(who, viewer)
    body = await service.run_read(profile_view, service, handle, viewer, limit, offset)
    return FastJSON(body)
