"""Form posts, so the like / "show less" buttons and the tune page's "Save" work without
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
from ..service.auth import Principal, authorize, get_service, principal
from ..service.events import ingest
from ..service.models import EventIn
from ..service.params import HandlePath
from ..service.state import Service
from .tune import weights_from_query

__all__ = ["FORM_EVENTS", "router"]

#: Event kinds the page buttons send.
FORM_EVENTS = ("like", "hide")
_MAX_FORM = 4096

router = APIRouter(include_in_schema=False)
Svc = Annotated[Service, Depends(get_service)]
Who = Annotated[Principal, Depends(principal)]


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
    """``kind`` (like or hide) on ``post`` for ``handle``, then back to ``next``."""
    _same_origin(request)
    authorize(who, handle, "post events of")
    form = await _form(request)
    if form.get("kind") not in FORM_EVENTS:
        raise InputError(f"form field kind={form.get('kind')!r}: expected like or hide")
    try:
        event = EventIn.model_validate(
            {
                "id": f"web-{uuid.uuid4().hex}",
                "user": handle,
                "kind": form["kind"],
                "post": form.get("post"),
            }
        )
    except ValidationError as exc:
        raise InputError(f"form field post={form.get('post')!r}: expected a post id") from exc
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
