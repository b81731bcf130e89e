"""Routes outside ``/v1``: images from the media folder, health, metrics and the docs page."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, Response

from . import views
from .auth import get_service
from .metrics import CONTENT_TYPE
from .models import ErrorOut, HealthOut
from .responses import FastJSON
from .state import Service

__all__ = ["DOCS_ASSETS", "docs_assets_dir", "router"]

_IMAGE_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".gif": "image/gif",
}
#: Where the docs page loads Swagger UI from when it is installed locally.
DOCS_ASSETS = "/docs-assets"

router = APIRouter()
Svc = Annotated[Service, Depends(get_service)]


@router.get(
    "/media/{path:path}",
    response_class=FileResponse,
    responses={
        200: {"content": {t: {} for t in set(_IMAGE_TYPES.values())}},
        404: {"model": ErrorOut},
    },
    tags=["media"],
)
def get_media(path: str, service: Svc) -> FileResponse:
    """An image from the media folder next to the database (``<db>.media/``); paths that leave
    the folder (``..``, absolute paths, links pointing out) and non-image files are 404. A
    lazily generated world's image is rendered (and saved) on its first request."""
    root = service.engine.media_dir.resolve()
    target: Path | None = None
    missing = False
    try:
        target = (root / path).resolve()
        ok = root in target.parents and target.is_file()
        missing = not ok and root in target.parents and not target.exists()
    except (OSError, ValueError):  # a NUL byte, a name too long (ENAMETOOLONG)...
        ok = False
    if missing and target is not None:
        # worlds generated with lazy images (the large size) draw each image on first request
        from ..world.images import render_missing

        with service.engine._lock:
            ok = render_missing(service.engine.store, root, path) is not None
    kind = _IMAGE_TYPES.get(target.suffix.lower()) if ok and target is not None else None
    if kind is None or target is None:
        raise HTTPException(404, f"no image {path!r} in the media folder")
    return FileResponse(target, media_type=kind, headers={"Cache-Control": "max-age=3600"})


@router.get("/healthz", response_model=HealthOut, tags=["service"])
def healthz(service: Svc) -> FastJSON:
    """Liveness, and the store counter the in-memory snapshot is at."""
    return FastJSON(views.health_view(service))


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
    tags=["service"],
)
def metrics(service: Svc) -> Response:
    """Prometheus text format: request counts and latencies by route, events ingested,
    snapshot age and lag, PPR cache outcomes."""
    body = service.metrics.render(
        age=time.time() - service.refreshed_at,
        lag=service.lag(),
        counter=int(service.engine.snapshot.counter),
        ppr=service.engine.ppr_cache_stats(),
        candidates=dict(service.engine.candidate_counts),
        impressions=service.impressions.counts(),
        rebuilds=service.rebuild_stats(),
    )
    return Response(body, media_type=CONTENT_TYPE)


def docs_assets_dir() -> Path | None:
    """Swagger UI's files when the ``swagger-ui-bundle-v2`` package is installed, else None
    (the docs page then falls back to FastAPI's default, which loads them from a CDN)."""
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:
        return None
    return Path(str(swagger_ui_path))


@router.get("/docs", include_in_schema=False)
def docs() -> HTMLResponse:
    """The interactive API page (Swagger UI) over ``/openapi.json``."""
    if docs_assets_dir() is None:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="discovery-engine API")
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="discovery-engine API",
        swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
    )
