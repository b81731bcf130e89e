"""A Bluesky feed generator: your Explore, read in the Bluesky apps you already use.

Routes (included by :func:`~discovery.service.app.create_app` only when a
:class:`FeedgenConfig` is given: ``discovery serve --feedgen-did DID``):

- ``GET /xrpc/app.bsky.feed.getFeedSkeleton?feed=&limit=&cursor=`` — one page of at-uris
  (:mod:`.feedgen_skeleton`) for the requester named by the service-auth JWT
  (:mod:`.feedgen_auth`). The record key of ``feed`` chooses the kind: ``.../explore`` serves
  that user's explore, ``.../blend`` their blend (:data:`FEEDS`), under a running experiment
  by the requester's arm, every served post logged as an impression as the API's feeds are.
- ``GET /xrpc/app.bsky.feed.describeFeedGenerator`` — the service DID and the feeds it serves
  (listed when the publisher's DID is configured: feed URIs live in the publisher's repo).
- ``GET /.well-known/did.json`` — the DID document of a ``did:web`` service, whose
  ``#bsky_fg`` service entry points apps at :attr:`FeedgenConfig.endpoint`.

Errors use the XRPC shape ``{"error": NAME, "message": TEXT}``: 401 for a missing, malformed,
expired, wrong-audience, wrong-method or badly signed token; 400 ``UnknownFeed`` for a feed this
service does not serve; 400 ``InvalidRequest`` for a bad ``limit`` or cursor.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import unquote

import anyio.to_thread
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from ..connectors.bluesky_publish import FEEDS, GENERATOR
from ..errors import InputError
from ..experiments.serving import running_experiment
from .experiments import log_impressions
from .feedgen_auth import PLC_DIRECTORY, AuthFailure, DidKeys, is_did, verify_service_jwt
from .feedgen_skeleton import skeleton_page
from .state import Service

__all__ = ["FEEDGEN_ENV", "FEEDS", "FeedgenConfig", "include_feedgen", "router"]

#: The configuration of ``app_from_env`` (set by ``discovery serve --workers N``).
FEEDGEN_ENV = "DISCOVERY_SERVE_FEEDGEN"


@dataclass(frozen=True)
class FeedgenConfig:
    """Who the feed generator is and where it lives.

    Parameters
    ----------
    service_did
        The service's DID (``did:web:feeds.example.com``), the ``aud`` of every token.
    hostname
        Public host name behind HTTPS; None: the host of a ``did:web`` DID.
    publisher_did
        The account whose repository holds the feed records (``discovery bluesky
        publish-feed``); describeFeedGenerator lists its feeds, and getFeedSkeleton then
        serves only feeds of that repository.
    plc_url
        PLC directory where requesters' ``did:plc`` documents are resolved.
    did_web_url
        None (the default): a requester's ``did:web:host`` document is read from
        ``https://host/.well-known/did.json``, as the did:web method says; else from
        ``{did_web_url}/host/.well-known/did.json`` (a mirror or resolver of your own, or a
        local directory in tests).
    """

    service_did: str
    hostname: str | None = None
    publisher_did: str | None = None
    plc_url: str = PLC_DIRECTORY
    did_web_url: str | None = None
    feeds: dict[str, str] = field(default_factory=lambda: dict(FEEDS))

    def __post_init__(self) -> None:
        for name in ("service_did", "publisher_did"):
            value = getattr(self, name)
            if value is not None and not is_did(value):
                raise InputError(f"feed generator: {name} {value!r} is not a DID")
        if self.hostname is None and not self.service_did.startswith("did:web:"):
            raise InputError("feed generator: a did:plc service needs its hostname")

    @property
    def host(self) -> str:
        """The public host (``did:web:host%3A8443`` → ``host:8443``)."""
        return self.hostname or unquote(self.service_did.removeprefix("did:web:"))

    @property
    def endpoint(self) -> str:
        return f"https://{self.host}"

    def feed_uris(self) -> list[str]:
        """The at-uris of the served feeds (empty without a publisher)."""
        if self.publisher_did is None:
            return []
        return [f"at://{self.publisher_did}/{GENERATOR}/{rkey}" for rkey in self.feeds]

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls, text: str) -> FeedgenConfig:
        return cls(**json.loads(text))


class FeedgenState:
    """The configuration and its cached DID-key resolver, shared by all requests."""

    def __init__(self, config: FeedgenConfig) -> None:
        self.config = config
        self.keys = DidKeys(config.plc_url, did_web_url=config.did_web_url)


router = APIRouter(tags=["bluesky feed generator"])


def _error(status: int, error: str, message: str) -> JSONResponse:
    return JSONResponse({"error": error, "message": message}, status_code=status)


def _state(request: Request) -> FeedgenState:
    return request.app.state.feedgen  # type: ignore[no-any-return]


@router.get("/.well-known/did.json")
async def did_document(request: Request) -> JSONResponse:
    """The DID document of a ``did:web`` feed generator service."""
    config = _state(request).config
    if not config.service_did.startswith("did:web:"):
        return _error(404, "NotFound", "this service's DID is not a did:web")
    service = {"id": "#bsky_fg", "type": "BskyFeedGenerator", "serviceEndpoint": config.endpoint}
    body = {
        "@context": ["https://www.w3.org/ns/did/v1"],
        "id": config.service_did,
        "service": [service],
    }
    return JSONResponse(body)


@router.get("/xrpc/app.bsky.feed.describeFeedGenerator")
async def describe_feed_generator(request: Request) -> JSONResponse:
    """The service DID and the feeds it serves (``app.bsky.feed.describeFeedGenerator``)."""
    config = _state(request).config
    feeds = [{"uri": uri} for uri in config.feed_uris()]
    return JSONResponse({"did": config.service_did, "feeds": feeds})


def _feed_kind(config: FeedgenConfig, feed: str) -> str | None:
    """The kind a feed at-uri asks for, None when this service does not serve it."""
    repo, _, rest = feed.removeprefix("at://").partition("/")
    collection, _, rkey = rest.partition("/")
    if not feed.startswith("at://") or collection != GENERATOR:
        return None
    if config.publisher_did is not None and repo != config.publisher_did:
        return None
    return config.feeds.get(rkey)


def _limit(raw: str | None) -> int:
    if raw is None:
        return 50
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        raise InputError(f"limit must be an integer from 1 to 100, got {raw[:40]!r}")
    return int(raw)


@router.get("/xrpc/app.bsky.feed.getFeedSkeleton")
async def get_feed_skeleton(request: Request) -> JSONResponse:
    """One page of the requester's feed as post at-uris (``app.bsky.feed.getFeedSkeleton``)."""
    state = _state(request)
    header = request.headers.get("authorization")
    try:
        did = await anyio.to_thread.run_sync(  # DID resolution may wait on the network
            lambda: verify_service_jwt(header, state.config.service_did, state.keys)
        )
    except AuthFailure as exc:
        return _error(401, exc.error, exc.message)
    query = request.query_params
    feed = query.get("feed")
    if not feed:
        return _error(400, "InvalidRequest", "missing required parameter: feed")
    kind = _feed_kind(state.config, feed)
    if kind is None:
        return _error(400, "UnknownFeed", f"unknown feed {feed[:300]!r}")
    service: Service = request.app.state.service

    def page() -> Any:
        with service.engine_for_read() as engine:
            return skeleton_page(
                engine, did, kind, limit, query.get("cursor"),
                experiment=running_experiment(engine),
                learned_features=service.learned_features,
            )  # fmt: skip

    try:
        limit = _limit(query.get("limit"))
        result = await service.run_read(page)
    except InputError as exc:
        return _error(400, "InvalidRequest", str(exc))
    log_impressions(service, result.impressions)  # as the API's feeds: queued, never failing
    body: dict[str, Any] = {"feed": [{"post": uri} for uri in result.posts]}
    if result.cursor is not None:
        body["cursor"] = result.cursor
    return JSONResponse(body)


def include_feedgen(app: FastAPI, config: FeedgenConfig) -> None:
    """Serve the feed generator routes of ``config`` on ``app``."""
    app.state.feedgen = FeedgenState(config)
    app.include_router(router)
