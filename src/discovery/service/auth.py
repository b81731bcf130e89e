"""Who is calling: bearer tokens, and the rule "a user token speaks only for its own account".

- No token exists at all: the API is open (local single-user mode, bound to 127.0.0.1 by
  default); every request acts as an admin.
- Otherwise every ``/v1`` request needs ``Authorization: Bearer <token>`` (401 without, or with
  an unknown token). A user token reads only its own feeds, interests, graph and settings and
  posts only its own events (403 otherwise); an admin token may do both for anyone. Posts and
  similar posts are readable with any valid token.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .state import Service

__all__ = ["Principal", "authorize", "get_service", "principal"]

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

    def may_act_for(self, handle: str) -> bool:
        return self.admin or self.handle == handle.lstrip("@")


async def get_service(request: Request) -> Service:
    return request.app.state.service  # type: ignore[no-any-return]


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})


async def principal(
    service: Service = Depends(get_service),
    creds: HTTPAuthorizationCredentials | None = Depends(_bearer),
) -> Principal:
    """FastAPI dependency: the caller of this request (401 when a token is needed and bad).

    Runs on the event loop: two indexed look-ups on the auth connection take microseconds,
    less than a hop to a worker thread."""
    if service.open_mode():
        return Principal(None, admin=True, open_mode=True)
    if creds is None:
        raise _unauthorized("missing bearer token (Authorization: Bearer <token>)")
    info = service.token(creds.credentials)
    if info is None:
        raise _unauthorized("unknown bearer token")
    handle = None if info.account is None else service.handle_of(info.account)
    if handle is None and not info.admin:
        raise _unauthorized("this token's account no longer exists")
    return Principal(handle, admin=info.admin)


def authorize(who: Principal, handle: str, what: str = "read the data of") -> None:
    """403 unless ``who`` may act for ``handle``."""
    if not who.may_act_for(handle):
        raise HTTPException(403, f"the token of @{who.handle} may not {what} @{handle}")
