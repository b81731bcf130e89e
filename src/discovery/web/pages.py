"""The HTML pages: each renders the dict its JSON twin returns, built by the same function in
:mod:`discovery.service.views` (the page adds layout, never different data).

========================  ==============================================================
page                      JSON twin
========================  ==============================================================
/u/{handle}/explore       /v1/users/{handle}/feed?kind=explore
/u/{handle}/timeline      /v1/users/{handle}/feed?kind=timeline
/u/{handle}/interests     /v1/users/{handle}/interests
/p/{post_id}?u={handle}   /v1/posts/{post_id}, …/similar, /v1/users/{handle}/explain/{id}
/u/{handle}/network       /v1/users/{handle}/graph (plus each account's recent posts)
/u/{handle}/tune          /v1/users/{handle}/settings and the feed with ``w_*`` overrides
========================  ==============================================================

Pages use the API's authorization (open on a database without tokens) and its read lane of
worker threads (:meth:`Service.run_read`); every response carries
:data:`~discovery.web.render.SECURITY_HEADERS` (a strict Content-Security-Policy).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from ..errors import InputError
from ..service import people, views
from ..service.auth import Principal, authorize, get_service
from ..service.params import HandlePath, PostPath, handle_url
from ..service.state import Service
from ..settings import parse_assignments
from ..store import NotFound
from .accounts import viewer
from .assets import STATIC_DIR, graph_library_path, missing_library_message
from .network import network_svg, network_view, node_posts
from .pager import TABLE_PAGE, Pager
from .render import SECURITY_HEADERS, environment, media_url
from .tune import tune_page_data, weights_from_query

__all__ = ["EXPLORE_SIZE", "html_page", "router"]

#: Tiles on one Explore page (ten rows of three).
EXPLORE_SIZE = 30
_STATIC_TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}

router = APIRouter(include_in_schema=False)
Svc = Annotated[Service, Depends(get_service)]
Who = Annotated[Principal, Depends(viewer)]  # principal, or the sign-in form


def html_page(
    template: str, request: Request | None = None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """Render ``template`` (autoescaped) with the security headers; ``here`` (where the form
    buttons come back to) is the request's path and query."""
    here = ""
    if request is not None:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    context.setdefault("ranked", False)
    who = getattr(request.state, "viewer", None) if request is not None else None
    context.setdefault("session", who if who is not None and who.session else None)
    body = environment().get_template(template).render(here=here, **context)
    return HTMLResponse(body, status_code=status_code, headers=SECURITY_HEADERS)


def _error(exc: Exception, user: str = "") -> HTMLResponse:
    code = 404 if isinstance(exc, NotFound) else 422
    return html_page("error.html", None, code, user=user, nav="", message=str(exc), twin=None)


def _weights(service: Service, handle: str) -> dict[str, float]:
    return dict(views.settings_view(service, handle)["weights"])


def _states(items: list[dict[str, Any]]) -> dict[int, dict[str, bool]]:
    """``{post_id: {"liked", "saved", "hidden"}}`` from feed items that carry the viewer's
    state (:func:`discovery.feeds.mark_viewer`), for the buttons and ``feed.js``."""
    keys = ("liked", "saved", "hidden")
    return {int(i["post_id"]): {k: bool(i.get(k)) for k in keys} for i in items}


def _feed_page(
    request: Request,
    service: Service,
    who: Principal,
    handle: str,
    kind: str,
    cursor: str | None,
    limit: int | None,
) -> HTMLResponse:
    authorize(who, handle)
    limit = limit or (EXPLORE_SIZE if kind == "explore" else 12)
    try:
        overrides = parse_assignments(request.query_params.getlist("set"))  # ?set=window_days=30
        feed = views.feed_view(
            service, handle, kind=kind, limit=limit, cursor=cursor, weights=overrides or None
        )
        weights = _weights(service, handle)
    except (NotFound, InputError) as exc:
        return _error(exc, handle)
    states = _states(feed["items"])  # the JSON twin's own fields, not a second read
    twin = f"/v1/users/{handle_url(handle)}/feed?kind={kind}&limit={limit}"
    data = {"user": feed["user"], "kind": kind, "limit": limit, "cursor": cursor, "feed": twin}
    return html_page(
        f"{kind}.html",
        request,
        user=feed["user"],
        nav=kind,
        feed=feed,
        weights=weights,
        states=states,
        data=dict(data, weights=weights, states=states),
        twin=twin,
    )


