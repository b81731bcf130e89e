"""Form posts, so the buttons (like and unlike, save and unsave, "show less" and its undo on
posts; follow, unfollow, block and unblock on accounts) and the tune page's "Save" work without
JavaScript too. Each calls the same code as its JSON twin (``POST /v1/events``,
``PUT /v1/users/{handle}/settings``) and answers ``303 See Other`` back to the page.

Cross-site requests are refused: a form post must come from this server's own pages
(``Origin`` or ``Sec-Fetch-Site``), so another site cannot make a visitor like or hide posts.
"""

from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from ..errors import InputError
from ..service import views
from ..service.auth import Principal, authorize, get_service
from ..service.events import ingest
from ..service.models import EventIn
from ..service.params import HandlePath
from ..service.state import Service
from ..store.events import EVENT_KINDS, TARGET_KINDS
from .accounts import viewer
from .tune import weights_from_query

__all__ = ["FORM_EVENTS", "router"]

_BUTTONS = {"like", "unlike", "save", "unsave", "hide", "unhide"}
_BUTTONS |= {"follow", "unfollow", "block", "unblock"}
#: Event kinds the page buttons send (those of the store's event kinds that have a button).
FORM_EVENTS = tuple(k for k in EVENT_KINDS if k in _BUTTONS)
_MAX_FORM = 4096

router = APIRouter(include_in_schema=False)
Svc = Annotated[Service, Depends(get_service)]
Who = Annotated[Principal, Depends(viewer)]  # principal, or the sign-in form


def _same_origin(request: Request) -> None:
    site = request.headers.get("sec-fetch-site")
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.url.netloc}"
    if site not in (None, "same-origin", "none") or origin not in (None, own):
        raise HTTPException(403, "cross-site form posts are refused")


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > _MAX_FORM:
        raise HTTPException(413, f"form larger than {_MAX_FORM} bytes")
    pairs = parse_qs(body.decode("utf-8", errors="replace"), max_num_fields=20)
    return {k: v[-1] for k, v in pairs.items()}


def _back(target: str | None, fallback: str) -> RedirectResponse:
    """303 to ``target`` when it is a path on this server, else to ``fallback``."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return RedirectResponse(target, status_code=303)
    return RedirectResponse(fallback, status_code=303)


@router.post("/u/{handle:path}/events")
async def form_event(
    handle: HandlePath, request: Request, service: Svc, who: Who
) -> RedirectResponse:
    """``kind`` (one of :data:`FORM_EVENTS`) on ``post`` or ``target`` for ``handle``, then
    back to ``next``."""
    _same_origin(request)
    authorize(who, handle, "post events of")
    form = await _form(request)
    kind = form.get("kind")
    if kind not in FORM_EVENTS:
        raise InputError(f"form field kind={kind!r}: expected one of {', '.join(FORM_EVENTS)}")
    field = "target" if kind in TARGET_KINDS else "post"
    try:
        event = EventIn.model_validate(
            {
                "id": f"web-{uuid.uuid4().hex}",
                "user": handle,
                "kind": kind,
                field: form.get(field),
            }
        )
    except ValidationError as exc:
        wanted = "a handle" if field == "target" else "a post id"
        raise InputError(f"form field {field}={form.get(field)!r}: expected {wanted}") from exc
    await service.run_write(ingest, service, [event], who)
    return _back(form.get("next"), f"/u/{quote(handle, safe='')}/explore")


@router.post("/u/{handle:path}/tune")
async def form_tune(
    handle: HandlePath, request: Request, service: Svc, who: Who
) -> RedirectResponse:
    """Save the weights in the form as the user's, then back to the tune page."""
    _same_origin(request)
    authorize(who, handle, "change the settings of")
    weights = weights_from_query(await _form(request))
    saved = await service.run_write(views.save_settings, service, handle, weights)
    return RedirectResponse(f"/u/{quote(saved['user'], safe='')}/tune?saved=1", status_code=303)
