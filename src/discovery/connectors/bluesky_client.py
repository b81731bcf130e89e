"""XRPC reads through the ``atproto`` SDK, with the manners a long sync needs.

:class:`Reader` asks an AppView (``https://public.api.bsky.app`` by default: public data, no
login) the queries a sync needs — ``app.bsky.actor.getProfile``, ``app.bsky.graph.getFollows``,
``app.bsky.feed.getAuthorFeed``, logged in with an app password ``app.bsky.feed.getActorLikes``,
and of the actor's PDS ``com.atproto.repo.listRecords`` (its follow records' keys) — with the
SDK's typed parameter models and its
``invoke_query``. Each item of a page is parsed on its own with the SDK's models
(``models.get_or_create``), so one malformed item is skipped and counted instead of losing the
page (the SDK's convenience methods validate a page as a whole).

Manners: HTTP 429 waits for ``retry-after`` / ``ratelimit-reset``; a response that says
``ratelimit-remaining: 0`` waits for the reset before the next call; 5xx answers, timeouts and
refused connections are retried with exponential backoff (``backoff * 2**n``, ``retries``
times), then end the sync with one line (:class:`BlueskyError`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ..errors import DiscoveryError

__all__ = ["PUBLIC_APPVIEW", "BlueskyError", "FollowPage", "NotFound", "Page", "Reader"]

#: The public, cached AppView: every public read, no account needed.
PUBLIC_APPVIEW = "https://public.api.bsky.app"

#: ``(parsed items, skip reasons of the items that did not parse, next cursor)``
Page = tuple[list[Any], list[str], str | None]
#: A page of follow records: ``(subject DID, record key)`` pairs and the next cursor.
FollowPage = tuple[list[tuple[str, str]], str | None]


class BlueskyError(DiscoveryError):
    """A sync that cannot go on: the message is the one line the CLI prints."""


class NotFound(BlueskyError):
    """The AppView does not know the actor (400 ``InvalidRequest``/``ActorNotFound``) or will
    not show it (blocked, deactivated)."""


def _details(exc: Any) -> str:
    response = getattr(exc, "response", None)
    content = getattr(response, "content", None)
    error, message = getattr(content, "error", None), getattr(content, "message", None)
    if error or message:
        return ": ".join(str(x) for x in (error, message) if x)
    return type(exc.__cause__ or exc).__name__


class Reader:
    """Typed XRPC queries against one service, with waits and retries.

    ``on_wait(seconds, why)`` is called before each wait (the progress bar shows it);
    ``sleep`` is injectable for tests of the arithmetic.
    """

    def __init__(
        self,
        service: str = PUBLIC_APPVIEW,
        *,
        timeout: float = 20.0,
        retries: int = 4,
        backoff: float = 0.5,
        max_wait: float = 900.0,
        on_wait: Callable[[float, str], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        from atproto import Client
        from atproto_client.request import Request

        self.service = service.rstrip("/")
        self.client = Client(base_url=self.service, request=Request(timeout=timeout))
        self.retries, self.backoff, self.max_wait = retries, backoff, max_wait
        self.on_wait = on_wait or (lambda seconds, why: None)
        self.sleep = sleep
        self.calls = 0
        self.waited = 0.0

    # ---------------------------------------------------------------- calls
    def login(self, identifier: str, password: str) -> None:
        """Create a session (an app password; kept in memory only, never written anywhere)."""
        from atproto_client.exceptions import UnauthorizedError

        try:
            self._call(lambda: self.client.login(identifier, password, fetch_bsky_profile=False))
        except UnauthorizedError as exc:
            raise BlueskyError(
                f"bluesky: {self.service} refused the login of {identifier!r} ({_details(exc)});"
                " check the handle and the app password"
            ) from None

    def _wait(self, seconds: float, why: str) -> None:
        if seconds > self.max_wait:
            raise BlueskyError(
                f"bluesky: {self.service} asks to wait {seconds:.0f} s ({why}), more than"
                f" {self.max_wait:.0f} s; run the sync again later"
            )
        if seconds > 0:
            self.on_wait(seconds, why)
            self.sleep(seconds)
            self.waited += seconds

    def _call(self, fn: Callable[[], Any]) -> Any:
        from atproto_client import exceptions as ex

        tries = 0
        while True:
            self.calls += 1
            try:
                return fn()
            except ex.RateLimitExceededError as exc:
                reset = exc.reset_at
                wait = exc.retry_after
                if wait is None and reset is not None:
                    wait = reset.timestamp() - time.time()
                wait = max(0.0, wait if wait is not None else self.backoff * 2**tries)
                tries += 1
                if tries > self.retries + 4:
                    raise BlueskyError(f"bluesky: {self.service} keeps answering 429") from None
                self._wait(wait, "rate limited (429)")
            except (ex.NetworkError, ex.RequestException) as exc:
                status = exc.response.status_code if exc.response is not None else None
                if status is not None and status < 500 and status not in (409, 413):
                    raise
                if tries >= self.retries:
                    what = (
                        f"answered {status}" if status else f"cannot be reached ({_details(exc)})"
                    )
                    raise BlueskyError(
                        f"bluesky: {self.service} {what} after {tries + 1} tries"
                    ) from None
                self._wait(self.backoff * 2**tries, f"retrying after {status or _details(exc)}")
                tries += 1

    def _query(self, nsid: str, params: Any) -> dict[str, Any]:
        from atproto_client import exceptions as ex

        try:
            response = self._call(
                lambda: self.client.invoke_query(
                    nsid, params=params, output_encoding="application/json"
                )
            )
        except ex.BadRequestError as exc:
            raise NotFound(f"bluesky: {self.service}: {_details(exc)}") from None
        except ex.UnauthorizedError as exc:
            raise BlueskyError(
                f"bluesky: {self.service} refused {nsid} ({_details(exc)}); log in with an app"
                " password that belongs to the actor"
            ) from None
        headers = response.headers or {}
        if str(headers.get("ratelimit-remaining", "")).strip() == "0":
            try:
                reset = float(headers.get("ratelimit-reset", ""))
            except ValueError:
                reset = time.time() + self.backoff
            self._wait(max(0.0, reset - time.time()), "rate limit reached (ratelimit-remaining 0)")
        content = response.content
        if not isinstance(content, dict):
            raise BlueskyError(f"bluesky: {self.service} answered {nsid} without a JSON object")
        return content

    @staticmethod
    def _items(raw: Any, model: Any) -> tuple[list[Any], list[str]]:
        from atproto import models

        good: list[Any] = []
        bad: list[str] = []
        for item in raw if isinstance(raw, list) else []:
            try:
                good.append(models.get_or_create(item, model))
            except Exception:  # any malformed item is skipped and counted
                bad.append(f"malformed {model.__module__.rsplit('.', 1)[-1]} item")
        return good, bad

    # -------------------------------------------------------------- queries
    def profile(self, actor: str) -> Any:
        """``app.bsky.actor.getProfile``; :class:`NotFound` for an unknown actor."""
        from atproto import models

        try:
            content = self._query(
                "app.bsky.actor.getProfile", models.AppBskyActorGetProfile.Params(actor=actor)
            )
            return models.get_or_create(content, models.AppBskyActorDefs.ProfileViewDetailed)
        except NotFound:
            raise NotFound(f"bluesky: no account {actor!r} at {self.service}") from None
        except Exception as exc:
            if isinstance(exc, BlueskyError):
                raise
            raise BlueskyError(f"bluesky: {self.service} sent a malformed profile") from None

    def follows(self, actor: str, cursor: str | None, limit: int = 100) -> Page:
        """One page of ``app.bsky.graph.getFollows`` (profile views)."""
        from atproto import models

        params = models.AppBskyGraphGetFollows.Params(actor=actor, cursor=cursor, limit=limit)
        content = self._query("app.bsky.graph.getFollows", params)
        good, bad = self._items(content.get("follows"), models.AppBskyActorDefs.ProfileView)
        return good, bad, _cursor(content)

    def author_feed(self, actor: str, cursor: str | None, limit: int = 50) -> Page:
        """One page of ``app.bsky.feed.getAuthorFeed`` with ``filter=posts_with_media``."""
        from atproto import models

        params = models.AppBskyFeedGetAuthorFeed.Params(
            actor=actor, cursor=cursor, limit=limit, filter="posts_with_media"
        )
        content = self._query("app.bsky.feed.getAuthorFeed", params)
        good, bad = self._items(content.get("feed"), models.AppBskyFeedDefs.FeedViewPost)
        return good, bad, _cursor(content)

    def actor_likes(self, actor: str, cursor: str | None, limit: int = 100) -> Page:
        """One page of ``app.bsky.feed.getActorLikes`` (needs a session of ``actor``)."""
        from atproto import models

        params = models.AppBskyFeedGetActorLikes.Params(actor=actor, cursor=cursor, limit=limit)
        content = self._query("app.bsky.feed.getActorLikes", params)
        good, bad = self._items(content.get("feed"), models.AppBskyFeedDefs.FeedViewPost)
        return good, bad, _cursor(content)

    def follow_records(self, repo: str, cursor: str | None, limit: int = 100) -> FollowPage:
        """One page of ``com.atproto.repo.listRecords`` of ``app.bsky.graph.follow`` in a
        repository (served by its PDS, public): ``(subject DID, record key)`` pairs.

        ``getFollows`` answers profile views without the follow records' URIs; a Jetstream
        delete of a follow names only the record key, so the sync reads them here.
        """
        from atproto import models

        params = models.ComAtprotoRepoListRecords.Params(
            repo=repo, collection="app.bsky.graph.follow", cursor=cursor, limit=limit
        )
        content = self._query("com.atproto.repo.listRecords", params)
        pairs: list[tuple[str, str]] = []
        raw = content.get("records")
        for item in raw if isinstance(raw, list) else []:
            uri = item.get("uri") if isinstance(item, dict) else None
            value = item.get("value") if isinstance(item, dict) else None
            subject = value.get("subject") if isinstance(value, dict) else None
            if isinstance(uri, str) and isinstance(subject, str) and subject.startswith("did:"):
                pairs.append((subject, uri.rsplit("/", 1)[-1]))
        return pairs, _cursor(content)


def _cursor(content: dict[str, Any]) -> str | None:
    cursor = content.get("cursor")
    return cursor if isinstance(cursor, str) and cursor else None
