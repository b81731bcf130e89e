"""Who is looking: the front door ``/``, signing in and out, and the profile page.

========================  ==============================================================
page                      JSON twin
========================  ==============================================================
/                         /v1/accounts?q=  (open mode; signed in: a redirect to Explore)
/u/{handle}/profile       /v1/users/{handle}/profile?u={viewer}
/signin, /signout         (forms: set or clear the session cookie, :mod:`..service.sessions`)
========================  ==============================================================

With tokens configured, a page asked for without a valid session answers the sign-in form
(401) instead of the API's JSON error: :func:`viewer` is the pages' version of
:func:`~discovery.service.auth.principal`.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials

from ..errors import InputError
from ..service import people, sessions
from ..service.auth import (
    Principal,
    _bearer,
    authorize,
    check_same_origin,
    get_service,
    principal,
)
from ..service.params import HandlePath, handle_url
from ..service.state import Service
from ..store import NotFound

__all__ = ["SignInRequired", "install_sign_in", "router", "viewer"]

_MAX_FORM = 4096
router = APIRouter(include_in_schema=False)
Svc = Annotated[Service, Depends(get_service)]


class SignInRequired(Exception):
    """A page was asked for without a valid session while tokens exist."""

    def __init__(self, here: str, message: str = "") -> None:
        super().__init__(message)
        self.here = here
        self.message = message


def _here(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


async def viewer(
    request: Request,
    service: Svc,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The pages' caller: as :func:`principal`, but a missing or void session shows the
    sign-in form; remembered on ``request.state.viewer`` for the top bar."""
    try:
        who = await principal(request, service, creds)
    except HTTPException as exc:
        if exc.status_code != 401:
            raise
        raise SignInRequired(_here(request)) from None
    request.state.viewer = who
    return who


Viewer = Annotated[Principal, Depends(viewer)]


def _page(
    template: str, request: Request, status_code: int = 200, **context: object
) -> HTMLResponse:
    from .pages import html_page  # pages imports this module for its dependency

    return html_page(template, request, status_code, **context)


def _safe_next(target: str | None, fallback: str) -> str:
    """``target`` when it is a path on this server, else ``fallback``."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return fallback


def _sign_in_page(
    request: Request, here: str, message: str = "", status_code: int = 401
) -> Response:
    return _page(
        "signin.html",
        request,
        status_code,
        user="",
        nav="",
        twin=None,
        next=_safe_next(here, "/"),
        message=message,
    )


def install_sign_in(app: object) -> None:
    """Answer :class:`SignInRequired` with the sign-in form."""

    async def handler(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInRequired)
        return _sign_in_page(request, exc.here, exc.message)

    app.add_exception_handler(SignInRequired, handler)  # type: ignore[attr-defined]


async def _form(request: Request) -> dict[str, str]:
    from .actions import _form as read_form

    return await read_form(request)


@router.get("/signin", response_class=HTMLResponse)
async def sign_in_form(
    request: Request,
    service: Svc,
    next: Annotated[str, Query(max_length=2000)] = "/",
) -> Response:
    """The sign-in form (in open mode there is nothing to sign in to: the front door)."""
    if service.open_mode():
        return RedirectResponse("/", status_code=303)
    return _sign_in_page(request, next, status_code=200)


@router.post("/signin")
async def sign_in(request: Request, service: Svc) -> Response:
    """Check the token in the form; on success set the session cookie and go to ``next``."""
    check_same_origin(request)
    form = await _form(request)
    target = form.get("next")
    if service.open_mode():
        return RedirectResponse("/", status_code=303)
    token = form.get("token", "").strip()
    info = service.token(token) if token else None
    handle = None if info is None or info.account is None else service.handle_of(info.account)
    if info is None or (handle is None and not info.admin):
        message = "That token is not valid (it may have been revoked)."
        return _sign_in_page(request, target or "/", message)
    key = await service.run_write(sessions.session_secret, service, True)
    assert key is not None
    value = sessions.make_cookie(key, info.token_hash, sessions.now_ms())
    fallback = f"/u/{handle_url(handle)}/explore" if handle else "/"
    dest = fallback if target in (None, "", "/") else _safe_next(target, fallback)
    response = RedirectResponse(dest, status_code=303)
    response.set_cookie(
        sessions.COOKIE,
        value,
        max_age=int(sessions.session_days() * 86_400),
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return response


@router.post("/signout")
async def sign_out(request: Request, service: Svc) -> Response:
    """End this browser's session: void every session of its token issued until now (so a
    copied cookie stops working too) and clear the cookie."""
    check_same_origin(request)
    from ..service.auth import session_principal

    who = session_principal(request, service)
    if who is not None and who.token_hash is not None:
        with service.auth_lock:
            service.auth_store.end_sessions(who.token_hash, sessions.now_ms())
    response = RedirectResponse("/signin" if not service.open_mode() else "/", status_code=303)
    response.delete_cookie(
        sessions.COOKIE,
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return response


@router.get("/", response_class=HTMLResponse)
async def front_door(
    request: Request,
    service: Svc,
    who: Viewer,
    q: Annotated[str, Query(max_length=100)] = "",
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    """Open mode (or an admin): the accounts to view as; signed in: your Explore."""
    if who.handle is not None and not who.admin:
        return RedirectResponse(f"/u/{handle_url(who.handle)}/explore", status_code=303)
    body = await service.run_read(people.accounts_view, service, q, 30, offset)
    twin = f"/v1/accounts?q={quote(q, safe='')}&limit=30&offset={offset}"
    return _page("front.html", request, user="", nav="", body=body, q=q, twin=twin)


@router.get("/u/{handle:path}/profile", response_class=HTMLResponse)
async def profile_page(
    handle: HandlePath,
    request: Request,
    service: Svc,
    who: Viewer,
    u: Annotated[str | None, Query(max_length=100, description="Viewer handle.")] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    """An account's posts, counts and the viewer's Follow and Block buttons."""
    viewing = u or who.handle
    if viewing:
        authorize(who, viewing)
    try:
        body = await service.run_read(people.profile_view, service, handle, viewing, 12, offset)
    except (NotFound, InputError) as exc:
        from .pages import _error

        return _error(exc, viewing or "")
    twin = f"/v1/users/{handle_url(handle)}/profile?limit=12&offset={offset}"
    if viewing:
        twin += f"&u={quote(viewing, safe='')}"
    return _page(
        "profile.html",
        request,
        user=body["viewer"]["handle"] if body["viewer"] else "",
        nav="profile",
        profile=body,
        twin=twin,
        weights={},
    )
