"""A careful Mastodon.py client: one-line errors, bounded retries, rate-limit waits reported.

Mastodon.py (``ratelimit_method="wait"``) already sleeps through a 429 until the server's
``X-RateLimit-Reset``; a response hook on its ``requests`` session sees those answers first and
tells the progress display how long the wait is. What Mastodon.py leaves to its caller is done
here: 5xx answers and timeouts are retried with exponential backoff (bounded), and every
failure becomes a :class:`MastodonSyncError` whose message fits on one line — an unknown
account, a refused token, no network, or a server that does not speak the Mastodon API.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..errors import DiscoveryError

__all__ = ["Client", "MastodonSyncError", "NotFoundError", "RateLimit", "connect", "instance_info"]

T = TypeVar("T")


class MastodonSyncError(DiscoveryError):
    """A sync that cannot go on; the message is one line and never holds the token."""


class NotFoundError(MastodonSyncError):
    """A 404; ``endpoint_missing`` when the server has no such route (not a missing record)."""

    def __init__(self, message: str, *, endpoint_missing: bool) -> None:
        super().__init__(message)
        self.endpoint_missing = endpoint_missing


@dataclass
class RateLimit:
    """What the server last said about its budget (``X-RateLimit-*``), and the waits so far."""

    limit: int | None = None
    remaining: int | None = None
    waits: int = 0
    waited: float = 0.0

    def describe(self) -> str:
        if self.remaining is None:
            return ""
        return f"rate limit {self.remaining}/{self.limit if self.limit is not None else '?'}"


@dataclass
class Client:
    """Mastodon.py plus the retry policy; ``calls`` counts requests (retries included)."""

    api: Any
    base: str
    retries: int = 4
    backoff: float = 1.0
    on_wait: Callable[[float], None] = lambda seconds: None
    rate: RateLimit = field(default_factory=RateLimit)
    calls: int = 0
    retried: int = 0
    contacted: bool = False

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """``api.<method>(...)`` with retries on 5xx and timeouts; errors as one line."""
        from mastodon.errors import (
            MastodonAPIError,
            MastodonNetworkError,
            MastodonNotFoundError,
            MastodonServerError,
            MastodonUnauthorizedError,
        )

        last: BaseException | None = None
        for attempt in range(self.retries + 1):
            self.calls += 1
            try:
                result = getattr(self.api, method)(*args, **kwargs)
                self.contacted = True
                return result
            except MastodonUnauthorizedError:
                if self.api.access_token is None:
                    raise MastodonSyncError(
                        f"mastodon: {self.base} answers this only with an access token (401"
                        " Unauthorized; Pixelfed always does): pass --token or set"
                        " DISCOVERY_MASTODON_TOKEN"
                    ) from None
                raise MastodonSyncError(
                    f"mastodon: {self.base} refused the access token (401 Unauthorized); "
                    "check --token / DISCOVERY_MASTODON_TOKEN"
                ) from None
            except (MastodonServerError, MastodonNetworkError) as exc:
                # An unreachable server at the first request is "no network", not a blip.
                last = exc
                if not self.contacted and isinstance(exc, MastodonNetworkError):
                    break
                if attempt < self.retries:
                    self.retried += 1
                    time.sleep(self.backoff * 2**attempt)
            except MastodonNotFoundError as exc:
                missing = exc.args[-1:] == ("Endpoint not found.",)
                raise NotFoundError(
                    f"mastodon: {self.base}: {_api_problem(exc)}", endpoint_missing=missing
                ) from None
            except MastodonAPIError as exc:
                raise MastodonSyncError(f"mastodon: {self.base}: {_api_problem(exc)}") from None
        if isinstance(last, MastodonNetworkError):
            raise MastodonSyncError(
                f"mastodon: cannot reach {self.base} ({_network_problem(last)})"
            ) from None
        raise MastodonSyncError(
            f"mastodon: {self.base} kept failing ({_api_problem(last)}) after "
            f"{self.retries + 1} tries"
        ) from None

    def pages(self, method: str, *args: Any, max_items: int, **kwargs: Any) -> Iterator[Any]:
        """Items of a paginated list (``Link: rel="next"`` → ``fetch_next``), up to ``max_items``."""
        page = self.call(method, *args, **kwargs)
        seen = 0
        while page:
            for item in page:
                yield item
                seen += 1
                if seen >= max_items:
                    return
            page = self.call("fetch_next", page)

    def note(self, response: Any) -> None:
        """Session hook: remember the rate-limit headers, report a 429's wait before it starts."""
        headers = response.headers
        for name, attr in (("X-RateLimit-Limit", "limit"), ("X-RateLimit-Remaining", "remaining")):
            if headers.get(name, "").isdigit():
                setattr(self.rate, attr, int(headers[name]))
        if response.status_code == 429:
            wait = _reset_in(headers.get("X-RateLimit-Reset", ""))
            self.rate.waits += 1
            self.rate.waited += wait
            self.on_wait(wait)


def _reset_in(value: str) -> float:
    """Seconds until an ``X-RateLimit-Reset`` (ISO 8601 or Unix seconds); 2 s when unknown."""
    import datetime as dt

    try:
        at = float(value) if value.isdigit() else dt.datetime.fromisoformat(value).timestamp()
    except ValueError:
        return 2.0  # Mastodon.py's first backoff when the server gives no reset time
    return float(min(max(at - time.time(), 0.0), 300.0))


def _api_problem(exc: BaseException | None) -> str:
    args = [a for a in getattr(exc, "args", ()) if a is not None]
    if len(args) >= 3 and isinstance(args[1], int):
        detail = f"{args[1]} {args[2]}"
        if len(args) >= 4 and isinstance(args[3], str) and args[3] != "Endpoint not found.":
            detail += f": {args[3][:120]}"
        return detail
    return str(args[0])[:160] if args else type(exc).__name__


def _network_problem(exc: BaseException) -> str:
    cause = exc.__context__
    if cause is None:
        return "network error"
    text = type(cause).__name__
    if "Timeout" in text:
        return "timed out"
    return "connection refused or no route" if "Connection" in text else text


def connect(
    base: str,
    token: str | None,
    *,
    retries: int = 4,
    backoff: float = 1.0,
    timeout: float = 30.0,
    on_wait: Callable[[float], None] = lambda seconds: None,
) -> Client:
    """A :class:`Client` for ``base`` (``https://host`` or a local fake's URL)."""
    import requests
    from mastodon import Mastodon

    session = requests.Session()
    client = Client(None, base, retries=retries, backoff=backoff, on_wait=on_wait)
    session.hooks["response"].append(lambda response, *a, **k: client.note(response))
    client.api = Mastodon(
        access_token=token or None,
        api_base_url=base,
        ratelimit_method="wait",
        request_timeout=timeout,
        version_check_mode="none",
        session=session,
        user_agent="discovery-engine",
    )
    return client


def instance_info(client: Client) -> dict[str, Any]:
    """``/api/v1/instance`` (or v2), checked to be a Mastodon-compatible API."""
    try:
        info = client.call("instance_v1")
    except MastodonSyncError as exc:
        if "cannot reach" in str(exc) or "refused the access token" in str(exc):
            raise
        try:
            info = client.call("instance_v2")
        except MastodonSyncError:
            raise MastodonSyncError(
                f"mastodon: {client.base} does not answer as a Mastodon-compatible API "
                "(no /api/v1/instance)"
            ) from None
    if not isinstance(info, dict) or not isinstance(info.get("version"), str):
        raise MastodonSyncError(
            f"mastodon: {client.base} does not answer as a Mastodon-compatible API "
            "(its /api/v1/instance has no version)"
        )
    return info
