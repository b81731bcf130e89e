"""``POST /v1/events``: check, resolve and apply a batch of events, all or nothing.

A batch is refused whole (nothing written) when any event is forbidden to the caller (403), names
an unknown account or post (404), or is malformed (422, from the pydantic model). Otherwise every
event is applied in one transaction, idempotently by ``(user, id)``; the response tells which
ids were new and which were replays.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from fastapi import HTTPException

from ..store import Store
from ..store.events import EventRow, account_ids, existing_posts, record_events
from .auth import Principal
from .models import EventIn
from .state import Service

__all__ = ["ingest"]


def _resolve(store: Store, events: Sequence[EventIn]) -> list[EventRow]:
    handles = {e.user.lstrip("@") for e in events}
    handles |= {e.target.lstrip("@") for e in events if e.target is not None}
    ids = account_ids(store, handles)
    posts = existing_posts(store, [e.post for e in events if e.post is not None])
    now = int(time.time())
    rows = []
    for i, e in enumerate(events):
        where = f"events[{i}]"
        user = ids.get(e.user.lstrip("@"))
        if user is None:
            raise HTTPException(404, f"{where}.user: no account with handle {e.user!r}")
        target = None
        if e.target is not None:
            target = ids.get(e.target.lstrip("@"))
            if target is None:
                raise HTTPException(404, f"{where}.target: no account with handle {e.target!r}")
            if target == user:
                raise HTTPException(422, f"{where}.target: an account cannot {e.kind} itself")
        if e.post is not None and e.post not in posts:
            raise HTTPException(404, f"{where}.post: no post with id {e.post}")
        at = now if e.at is None else int(e.at.timestamp())
        rows.append(EventRow(e.id, user, e.kind, at, e.post, target, e.value))
    return rows


def ingest(service: Service, events: Sequence[EventIn], who: Principal) -> dict[str, Any]:
    """Apply ``events`` for ``who``; returns ``{"accepted", "duplicates", "results"}``."""
    for i, e in enumerate(events):
        if not who.may_act_for(e.user):
            raise HTTPException(
                403,
                f"events[{i}].user: the token of @{who.handle} may not post events of @{e.user}",
            )
    with service.store_for_write() as store:
        rows = _resolve(store, events)
        fresh = record_events(store, rows, received_at=int(time.time()))
    results = []
    for e, new in zip(events, fresh, strict=True):
        if new:
            service.metrics.events.labels(e.kind).inc()
        else:
            service.metrics.duplicates.inc()
        results.append({"id": e.id, "status": "accepted" if new else "duplicate"})
    accepted = sum(fresh)
    return {"accepted": accepted, "duplicates": len(fresh) - accepted, "results": results}
