"""Who is calling: bearer tokens, and the rule "a user token speaks only for its own account".

- No token exists at all: the API is open (local single-user mode, bound to 127.0.0.1 by
  default); every request acts as an admin.
- Otherwise every ``/v1`` request needs ``Authorization: Bearer <token>`` (401 without, or with
  an unknown token). A user token reads only its own feeds, interests, graph and settings and
  posts only its own events (403 otherwise); an admin token may do both for anyone. Posts and
  similar posts are readable with any valid token.
- A browser signed in at ``/signin`` sends a session cookie instead (:mod:`.sessions`): the
  request then speaks for that cookie's token, exactly as the bearer token would. A bearer
  header wins over a cookie; a tampered, expired, signed-out or revoked cookie counts as none.
  A cookie-authenticated write must come from this server's own pages (``Origin`` /
  ``Sec-Fetch-Site``), besides the cookie's ``SameSite=Strict``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from . import sessions
from .state import Service

__all__ = [
    "Principal",
    "authorize",
    "check_same_origin",
    "get_service",
    "principal",
    "session_principal",
]

_bearer = HTTPBearer(
    auto_error=False,
    description="A token from `discovery token create HANDLE [--admin]`. Not needed when the"
    " database has no tokens at all (local single-user mode).",
)


@dataclass(frozen=True)
class Principal:
    """The caller: an account handle (None for open mode) and whether it may act for anyone."""

    handle: str | None
    admin: bool
    open_mode: bool = False
    #: The hash of the token it speaks for (None in open mode).
    token_hash: str | None = None
    #: Whether it came from a browser session cookie (not a bearer header).
    session: bool = False

    def may_act_for(self, handle: str) -> bool:
        return self.admin or self.handle == handle.lstrip("@")


async def get_service(request: Request) -> Service:
    return request.app.state.service  # type: ignore[no-any-return]


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})


_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def check_same_origin(request: Request) -> None:
    """403 unless the request comes from this server's own pages: a browser says where a
    request comes from in ``Sec-Fetch-Site`` and ``Origin`` (absent: not a cross-site browser
    request, e.g. curl)."""
    site = request.headers.get("sec-fetch-site")
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.url.netloc}"
    if site not in (None, "same-origin", "none") or origin not in (None, own):
        raise HTTPException(403, "cross-site form posts are refused")


#: When this process last recorded each token's use: the store is asked at most once a
#: minute per token, so a busy client never queues its requests behind an ingest for a write.
_TOUCHED: dict[str, float] = {}
TOUCH_EVERY = 60


def _touch(service: Service, token_hash: str) -> None:
    """Record that the token was used (``tokens.last_used``, at most once a minute)."""
    now = time.time()
    if now - _TOUCHED.get(token_hash, 0.0) < TOUCH_EVERY:
        return
    _TOUCHED[token_hash] = now
    try:
        with service.auth_lock:
            service.auth_store.touch_token(token_hash, int(now), TOUCH_EVERY)
    except Exception:  # bookkeeping never fails a read (a read-only database, say)
        pass


def session_principal(request: Request, service: Service) -> Principal | None:
    """Who the request's session cookie speaks for; None without a cookie, or with one that
    is tampered, expired, signed out or whose token was revoked."""
    value = request.cookies.get(sessions.COOKIE)
    if not value:
        return None
    key = sessions.session_secret(service, create=False)
    if key is None:
        return None
    found = sessions.read_cookie(key, value, sessions.now_ms(), sessions.session_days() * 86_400)
    if found is None:
        return None
    token_hash, issued_ms = found
    with service.auth_lock:
        record = service.auth_store.token(token_hash)
    if record is None or (record.signed_out_at is not None and issued_ms <= record.signed_out_at):
        return None
    if record.handle is None and not record.admin:
        return None
    _touch(service, token_hash)
    return Principal(record.handle, admin=record.admin, token_hash=token_hash, session=True)


async def principal(
    request: Request,
    service: Service = Depends(get_service),
    creds: HTTPAuthorizationCredentials | None = Depends(_bearer),
) -> Principal:
    """FastAPI dependency: the caller of this request (401 when a token is needed and bad).

    Runs on the event loop: a few indexed look-ups on the auth connection take microseconds,
    less than a hop to a worker thread."""
    if service.open_mode():
        return Principal(None, admin=True, open_mode=True)
    if creds is None:
        who = session_principal(request, service)
        if who is None:
            raise _unauthorized(
                "missing bearer token (Authorization: Bearer <token>), or sign in at /signin"
            )
        if request.method not in _SAFE_METHODS:
            check_same_origin(request)
        return who
    info = service.token(creds.credentials)
    if info is None:
        raise _unauthorized("unknown bearer token")
    handle = None if info.account is None else service.handle_of(info.account)
    if handle is None and not info.admin:
        raise _unauthorized("this token's account no longer exists")
    _touch(service, info.token_hash)
    return Principal(handle, admin=info.admin, token_hash=info.token_hash)


def authorize(who: Principal, handle: str, what: str = "read the data of") -> None:
    """403 unless ``who`` may act for ``handle``."""
    if not who.may_act_for(handle):
        raise HTTPException(403, f"the token of @{who.handle} may not {what} @{handle}")
