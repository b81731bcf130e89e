"""``create_app(db)``: the FastAPI application behind ``discovery serve``."""

from __future__ import annotations

import gc
import json
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import anyio.to_thread
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from .._version import __version__
from ..settings import Settings
from . import api, experiments, root
from .errors import MAX_BODY, GuardMiddleware, install_error_handlers
from .metrics import MetricsMiddleware
from .state import Service

_log = logging.getLogger("discovery.serve")

if TYPE_CHECKING:
    from .feedgen import FeedgenConfig

__all__ = [
    "DB_ENV",
    "FEATURES_ENV",
    "SETTINGS_ENV",
    "app_from_env",
    "create_app",
    "one_blas_thread_per_worker",
]

_DESCRIPTION = """Ranked, explained feeds (timeline, explore, interests) over one database, and
real-time events that change the next feed. Every item says why it is there.

Authentication: `Authorization: Bearer <token>` from `discovery token create HANDLE`. A database
with no tokens at all is served open (local single-user mode)."""


#: The database of ``app_from_env`` (set by ``discovery serve --workers N``).
DB_ENV = "DISCOVERY_SERVE_DB"
#: ``serve --set`` changes for every worker, as JSON.
SETTINGS_ENV = "DISCOVERY_SERVE_SETTINGS"
#: ``serve --impression-features``: "all" (the default) logs every learned feature of a served
#: item, "ranker" only the serving ranker's factors and sources.
FEATURES_ENV = "DISCOVERY_SERVE_IMPRESSION_FEATURES"


def app_from_env() -> FastAPI:
    """The app over ``$DISCOVERY_SERVE_DB``: the factory each uvicorn worker process calls
    (with the Bluesky feed generator when ``$DISCOVERY_SERVE_FEEDGEN`` holds its settings)."""
    from .feedgen import FEEDGEN_ENV, FeedgenConfig

    feedgen = os.environ.get(FEEDGEN_ENV)
    one_blas_thread_per_worker()
    changes = json.loads(os.environ.get(SETTINGS_ENV) or "{}")
    return create_app(
        os.environ[DB_ENV],
        feedgen=FeedgenConfig.from_env(feedgen) if feedgen else None,
        settings=Settings().replace(**changes) if changes else None,
        learned_features=os.environ.get(FEATURES_ENV, "all") == "all",
    )


def one_blas_thread_per_worker() -> None:
    """Limit this process's BLAS to one thread (nothing without threadpoolctl): called where
    a server process starts (:func:`app_from_env`, ``serve`` with one worker). A server's
    parallelism is across requests and workers, one per core; OpenBLAS's own threads in a
    request's products (a PageRank vector's 1M-element dot products, ALS scores) only spin
    against the other workers: on the large world an explore with ALS took 110 ms of CPU for
    55 ms of wall time with two BLAS threads, 70 ms of both with one."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # BLAS keeps its own thread count
        return
    threadpool_limits(limits=1, user_api="blas")


def _warm(service: Service) -> None:
    """Build the engine's lazily derived structures before the first request
    (:mod:`discovery.warmup`); a failure is logged and the worker serves anyway, cold."""
    from ..warmup import warm_up

    try:
        done = warm_up(service.engine)
    except Exception:  # a cold worker still serves; the log says why
        _log.warning("warm-up failed; the first requests build what it would have", exc_info=True)
        return
    _log.info(
        "warmed up in %.1f s: %d structures for accounts %s",
        done.seconds,
        len(done.built),
        done.users,
    )


def create_app(
    db: str | Path,
    *,
    settings: Settings | None = None,
    max_body: int = MAX_BODY,
    threads: int = 4,
    feedgen: FeedgenConfig | None = None,
    learned_features: bool = True,
) -> FastAPI:
    """The API over database ``db`` (which must exist): one engine snapshot shared by all
    requests, caught up with the store before every read; ``threads`` request handlers run at
    once (the rest queue). With ``feedgen``, also a Bluesky feed generator (see
    :mod:`.feedgen`). ``learned_features``: whether logged impressions carry every learned
    feature of the served item (:func:`discovery.experiments.serving.serve_feed`)."""
    service = Service(db, settings, learned_features=learned_features)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Engine work is serialised by its lock: more threads only add malloc arenas (memory
        # that grows under load) and contention, not throughput.
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        service.open()  # again, when a test client starts the same app twice
        _warm(service)
        # The app, the libraries and the snapshot's indexes live as long as the process: move
        # them out of the cyclic collector's reach, so full collections under load only scan
        # what requests allocate (Instagram's gc.freeze; shorter pauses, less CPU).
        gc.collect()
        gc.freeze()
        yield
        service.close()

    app = FastAPI(
        title="discovery-engine",
        version=__version__,
        description=_DESCRIPTION,
        docs_url=None,  # served by root.docs, from local files when available
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.service = service
    app.include_router(api.router)
    app.include_router(experiments.router)
    app.include_router(root.router)
    if feedgen is not None:
        from .feedgen import include_feedgen

        include_feedgen(app, feedgen)
    from ..web import include_web  # the HTML pages (their own router, static files)

    include_web(app)
    assets = root.docs_assets_dir()
    if assets is not None:
        app.mount(root.DOCS_ASSETS, StaticFiles(directory=assets), name="docs-assets")
    install_error_handlers(app)
    app.add_middleware(GuardMiddleware, max_body=max_body)
    app.add_middleware(MetricsMiddleware, metrics=service.metrics)
    return app
