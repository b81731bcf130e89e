"""Every error as JSON ``{"detail": "...", "errors": [...]}``, and the request guard.

Input problems never surface as a 500: pydantic validation → 422 with each bad field named
(``query.limit``, ``body.3.post``), :class:`discovery.errors.InputError` → 422,
:class:`discovery.store.NotFound` → 404, oversized bodies → 413, a write to a read-only
database → 503 ("database is read-only"; reads still work). Anything else is a bug: 500
with a generic message (the traceback goes to the server log, not to the client).
"""

from __future__ import annotations

import logging
import sqlite3
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ..errors import InputError
from ..store import NotFound, ReadOnly, is_read_only

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["MAX_BODY", "GuardMiddleware", "install_error_handlers"]

#: Largest request body accepted (a full batch of 1,000 events is about 150 KB).
MAX_BODY = 1 << 20
_log = logging.getLogger("discovery.service")


def _where(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc if part not in ("one", "batch"))


def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    raw = list(exc.errors())
    status = 422
    if any(e.get("type") == "json_invalid" for e in raw):
        # not JSON at all: the body could not be read, so nothing in it was validated
        status = 400
        at = [part for part in raw[0].get("loc", ()) if isinstance(part, int)]
        message = "not valid JSON" + (f" (at character {at[0]})" if at else "")
        raw = [{"loc": ("body",), "msg": message}]
    elif _body_not_json(request, raw):
        status = 415
        kind = request.headers.get("content-type", "").split(";")[0].strip() or "none"
        message = f"Content-Type {kind} is not JSON; send the body as application/json"
        raw = [{"loc": ("body",), "msg": message}]
    errors = [{"where": _where(e.get("loc", ())), "message": e.get("msg", "")} for e in raw]
    first = errors[0] if errors else {"where": "request", "message": "invalid"}
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    detail = f"{first['where']}: {first['message']}{more}"
    return JSONResponse({"detail": detail, "errors": errors}, status_code=status)


def _body_not_json(request: Request, errors: list[Any]) -> bool:
    """A body sent with a non-JSON Content-Type (FastAPI then validates the raw text, and
    says "Input should be a valid dictionary", which does not tell what went wrong)."""
    if request.method not in ("POST", "PUT", "PATCH"):
        return False
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json" or kind.endswith("+json") or "form" in kind:
        return False
    return any(tuple(e.get("loc", ()))[:1] == ("body",) for e in errors)


def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return JSONResponse(
        {"detail": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers
    )


def _input(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=422)


def _not_found(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=404)


def _read_only(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(
        {"detail": "database is read-only: reads work, writes are refused"},
        status_code=503,
        headers={"Retry-After": "3600"},
    )


def _internal(request: Request, exc: Exception) -> JSONResponse:
    if is_read_only(exc):  # SQLite's or PostgreSQL's own error, outside a store transaction
        return _read_only(request, exc)
    _log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"detail": "internal server error"}, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    """Map validation, HTTP, input and not-found errors to JSON bodies."""
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(InputError, _input)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(ReadOnly, _read_only)
    # Handled here rather than by the catch-all, which re-raises into the server log.
    app.add_exception_handler(sqlite3.OperationalError, _internal)
    app.add_exception_handler(Exception, _internal)


class GuardMiddleware:
    """Refuse bodies over ``max_body`` bytes (413), mark every response ``nosniff`` (so that
    user text in JSON is never sniffed and run as HTML by a browser) and answer an unhandled
    error as a JSON 500 without letting it reach the server."""

    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_big = f"request body larger than {self.max_body} bytes"
        length = dict(scope.get("headers", [])).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            response = JSONResponse({"detail": too_big}, status_code=413)
            await response(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise HTTPException(413, too_big)
            return message

        started = False

        async def secured(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                headers.append((b"x-content-type-options", b"nosniff"))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, limited, secured)
        except Exception as exc:
            if started:
                raise
            # Answered here, not re-raised: an exception that reaches the server makes it
            # close the connection, and a keep-alive client's next request would fail with it.
            response = _internal(Request(scope), exc)
            await response(scope, receive, secured)