@router.get("/u/{handle:path}/explore", response_class=HTMLResponse)
async def explore_page(
    handle: HandlePath,
    request: Request,
    service: Svc,
    who: Who,
    cursor: Annotated[str | None, Query(max_length=16_384)] = None,
    limit: Annotated[int | None, Query(ge=1, le=100)] = None,
) -> HTMLResponse:
    """Explore: a grid of square thumbnails from accounts the user does not follow yet."""
    args = (request, service, who, handle, "explore", cursor, limit)
    return await service.run_read(_feed_page, *args)


@router.get("/u/{handle:path}/timeline", response_class=HTMLResponse)
async def timeline_page(
    handle: HandlePath,
    request: Request,
    service: Svc,
    who: Who,
    cursor: Annotated[str | None, Query(max_length=16_384)] = None,
    limit: Annotated[int | None, Query(ge=1, le=100)] = None,
) -> HTMLResponse:
    """Timeline: recent posts of followed accounts, one column of cards."""
    args = (request, service, who, handle, "timeline", cursor, limit)
    return await service.run_read(_feed_page, *args)


@router.get("/u/{handle:path}/interests", response_class=HTMLResponse)
async def interests_page(
    handle: HandlePath,
    request: Request,
    service: Svc,
    who: Who,
    tag: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    """Hashtag chips (learned interests); a chip filters the page to that hashtag's posts."""
    return await service.run_read(_interests_page, request, service, who, handle, tag)


def _interests_page(
    request: Request, service: Service, who: Principal, handle: str, tag: str | None
) -> HTMLResponse:
    authorize(who, handle)
    per_tag = 12 if tag else 3
    try:
        body = views.interests_view(service, handle, k=12, per_tag=per_tag)
        weights = _weights(service, handle)
        # a member tag (a post's #rockclimbing) opens its cluster (#climbing)
        chosen = (
            [i for i in body["interests"] if tag == i["tag"] or tag in i["members"]]
            if tag
            else body["interests"]
        )
    except (NotFound, InputError) as exc:
        return _error(exc, handle)
    states = _states([p for i in chosen for p in i["posts"]])
    return html_page(
        "interests.html",
        request,
        user=body["user"],
        nav="interests",
        interests=body["interests"],
        shown=chosen,
        tag=tag,
        weights=weights,
        states=states,
        data={"user": body["user"], "kind": "interests", "weights": weights, "states": states},
        twin=f"/v1/users/{handle_url(handle)}/interests?k=12&per_tag={per_tag}",
    )


@router.get("/p/{post_id}", response_class=HTMLResponse)
async def post_page(
    post_id: PostPath,
    request: Request,
    service: Svc,
    who: Who,
    u: Annotated[str | None, Query(max_length=100, description="Viewer handle.")] = None,
) -> HTMLResponse:
    """One post: caption, counts, hashtags, why it is shown to ``u``, and more like this."""
    return await service.run_read(_post_page, request, service, who, post_id, u)


def _post_page(
    request: Request, service: Service, who: Principal, post_id: int, u: str | None
) -> HTMLResponse:
    if u:
        authorize(who, u)
    try:
        post = views.post_view(service, post_id)
        similar = views.similar_view(service, post_id, limit=9)
        explain = views.explain_view(service, u, post_id) if u else None
        weights = _weights(service, u) if u else {}
        shown_ids = [post_id] + [i["post_id"] for i in similar["items"]]
        states = people.states_view(service, u, shown_ids) if u else {}
    except (NotFound, InputError) as exc:
        return _error(exc, u or "")
    return html_page(
        "post.html",
        request,
        user=u or "",
        nav="",
        post=post,
        similar=similar,
        explain=explain,
        weights=weights,
        states=states,
        data={"user": u or "", "kind": "similar", "weights": weights, "states": states},
        twin=f"/v1/posts/{post_id}",
    )


@router.get("/u/{handle:path}/network", response_class=HTMLResponse)
async def network_page(
    handle: HandlePath,
    request: Request,
    service: Svc,
    who: Who,
    depth: Annotated[int, Query(ge=1, le=3)] = 2,
    max_nodes: Annotated[int, Query(ge=2, le=500)] = 150,
    page: Annotated[int, Query(ge=1, le=100_000, description="Page of the account table.")] = 1,
) -> HTMLResponse:
    """The ego network, drawn by the server (SVG) and, with JavaScript, by cytoscape; the
    account table below it in pages of :data:`~.pager.TABLE_PAGE` (``?page=N``)."""
    args = (request, service, who, handle, depth, max_nodes, page)
    return await service.run_read(_network_page, *args)


def _network_page(
    request: Request,
    service: Service,
    who: Principal,
    handle: str,
    depth: int,
    max_nodes: int,
    page: int,
) -> HTMLResponse:
    authorize(who, handle)
    try:
        graph = views.graph_view(service, handle, depth, max_nodes)
        pager = Pager.of(len(graph["nodes"]), page)
    except (NotFound, InputError) as exc:
        return _error(exc, handle)
    # the table: the centre, then nearest first and by PPR (every node keeps its posts: the
    # panel shows them for any node clicked in the drawing)
    order = sorted(graph["nodes"], key=lambda n: (n["hop"], -float(n["ppr"]), int(n["id"])))
    row = {int(n["id"]): i for i, n in enumerate(order)}
    shown = [int(n["id"]) for n in order[pager.start : pager.stop]]
    with service.engine_for_read() as engine:
        posts = node_posts(engine, [int(n["id"]) for n in graph["nodes"]], 3)
    view = dict(network_view(graph, posts, media_url), links=True)
    for n in view["nodes"]:
        n["table_page"] = row[int(n["id"])] // TABLE_PAGE + 1
    by_id = {int(n["id"]): n for n in view["nodes"]}
    base = f"?depth={depth}&max_nodes={max_nodes}&page="
    return html_page(
        "network.html",
        request,
        user=graph["center"],
        nav="network",
        view=view,
        rows=[by_id[i] for i in shown],
        pager=pager,
        page_url=base,
        svg=_markup(network_svg(view, base + "{page}#node-{id}")),
        library=graph_library_path() is not None,
        missing=missing_library_message(),
        links=True,
        thumbs=True,
        twin=f"/v1/users/{handle_url(handle)}/graph?depth={depth}&max_nodes={max_nodes}",
    )


def _markup(text: str) -> Any:
    from markupsafe import Markup

    return Markup(text)  # built by network_svg, which escapes every text it writes


@router.get("/u/{handle:path}/tune", response_class=HTMLResponse)
async def tune_page(handle: HandlePath, request: Request, service: Svc, who: Who) -> HTMLResponse:
    """Sliders for the four weights and a preview of the re-ranked Explore grid."""
    return await service.run_read(_tune_page, request, service, who, handle)


def _tune_page(request: Request, service: Service, who: Principal, handle: str) -> HTMLResponse:
    authorize(who, handle)
    try:
        preview = weights_from_query(request.query_params)
        ctx = tune_page_data(service, handle, preview)
    except (NotFound, InputError) as exc:
        return _error(exc, handle)
    return html_page("tune.html", request, nav="tune", **ctx)


@router.get("/static/{name}")
def static_file(name: str) -> Response:
    """Our own CSS and JS (a fixed folder, no sub-paths)."""
    path = STATIC_DIR / name
    kind = _STATIC_TYPES.get(path.suffix)
    if "/" in name or "\\" in name or name.startswith(".") or kind is None or not path.is_file():
        return Response("not found", status_code=404, media_type="text/plain")
    return FileResponse(path, media_type=kind, headers={"Cache-Control": "no-cache"})


@router.get("/favicon.ico")
def favicon() -> Response:
    return static_file("favicon.svg")


@router.get("/vendor/cytoscape.min.js")
def graph_library_file() -> Response:
    """The npm-installed graph library, served from node_modules (never from a CDN)."""
    path = graph_library_path()
    if path is None:
        return Response(missing_library_message(), status_code=404, media_type="text/plain")
    return FileResponse(path, media_type="text/javascript", headers={"Cache-Control": "no-cache"})


# Registered last: "/u/{handle:path}" would otherwise take "/u/ana/timeline" as the handle
# "ana/timeline". (So the short form is ambiguous for a handle ending in "/timeline" etc.;
# links always use the explicit "/u/{handle}/explore".)
router.add_api_route("/u/{handle:path}", explore_page, response_class=HTMLResponse)
